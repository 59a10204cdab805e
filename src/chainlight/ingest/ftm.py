"""FollowTheMoney entities as JSON lines (``ftm``): one ``{"id", "schema", "properties"}``
object per line, as written by ``followthemoney``, Aleph, OpenSanctions and
``chainlight export ftm``.

Values are cleaned by FtM's own property types. A line that is not JSON, names an unknown
schema or has no id is quarantined whole; an unknown property or a value its type rejects
is quarantined on its own while the rest of the entity loads.

Speed: bulk files run to millions of statements, so the reader does not build an FtM proxy
per line. It parses with ``orjson``, checks each value against the model in plain Python,
and calls FtM's ``clean_text`` only for values a cheap test cannot prove already clean
(remembering each answer, since dates and countries repeat). Statement ids, origins and
sequence numbers are computed by DuckDB, one chunk of lines at a time, and problems are
written to the quarantine table per chunk. The result is the same as adding every value to
an FtM proxy (``tests/ingest/test_ftm.py`` checks that against a proxy-based reference).

Big files are parsed in forked worker processes, one byte range of whole lines each (the
per-line Python work is most of the cost); the main process stages the ranges strictly in
file order, so statements, origins, sequence numbers, quarantine rows and counters are the
same as a single-process read. Workers never touch DuckDB or the ingest context.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from followthemoney.exc import InvalidData

from chainlight.ingest.base import MAX_REPORTED_PROBLEMS, IngestContext, Problem
from chainlight.model.ftm import model

MAX_LINE_BYTES = 8 << 20
#: Bytes of lines read (and handed to DuckDB) at a time: about 100,000 typical lines.
CHUNK_BYTES = 16 << 20
MAX_RAW_CHARS = 2000
#: Files at least this big are parsed by worker processes (when there are two cores or more).
PARALLEL_MIN_BYTES = 16 << 20
#: Worker processes for big files; the main process stages while they parse.
WORKERS = 2
#: Bytes per worker range: small enough that staging overlaps parsing from early on.
PARALLEL_CHUNK_BYTES = 4 << 20

#: Types whose ``clean_text`` returns its input unchanged (FtM does not override it).
_PASS_THROUGH = frozenset({"string", "text", "html", "number", "checksum", "json"})
#: Characters that none of FtM's name/address clean-ups touch (no whitespace other than a
#: single space, no quotes, no invisible characters, no separators addresses rewrite).
_PLAIN = r"[\w.,&()/\-+#:]+"
_PLAIN_TEXT = re.compile(rf"{_PLAIN}(?: {_PLAIN})*")
_ADDRESS_REWRITES = re.compile(r",\s?[,.]|ESQ")
_ENTITY_REF = re.compile(r"[0-9a-zA-Z](?:[0-9a-zA-Z.\-]*[0-9a-zA-Z])?")
#: Slowest-case cleaning results remembered per property type and format.
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class _PropSpec:
    """What the reader needs to know about one property of one schema."""

    name: str
    type_name: str
    stub: bool
    clean: Callable[[str, str], str | None]


class _Owner:
    """Stands in for the proxy that FtM's entity type asks about (self-references)."""

    __slots__ = ("id", "schema")

    def __init__(self, entity_id: str, schema: Any) -> None:
        self.id = entity_id
        self.schema = schema


def _cleaner(
    schema: Any, prop: Any, caches: dict[tuple[str, str | None], dict[str, str | None]]
) -> Callable[[str, str], str | None]:
    """A function (value, entity id) -> cleaned value or None, equal to ``prop.type.clean_text``
    on an entity with that id, but fast for values that are already clean."""
    ftype = prop.type
    fmt = prop.format
    name = ftype.name
    if name in _PASS_THROUGH or (name == "identifier" and fmt is None):
        return lambda value, entity_id: value
    cache = caches.setdefault((name, fmt), {})

    def slow(value: str) -> str | None:
        if value in cache:
            return cache[value]
        cleaned: str | None = ftype.clean_text(value, format=fmt, proxy=None)
        if len(cache) < _CACHE_LIMIT:
            cache[value] = cleaned
        return cleaned

    if name == "entity":

        def entity(value: str, entity_id: str) -> str | None:
            if value == entity_id:
                result: str | None = ftype.clean_text(value, format=fmt, proxy=_Owner(entity_id, schema))
                return result
            return value if _ENTITY_REF.fullmatch(value) else None

        return entity
    if name == "name":
        return lambda value, entity_id: value if _PLAIN_TEXT.fullmatch(value) else slow(value)
    if name == "address":
        def address(value: str, entity_id: str) -> str | None:
            if _PLAIN_TEXT.fullmatch(value) and not _ADDRESS_REWRITES.search(value):
                return value
            return slow(value)

        return address
    return lambda value, entity_id: slow(value)


def _prop_specs() -> dict[str, dict[str, _PropSpec]]:
    specs: dict[str, dict[str, _PropSpec]] = {}
    caches: dict[tuple[str, str | None], dict[str, str | None]] = {}
    for schema in model.schemata.values():
        specs[schema.name] = {
            prop.name: _PropSpec(prop.name, prop.type.name, bool(prop.stub), _cleaner(schema, prop, caches))
            for prop in schema.properties.values()
        }
    return specs


class _Chunk:
    """Statements and problems of one chunk of lines, before they go to DuckDB."""

    def __init__(self) -> None:
        self.line: list[int] = []
        self.entity_id: list[str] = []
        self.schema: list[str] = []
        self.prop: list[str] = []
        self.prop_type: list[str] = []
        self.value: list[str] = []
        self.original: list[str | None] = []
        self.problems: list[tuple[int, str | None, str, str, bool]] = []

    def table(self) -> pa.Table | None:
        """The statements as Arrow columns (no sequence numbers yet), or None if there are none."""
        if not self.line:
            return None
        return pa.table({
            "line": pa.array(self.line, pa.int64()),
            "entity_id": pa.array(self.entity_id, pa.string()),
            "schema": pa.array(self.schema, pa.string()),
            "prop": pa.array(self.prop, pa.string()),
            "prop_type": pa.array(self.prop_type, pa.string()),
            "value": pa.array(self.value, pa.string()),
            "original_value": pa.array(self.original, pa.string()),
        })


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A worker's answer for one byte range: line numbers in it count from 1 at its start."""

    lines: int
    rows: int
    nbytes: int
    statements: bytes | None
    problems: list[tuple[int, str | None, str, str, bool]]



class FtmReader:
    format = "ftm"
    description = "FollowTheMoney entities, one JSON object per line"

    def __init__(self) -> None:
        self._specs: dict[str, dict[str, _PropSpec]] | None = None

    def read(self, ctx: IngestContext) -> None:
        if self._specs is None:
            self._specs = _prop_specs()
        seq_base = int(ctx.con.execute("SELECT coalesce(max(seq), 0) FROM _staging").fetchall()[0][0])
        if ctx.path.stat().st_size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) >= 2:
            self._read_parallel(ctx, seq_base)
        else:
            self._read_sequential(ctx, seq_base)

    def _read_sequential(self, ctx: IngestContext, seq_base: int) -> None:
        bad_lines: set[int] = set()
        number = 0
        with ctx.path.open("rb") as fh:
            while True:
                lines = fh.readlines(CHUNK_BYTES)
                if not lines:
                    break
                chunk = _Chunk()
                nbytes = 0
                for raw in lines:
                    number += 1
                    nbytes += len(raw)
                    if not raw.strip():
                        continue
                    ctx.count_rows()
                    if len(raw) > MAX_LINE_BYTES:
                        chunk.problems.append((number, None, f"line longer than {MAX_LINE_BYTES} bytes", "", False))
                        continue
                    self._read_line(chunk, number, raw)
                seq_base = self._flush(ctx, chunk.problems, chunk.table(), seq_base, bad_lines)
                ctx.advance(nbytes)

    def _read_parallel(self, ctx: IngestContext, seq_base: int) -> None:
        """Parse byte ranges in forked workers, at most ``WORKERS + 1`` ranges in flight, and
        stage each range's result in file order."""
        global _WORKER_READER
        _WORKER_READER = self
        bad_lines: set[int] = set()
        lines_before = 0
        path = str(ctx.path)
        ranges = _line_ranges(ctx.path, PARALLEL_CHUNK_BYTES)
        pending: deque[Future[_Parsed]] = deque()
        pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"))

        def submit_next() -> None:
            span = next(ranges, None)
            if span is not None:
                pending.append(pool.submit(_parse_range, path, *span))

        try:
            for _ in range(WORKERS + 1):
                submit_next()
            while pending:
                parsed = pending.popleft().result()
                submit_next()
                ctx.count_rows(parsed.rows)
                table = None
                if parsed.statements is not None:
                    table = pa.ipc.open_stream(parsed.statements).read_all()
                problems = [
                    (line + lines_before, field, error, raw, loaded)
                    for line, field, error, raw, loaded in parsed.problems
                ]
                seq_base = self._flush(ctx, problems, table, seq_base, bad_lines, lines_before)
                lines_before += parsed.lines
                ctx.advance(parsed.nbytes)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            ranges.close()
            _WORKER_READER = None

    def _read_line(self, chunk: _Chunk, number: int, raw: bytes) -> None:
        problems = chunk.problems
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.append((number, None, f"not valid JSON: {exc}", _text(raw), False))
            return
        if not isinstance(data, dict):
            problems.append((number, None, "expected a JSON object", _text(raw), False))
            return
        entity_id = data.get("id")
        if not isinstance(entity_id, str) or not entity_id.strip():
            problems.append((number, "id", "entity has no id", _text(raw), False))
            return
        schema = model.get(data.get("schema") or "")
        if schema is None:
            problems.append((number, "schema", f"unknown schema {data.get('schema')!r}", _text(raw), False))
            return
        if schema.abstract:
            problems.append((number, "schema", f"schema {schema.name} is abstract", _text(raw), False))
            return
        properties = data.get("properties") or {}
        if not isinstance(properties, dict):
            problems.append((number, "properties", "properties must be an object", _text(raw), False))
            return
        assert self._specs is not None
        specs = self._specs[schema.name]
        entity_id = entity_id.strip()
        schema_name = schema.name
        lines, ids, schemas, props, types, values, originals = (
            chunk.line, chunk.entity_id, chunk.schema, chunk.prop, chunk.prop_type, chunk.value, chunk.original
        )
        lines.append(number)
        ids.append(entity_id)
        schemas.append(schema_name)
        props.append("id")
        types.append("id")
        values.append(entity_id)
        originals.append(None)
        for key, given in properties.items():
            spec = specs.get(key)
            if spec is None:
                problems.append((number, key, f"{schema_name} has no property {key!r}", _text(raw), True))
                continue
            if spec.stub:
                problems.append((number, key, f"{key} is a reverse property and cannot be set", _text(raw), True))
                continue
            added: list[str] = []
            for value in given if isinstance(given, list) else (given,):
                if isinstance(value, str):
                    text = value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    text = str(value)
                else:
                    problems.append((number, key, f"value {value!r} is not a string", _text(raw), True))
                    continue
                try:
                    cleaned = spec.clean(text, entity_id)
                except InvalidData as exc:
                    problems.append((number, key, str(exc), _text(raw), True))
                    continue
                if cleaned is None:
                    if text.strip():
                        problems.append((number, key, f"invalid {spec.type_name} value {value!r}", _text(raw), True))
                    continue
                if cleaned in added:
                    continue
                added.append(cleaned)
                lines.append(number)
                ids.append(entity_id)
                schemas.append(schema_name)
                props.append(key)
                types.append(spec.type_name)
                values.append(cleaned)
                originals.append(None if cleaned == text else text)

    @staticmethod
    def _flush(
        ctx: IngestContext,
        problems: list[tuple[int, str | None, str, str, bool]],
        statements: pa.Table | None,
        seq_base: int,
        bad_lines: set[int],
        line_offset: int = 0,
    ) -> int:
        """Stage a chunk's statements (ids, origins and order computed in DuckDB; their line
        numbers are ``line_offset`` short of the file's) and quarantine its problems (already
        numbered as in the file); returns the next sequence base."""
        if problems:
            _quarantine(ctx, sorted(problems, key=lambda p: p[0]), bad_lines)
        if statements is None or statements.num_rows == 0:
            return seq_base
        count = int(statements.num_rows)
        table = statements.append_column("seq", pa.array(range(seq_base + 1, seq_base + count + 1), pa.int64()))
        ctx.con.register("_ftm_chunk", table)
        try:
            ctx.con.execute(
                """
                INSERT INTO _staging
                SELECT sha1(concat_ws('.', $dataset, entity_id, prop, value)), entity_id, NULL, schema,
                       prop, prop_type, value, NULL, original_value, $dataset, false,
                       concat($label, ':', line + $offset), seq
                FROM _ftm_chunk
                """,
                {"dataset": ctx.dataset, "label": ctx.label, "offset": line_offset},
            ).fetchall()
        finally:
            ctx.con.unregister("_ftm_chunk")
        return seq_base + count


#: The reader whose specs forked workers use (set by the main process just before forking).
_WORKER_READER: FtmReader | None = None


def _line_ranges(path: Path, size: int) -> Generator[tuple[int, int], None, None]:
    """Byte ranges of about ``size`` bytes covering the file, each ending after a newline
    (or at the end of the file); found lazily, so a huge file is never scanned up front."""
    with path.open("rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        start = 0
        while start < total:
            fh.seek(min(start + max(size, 1) - 1, total))
            fh.readline()
            end = min(fh.tell(), total)
            yield start, end
            start = end


def _parse_range(path: str, start: int, end: int) -> _Parsed:
    """Parse one byte range in a worker process, as the sequential reader parses a chunk."""
    reader = _WORKER_READER if _WORKER_READER is not None else FtmReader()
    if reader._specs is None:
        reader._specs = _prop_specs()
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    chunk = _Chunk()
    number = rows = 0
    for raw in io.BytesIO(data).readlines():
        number += 1
        if not raw.strip():
            continue
        rows += 1
        if len(raw) > MAX_LINE_BYTES:
            chunk.problems.append((number, None, f"line longer than {MAX_LINE_BYTES} bytes", "", False))
            continue
        reader._read_line(chunk, number, raw)
    table = chunk.table()
    statements = None
    if table is not None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        statements = sink.getvalue().to_pybytes()
    return _Parsed(number, rows, len(data), statements, chunk.problems)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _quarantine(
    ctx: IngestContext, problems: list[tuple[int, str | None, str, str, bool]], bad_lines: set[int]
) -> None:
    """Record problems as :meth:`IngestContext.reject` would, in one insert per chunk."""
    report = ctx.report
    for line, field, error, raw, row_loaded in problems:
        report.problem_count += 1
        if not row_loaded and line not in bad_lines:
            report.rows_quarantined += 1
            bad_lines.add(line)
        if len(report.problems) < MAX_REPORTED_PROBLEMS:
            report.problems.append(Problem(ctx.label, line, field, error, raw[:MAX_RAW_CHARS] or None))
    table = pa.table({
        "line": pa.array([p[0] for p in problems], pa.int64()),
        "field": pa.array([p[1] for p in problems], pa.string()),
        "error": pa.array([p[2] for p in problems], pa.string()),
        "raw": pa.array([p[3][:MAX_RAW_CHARS] or None for p in problems], pa.string()),
    })
    ctx.con.register("_ftm_problems", table)
    try:
        ctx.con.execute(
            "INSERT INTO quarantine SELECT $run, $dataset, $format, $label, line, field, error, raw "
            "FROM _ftm_problems",
            {"run": ctx.run_id, "dataset": ctx.dataset, "format": ctx.format, "label": ctx.label},
        ).fetchall()
    finally:
        ctx.con.unregister("_ftm_problems")
