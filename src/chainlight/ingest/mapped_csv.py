"""CSV tables read through a YAML mapping (``csv``): customs manifests, permit registers,
seizure logs, lab results, incident reports and assessments, in the default layouts of
``docs/formats/csv.md`` or in any layout a mapping file describes.

The file is streamed row by row (memory stays flat however large it is). A file without a
header, or without a column the mapping requires, is rejected whole, naming the column. A
row without a required value is quarantined whole; a cell that is not a valid date, number,
country or known port code is quarantined on its own and the rest of the row loads. Line
numbers are the physical line where a row starts, as a spreadsheet user would count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from followthemoney.types import registry

from chainlight.ingest.base import FileRejected, IngestContext
from chainlight.ingest.mapping import NUMBER_FORMATS, Condition, EntitySpec, IdRule, Mapping, resolve_mapping
from chainlight.model.ftm import model
from chainlight.model.identity import dataset_key, natural_key
from chainlight.reference.ports import PortInfo, lookup, stub_entity


class Row:
    """One data row, read by column name; for a repeated entity, one item of its lists."""

    def __init__(self, cells: list[str], index: dict[str, int], items: dict[str, str] | None = None) -> None:
        self.cells = cells
        self.index = index
        self.items = items or {}

    def get(self, column: str) -> str:
        key = column.casefold()
        if key in self.items:
            return self.items[key]
        position = self.index.get(key)
        return self.cells[position].strip() if position is not None else ""

    def item(self, items: dict[str, str]) -> Row:
        return Row(self.cells, self.index, items)

    def raw(self) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(self.cells)
        return buffer.getvalue()


class _RowMapper:
    """Turns rows into entities for one file, reporting problems against its lines."""

    def __init__(self, ctx: IngestContext, mapping: Mapping, index: dict[str, int]) -> None:
        self.ctx = ctx
        self.mapping = mapping
        self.index = index
        self.width = len(index)
        self.ports_emitted: set[str] = set()

    def problem(self, line: int, row: Row, column: str, error: str) -> None:
        self.ctx.reject(line, error, field=column, raw=row.raw(), row_loaded=True)

    def map_row(self, line: int, cells: list[str]) -> None:
        row = Row(cells, self.index)
        if len(cells) != self.width:
            self.ctx.reject(line, f"row has {len(cells)} cells but the header has {self.width}", raw=row.raw())
            return
        for column in self.mapping.required:
            if not row.get(column):
                self.ctx.reject(line, "required value is empty", field=column, raw=row.raw())
                return
        made: dict[str, list[tuple[Any, Row]]] = {}
        for name, spec in self.mapping.entities.items():
            made[name] = [
                (proxy, item) for item in self._items(line, row, spec)
                if (proxy := self._identify(line, item, spec)) is not None
            ]
        if not any(made.values()):
            self.ctx.reject(line, f"no entity of mapping {self.mapping.name} can be identified", raw=row.raw())
            return
        ports: list[Any] = []
        for name, instances in made.items():
            spec = self.mapping.entities[name]
            for proxy, item in instances:
                self._fill(line, item, spec, proxy, made, ports)
        for instances in made.values():
            for proxy, _ in instances:
                self.ctx.add_entity(proxy, line)
        for port in ports:
            self.ctx.add_entity(port, line)

    def _items(self, line: int, row: Row, spec: EntitySpec) -> Iterator[Row]:
        """The row itself, or one view per item of the entity's parallel lists."""
        if spec.when is not None and not _holds(spec.when, row):
            return
        if spec.each is None:
            yield row
            return
        split = spec.each.split
        lists = {c.casefold(): [v.strip() for v in row.get(c).split(split)] if row.get(c) else []
                 for c in spec.each.columns}
        lengths = {len(values) for values in lists.values() if values}
        if len(lengths) > 1:
            columns = ", ".join(c for c in spec.each.columns if row.get(c))
            self.problem(line, row, spec.each.columns[0],
                         f"lists in {columns} have different lengths; missing items are left empty")
        for i in range(max(lengths, default=0)):
            yield row.item({c: values[i] if i < len(values) else "" for c, values in lists.items()})

    def _identify(self, line: int, row: Row, spec: EntitySpec) -> Any:
        """A proxy with its schema and id, or None when no id rule applies to the row."""
        for rule in spec.id_rules:
            if not all(row.get(c) for c in rule.needed):
                continue
            if rule.port:
                info = self._port(line, row, rule.port, row.get(rule.port))
                return stub_entity(info) if info is not None else None
            proxy = model.make_entity(self._schema(line, row, spec))
            proxy.id = _rule_id(self.ctx.dataset, rule, row)
            return proxy
        return None

    def _schema(self, line: int, row: Row, spec: EntitySpec) -> str:
        choice = spec.schema_
        if isinstance(choice, str):
            return choice
        value = row.get(choice.column).casefold()
        if not value:
            return choice.default
        if value in choice.values:
            return choice.values[value]
        self.problem(line, row, choice.column,
                     f"unknown type {value!r} (expected {', '.join(choice.values)}); using {choice.default}")
        return choice.default

    def _port(self, line: int, row: Row, column: str, code: str) -> PortInfo | None:
        info = lookup(code)
        if info is None:
            self.problem(line, row, column, f"unknown port code {code!r}: not a UN/LOCODE or IATA code "
                                            "in the reference data")
        return info

    def _fill(self, line: int, row: Row, spec: EntitySpec, proxy: Any,
              made: dict[str, list[tuple[Any, Row]]], ports: list[Any]) -> None:
        for prop_name, source in spec.properties.items():
            prop = proxy.schema.get(prop_name)
            for ref in source.entities:
                for other, _ in made[ref]:
                    proxy.add(prop, other.id)
            for literal in source.literals:
                self._add(line, row, proxy, prop, literal, prop_name, source.format)
            if source.column is None:
                continue
            cell = row.get(source.column)
            values = [v.strip() for v in cell.split(source.split)] if source.split else [cell]
            for value in values:
                if not value:
                    continue
                if source.port:
                    info = self._port(line, row, source.column, value)
                    if info is None:
                        continue
                    proxy.add(prop, info.entity_id)
                    if info.entity_id not in self.ports_emitted:
                        self.ports_emitted.add(info.entity_id)
                        ports.append(stub_entity(info))
                    continue
                self._add(line, row, proxy, prop, value, source.column, source.format)

    def _add(self, line: int, row: Row, proxy: Any, prop: Any, value: str, column: str,
             fmt: str | None) -> None:
        kind = prop.type.name
        clean: str | None
        if kind == "date":
            clean = _date(value, fmt)
        elif kind == "number":
            clean = _number(value, fmt)
        else:
            clean = value
        if clean is not None and proxy.unsafe_add(prop, clean) is not None:
            return
        self.problem(line, row, column, f"invalid {kind} {value!r}" + (f" (expected format {fmt})" if fmt else ""))


def _holds(condition: Condition, row: Row) -> bool:
    if not all(row.get(c) for c in condition.present):
        return False
    if any(row.get(c) for c in condition.absent):
        return False
    return all(row.get(c).casefold() in {v.casefold() for v in allowed}
               for c, allowed in condition.values.items())


def _rule_id(dataset: str, rule: IdRule, row: Row) -> str:
    keys = [row.get(c) for c in rule.columns]
    if rule.dataset_key:
        return dataset_key(dataset, rule.dataset_key, *keys)
    assert rule.natural_key is not None  # guaranteed by IdRule's validator
    return natural_key(rule.natural_key, *keys)


def _date(value: str, fmt: str | None) -> str | None:
    if fmt is None:
        cleaned: str | None = registry.date.clean(value)
        return cleaned
    try:
        return datetime.strptime(value, fmt).date().isoformat()
    except ValueError:
        return None


def _number(value: str, fmt: str | None) -> str | None:
    thousands, decimal = NUMBER_FORMATS[fmt or "1234.5"]
    text = value.replace(thousands, "") if thousands else value
    text = text.replace(decimal, ".") if decimal != "." else text
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return text if number.is_finite() else None


def _lines(ctx: IngestContext, fh: BinaryIO) -> Iterator[str]:
    """Decoded lines for the csv module, advancing the progress bar by bytes read."""
    for number, raw in enumerate(fh, start=1):
        ctx.advance(len(raw))
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                f"not UTF-8 (byte {exc.start + 1} of line {number}); save the file as UTF-8", number
            ) from None


def _header(ctx: IngestContext, reader: Iterator[list[str]], mapping: Mapping) -> dict[str, int]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRejected(f"unreadable header row: {exc}", 1) from None
    names = [cell.strip().casefold() for cell in header or []]
    if not any(names):
        raise FileRejected(f"no header row (mapping {mapping.name} expects columns such as "
                           f"{', '.join(mapping.required) or 'its own'})", 1)
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in index:
            raise FileRejected(f"column {name!r} appears twice in the header", 1)
        index[name] = position
    for column in mapping.required:
        if column.casefold() not in index:
            raise FileRejected(f"missing required column {column!r} for mapping {mapping.name}", 1)
    return index


class MappedCsvReader:
    format = "csv"
    description = "CSV tables with a YAML mapping (a built-in layout or your own file)"

    def read(self, ctx: IngestContext) -> None:
        mapping = resolve_mapping(ctx.options.get("mapping"))
        with ctx.path.open("rb") as fh:
            reader = csv.reader(_lines(ctx, fh), strict=True)
            mapper = _RowMapper(ctx, mapping, _header(ctx, reader, mapping))
            previous = reader.line_num
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    ctx.count_rows()
                    ctx.reject(previous + 1, f"malformed CSV: {exc}")
                    previous = reader.line_num
                    continue
                line, previous = previous + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                ctx.count_rows()
                mapper.map_row(line, cells)
