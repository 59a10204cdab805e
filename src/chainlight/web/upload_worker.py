"""The ingest of one uploaded file, run in a child process of the web app.

``python -m chainlight.web.upload_worker JOB_ID`` (the installation from ``CHAINLIGHT_HOME``
and ``CHAINLIGHT_DATABASE_URL``, which the web app sets). The web process itself never opens the
evidence store for writing: DuckDB's write lock and any crash of the ingest stay in this process.

The steps are those of :func:`chainlight.pipeline.ingest` (register the dataset with its
marking, ingest atomically, rebuild the projections when statements were added), taken one by
one so that the job record can follow them: the worker waits for the evidence store while
another writer holds it, and reports bytes and rows read, rows quarantined and the first
problems to the job (:mod:`chainlight.store.upload_jobs`) as it goes. Reads of the web app
answer 503 while the ingest writes; the job page reads only the operational store.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from chainlight.ingest import get_reader
from chainlight.ingest.base import FileReport, IngestContext, IngestError, Reader, run_ingest
from chainlight.model.markings import Marking, MarkingError
from chainlight.pipeline import open_operational
from chainlight.settings import Settings
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore, StoreError
from chainlight.store.operational import OperationalError
from chainlight.store.upload_jobs import UploadJob, UploadJobs

log = logging.getLogger("chainlight.upload")

#: Seconds between two progress writes to the job record.
PROGRESS_EVERY = 0.5
#: How long to wait for another writer to release the evidence store (CHAINLIGHT_UPLOAD_WAIT_SECONDS).
WAIT_SECONDS = 900.0
#: Errors whose message is written for users (the others are logged with an incident reference).
EXPECTED = (IngestError, OperationalError, MarkingError, StoreError)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def uploads_folder(settings: Settings) -> Path:
    """Where uploaded files are kept: one folder per job under ``$CHAINLIGHT_HOME/uploads``."""
    return settings.home / "uploads"


class _Watched:
    """A reader that keeps the ingest context it was handed, so progress can count its rows."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.format = reader.format
        self.description = reader.description
        self.ctx: IngestContext | None = None

    def read(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.reader.read(ctx)


class _Progress:
    """Writes bytes and rows read to the job at most every :data:`PROGRESS_EVERY` seconds."""

    def __init__(self, jobs: UploadJobs, job_id: str, watched: _Watched) -> None:
        self.jobs, self.job_id, self.watched = jobs, job_id, watched
        self.bytes_read = 0
        self.last = 0.0

    def on_file(self, path: Path, size: int) -> Callable[[int], None]:
        def advance(n: int) -> None:
            self.bytes_read = self.bytes_read + n if n else size
            now = time.monotonic()
            if now - self.last >= PROGRESS_EVERY or not n:
                self.last = now
                self.write()

        return advance

    def write(self) -> None:
        ctx = self.watched.ctx
        counts: dict[str, Any] = {"bytes_read": self.bytes_read}
        if ctx is not None:
            report = ctx.report
            counts |= {"rows_read": report.rows_read, "rows_quarantined": report.rows_quarantined,
                       "rows_loaded": report.rows_loaded, "problem_count": report.problem_count}
        self.jobs.update(self.job_id, **counts)


def _open_for_writing(settings: Settings, jobs: UploadJobs, job_id: str, wait: float) -> EvidenceStore:
    """The evidence store opened read-write, waiting while another process (an ingest, a rule
    run, a web request's short read) holds it."""
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            return EvidenceStore(settings.evidence_path)
        except StoreError as exc:
            locked = isinstance(exc.__cause__, duckdb.IOException) and "lock" in str(exc).lower()
            if not locked or time.monotonic() >= deadline:
                raise
        jobs.update(job_id, state="waiting", message="Waiting for the evidence store: another process is using it.")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _problems(report: FileReport) -> list[dict[str, Any]]:
    return [{"file": p.path, "line": p.line, "field": p.field, "error": p.error} for p in report.problems]


def _outcome(report: FileReport) -> tuple[str, str | None]:
    if report.skipped:
        return "done", "This file was already ingested into the dataset: nothing new was added."
    if report.rejected:
        return "failed", f"The file was rejected: {report.rejected}"
    if report.rows_quarantined:
        return "done", f"{report.rows_quarantined:,} of {report.rows_read:,} rows were quarantined."
    return "done", None


def ingest_job(settings: Settings, jobs: UploadJobs, job: UploadJob, *, wait: float = WAIT_SECONDS) -> None:
    """Run the job's ingest, writing its progress and outcome to the job record."""
    jobs.update(job.id, pid=os.getpid(), started_at=_now(), state="waiting", message="Registering the dataset.")
    jobs.operational.ensure_dataset(
        job.dataset, owner=job.organisation, marking=Marking.parse(job.marking), sharing_group=job.sharing_group,
        title=job.title,
    )
    watched = _Watched(get_reader(job.format))
    options: dict[str, Any] = {"mapping": job.mapping} if job.mapping else {}
    path = uploads_folder(settings) / job.stored_path
    progress = _Progress(jobs, job.id, watched)
    with _open_for_writing(settings, jobs, job.id, wait) as store:
        jobs.update(job.id, state="running", message="Reading the file.")
        report = run_ingest(
            store, watched, [path], job.dataset, labels=[job.file_name], options=options, on_file=progress.on_file
        )
        [done] = report.files
        counts = {
            "bytes_read": job.size, "rows_read": done.rows_read, "rows_loaded": done.rows_loaded,
            "rows_quarantined": done.rows_quarantined, "statements_added": done.statements_added,
            "records_added": done.records_added, "problem_count": done.problem_count,
            "problems": _problems(done), "skipped": done.skipped,
        }
        if report.statements_added:
            jobs.update(job.id, state="finishing", message="Rebuilding the per-schema projections.", **counts)
            projections.rebuild(store)
    state, message = _outcome(done)
    jobs.update(job.id, state=state, message=message, finished_at=_now(), **counts)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m chainlight.web.upload_worker JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    job_id = argv[1]
    settings = Settings.load()
    wait = float(os.environ.get("CHAINLIGHT_UPLOAD_WAIT_SECONDS") or WAIT_SECONDS)
    operational = open_operational(settings)
    jobs = UploadJobs(operational)
    try:
        job = jobs.get(job_id)
        if job is None:
            print(f"no upload job {job_id}", file=sys.stderr)
            return 2
        try:
            ingest_job(settings, jobs, job, wait=wait)
        except EXPECTED as exc:
            text = str(exc).rstrip(".")
            jobs.fail(job_id, f"{text[:1].upper()}{text[1:]}.")
            log.warning("upload job %s failed: %s", job_id, exc)
            return 1
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("upload job %s failed, incident %s", job_id, incident)
            jobs.fail(job_id, f"The ingest failed unexpectedly. Tell your administrator the incident reference "
                              f"{incident} (upload job {job_id}).")
            return 1
        finished = jobs.get(job_id)
        return 0 if finished is not None and finished.state == "done" else 1
    finally:
        operational.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
