"""CITES Trade Database CSVs (``cites-trade``), as UNEP-WCMC publishes them.

Two layouts, told apart by the header: the shipment-level bulk download (one row per reported
shipment, ``Id`` ... ``Origin.permit.RandomID``, files of 500,000 rows) and the comparative
tabulation the web search exports (one row per aggregate, importer- and exporter-reported
quantities side by side). Rows become typed records (``cites_trade``, ``cites_comparative``),
not statements: 25 million shipments would otherwise be hundreds of millions of statements.

Everything happens in DuckDB, set-based, because the bulk files are large: the CSV is parsed
into a temp table (all columns VARCHAR, strict quoting, malformed lines set aside with their
line numbers), every row is checked against the code tables in one query that keeps only the
failures, valid rows are inserted unless the dataset already holds their record id, and bad
rows go to the quarantine naming the first failing field. Line numbers count the header as line 1 and assume no field
holds a line break (true of UNEP-WCMC's files); a quoted line break shifts later numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb

from chainlight.ingest.base import MAX_REPORTED_PROBLEMS, FileRejected, IngestContext, Problem
from chainlight.reference.cites import APPENDICES, FIRST_TRADE_YEAR, REPORTER_TYPES, register_tables


@dataclass(frozen=True, slots=True)
class Layout:
    """One published CSV layout: its header, the staging column names, and its record table."""

    name: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    table: str


SHIPMENTS: Final = Layout(
    "shipment-level",
    ("Id", "Year", "Appendix", "Taxon", "Class", "Order", "Family", "Genus", "Term", "Quantity", "Unit",
     "Importer", "Exporter", "Origin", "Purpose", "Source", "Reporter.type", "Import.permit.RandomID",
     "Export.permit.RandomID", "Origin.permit.RandomID"),
    ("id", "year", "appendix", "taxon", "class", "order", "family", "genus", "term", "quantity", "unit",
     "importer", "exporter", "origin", "purpose", "source", "reporter_type", "import_permit", "export_permit",
     "origin_permit"),
    "cites_trade",
)

COMPARATIVE: Final = Layout(
    "comparative tabulation",
    ("Year", "App.", "Taxon", "Class", "Order", "Family", "Genus", "Importer", "Exporter", "Origin",
     "Importer reported quantity", "Exporter reported quantity", "Term", "Unit", "Purpose", "Source"),
    ("year", "appendix", "taxon", "class", "order", "family", "genus", "importer", "exporter", "origin",
     "importer_quantity", "exporter_quantity", "term", "unit", "purpose", "source"),
    "cites_comparative",
)

LAYOUTS: Final = (SHIPMENTS, COMPARATIVE)

_ROWS = "_cites_rows"
_RAW = "_cites_raw"
_BAD = "_cites_bad"
_REJECTS = "_cites_rejects"
_REJECT_SCANS = "_cites_reject_scans"


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _q(column: str) -> str:
    return f'"{column}"'


def detect_layout(ctx: IngestContext) -> Layout:
    """Which layout the file is, from its header; anything else rejects the whole file."""
    with ctx.path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
    header = tuple(h.strip() for h in next(csv.reader([first]), []))
    for layout in LAYOUTS:
        if header == layout.header:
            return layout
    expected = " or ".join(f"{layout.name} ({','.join(layout.header)})" for layout in LAYOUTS)
    found = ",".join(header) if header else "an empty file"
    raise FileRejected(f"not a CITES Trade Database CSV: header is {found}; expected {expected}", 1)


class CitesTradeReader:
    format = "cites-trade"
    description = "CITES Trade Database CSV: shipment-level bulk download or comparative tabulation"

    def read(self, ctx: IngestContext) -> None:
        layout = detect_layout(ctx)
        register_tables(ctx.con)
        try:
            rows, malformed = self._stage(ctx, layout)
            ctx.count_rows(rows + malformed)
            source = self._numbered_rows(ctx, malformed)
            duplicates = self._find_duplicates(ctx, source) if layout is SHIPMENTS else 0
            failed = _count(ctx.con.execute(f"SELECT count(*) FROM {_BAD}").fetchall())
            bad = self._quarantine(ctx, layout, source, duplicates) if failed or duplicates else 0
            ctx.report.records_added += self._insert_records(ctx, layout, source, duplicates)
            ctx.report.rows_quarantined += bad + malformed
            ctx.report.problem_count += bad + malformed
            self._report_problems(ctx)
        finally:
            _drop_temporaries(ctx.con)
        ctx.advance(ctx.path.stat().st_size)

    @staticmethod
    def _stage(ctx: IngestContext, layout: Layout) -> tuple[int, int]:
        """Parse the CSV (a parallel scan, values trimmed) into ``_cites_raw``, check every row
        once into ``_cites_bad`` (only failures: ordinal and ``bad`` = {field, error}), and
        define the view ``_cites_rows``: each row's ordinal (from the table's rowid, which
        follows file order), its values, its term and unit codes, and its ``bad`` (NULL when
        valid). Malformed lines go to the quarantine. Return (rows parsed, malformed lines)."""
        con = ctx.con
        _drop_temporaries(con)
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in layout.columns) + "}"
        # A plain parallel scan first: with preserve_insertion_order (the store's setting) the
        # table keeps file order, so its rowid counts rows (offset: inside a transaction the
        # rowids of new rows start high). Numbering rows inside the scan with row_number() OVER ()
        # would make the parse single-threaded: 1.8x slower.
        con.execute(
            f"""CREATE TEMP TABLE {_RAW} AS
                SELECT {_cleaned(layout)} FROM read_csv(
                    ?, columns = {columns}, header = true, auto_detect = false, all_varchar = true,
                    delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false,
                    store_rejects = true, rejects_table = '{_REJECTS}', rejects_scan = '{_REJECT_SCANS}',
                    encoding = 'utf-8')""",
            [str(ctx.path)],
        )
        offset = con.execute(f"SELECT coalesce(min(rowid), 0) FROM {_RAW}").fetchall()[0][0]
        base = f"(SELECT rowid - {int(offset)} + 1 AS ordinal, * FROM {_RAW}) r"
        # One pass runs every check on every row and keeps only the failures (few); the view
        # the later steps read joins them back, so the checks are neither run again nor
        # materialised beside the rows.
        con.execute(
            f"""CREATE TEMP TABLE {_BAD} AS
                SELECT ordinal, bad FROM (
                    SELECT r.ordinal, {_first_failure(layout)} AS bad FROM {base} {_CODE_JOINS}
                ) WHERE bad IS NOT NULL"""
        )
        con.execute(
            f"""CREATE TEMP VIEW {_ROWS} AS
                SELECT r.*, tk.code AS term_code, nullif(uk.code, '') AS unit_code, b.bad
                FROM {base}
                LEFT JOIN cites_term_keys tk ON upper(r.term) = tk.key
                LEFT JOIN cites_unit_keys uk ON upper(r.unit) = uk.key
                LEFT JOIN {_BAD} b ON r.ordinal = b.ordinal"""
        )
        field_names = "MAP {" + ", ".join(
            f"'{c}': '{h}'" for c, h in zip(layout.columns, layout.header, strict=True)
        ) + "}"
        rows = _count(con.execute(f"SELECT count(*) FROM {_RAW}").fetchall())
        malformed = _count(con.execute(
            f"""INSERT INTO quarantine
                SELECT ?, ?, ?, ?, line, {field_names}[min_by(column_name, column_idx)],
                       'malformed CSV line: ' || min_by(error_message, column_idx), any_value(csv_line)
                FROM {_REJECTS} GROUP BY line ORDER BY line""",
            [ctx.run_id, ctx.dataset, ctx.format, ctx.label],
        ).fetchall())
        return rows, malformed

    @staticmethod
    def _numbered_rows(ctx: IngestContext, malformed: int) -> str:
        """SQL for the staged rows with their file ``line`` (the header is line 1).

        Without malformed lines row k is on line k + 1. Otherwise row k after j malformed lines
        is on line k + j + 1: ``_cites_lines`` holds, per threshold k0 = malformed line - its
        rank, that rank j, and an ASOF join picks the largest k0 <= k."""
        if not malformed:
            return f"(SELECT ordinal + 1 AS line, * FROM {_ROWS})"
        ctx.con.execute(
            f"""CREATE TEMP TABLE _cites_lines AS
                SELECT line - rank AS k0, max(rank) AS j FROM (
                    SELECT line, row_number() OVER (ORDER BY line) AS rank
                    FROM (SELECT DISTINCT line FROM {_REJECTS})
                ) GROUP BY ALL"""
        )
        return (
            f"(SELECT s.ordinal + coalesce(l.j, 0) + 1 AS line, s.* FROM {_ROWS} s "
            "ASOF LEFT JOIN _cites_lines l ON s.ordinal >= l.k0)"
        )

    @staticmethod
    def _find_duplicates(ctx: IngestContext, source: str) -> int:
        """``_cites_dupes``: Ids that more than one valid row of the file carries, with the first
        such row; the later ones are quarantined (an Id names one shipment). Candidates are
        found by hash first, which is much cheaper than grouping the strings."""
        return _count(ctx.con.execute(
            f"""CREATE TEMP TABLE _cites_dupes AS
                SELECT id, min(ordinal) AS first_row, arg_min(line, ordinal) AS first_line
                FROM {source} s
                WHERE bad IS NULL AND hash(id) IN (
                    SELECT hash(id) FROM {_RAW} GROUP BY ALL HAVING count(*) > 1)
                GROUP BY id HAVING count(*) > 1"""
        ).fetchall())

    @staticmethod
    def _quarantine(ctx: IngestContext, layout: Layout, source: str, duplicates: int) -> int:
        """Quarantine the rows that failed a check, naming the first failing field, with their
        values under the file's own column names."""
        if duplicates:
            rows = f"{source} r LEFT JOIN _cites_dupes d ON r.id = d.id"
            field = "CASE WHEN bad IS NULL THEN 'Id' ELSE bad.field END"
            error = ("CASE WHEN bad IS NULL THEN 'duplicate Id ' || r.id || ' (first on line ' || d.first_line "
                     "|| ')' ELSE bad.error END")
            where = "bad IS NOT NULL OR r.ordinal > d.first_row"
        else:
            rows, field, error, where = f"{source} r", "bad.field", "bad.error", "bad IS NOT NULL"
        return _count(ctx.con.execute(
            f"""INSERT INTO quarantine
                SELECT ?, ?, ?, ?, line, {field}, {error}, {_raw_json(layout)}
                FROM {rows} WHERE {where} ORDER BY r.ordinal""",
            [ctx.run_id, ctx.dataset, ctx.format, ctx.label],
        ).fetchall())

    @staticmethod
    def _insert_records(ctx: IngestContext, layout: Layout, source: str, duplicates: int) -> int:
        """Insert the rows that passed, codes normalised, unless the dataset already holds their
        record id (so a re-ingest adds nothing)."""
        if layout is SHIPMENTS:
            rows, where = f"{source} r", "r.bad IS NULL"
            if duplicates:
                rows += " LEFT JOIN _cites_dupes d ON r.id = d.id"
                where += " AND NOT coalesce(r.ordinal > d.first_row, false)"
            sql = f"""
                INSERT INTO cites_trade
                SELECT ?, r.id, r.year::SMALLINT, upper(r.appendix), r.taxon, r.class, r."order", r.family,
                       r.genus, r.term_code, r.quantity::DOUBLE, r.unit_code, upper(r.importer),
                       upper(r.exporter), upper(r.origin), upper(r.purpose), upper(r.source),
                       upper(r.reporter_type), r.import_permit, r.export_permit, r.origin_permit,
                       ? || ':' || r.line
                FROM {rows}
                ANTI JOIN (SELECT record_id FROM cites_trade WHERE dataset = ?) e ON r.id = e.record_id
                WHERE {where}
            """
        else:
            content = " || chr(31) || ".join(f"coalesce(r.{_q(col)}, '')" for col in layout.columns)
            sql = f"""
                INSERT INTO cites_comparative
                SELECT ?, k.record_id, k.year::SMALLINT, upper(k.appendix), k.taxon, k.class, k."order",
                       k.family, k.genus, upper(k.importer), upper(k.exporter), upper(k.origin),
                       k.importer_quantity::DOUBLE, k.exporter_quantity::DOUBLE, k.term_code,
                       k.unit_code, upper(k.purpose), upper(k.source), ? || ':' || k.line
                FROM (
                    SELECT *, h || '-' || row_number() OVER (PARTITION BY h ORDER BY ordinal) AS record_id
                    FROM (SELECT r.*, md5({content}) AS h FROM {source} r WHERE r.bad IS NULL)
                ) k
                ANTI JOIN (SELECT record_id FROM cites_comparative WHERE dataset = ?) e
                    ON k.record_id = e.record_id
                ORDER BY k.ordinal
            """
        # Row order in the table carries nothing (``origin`` holds the line), and keeping it
        # would serialise the insert.
        ctx.con.execute("SET preserve_insertion_order = false")
        try:
            return _count(ctx.con.execute(sql, [ctx.dataset, ctx.label, ctx.dataset]).fetchall())
        finally:
            ctx.con.execute("SET preserve_insertion_order = true")

    @staticmethod
    def _report_problems(ctx: IngestContext) -> None:
        room = MAX_REPORTED_PROBLEMS - len(ctx.report.problems)
        if room <= 0:
            return
        rows = ctx.con.execute(
            """SELECT line, field, error, raw FROM quarantine WHERE run_id = ? AND path = ?
               ORDER BY line NULLS FIRST LIMIT ?""",
            [ctx.run_id, ctx.label, room],
        ).fetchall()
        for line, field, error, raw in rows:
            ctx.report.problems.append(Problem(ctx.label, line, field, error, raw))


_TEMP_TABLES: Final = (_BAD, _RAW, _REJECTS, _REJECT_SCANS, "_cites_lines", "_cites_dupes")

#: Code lookups for the checks; every code column is compared upper-cased.
_CODE_JOINS: Final = """
    LEFT JOIN cites_term_keys tk ON upper(r.term) = tk.key
    LEFT JOIN cites_unit_keys uk ON upper(r.unit) = uk.key
    LEFT JOIN cites_countries ci ON upper(r.importer) = ci.code
    LEFT JOIN cites_countries ce ON upper(r.exporter) = ce.code
    LEFT JOIN cites_countries co ON upper(r.origin) = co.code
    LEFT JOIN cites_purposes cp ON upper(r.purpose) = cp.code
    LEFT JOIN cites_sources cs ON upper(r.source) = cs.code"""


def _drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW IF EXISTS {_ROWS}")
    for name in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _count(rows: list[tuple[object, ...]]) -> int:
    """The single number a count or an INSERT returns (fetched fully: DuckDB wants results
    finished before the connection does other work)."""
    value = rows[0][0] if rows else 0
    return int(value) if isinstance(value, int) else 0


def _cleaned(layout: Layout) -> str:
    """Every column trimmed, blanks as NULL (a quoted "" is as blank as an empty field)."""
    return ", ".join(f"nullif(trim({_q(c)}), '') AS {_q(c)}" for c in layout.columns)


def _raw_json(layout: Layout) -> str:
    """The row's values under the file's own column names, for the quarantine."""
    pairs = ", ".join(f"'{h}': r.{_q(c)}" for c, h in zip(layout.columns, layout.header, strict=True))
    return "to_json({" + pairs + "})"


def _fail(header: str, error: str) -> str:
    """A failure struct; ``error`` is an SQL string expression."""
    return f"{{'field': '{header}', 'error': {error}}}"


def _first_failure(layout: Layout) -> str:
    """A CASE naming the first failing check of a row (NULL when the row is valid), in the
    order a reader of the file sees the columns."""
    h = dict(zip(layout.columns, layout.header, strict=True))
    last_year = date.today().year
    whens: list[tuple[str, str]] = []
    if layout is SHIPMENTS:
        whens.append(("r.id IS NULL", _fail("Id", "'missing Id'")))
    whens += [
        ("r.year IS NULL", _fail("Year", "'missing year'")),
        (f"NOT coalesce(try_cast(r.year AS INTEGER) BETWEEN {FIRST_TRADE_YEAR} AND {last_year}, false)",
         _fail("Year", f"'year is not between {FIRST_TRADE_YEAR} and {last_year}: ' || r.year")),
        (f"r.appendix IS NULL OR upper(r.appendix) NOT IN ({_sql_list(list(APPENDICES))})",
         _fail(h["appendix"], "'appendix must be I, II, III or N, not ' || coalesce(r.appendix, 'blank')")),
        ("r.taxon IS NULL", _fail("Taxon", "'missing taxon'")),
        ("r.term IS NULL", _fail("Term", "'missing term'")),
        ("tk.code IS NULL", _fail("Term", "'unknown term ' || r.term")),
    ]
    if layout is SHIPMENTS:
        whens.append(("r.quantity IS NULL", _fail("Quantity", "'missing quantity'")))
    quantities = ["quantity"] if layout is SHIPMENTS else ["importer_quantity", "exporter_quantity"]
    for column in quantities:
        number = f"try_cast(r.{column} AS DOUBLE)"
        whens.append((
            f"r.{column} IS NOT NULL AND NOT coalesce(isfinite({number}) AND {number} >= 0, false)",
            _fail(h[column], f"'quantity is not a number >= 0: ' || r.{column}"),
        ))
    if layout is COMPARATIVE:
        whens.append(("r.importer_quantity IS NULL AND r.exporter_quantity IS NULL",
                      _fail(h["importer_quantity"], "'neither importer nor exporter reported a quantity'")))
    whens += [
        ("r.unit IS NOT NULL AND uk.key IS NULL", _fail("Unit", "'unknown unit ' || r.unit")),
        ("r.importer IS NULL", _fail("Importer", "'missing importer'")),
        ("ci.code IS NULL", _fail("Importer", "'unknown importer country code ' || r.importer")),
        ("r.exporter IS NULL", _fail("Exporter", "'missing exporter'")),
        ("ce.code IS NULL", _fail("Exporter", "'unknown exporter country code ' || r.exporter")),
        ("r.origin IS NOT NULL AND co.code IS NULL", _fail("Origin", "'unknown origin country code ' || r.origin")),
        ("r.purpose IS NOT NULL AND cp.code IS NULL", _fail("Purpose", "'unknown purpose code ' || r.purpose")),
        ("r.source IS NOT NULL AND cs.code IS NULL", _fail("Source", "'unknown source code ' || r.source")),
    ]
    if layout is SHIPMENTS:
        whens.append((
            f"r.reporter_type IS NULL OR upper(r.reporter_type) NOT IN ({_sql_list(list(REPORTER_TYPES))})",
            _fail("Reporter.type", "'Reporter.type must be E or I, not ' || coalesce(r.reporter_type, 'blank')"),
        ))
    return "CASE " + " ".join(f"WHEN {cond} THEN {fail}" for cond, fail in whens) + " END"
