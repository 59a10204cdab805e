"""What the pages and the JSON API say about datasets, read from the evidence store.

The web app only ever reads. DuckDB lets one process write a file at a time, and a process
that holds a file open, even read-only, keeps writers out; so :class:`EvidenceReader` opens
the store read-only for the span of one request and closes it again, letting ``chainlight
ingest`` in another process get in between requests.

Every function here takes the list of datasets the viewer may see and queries those alone:
counts, schemata and totals are computed over visible datasets only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb

from chainlight.store.evidence import DatasetCounts, EvidenceStore, StoreError
from chainlight.web.access import Viewer, VisibleDataset
from chainlight.web.payloads import DatasetDetail, DatasetSummary, Home, IngestRun, SchemaCount, Totals


class EvidenceBusyError(RuntimeError):
    """The evidence store exists but cannot be opened for reading now (a writer holds it)."""


class EvidenceReader:
    """Hands out short-lived read-only connections to one evidence file, one at a time.

    The lock keeps threads of this process from opening and closing the same DuckDB file at
    once; reads are short, so serialising them costs little and keeps the file's lifetime simple.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def open(self) -> Iterator[EvidenceStore | None]:
        """The store opened read-only, or None when nothing has been loaded yet."""
        with self._lock:
            if not self.path.exists():
                yield None
                return
            try:
                store = EvidenceStore(self.path, read_only=True)
            # Another process writing: StoreError (a file lock). This process writing: DuckDB
            # refuses a read-only connection beside a read-write one (ConnectionException).
            except (StoreError, duckdb.ConnectionException) as exc:
                raise EvidenceBusyError("the evidence store is busy: an ingest is writing to it") from exc
            try:
                yield store
            finally:
                store.close()


def home(store: EvidenceStore | None, viewer: Viewer, datasets: list[VisibleDataset]) -> Home:
    """The home page: every visible dataset with its counts, and totals over them."""
    names = [d.name for d in datasets]
    counts = _counts(store, names)
    per_dataset = _schemata_per_dataset(store, names)
    summaries = [_summary(d, counts.get(d.name), per_dataset.get(d.name, [])) for d in datasets]
    totals = Totals(
        datasets=len(summaries),
        entities=sum(s.entities for s in summaries),
        statements=sum(s.statements for s in summaries),
        records=sum(s.records for s in summaries),
        quarantined=sum(s.quarantined for s in summaries),
    )
    return Home(
        organisation=viewer.organisation,
        datasets=summaries,
        totals=totals,
        schemata=_schemata(store, names),
    )


def dataset_detail(store: EvidenceStore | None, dataset: VisibleDataset) -> DatasetDetail:
    """One visible dataset: its counts, its entities per schema and its ingest runs."""
    counts = _counts(store, [dataset.name]).get(dataset.name)
    summary = _summary(dataset, counts, _schemata(store, [dataset.name]))
    return DatasetDetail(**summary.model_dump(by_alias=True), runs=_runs(store, dataset.name))


def _summary(
    dataset: VisibleDataset, counts: DatasetCounts | None, schemata: list[SchemaCount]
) -> DatasetSummary:
    return DatasetSummary(
        name=dataset.name,
        owner=dataset.owner,
        marking=dataset.marking.value,
        sharing_group=dataset.sharing_group,
        entities=counts.entities if counts else 0,
        statements=counts.statements if counts else 0,
        records=counts.records if counts else 0,
        quarantined=counts.quarantined if counts else 0,
        schemata=schemata,
    )


def _counts(store: EvidenceStore | None, names: list[str]) -> dict[str, DatasetCounts]:
    if store is None or not names:
        return {}
    wanted = set(names)
    return {name: c for name, c in store.counts().items() if name in wanted}


def _schemata(store: EvidenceStore | None, names: list[str]) -> list[SchemaCount]:
    if store is None or not names:
        return []
    counts = store.schema_counts(names)
    return [SchemaCount(schema=s, entities=n) for s, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


def _schemata_per_dataset(store: EvidenceStore | None, names: list[str]) -> dict[str, list[SchemaCount]]:
    if store is None or not names:
        return {}
    rows = store.fetchall(
        "SELECT dataset, schema, count(DISTINCT entity_id) AS n FROM statements "
        "WHERE prop = 'id' AND dataset = ANY(?) GROUP BY dataset, schema ORDER BY dataset, n DESC, schema",
        [names],
    )
    result: dict[str, list[SchemaCount]] = {}
    for dataset, schema, n in rows:
        result.setdefault(dataset, []).append(SchemaCount(schema=schema, entities=n))
    return result


RUN_COLUMNS = (
    "run_id", "path", "format", "sha256", "started_at", "finished_at", "rows_read", "rows_loaded",
    "rows_quarantined", "statements_added", "records_added",
)


def _runs(store: EvidenceStore | None, name: str) -> list[IngestRun]:
    if store is None:
        return []
    rows = store.fetchall(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM ingest_runs WHERE dataset = ? ORDER BY started_at DESC, path",
        [name],
    )
    runs = []
    for row in rows:
        values: dict[str, Any] = dict(zip(RUN_COLUMNS, row, strict=True))
        values["file"] = values.pop("path")
        # The ingest runner records naive UTC times; say so in what clients receive.
        values["started_at"] = values["started_at"].replace(tzinfo=UTC)
        values["finished_at"] = values["finished_at"].replace(tzinfo=UTC)
        runs.append(IngestRun(**values))
    return runs
