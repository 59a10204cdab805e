"""CITES Trade Database CSVs (``cites-trade``), as UNEP-WCMC publishes them.

Two layouts, told apart by the header: the shipment-level bulk download (one row per reported
shipment, ``Id`` ... ``Origin.permit.RandomID``, files of 500,000 rows) and the comparative
tabulation the web search exports (one row per aggregate, importer- and exporter-reported
quantities side by side). Rows become typed records (``cites_trade``, ``cites_comparative``),
not statements: 25 million shipments would otherwise be hundreds of millions of statements.

Everything happens in DuckDB, set-based, because the bulk files are large: the CSV is parsed
into a temp table (all columns VARCHAR, strict quoting, malformed lines set aside with their
line numbers), every row is checked against the code tables in one query, valid rows are
inserted unless the dataset already holds their record id, and bad rows go to the quarantine
naming the first failing field. Line numbers count the header as line 1 and assume no field
holds a line break (true of UNEP-WCMC's files); a quoted line break shifts later numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from typing import Final

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
        con = ctx.con
        register_tables(con)
        try:
            rows, malformed = self._stage(ctx, layout)
            ctx.count_rows(rows + malformed)
            self._number_lines(ctx)
            if layout is SHIPMENTS:
                self._find_duplicates(ctx)
            con.execute(self._checked_view_sql(layout))
            added = self._insert_records(ctx, layout)
            bad = self._quarantine(ctx, layout)
            ctx.report.records_added += added
            ctx.report.rows_quarantined += bad + malformed
            ctx.report.problem_count += bad + malformed
            self._report_problems(ctx)
        finally:
            for name in ("_cites_checked",):
                con.execute(f"DROP VIEW IF EXISTS {name}")
            for name in (_ROWS, "_cites_lines", "_cites_dupes", _REJECTS, _REJECT_SCANS):
                con.execute(f"DROP TABLE IF EXISTS {name}")
        ctx.advance(ctx.path.stat().st_size)

    @staticmethod
    def _stage(ctx: IngestContext, layout: Layout) -> tuple[int, int]:
        """Parse the CSV into ``_cites_rows`` with each row's ordinal (DuckDB numbers rows in scan
        order: a streaming window) and quarantine malformed lines; return (rows parsed,
        malformed lines)."""
        con = ctx.con
        for name in (_ROWS, _REJECTS, _REJECT_SCANS):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in layout.columns) + "}"
        con.execute(
            f"""CREATE TEMP TABLE {_ROWS} AS SELECT row_number() OVER () AS ordinal, * FROM read_csv(
                ?, columns = {columns}, header = true, auto_detect = false, all_varchar = true,
                delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false,
                store_rejects = true, rejects_table = '{_REJECTS}', rejects_scan = '{_REJECT_SCANS}',
                encoding = 'utf-8')""",
            [str(ctx.path)],
        )
        field_names = "MAP {" + ", ".join(
            f"'{c}': '{h}'" for c, h in zip(layout.columns, layout.header, strict=True)
        ) + "}"
        rows = int(con.execute(f"SELECT count(*) FROM {_ROWS}").fetchone()[0])  # type: ignore[index]
        malformed = con.execute(
            f"""INSERT INTO quarantine
                SELECT ?, ?, ?, ?, line, {field_names}[min_by(column_name, column_idx)],
                       'malformed CSV line: ' || min_by(error_message, column_idx), any_value(csv_line)
                FROM {_REJECTS} GROUP BY line""",
            [ctx.run_id, ctx.dataset, ctx.format, ctx.label],
        ).fetchone()
        return rows, int(malformed[0]) if malformed else 0

    @staticmethod
    def _number_lines(ctx: IngestContext) -> None:
        """Map each parsed row to its file line, stepping over the malformed lines DuckDB set
        aside: row k (1-based) after j malformed lines sits on line k + j + 1 (the header is
        line 1). ``_cites_lines`` holds, per threshold k0 = malformed line - its rank, that
        rank j; an ASOF join picks the largest k0 <= k."""
        ctx.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _cites_lines AS
                SELECT line - rank AS k0, max(rank) AS j FROM (
                    SELECT line, row_number() OVER (ORDER BY line) AS rank
                    FROM (SELECT DISTINCT line FROM {_REJECTS})
                ) GROUP BY ALL"""
        )

    @staticmethod
    def _checked_view_sql(layout: Layout) -> str:
        """``_cites_checked``: every staged row with its line, its cleaned typed values and
        ``bad`` = {field, error} for the first check it fails (NULL when valid)."""
        last_year = date.today().year
        appendices = _sql_list(list(APPENDICES))
        reporters = _sql_list(list(REPORTER_TYPES))
        raw_names = dict(zip(layout.columns, layout.header, strict=True))
        cleaned = ",\n".join(f"nullif(trim({_q(c)}), '') AS {_q(c)}" for c in layout.columns)
        raw_json = "to_json({" + ", ".join(f"'{raw_names[c]}': r.{_q(c)}" for c in layout.columns) + "})"

        def code(column: str, label: str, table: str, *, required: bool) -> str:
            header = raw_names[column]
            missing = (
                f"WHEN r.{_q(column)} IS NULL THEN {{'field': '{header}', 'error': 'missing {label}'}}\n"
                if required else ""
            )
            return (
                f"{missing}WHEN r.{_q(column)} IS NOT NULL AND {table}.code IS NULL THEN "
                f"{{'field': '{header}', 'error': 'unknown {label} ' || r.{_q(column)}}}\n"
            )

        quantity_checks = []
        if layout is SHIPMENTS:
            quantity_checks.append(("quantity", "Quantity", True))
        else:
            quantity_checks += [("importer_quantity", "Importer reported quantity", False),
                                ("exporter_quantity", "Exporter reported quantity", False)]
        quantities = ""
        for column, header, required in quantity_checks:
            if required:
                quantities += f"WHEN r.{column} IS NULL THEN {{'field': '{header}', 'error': 'missing quantity'}}\n"
            quantities += (
                f"WHEN r.{column} IS NOT NULL AND NOT coalesce(isfinite(try_cast(r.{column} AS DOUBLE)) "
                f"AND try_cast(r.{column} AS DOUBLE) >= 0, false) THEN {{'field': '{header}', "
                f"'error': 'quantity is not a number >= 0: ' || r.{column}}}\n"
            )
        if layout is COMPARATIVE:
            quantities += (
                "WHEN r.importer_quantity IS NULL AND r.exporter_quantity IS NULL THEN "
                "{'field': 'Importer reported quantity', 'error': 'neither importer nor exporter reported a quantity'}\n"
            )

        shipment_checks = ""
        dupes_join = ""
        if layout is SHIPMENTS:
            shipment_checks = (
                "WHEN r.id IS NULL THEN {'field': 'Id', 'error': 'missing Id'}\n"
                "WHEN d.first_row IS NOT NULL AND r.ordinal > d.first_row THEN {'field': 'Id', "
                "'error': 'duplicate Id ' || r.id || ' (first on line ' || d.first_line || ')'}\n"
            )
            dupes_join = "LEFT JOIN _cites_dupes d ON r.id = d.id"
        reporter_check = (
            f"WHEN r.reporter_type IS NULL OR r.reporter_type NOT IN ({reporters}) THEN "
            "{'field': 'Reporter.type', 'error': 'Reporter.type must be E or I, not ' || coalesce(r.reporter_type, 'blank')}\n"
            if layout is SHIPMENTS else ""
        )
        appendix_header = raw_names["appendix"]
        view_sql = f"""
            CREATE OR REPLACE TEMP VIEW _cites_checked AS
            WITH r AS (
                SELECT s.ordinal, s.ordinal + coalesce(l.j, 0) + 1 AS line, {cleaned}
                FROM {_ROWS} s ASOF LEFT JOIN _cites_lines l ON s.ordinal >= l.k0
            )
            SELECT r.*, {raw_json} AS raw,
                try_cast(r.year AS SMALLINT) AS year_value,
                upper(r.appendix) AS appendix_value,
                tk.code AS term_code, nullif(uk.code, '') AS unit_code,
                upper(r.importer) AS importer_code, upper(r.exporter) AS exporter_code,
                upper(r.origin) AS origin_code,
                upper(r.purpose) AS purpose_code, upper(r.source) AS source_code,
                CASE
                {shipment_checks}
                WHEN r.year IS NULL THEN {{'field': 'Year', 'error': 'missing year'}}
                WHEN NOT coalesce(try_cast(r.year AS INTEGER) BETWEEN {FIRST_TRADE_YEAR} AND {last_year}, false)
                    THEN {{'field': 'Year', 'error': 'year is not between {FIRST_TRADE_YEAR} and {last_year}: ' || r.year}}
                WHEN r.appendix IS NULL OR upper(r.appendix) NOT IN ({appendices})
                    THEN {{'field': '{appendix_header}', 'error': 'appendix must be I, II, III or N, not '
                          || coalesce(r.appendix, 'blank')}}
                WHEN r.taxon IS NULL THEN {{'field': 'Taxon', 'error': 'missing taxon'}}
                {code("term", "term", "tk", required=True)}
                {quantities}
                WHEN r.unit IS NOT NULL AND uk.key IS NULL
                    THEN {{'field': 'Unit', 'error': 'unknown unit ' || r.unit}}
                {code("importer", "importer country", "ci", required=True)}
                {code("exporter", "exporter country", "ce", required=True)}
                {code("origin", "origin country", "co", required=False)}
                {code("purpose", "purpose", "cp", required=False)}
                {code("source", "source", "cs", required=False)}
                {reporter_check}
                END AS bad
            FROM r
            LEFT JOIN cites_term_keys tk ON upper(r.term) = tk.key
            LEFT JOIN cites_unit_keys uk ON upper(r.unit) = uk.key
            LEFT JOIN cites_countries ci ON upper(r.importer) = ci.code
            LEFT JOIN cites_countries ce ON upper(r.exporter) = ce.code
            LEFT JOIN cites_countries co ON upper(r.origin) = co.code
            LEFT JOIN cites_purposes cp ON upper(r.purpose) = cp.code
            LEFT JOIN cites_sources cs ON upper(r.source) = cs.code
            {dupes_join}
        """
        return view_sql

    @staticmethod
    def _find_duplicates(ctx: IngestContext) -> None:
        """``_cites_dupes``: Ids that occur more than once in the file, with their first row;
        later occurrences are quarantined (an Id names one shipment)."""
        ctx.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _cites_dupes AS
                SELECT s.id, min(s.ordinal) AS first_row,
                       min(s.ordinal) + 1 + arg_min(coalesce(l.j, 0), s.ordinal) AS first_line
                FROM (SELECT id, ordinal FROM {_ROWS} WHERE id IS NOT NULL AND id IN (
                        SELECT id FROM {_ROWS} GROUP BY id HAVING count(*) > 1)) s
                ASOF LEFT JOIN _cites_lines l ON s.ordinal >= l.k0
                GROUP BY s.id"""
        )

    def _insert_records(self, ctx: IngestContext, layout: Layout) -> int:
        con = ctx.con
        if layout is SHIPMENTS:
            sql = """
                INSERT INTO cites_trade
                SELECT ?, c.id, c.year_value, c.appendix_value, c.taxon, c.class, c."order", c.family, c.genus,
                       c.term_code, try_cast(c.quantity AS DOUBLE), c.unit_code, c.importer_code,
                       c.exporter_code, c.origin_code, c.purpose_code, c.source_code, upper(c.reporter_type),
                       c.import_permit, c.export_permit, c.origin_permit, ? || ':' || c.line
                FROM _cites_checked c
                ANTI JOIN (SELECT record_id FROM cites_trade WHERE dataset = ?) e ON c.id = e.record_id
                WHERE c.bad IS NULL
                ORDER BY c.ordinal
            """
        else:
            content = " || chr(31) || ".join(f"coalesce(c.{_q(col)}, '')" for col in layout.columns)
            sql = f"""
                INSERT INTO cites_comparative
                SELECT ?, k.record_id, k.year_value, k.appendix_value, k.taxon, k.class, k."order", k.family,
                       k.genus, k.importer_code, k.exporter_code, k.origin_code,
                       try_cast(k.importer_quantity AS DOUBLE), try_cast(k.exporter_quantity AS DOUBLE),
                       k.term_code, k.unit_code, k.purpose_code, k.source_code, ? || ':' || k.line
                FROM (
                    SELECT c.*, h || '-' || row_number() OVER (PARTITION BY h ORDER BY c.ordinal) AS record_id
                    FROM (SELECT c.*, md5({content}) AS h FROM _cites_checked c WHERE c.bad IS NULL) c
                ) k
                ANTI JOIN (SELECT record_id FROM cites_comparative WHERE dataset = ?) e
                    ON k.record_id = e.record_id
                ORDER BY k.ordinal
            """
        result = con.execute(sql, [ctx.dataset, ctx.label, ctx.dataset]).fetchone()
        return int(result[0]) if result else 0

    @staticmethod
    def _quarantine(ctx: IngestContext, layout: Layout) -> int:
        result = ctx.con.execute(
            """INSERT INTO quarantine
               SELECT ?, ?, ?, ?, c.line, c.bad.field, c.bad.error, c.raw
               FROM _cites_checked c WHERE c.bad IS NOT NULL ORDER BY c.ordinal""",
            [ctx.run_id, ctx.dataset, ctx.format, ctx.label],
        ).fetchone()
        return int(result[0]) if result else 0

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

