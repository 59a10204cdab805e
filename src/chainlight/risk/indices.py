"""Country indices the user loads: a corruption perceptions index, an organised-crime index, an
anti-money-laundering index, or any other score per country.

Chainlight ships none of their data: their publishers licence it, so each user loads their own
copy (``chainlight risk indices load``) into a marked dataset, and the licence and source they
declare travel with it. A load is an ingest like any other: the dataset is registered with its
owner and TLP marking, bad rows are quarantined with file, line and field, and the index's
values are replaced in one transaction, so a reader never sees half of two editions.

Indices disagree on scale and direction (TI's CPI: 0-100, higher is cleaner; the Basel AML
Index: 0-10, higher is riskier). Each load declares its range and direction, and
:func:`risk_values` turns every value into a *riskiness* in 0..1 (1 = riskiest) from that
declaration alone, so indices can be compared and averaged without guessing.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from followthemoney.types import registry

from chainlight.ingest.base import FileRejected, IngestContext, IngestReport, run_ingest
from chainlight.model.markings import Marking, most_restrictive
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

FORMAT = "risk-index"

#: An index name is used in tier criteria as ``index.NAME``: no dots, no spaces.
INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS risk_index_specs (
        index VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        minimum DOUBLE NOT NULL,
        maximum DOUBLE NOT NULL,
        higher_is_riskier BOOLEAN NOT NULL,
        source VARCHAR,
        licence VARCHAR,
        path VARCHAR,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS risk_index_values (
        dataset VARCHAR NOT NULL,
        index VARCHAR NOT NULL,
        country VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        value DOUBLE NOT NULL
    )""",
)


class IndexLoadError(ValueError):
    """An index cannot be loaded as asked (bad name, range or option)."""


class ReaderView(Protocol):
    """What need-to-know asks of a reader (:class:`chainlight.rules.alerts.Reader` is one)."""

    @property
    def datasets(self) -> list[str]: ...

    def marking(self, datasets: list[str]) -> Marking: ...


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """What a load declares about an index: its scale, direction, source and licence."""

    index: str
    dataset: str
    label: str
    minimum: float
    maximum: float
    higher_is_riskier: bool
    source: str | None = None
    licence: str | None = None
    path: str | None = None
    loaded_at: datetime | None = None

    def __post_init__(self) -> None:
        if not INDEX_NAME.match(self.index):
            raise IndexLoadError(
                f"invalid index name {self.index!r}: use 1-64 lower-case letters, digits, '_' or '-' (no dots)"
            )
        if not (math.isfinite(self.minimum) and math.isfinite(self.maximum)) or self.maximum <= self.minimum:
            raise IndexLoadError(f"index {self.index}: --min must be below --max (got {self.minimum}, {self.maximum})")

    @property
    def direction(self) -> str:
        return "higher-is-riskier" if self.higher_is_riskier else "higher-is-better"

    def riskiness(self, value: float) -> float:
        """``value`` on the declared scale -> 0..1, 1 = riskiest (clamped to the range)."""
        share = (value - self.minimum) / (self.maximum - self.minimum)
        share = min(1.0, max(0.0, share))
        return share if self.higher_is_riskier else 1.0 - share

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "dataset": self.dataset, "label": self.label, "minimum": self.minimum,
            "maximum": self.maximum, "direction": self.direction, "source": self.source, "licence": self.licence,
            "path": self.path, "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
        }


@dataclass(frozen=True, slots=True)
class IndexValue:
    """One country's latest value of one index, with its riskiness (0..1, 1 = riskiest)."""

    index: str
    label: str
    dataset: str
    country: str
    year: int
    value: float
    riskiness: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "label": self.label, "dataset": self.dataset, "country": self.country,
            "year": self.year, "value": self.value, "riskiness": round(self.riskiness, 6),
        }


@dataclass(frozen=True, slots=True)
class CountryRisk:
    """A country's index values as one reader may see them, and their mean riskiness."""

    country: str
    values: tuple[IndexValue, ...]

    @property
    def value(self) -> float:
        """The mean riskiness of the available indices (every index counts once, equally)."""
        return sum(v.riskiness for v in self.values) / len(self.values)

    @property
    def datasets(self) -> list[str]:
        return sorted({v.dataset for v in self.values})

    def get(self, index: str) -> IndexValue | None:
        return next((v for v in self.values if v.index == index), None)


@dataclass(frozen=True, slots=True)
class ListedIndex:
    """An index in ``chainlight risk indices list``: its spec, coverage and marking."""

    spec: IndexSpec
    marking: Marking
    countries: int
    years: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.as_dict(), "marking": self.marking.value, "countries": self.countries,
                "years": list(self.years)}


@dataclass(frozen=True, slots=True)
class Columns:
    """Which CSV columns hold the country, the value and the year (or one year for the whole file)."""

    country: str = "country"
    value: str = "score"
    year: str = "year"
    fixed_year: int | None = None

    def __post_init__(self) -> None:
        if self.fixed_year is not None and not 1900 <= self.fixed_year <= 2200:
            raise IndexLoadError(f"--year {self.fixed_year}: expected a year between 1900 and 2200")


def ensure_tables(store: EvidenceStore) -> None:
    for ddl in TABLES:
        store.con.execute(ddl)


def has_tables(store: EvidenceStore) -> bool:
    names = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    return {"risk_index_specs", "risk_index_values"} <= names


#: World Bank-style names that index publishers use and FtM's country type does not know.
_ALIASES = {
    "congo, dem. rep.": "cd", "congo, rep.": "cg", "republic of congo": "cg", "lao pdr": "la",
    "korea, dem. people's rep.": "kp", "korea, rep.": "kr", "egypt, arab rep.": "eg", "iran, islamic rep.": "ir",
    "yemen, rep.": "ye", "micronesia, fed. sts.": "fm", "venezuela, rb": "ve",
}


def clean_country(raw: str) -> str | None:
    """ISO 3166-1 alpha-2, alpha-3 or an English name -> FtM's country code (lower-case alpha-2)."""
    text = " ".join(raw.replace("\u2019", "'").split())
    if not text:
        return None
    code: str | None = _ALIASES.get(text.casefold()) or registry.country.clean(text)
    return code


class IndexReader:
    """Reads one index CSV inside :func:`run_ingest`'s transaction: rows are validated first,
    then the index's spec and values replace the previous ones in one go."""

    format = FORMAT
    description = "A country index (one value per country and year) the user loads with its licence."

    def __init__(self, spec: IndexSpec, columns: Columns) -> None:
        self.spec = spec
        self.columns = columns

    def read(self, ctx: IngestContext) -> None:
        text = _read_text(ctx.path)
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        header = next(rows, None)
        if header is None:
            raise FileRejected("the file is empty")
        header = [h.strip() for h in header]
        country_at = _column(header, self.columns.country, "--country-column")
        value_at = _column(header, self.columns.value, "--value-column")
        year_at: int | None = None
        if self.columns.fixed_year is None:
            year_at = _column(header, self.columns.year, "--year-column (or give --year)")
        spec, names = self.spec, header
        values: dict[tuple[str, int], tuple[float, int]] = {}
        for cells in rows:
            line = rows.line_num
            if not any(c.strip() for c in cells):
                continue
            ctx.count_rows()
            raw = ",".join(cells)
            cells = cells + [""] * (len(names) - len(cells))
            country = clean_country(cells[country_at])
            if country is None:
                what = "missing country" if not cells[country_at].strip() else f"unknown country {cells[country_at]!r}"
                ctx.reject(line, what, names[country_at], raw)
                continue
            year = self.columns.fixed_year
            if year_at is not None:
                year = _year(cells[year_at])
                if year is None:
                    ctx.reject(line, f"year is not a year between 1900 and 2200: {cells[year_at]!r}", names[year_at],
                               raw)
                    continue
            assert year is not None
            value = _number(cells[value_at])
            if value is None:
                what = "missing value" if not cells[value_at].strip() else f"not a number: {cells[value_at]!r}"
                ctx.reject(line, what, names[value_at], raw)
                continue
            if not spec.minimum <= value <= spec.maximum:
                ctx.reject(line, f"{value:g} is outside the declared range {spec.minimum:g}..{spec.maximum:g}",
                           names[value_at], raw)
                continue
            earlier = values.get((country, year))
            if earlier is not None:
                ctx.reject(line, f"a second value for {country} in {year} (first on line {earlier[1]})",
                           names[country_at], raw)
                continue
            values[(country, year)] = (value, line)
            ctx.advance(len(raw) + 1)
        if not values:
            first = ctx.report.problems[0] if ctx.report.problems else None
            raise FileRejected("no valid values" + (f" (first problem: {first})" if first else ""))
        _replace(ctx.store, spec, ctx.label, values)
        ctx.report.records_added = len(values)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports are often Windows-1252; Latin-1 never fails and keeps the bytes' letters.
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    for candidate in (",", ";", "\t"):
        if candidate in first:
            return candidate
    return ","


def _column(header: list[str], name: str, option: str) -> int:
    for exact in (True, False):
        for i, h in enumerate(header):
            if (h == name) if exact else (h.casefold() == name.strip().casefold()):
                return i
    raise FileRejected(f"no column {name!r} (set {option}); the columns are: {', '.join(header)}", line=1)


def _number(text: str) -> float | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        try:  # a decimal comma (European spreadsheets): 4,5
            number = float(cleaned.replace(",", "."))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _year(text: str) -> int | None:
    number = _number(text)
    if number is None or number != int(number) or not 1900 <= number <= 2200:
        return None
    return int(number)


def _replace(
    store: EvidenceStore, spec: IndexSpec, label: str, values: dict[tuple[str, int], tuple[float, int]]
) -> None:
    """Swap the index's spec and values for the new ones (inside the ingest's transaction)."""
    ensure_tables(store)
    con = store.con
    con.execute("DELETE FROM risk_index_values WHERE dataset = ? AND index = ?", [spec.dataset, spec.index])
    con.execute("DELETE FROM risk_index_specs WHERE dataset = ? AND index = ?", [spec.dataset, spec.index])
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO risk_index_specs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [spec.index, spec.dataset, spec.label, spec.minimum, spec.maximum, spec.higher_is_riskier, spec.source,
         spec.licence, label, now],
    )
    con.executemany(
        "INSERT INTO risk_index_values VALUES (?, ?, ?, ?, ?)",
        [[spec.dataset, spec.index, country, year, value] for (country, year), (value, _) in sorted(values.items())],
    )


def load_index(
    settings: Settings,
    path: Path,
    spec: IndexSpec,
    *,
    marking: Marking,
    owner: str,
    columns: Columns | None = None,
    sharing_group: str | None = None,
    label: str | None = None,
) -> IngestReport:
    """Register ``spec.dataset`` (owner, marking) and load the index from ``path``, replacing
    its previous values in one transaction. A re-load always reads the file (an unchanged file
    may carry a changed declaration), and a file with no valid row changes nothing."""
    from chainlight.pipeline import open_operational

    operational = open_operational(settings)
    try:
        operational.ensure_dataset(spec.dataset, owner=owner, marking=marking, sharing_group=sharing_group)
    finally:
        operational.dispose()
    reader = IndexReader(spec, columns or Columns())
    options = {**spec.as_dict(), "columns": _columns_dict(reader.columns)}
    with EvidenceStore(settings.evidence_path) as store:
        return run_ingest(store, reader, [path], spec.dataset, labels=[label or str(path)], options=options,
                          force=True)


def remove_index(settings: Settings, index: str, dataset: str | None = None) -> int:
    """Delete an index's spec and values (a licence ended, a copy was wrong), in one transaction;
    returns the number of values removed. ``dataset`` picks one when several datasets hold the name."""
    if not settings.evidence_path.exists():
        raise IndexLoadError(f"no index {index!r} loaded")
    with EvidenceStore(settings.evidence_path) as store:
        ensure_tables(store)
        found = [d for (d,) in store.fetchall("SELECT dataset FROM risk_index_specs WHERE index = ? ORDER BY 1",
                                              [index])]
        if dataset is not None:
            found = [d for d in found if d == dataset]
        if not found:
            raise IndexLoadError(f"no index {index!r} loaded" + (f" in dataset {dataset!r}" if dataset else ""))
        if len(found) > 1:
            raise IndexLoadError(f"index {index!r} is in datasets {', '.join(found)}: name one with --dataset")
        with store.transaction():
            removed = store.fetchall("DELETE FROM risk_index_values WHERE dataset = ? AND index = ?",
                                     [found[0], index])
            store.con.execute("DELETE FROM risk_index_specs WHERE dataset = ? AND index = ?", [found[0], index])
    return int(removed[0][0]) if removed else 0


def _columns_dict(columns: Columns) -> dict[str, Any]:
    return {"country": columns.country, "value": columns.value, "year": columns.year, "fixed_year": columns.fixed_year}


def _visible(reader: ReaderView) -> list[str]:
    return list(reader.datasets)


def specs(store: EvidenceStore, reader: ReaderView) -> list[IndexSpec]:
    """The index declarations ``reader`` may see, by index name then dataset."""
    if not has_tables(store):
        return []
    rows = store.fetchall(
        "SELECT index, dataset, label, minimum, maximum, higher_is_riskier, source, licence, path, loaded_at "
        "FROM risk_index_specs WHERE dataset = ANY(?) ORDER BY index, dataset",
        [_visible(reader)],
    )
    return [IndexSpec(*row) for row in rows]


def list_indices(store: EvidenceStore, reader: ReaderView) -> list[ListedIndex]:
    """Every visible index with its marking, the number of countries and the years it covers."""
    listed = []
    for spec in specs(store, reader):
        rows = store.fetchall(
            "SELECT count(DISTINCT country), list(DISTINCT year ORDER BY year) FROM risk_index_values "
            "WHERE dataset = ? AND index = ?",
            [spec.dataset, spec.index],
        )
        countries, years = rows[0] if rows else (0, [])
        listed.append(ListedIndex(spec, reader.marking([spec.dataset]), int(countries or 0), tuple(years or ())))
    return listed


def risk_values(store: EvidenceStore, reader: ReaderView) -> dict[str, CountryRisk]:
    """country (FtM code, lower-case alpha-2) -> its latest value of each index ``reader`` may see,
    rescaled to riskiness 0..1.

    Per index and country the latest year counts. When two visible datasets carry an index of
    the same name, the later year wins, then the later load: one index name, one value.
    Countries without any visible value are absent (the scorer's ``missing: skip``).
    """
    by_key = {(s.dataset, s.index): s for s in specs(store, reader)}
    if not by_key:
        return {}
    rows = store.fetchall(
        """SELECT v.dataset, v.index, v.country, v.year, v.value
           FROM risk_index_values v JOIN risk_index_specs s ON s.dataset = v.dataset AND s.index = v.index
           WHERE v.dataset = ANY(?)
           ORDER BY v.country, v.index, v.year DESC, s.loaded_at DESC, v.dataset""",
        [sorted({d for d, _ in by_key})],
    )
    chosen: dict[str, dict[str, IndexValue]] = {}
    for dataset, index, country, year, value in rows:
        per_country = chosen.setdefault(country, {})
        if index in per_country:
            continue
        spec = by_key[(dataset, index)]
        per_country[index] = IndexValue(index, spec.label, dataset, country, int(year), float(value),
                                        spec.riskiness(float(value)))
    return {c: CountryRisk(c, tuple(v[i] for i in sorted(v))) for c, v in sorted(chosen.items())}


def marking_of(reader: ReaderView, datasets: Sequence[str]) -> Marking:
    """The strictest marking of ``datasets`` as ``reader`` sees them (CLEAR for none)."""
    return reader.marking(list(datasets)) if datasets else most_restrictive([])


def index_names(store: EvidenceStore, reader: ReaderView) -> list[str]:
    return sorted({s.index for s in specs(store, reader)})

