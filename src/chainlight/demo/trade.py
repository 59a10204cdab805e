"""CITES shipment-level trade rows in the UNEP-WCMC bulk download layout.

Rows are generated a column at a time with numpy and streamed to CSV files of 500,000 rows
(the size UNEP-WCMC splits its bulk download into), so ten million rows need neither ten
million Python objects nor more memory than one file's worth. Most rows are background
trade in which importer- and exporter-reported figures disagree as they do in the real
database; rows that stand for the world's permits carry those permits' RandomIDs, and one
exporter launders wild-caught, hard-to-breed species as captive-bred (source C, F, R).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from chainlight.demo.actors import DESTINATION_COUNTRIES, SOURCE_COUNTRIES, TRANSIT_COUNTRIES
from chainlight.demo.taxa import HARD_TO_BREED, TAXA

HEADER: Final = (
    "Id",
    "Year",
    "Appendix",
    "Taxon",
    "Class",
    "Order",
    "Family",
    "Genus",
    "Term",
    "Quantity",
    "Unit",
    "Importer",
    "Exporter",
    "Origin",
    "Purpose",
    "Source",
    "Reporter.type",
    "Import.permit.RandomID",
    "Export.permit.RandomID",
    "Origin.permit.RandomID",
)
ROWS_PER_FILE: Final = 500_000
_ALPHABET: Final = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
#: Every country code a row can name; columns hold indices into it (Arrow dictionary arrays).
COUNTRIES: Final = tuple(
    sorted(
        set(
            SOURCE_COUNTRIES
            + TRANSIT_COUNTRIES
            + DESTINATION_COUNTRIES
            + ("ID", "MG", "SN", "GH", "BW", "NA", "US", "DE", "FR", "JP", "KR", "GB")
        )
    )
)
_C: Final = {code: i for i, code in enumerate(COUNTRIES)}
_EXPORTERS: Final = np.array(
    [_C[c] for c in SOURCE_COUNTRIES + TRANSIT_COUNTRIES + ("ID", "MG", "SN", "GH", "BW", "NA")]
)
_IMPORTERS: Final = np.array(
    [_C[c] for c in DESTINATION_COUNTRIES + TRANSIT_COUNTRIES + ("US", "DE", "FR", "JP", "KR", "GB")]
)
_TRANSIT: Final = np.array([_C[c] for c in TRANSIT_COUNTRIES])
_SOURCE_C: Final = np.array([_C[c] for c in SOURCE_COUNTRIES])
PURPOSES: Final = ("T", "P", "S", "Z", "H", "B", "E")
_PURPOSE_P: Final = np.array([0.74, 0.06, 0.05, 0.04, 0.06, 0.03, 0.02])
SOURCES: Final = ("W", "C", "R", "F", "I", "O", "U", "D")
_SOURCE_P: Final = np.array([0.62, 0.2, 0.06, 0.04, 0.03, 0.03, 0.02, 0.0])
_S: Final = {code: i for i, code in enumerate(SOURCES)}
_YEARS: Final = (2014, 2024)
_TERMS: Final = tuple(sorted({term for t in TAXA for term, _ in t.terms}))
_UNITS: Final = tuple(sorted({unit for t in TAXA for _, unit in t.terms} - {""}))


@dataclass(frozen=True, slots=True)
class PermitRow:
    """A trade row standing for one use of a permit the world also writes to the permits file."""

    year: int
    taxon: str
    term: str
    unit: str
    quantity: float
    importer: str
    exporter: str
    origin: str
    purpose: str
    source: str
    reporter: str
    import_id: str
    export_id: str
    origin_id: str


@dataclass(slots=True)
class TradeResult:
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    laundering_ids: list[int] = field(default_factory=list)
    permit_row_ids: dict[str, list[int]] = field(default_factory=dict)


def random_ids(rng: np.random.Generator, n: int, present: np.ndarray | None = None) -> pa.Array:
    """``n`` 10-character lower-case alphanumeric ids (the Trade Database's hashed permit
    style), null where ``present`` is false; built straight into Arrow buffers for speed."""
    data = _ALPHABET[rng.integers(0, 36, size=n * 10)]
    offsets = np.arange(0, n * 10 + 1, 10, dtype=np.int32)
    validity = None if present is None else pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes()), validity)


def _dict(indices: np.ndarray, vocabulary: tuple[str, ...], present: np.ndarray | None = None) -> pa.Array:
    mask = None if present is None else ~present
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32), mask=mask), pa.array(vocabulary))


_COMBO_TAXON = np.array([i for i, t in enumerate(TAXA) for _ in t.terms])
_COMBO_TERM = np.array([_TERMS.index(term) for t in TAXA for term, _ in t.terms])
_COMBO_UNIT = np.array([_UNITS.index(unit) if unit else -1 for t in TAXA for _, unit in t.terms])
_TAXON_ATTRS: Final = (
    ("Appendix", "appendix"),
    ("Taxon", "name"),
    ("Class", "klass"),
    ("Order", "order"),
    ("Family", "family"),
    ("Genus", "genus"),
)
_HARD = np.array([t.hard_to_breed for t in TAXA])
_APPENDIX_I = np.array([t.appendix == "I" for t in TAXA])
_TAXON_INDEX = {t.name: i for i, t in enumerate(TAXA)}


def _taxon_columns(taxon: np.ndarray) -> dict[str, pa.Array]:
    return {column: _dict(taxon, tuple(getattr(t, attr) for t in TAXA)) for column, attr in _TAXON_ATTRS}


def _quantities(rng: np.random.Generator, counted: np.ndarray) -> np.ndarray:
    raw = rng.lognormal(mean=2.5, sigma=1.3, size=counted.shape[0])
    quantities: np.ndarray = np.where(counted, np.maximum(1, np.round(raw)), np.round(raw * 3, 2))
    return quantities


def _background(rng: np.random.Generator, n: int, first_id: int) -> tuple[dict[str, pa.Array], int]:
    """``n`` rows of ordinary trade; paired reports disagree on quantity most of the time."""
    tx = int(n / 1.45) + 2
    kinds = rng.choice(3, size=tx, p=[0.45, 0.35, 0.20])  # 0 both, 1 exporter only, 2 importer only
    counts = np.where(kinds == 0, 2, 1)
    index = np.repeat(np.arange(tx), counts)[:n]
    rows = index.shape[0]
    second = np.zeros(rows, dtype=bool)
    second[1:] = index[1:] == index[:-1]
    importer_reports = (kinds[index] == 2) | second
    combo_tx = rng.integers(0, _COMBO_TAXON.shape[0], size=tx)
    combo = combo_tx[index]
    taxon = _COMBO_TAXON[combo]
    unit = _COMBO_UNIT[combo]
    exporter = rng.choice(_EXPORTERS, size=tx)[index]
    importer = rng.choice(_IMPORTERS, size=tx)[index]
    importer = np.where(importer == exporter, _C["CN"], importer)
    source = rng.choice(len(SOURCES), size=tx, p=_SOURCE_P)[index]
    # Only the planted launderer claims captive breeding for hard-to-breed species, and not here.
    source = np.where(_HARD[taxon] & (source != _S["I"]) & (source != _S["O"]) & (source != _S["U"]), _S["W"], source)
    reexport = np.isin(exporter, _TRANSIT) & (rng.random(tx)[index] < 0.5)
    origin = rng.choice(_SOURCE_C, size=tx)[index]
    quantity = _quantities(rng, _COMBO_UNIT[combo_tx] < 0)[index]
    factor = np.where(rng.random(rows) < 0.3, 1.0, rng.lognormal(0.0, 0.35, rows))
    quantity = np.where(importer_reports, np.round(quantity * factor, 2), quantity)
    quantity = np.where(unit < 0, np.maximum(1, np.round(quantity)), quantity)
    purpose = rng.choice(len(PURPOSES), size=tx, p=_PURPOSE_P)[index]
    # Background Appendix-I trade is non-commercial (trophies, science), so only planted rows break the rule.
    purpose = np.where(_APPENDIX_I[taxon] & (purpose == 0), PURPOSES.index("H"), purpose)
    has_import = _APPENDIX_I[taxon] | (rng.random(rows) < 0.3)
    traced = ~importer_reports | (rng.random(rows) < 0.4)
    columns = {
        "Id": pa.array(np.arange(first_id, first_id + rows, dtype=np.int64)),
        "Year": pa.array(rng.integers(_YEARS[0], _YEARS[1], size=tx, dtype=np.int16)[index]),
        **_taxon_columns(taxon),
        "Term": _dict(_COMBO_TERM[combo], _TERMS),
        "Quantity": pa.array(quantity),
        "Unit": _dict(np.maximum(unit, 0), _UNITS, unit >= 0),
        "Importer": _dict(importer, COUNTRIES),
        "Exporter": _dict(exporter, COUNTRIES),
        "Origin": _dict(origin, COUNTRIES, reexport),
        "Purpose": _dict(purpose, PURPOSES),
        "Source": _dict(source, SOURCES),
        "Reporter.type": _dict(importer_reports.astype(np.int32), ("E", "I")),
        "Import.permit.RandomID": random_ids(rng, rows, has_import),
        "Export.permit.RandomID": random_ids(rng, rows, traced),
        "Origin.permit.RandomID": random_ids(rng, rows, reexport),
    }
    return columns, rows


def _laundering(rng: np.random.Generator, n: int, first_id: int, launderer: str) -> dict[str, pa.Array]:
    """Exporter-reported live hard-to-breed reptiles declared captive-bred, in commercial volume."""
    picks = np.array([_TAXON_INDEX[t.name] for t in HARD_TO_BREED])
    taxon = rng.choice(picks, size=n)
    none = np.zeros(n, dtype=bool)
    zeros = np.zeros(n, dtype=np.int32)
    return {
        "Id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "Year": pa.array(rng.integers(_YEARS[0], _YEARS[1], size=n, dtype=np.int16)),
        **_taxon_columns(taxon),
        "Term": _dict(np.full(n, _TERMS.index("LIV")), _TERMS),
        "Quantity": pa.array(np.round(rng.lognormal(5.0, 0.6, size=n))),
        "Unit": _dict(zeros, _UNITS, none),
        "Importer": _dict(rng.choice(np.array([_C[c] for c in ("CN", "HK", "AE", "US", "JP")]), size=n), COUNTRIES),
        "Exporter": _dict(np.full(n, _C[launderer]), COUNTRIES),
        "Origin": _dict(zeros, COUNTRIES, none),
        "Purpose": _dict(np.full(n, PURPOSES.index("T")), PURPOSES),
        "Source": _dict(rng.choice(np.array([_S[c] for c in "CFRD"]), size=n, p=[0.6, 0.2, 0.15, 0.05]), SOURCES),
        "Reporter.type": _dict(zeros, ("E", "I")),
        "Import.permit.RandomID": random_ids(rng, n, none),
        "Export.permit.RandomID": random_ids(rng, n),
        "Origin.permit.RandomID": random_ids(rng, n, none),
    }


def _permit_rows(rows: list[PermitRow], first_id: int) -> dict[str, pa.Array]:
    def text(values: list[str]) -> pa.Array:
        return pa.array([v or None for v in values], type=pa.string())

    return {
        "Id": pa.array(np.arange(first_id, first_id + len(rows), dtype=np.int64)),
        "Year": pa.array(np.array([r.year for r in rows], dtype=np.int16)),
        **_taxon_columns(np.array([_TAXON_INDEX[r.taxon] for r in rows], dtype=np.int64)),
        "Term": text([r.term for r in rows]),
        "Quantity": pa.array(np.array([r.quantity for r in rows], dtype=np.float64)),
        "Unit": text([r.unit for r in rows]),
        "Importer": text([r.importer for r in rows]),
        "Exporter": text([r.exporter for r in rows]),
        "Origin": text([r.origin for r in rows]),
        "Purpose": text([r.purpose for r in rows]),
        "Source": text([r.source for r in rows]),
        "Reporter.type": text([r.reporter for r in rows]),
        "Import.permit.RandomID": text([r.import_id for r in rows]),
        "Export.permit.RandomID": text([r.export_id for r in rows]),
        "Origin.permit.RandomID": text([r.origin_id for r in rows]),
    }


class _ChunkedCsv:
    """Writes tables into numbered CSV files of exactly ``ROWS_PER_FILE`` rows (the last fewer)."""

    def __init__(self, directory: Path, stem: str) -> None:
        self.directory = directory
        self.stem = stem
        self.files: list[Path] = []
        self._writer: pacsv.CSVWriter | None = None
        self._in_file = 0
        types = {"Id": pa.int64(), "Year": pa.int16(), "Quantity": pa.float64()}
        self._schema = pa.schema([(name, types.get(name, pa.string())) for name in HEADER])
        self._options = pacsv.WriteOptions(quoting_style="needed", batch_size=65_536)

    def write(self, columns: dict[str, pa.Array]) -> None:
        table = pa.table({name: columns[name] for name in HEADER}).cast(self._schema)
        offset = 0
        while offset < table.num_rows:
            if self._writer is None or self._in_file >= ROWS_PER_FILE:
                self._open()
            writer = self._writer
            assert writer is not None
            take = min(ROWS_PER_FILE - self._in_file, table.num_rows - offset)
            writer.write_table(table.slice(offset, take))
            self._in_file += take
            offset += take

    def _open(self) -> None:
        self.close()
        path = self.directory / f"{self.stem}_{len(self.files) + 1:03d}.csv"
        self.files.append(path)
        self._writer = pacsv.CSVWriter(str(path), self._schema, write_options=self._options)
        self._in_file = 0

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _permit_row_ids(rows: list[PermitRow], first_id: int) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        ids.setdefault(row.export_id, []).append(first_id + i)
    return ids


def write_trade(
    directory: Path,
    *,
    seed: int,
    total_rows: int,
    permit_rows: list[PermitRow],
    launderer: str,
    laundering_share: float = 0.01,
    advance: Callable[[int], None] = lambda n: None,
) -> TradeResult:
    """Write ``total_rows`` rows (at least the permit and laundering rows) and say where the planted ones are."""
    rng = np.random.default_rng([seed, 0x7A1DE])
    directory.mkdir(parents=True, exist_ok=True)
    out = _ChunkedCsv(directory, "trade_db")
    result = TradeResult()
    next_id = 1
    if permit_rows:
        out.write(_permit_rows(permit_rows, next_id))
        result.permit_row_ids = _permit_row_ids(permit_rows, next_id)
        next_id += len(permit_rows)
        advance(len(permit_rows))
    laundering = max(20, int(total_rows * laundering_share))
    out.write(_laundering(rng, laundering, next_id, launderer))
    result.laundering_ids = list(range(next_id, next_id + laundering))
    next_id += laundering
    advance(laundering)
    remaining = total_rows - next_id + 1
    while remaining > 0:
        columns, written = _background(rng, min(ROWS_PER_FILE // 2, remaining), next_id)
        out.write(columns)
        next_id += written
        remaining -= written
        advance(written)
    out.close()
    result.files = out.files
    result.rows = next_id - 1
    return result
