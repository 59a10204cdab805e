"""The shapes of the upload pages' JSON (routes in :mod:`chainlight.web.upload`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from chainlight.web.graph_payloads import Marking

JobState = Literal["queued", "waiting", "running", "finishing", "done", "failed"]


class FormatChoice(BaseModel):
    """A way to read an uploaded file: an ingest format, and for CSV a built-in mapping."""

    value: str = Field(description="What the form sends: FORMAT, or csv:MAPPING.")
    label: str
    format: str = Field(description="The ingest format (as 'chainlight ingest FORMAT').")
    mapping: str | None = Field(description="The built-in CSV mapping, for csv.")


class UploadProblem(BaseModel):
    """A quarantined row (or a rejected file): where it is and what is wrong with it."""

    file: str
    line: int | None
    field: str | None
    error: str


class UploadJob(BaseModel):
    """An uploaded file and its ingest: where it stands, its counts, and its quarantined rows."""

    job_id: str
    dataset: str
    title: str
    format: str
    mapping: str | None
    marking: Marking = Field(description="The dataset's TLP 2.0 marking.")
    sharing_group: str | None
    owner: str = Field(description="The organisation that uploaded the file and owns the dataset.")
    uploaded_by: str
    file_name: str = Field(description="The file's name as stored (made safe).")
    size: int = Field(description="Bytes uploaded.")
    sha256: str
    state: JobState = Field(
        description="queued, waiting (for the evidence store's write lock), running, finishing (projections), "
        "done or failed."
    )
    finished: bool
    message: str | None = Field(description="What is happening, or why the ingest failed.")
    bytes_read: int = Field(description="Bytes of the file read by the ingest so far.")
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    statements_added: int
    records_added: int
    skipped: bool = Field(description="The same file was already ingested into this dataset: nothing was added.")
    problem_count: int = Field(description="Problems found (quarantined rows and values) in all.")
    problems: list[UploadProblem] = Field(description="The first problems (at most 20).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    dataset_url: str | None = Field(description="The dataset's page, once the ingest is done.")


class UploadForm(BaseModel):
    """The upload page: what the form offers the viewer, and their organisation's latest uploads."""

    organisation: str = Field(description="The owner of anything uploaded: the viewer's organisation.")
    may_upload: bool = Field(description="Whether the viewer's role may upload (analyst or admin).")
    formats: list[FormatChoice]
    markings: list[Marking]
    sharing_groups: list[str] = Field(description="Sharing groups the viewer's organisation belongs to.")
    max_bytes: int = Field(description="The largest file accepted.")
    jobs: list[UploadJob] = Field(description="The organisation's latest uploads, newest first.")
