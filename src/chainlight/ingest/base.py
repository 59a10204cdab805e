"""What every reader shares: the ingest context it writes into, and the runner that makes an
ingest atomic, idempotent and honest about bad input.

A reader turns one file into statements (through :meth:`IngestContext.add_entity`) or typed
records (its own SQL on :attr:`IngestContext.con`), and reports each bad row with
:meth:`IngestContext.reject` instead of stopping. A file the reader cannot trust at all
raises :class:`FileRejected`, before it writes any record (statements are staged and dropped
by the runner; record readers must validate first or stage their own rows). The runner wraps
all files of one command in one DuckDB transaction: either everything valid is committed, or nothing is.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from chainlight.model.statements import STATEMENT_COLUMNS, entity_statements
from chainlight.store.evidence import EvidenceStore

FLUSH_ROWS = 100_000
MAX_REPORTED_PROBLEMS = 20

#: Column names of the staging table, in order (statement columns plus a sequence number).
_STAGING_COLUMNS = (*STATEMENT_COLUMNS, "seq")


class IngestError(RuntimeError):
    """An ingest command cannot run at all (unknown format, missing file, bad option)."""


class FileRejected(Exception):
    """A whole file is unusable (it fails its schema, or is not the format it claims)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Problem:
    """One rejected row (or file): where it is and what is wrong with it."""

    path: str
    line: int | None
    field: str | None
    error: str
    raw: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.error}"


@dataclass(slots=True)
class FileReport:
    path: str
    format: str
    skipped: bool = False
    rejected: str | None = None
    rows_read: int = 0
    rows_quarantined: int = 0
    problem_count: int = 0
    statements_added: int = 0
    records_added: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_quarantined


@dataclass(slots=True)
class IngestReport:
    dataset: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def statements_added(self) -> int:
        return sum(f.statements_added for f in self.files)

    @property
    def records_added(self) -> int:
        return sum(f.records_added for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rejected_files(self) -> list[FileReport]:
        return [f for f in self.files if f.rejected]


ProgressCallback = Callable[[int], None]


class IngestContext:
    """Handed to a reader for one file; collects statements, records and problems."""

    def __init__(
        self,
        store: EvidenceStore,
        dataset: str,
        fmt: str,
        path: Path,
        run_id: str,
        report: FileReport,
        advance: ProgressCallback,
        options: dict[str, Any],
    ) -> None:
        self.store = store
        self.con = store.con
        self.dataset = dataset
        self.format = fmt
        self.path = path
        self.run_id = run_id
        self.report = report
        self.advance = advance
        self.options = options
        self._rows: list[tuple[Any, ...]] = []
        self._seq = 0
        self._bad_lines: set[int | None] = set()

    @property
    def label(self) -> str:
        """How the file is named in errors and origins: its name as given on the command line."""
        return self.report.path

    def origin(self, line: int | None) -> str:
        return self.label if line is None else f"{self.label}:{line}"

    def count_rows(self, n: int = 1) -> None:
        self.report.rows_read += n

    def reject(
        self,
        line: int | None,
        error: str,
        field: str | None = None,
        raw: str | None = None,
        *,
        row_loaded: bool = False,
    ) -> None:
        """Quarantine one bad row and carry on with the rest. With ``row_loaded`` only the
        named field is quarantined: the rest of the row was loaded."""
        problem = Problem(self.label, line, field, error, raw[:2000] if raw else raw)
        self.report.problem_count += 1
        if not row_loaded and (line is None or line not in self._bad_lines):
            self.report.rows_quarantined += 1
            self._bad_lines.add(line)
        if len(self.report.problems) < MAX_REPORTED_PROBLEMS:
            self.report.problems.append(problem)
        self.con.execute(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [self.run_id, self.dataset, self.format, self.label, line, field, error, problem.raw],
        )

    def add_entity(self, proxy: Any, line: int | None) -> None:
        """Queue an FtM entity proxy's statements for this dataset."""
        origin = self.origin(line)
        for st in entity_statements(proxy, self.dataset, origin):
            self._seq += 1
            self._rows.append(
                (st.id, st.entity_id, None, st.schema, st.prop, st.prop_type, st.value, st.lang,
                 st.original_value, st.dataset, st.external, st.origin, self._seq)
            )
        if len(self._rows) >= FLUSH_ROWS:
            self.flush()

    def add_entities(self, proxies: Iterable[Any], line: int | None) -> None:
        for proxy in proxies:
            self.add_entity(proxy, line)

    def flush(self) -> None:
        if not self._rows:
            return
        columns = list(zip(*self._rows, strict=True))
        table = pa.table(
            {name: pa.array(col) for name, col in zip(_STAGING_COLUMNS, columns, strict=True)}
        )
        self.con.register("_staged_batch", table)
        self.con.execute("INSERT INTO _staging SELECT * FROM _staged_batch")
        self.con.unregister("_staged_batch")
        self._rows.clear()


class Reader(Protocol):
    """One module per format implements this."""

    format: str
    description: str

    def read(self, ctx: IngestContext) -> None: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _create_staging(store: EvidenceStore) -> None:
    store.con.execute(
        """CREATE OR REPLACE TEMP TABLE _staging (
            id VARCHAR, entity_id VARCHAR, canonical_id VARCHAR, schema VARCHAR, prop VARCHAR,
            prop_type VARCHAR, value VARCHAR, lang VARCHAR, original_value VARCHAR, dataset VARCHAR,
            external BOOLEAN, origin VARCHAR, seq BIGINT
        )"""
    )


def _commit_staging(store: EvidenceStore, dataset: str, now: datetime) -> int:
    """Move staged statements that are new to this dataset into the statements table.

    A statement id hashes dataset, entity, property and value, so two staged rows with one id
    say the same thing; the first one read (lowest ``seq``) keeps its origin. A hash
    aggregate collapses them only when there are any, and the anti-join against stored
    statements is skipped while the dataset is empty.
    """
    has_any = bool(store.scalar("SELECT EXISTS (SELECT 1 FROM statements WHERE dataset = ?)", [dataset]))
    existing = "" if not has_any else "ANTI JOIN (SELECT id FROM statements WHERE dataset = ?) e ON s.id = e.id"
    # Checking for repeated ids costs a tenth of collapsing them, and most files repeat none.
    repeated = not store.scalar("SELECT count(*) = count(DISTINCT id) FROM _staging")
    staged = "_staging"
    if repeated:
        staged = """(
            SELECT id, any_value(entity_id) AS entity_id, any_value(canonical_id) AS canonical_id,
                   arg_min(schema, seq) AS schema, any_value(prop) AS prop, any_value(prop_type) AS prop_type,
                   any_value(value) AS value, any_value(lang) AS lang,
                   arg_min_null(original_value, seq) AS original_value, any_value(dataset) AS dataset,
                   any_value(external) AS external, arg_min(origin, seq) AS origin
            FROM _staging GROUP BY id
        )"""
    inserted = store.con.execute(
        f"""
        INSERT INTO statements
        SELECT s.id, s.entity_id, s.canonical_id, s.schema, s.prop, s.prop_type, s.value, s.lang,
               s.original_value, s.dataset, s.external, ?, ?, s.origin
        FROM {staged} s
        {existing}
        """,
        [now, now] + ([dataset] if has_any else []),
    ).fetchall()
    store.con.execute("DELETE FROM _staging")
    # DuckDB answers an INSERT with the number of rows it wrote: no need to count the dataset.
    return int(inserted[0][0]) if inserted else 0


def run_ingest(
    store: EvidenceStore,
    reader: Reader,
    paths: Sequence[Path],
    dataset: str,
    *,
    labels: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    on_file: Callable[[Path, int], ProgressCallback] | None = None,
    force: bool = False,
) -> IngestReport:
    """Ingest ``paths`` into ``dataset`` in one transaction.

    Files whose exact content was already ingested into the dataset are skipped (unless
    ``force``); statements already present are not added again; bad rows are quarantined
    and reported; files that fail validation as a whole are rejected and reported.
    """
    for path in paths:
        if not path.is_file():
            raise IngestError(f"{path}: no such file")
    report = IngestReport(dataset)
    run_id = uuid.uuid4().hex
    # The same bytes read as another format or through another mapping are another ingest.
    reader_key = json.dumps({"format": reader.format, "options": options or {}}, sort_keys=True, default=str)
    names = list(labels) if labels is not None else [str(p) for p in paths]
    with store.transaction():
        _create_staging(store)
        for path, label in zip(paths, names, strict=True):
            file_report = FileReport(label, reader.format)
            report.files.append(file_report)
            digest = sha256_file(path)
            if not force and store.file_already_ingested(dataset, digest, reader_key):
                file_report.skipped = True
                continue
            started = datetime.now(UTC).replace(tzinfo=None)
            advance = on_file(path, path.stat().st_size) if on_file else (lambda n: None)
            ctx = IngestContext(store, dataset, reader.format, path, run_id, file_report, advance, options or {})
            try:
                reader.read(ctx)
                ctx.flush()
            except FileRejected as exc:
                store.con.execute("DELETE FROM _staging")
                store.con.execute("DELETE FROM quarantine WHERE run_id = ? AND path = ?", [run_id, label])
                ctx.reject(exc.line, exc.message)
                # Nothing of a rejected file is loaded: every row read counts as quarantined.
                file_report.rejected = exc.message
                file_report.rows_quarantined = file_report.rows_read
                continue
            finished = datetime.now(UTC).replace(tzinfo=None)
            file_report.statements_added = _commit_staging(store, dataset, finished)
            store.con.execute(
                "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, dataset, reader.format, label, digest, reader_key, started, finished, file_report.rows_read,
                 file_report.rows_loaded, file_report.rows_quarantined, file_report.statements_added,
                 file_report.records_added],
            )
            advance(0)
        store.con.execute("DROP TABLE IF EXISTS _staging")
    return report
