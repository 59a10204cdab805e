"""Upload jobs: a file uploaded through the web app, and how its ingest is getting on.

A job is written by two processes: the web app creates it (``queued``) when the file is safely
on disk, and the ingest worker (:mod:`chainlight.web.upload_worker`, a child process) moves it
through ``waiting`` (for the evidence store's write lock), ``running`` (rows read so far) and
``finishing`` (projections) to ``done`` or ``failed``, writing its counts as it goes. The
record lives in the operational store (migration 0005), not in the evidence store, so the job
page keeps answering while the ingest holds DuckDB's write lock.

A job belongs to the organisation that uploaded it (the dataset's owner); only that
organisation's members see it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from chainlight.store.operational import Base, OperationalStore, SharingGroup

STATES = ("queued", "waiting", "running", "finishing", "done", "failed")
FINISHED = ("done", "failed")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class UploadJob(Base):
    __tablename__ = "upload_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(256))
    dataset: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    format: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[str | None] = mapped_column(String(64), nullable=True)
    marking: Mapped[str] = mapped_column(String(16))
    sharing_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_name: Mapped[str] = mapped_column(String(256))
    stored_path: Mapped[str] = mapped_column(Text)  # relative to the uploads folder
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    statements_added: Mapped[int] = mapped_column(Integer, default=0)
    records_added: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of the first problems
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def problem_list(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.problems) if self.problems else []
        return found


@dataclass(frozen=True, slots=True)
class NewJob:
    """What the web app knows of an upload when the file is on disk."""

    id: str
    organisation: str
    uploaded_by: str
    dataset: str
    title: str
    format: str
    mapping: str | None
    marking: str
    sharing_group: str | None
    file_name: str
    stored_path: str
    size: int
    sha256: str


#: Fields the worker may set as the job goes on.
PROGRESS_FIELDS = frozenset({
    "state", "message", "bytes_read", "rows_read", "rows_loaded", "rows_quarantined", "statements_added",
    "records_added", "problem_count", "skipped", "problems", "pid", "started_at", "finished_at",
})


class UploadJobs:
    """The upload jobs of one operational store."""

    def __init__(self, operational: OperationalStore) -> None:
        self.operational = operational

    def create(self, new: NewJob) -> UploadJob:
        now = _now()
        with self.operational.session() as s:
            job = UploadJob(
                id=new.id, organisation=new.organisation, uploaded_by=new.uploaded_by, dataset=new.dataset,
                title=new.title, format=new.format, mapping=new.mapping, marking=new.marking,
                sharing_group=new.sharing_group, file_name=new.file_name, stored_path=new.stored_path,
                size=new.size, sha256=new.sha256, state="queued", bytes_read=0, rows_read=0, rows_loaded=0,
                rows_quarantined=0, statements_added=0, records_added=0, problem_count=0, skipped=False,
                created_at=now, updated_at=now,
            )
            s.add(job)
            return job

    def get(self, job_id: str) -> UploadJob | None:
        with self.operational.session() as s:
            return s.get(UploadJob, job_id)

    def update(self, job_id: str, **fields: Any) -> None:
        unknown = set(fields) - PROGRESS_FIELDS
        if unknown:
            raise ValueError(f"not a progress field: {', '.join(sorted(unknown))}")
        if "problems" in fields and not isinstance(fields["problems"], str | None):
            fields["problems"] = json.dumps(fields["problems"])
        with self.operational.session() as s:
            job = s.get(UploadJob, job_id)
            if job is None:
                raise LookupError(f"no upload job {job_id}")
            for key, value in fields.items():
                setattr(job, key, value)
            job.updated_at = _now()

    def fail(self, job_id: str, message: str) -> None:
        """Mark an unfinished job failed (a finished one keeps its outcome)."""
        with self.operational.session() as s:
            job = s.get(UploadJob, job_id)
            if job is None or job.finished:
                return
            job.state, job.message = "failed", message
            job.finished_at = job.updated_at = _now()

    def recent(self, organisation: str, limit: int = 20) -> list[UploadJob]:
        """The organisation's latest jobs, newest first."""
        with self.operational.session() as s:
            query = (select(UploadJob).where(UploadJob.organisation == organisation)
                     .order_by(UploadJob.created_at.desc(), UploadJob.id).limit(limit))
            return list(s.scalars(query).all())

    def unfinished(self) -> int:
        """Jobs of any organisation not yet done or failed."""
        with self.operational.session() as s:
            query = select(func.count()).select_from(UploadJob).where(UploadJob.state.not_in(FINISHED))
            return int(s.scalar(query) or 0)


def member_groups(operational: OperationalStore, organisation: str) -> list[str]:
    """Names of the sharing groups ``organisation`` belongs to."""
    with operational.session() as s:
        groups = s.scalars(select(SharingGroup).order_by(SharingGroup.name)).all()
        return [g.name for g in groups if any(m.name == organisation for m in g.members)]
