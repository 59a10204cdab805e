"""The evidence store: one embedded DuckDB file holding statements, typed records, the
quarantine of rejected input, the log of ingest runs and the per-schema projections.

One :class:`EvidenceStore` owns the connection. Writes happen inside :meth:`transaction`, so
a crash or a kill in the middle of an ingest leaves nothing behind (DuckDB discards an
uncommitted transaction when the file is next opened).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from chainlight.store.records import RECORD_TABLES


class StoreError(RuntimeError):
    """The evidence store could not be opened or used."""


CORE_TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS statements (
        id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        canonical_id VARCHAR,
        schema VARCHAR NOT NULL,
        prop VARCHAR NOT NULL,
        prop_type VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        lang VARCHAR,
        original_value VARCHAR,
        dataset VARCHAR NOT NULL,
        external BOOLEAN NOT NULL DEFAULT FALSE,
        first_seen TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL,
        origin VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        reader_key VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        statements_added BIGINT NOT NULL,
        records_added BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        run_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        line BIGINT,
        field VARCHAR,
        error VARCHAR NOT NULL,
        raw VARCHAR
    )""",
)


@dataclass(frozen=True, slots=True)
class DatasetCounts:
    dataset: str
    entities: int
    statements: int
    records: int
    quarantined: int


class EvidenceStore:
    """Owns the DuckDB connection to one evidence file."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        if read_only and not path.exists():
            raise StoreError(f"no evidence store at {path}: run 'chainlight ingest' or 'chainlight demo' first")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc
        self.con.execute("SET preserve_insertion_order = true")
        if not read_only:
            self.migrate()

    def migrate(self) -> None:
        for ddl in (*CORE_TABLES, *RECORD_TABLES.values()):
            self.con.execute(ddl)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block succeeds, roll back when it raises."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        # fetchall, not fetchone: DuckDB 2 keeps a half-read result open on the connection and
        # refuses other work until it is drained.
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def file_already_ingested(self, dataset: str, sha256: str, reader_key: str) -> bool:
        """Whether these exact bytes were read into the dataset by the same reader and options."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM ingest_runs WHERE dataset = ? AND sha256 = ? AND reader_key = ?",
                [dataset, sha256, reader_key],
            )
        )

    def dataset_names(self) -> list[str]:
        rows = self.fetchall(
            "SELECT DISTINCT dataset FROM ingest_runs UNION SELECT DISTINCT dataset FROM statements ORDER BY 1"
        )
        return [r[0] for r in rows]

    def counts(self) -> dict[str, DatasetCounts]:
        """Entities, statements, records and quarantined rows per dataset."""
        entity_rows = {
            d: (e, s)
            for d, e, s in self.fetchall(
                "SELECT dataset, count(DISTINCT entity_id), count(*) FROM statements GROUP BY dataset"
            )
        }
        records: dict[str, int] = {}
        existing = {r[0] for r in self.fetchall("SELECT table_name FROM duckdb_tables()")}
        for table in RECORD_TABLES:
            if table not in existing:  # a file made before this record table existed
                continue
            for d, n in self.fetchall(f"SELECT dataset, count(*) FROM {table} GROUP BY dataset"):
                records[d] = records.get(d, 0) + n
        quarantined = dict(self.fetchall("SELECT dataset, count(*) FROM quarantine GROUP BY dataset"))
        names = sorted(set(entity_rows) | set(records) | set(quarantined) | set(self.dataset_names()))
        return {
            d: DatasetCounts(
                d, entity_rows.get(d, (0, 0))[0], entity_rows.get(d, (0, 0))[1], records.get(d, 0),
                quarantined.get(d, 0),
            )
            for d in names
        }

    def schema_counts(self, datasets: list[str] | None = None) -> dict[str, int]:
        """Entities per schema, counted over the given datasets (all when None)."""
        where, params = _dataset_filter(datasets)
        rows = self.fetchall(
            f"SELECT schema, count(DISTINCT entity_id) FROM statements WHERE prop = 'id' {where} "
            "GROUP BY schema ORDER BY 2 DESC",
            params,
        )
        return dict(rows)


def _dataset_filter(datasets: list[str] | None, column: str = "dataset") -> tuple[str, list[Any]]:
    if datasets is None:
        return "", []
    return f"AND {column} = ANY(?)", [list(datasets)]
