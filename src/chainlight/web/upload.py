"""Dataset upload: a form, the file saved under ``$CHAINLIGHT_HOME/uploads``, its ingest in a
child process, and a job page that follows it.

``POST /upload`` (the form) and ``POST /upload.json`` (scripts, and the page's own JavaScript,
which shows the transfer's progress) take a multipart form: the file, a dataset name, a title,
a format (``chainlight ingest``'s formats; for CSV one of the built-in mappings, never a path
on the server), a TLP 2.0 marking and optionally one of the viewer's organisation's sharing
groups. The owner is always the viewer's organisation. Uploading needs the analyst role.

The body is read as a stream and refused (413) as soon as it passes the upload limit
(``CHAINLIGHT_UPLOAD_MAX_BYTES``, 512 MiB unless set), so an oversized file never fills the
disk. The file is stored as ``uploads/JOB/NAME``, its name reduced to letters, digits, ``.``,
``_`` and ``-``. Then :mod:`chainlight.web.upload_worker` ingests it in a child process
(``sys.executable -m chainlight.web.upload_worker JOB``): the web process never takes DuckDB's
write lock, and a crash of the ingest cannot take the server down. The worker writes its
progress to the job record in the operational store (:mod:`chainlight.store.upload_jobs`), which
``/upload/jobs/{id}`` and its twin read without touching the evidence store, so the page keeps
answering while the ingest writes (when other pages answer 503). A job is visible to the
uploader's organisation only; any other id answers 404 like a missing one. Uploading the same
file into the same dataset again adds nothing (the ingest is idempotent).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import threading
import unicodedata
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

import chainlight
from chainlight.ingest import READERS
from chainlight.ingest.mapping import builtin_mapping, builtin_names
from chainlight.model.markings import Marking, MarkingError
from chainlight.settings import Settings
from chainlight.store.operational import OperationalError, check_name
from chainlight.store.upload_jobs import NewJob, UploadJobs, member_groups
from chainlight.store.upload_jobs import UploadJob as JobRow
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.services import Services, services
from chainlight.web.templating import render
from chainlight.web.upload_payloads import FormatChoice, UploadForm, UploadJob
from chainlight.web.upload_worker import uploads_folder

log = logging.getLogger("chainlight.web")

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]
JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="Upload job id (32 hex digits).")]

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: Room for the form's other fields and multipart boundaries on top of the file.
FORM_OVERHEAD = 64 * 1024
#: Uploads being ingested (or waiting to be) at once, over the installation.
MAX_UNFINISHED = 4
MARKINGS = (Marking.CLEAR, Marking.GREEN, Marking.AMBER, Marking.AMBER_STRICT, Marking.RED)
FORMAT_LABELS = {
    "ftm": "FollowTheMoney entities, one JSON object per line",
    "cites-trade": "CITES trade database export (CSV)",
    "bods": "Beneficial Ownership Data Standard statements (JSON)",
    "goaml": "goAML reports (XML)",
}
CHUNK = 1 << 20


class Refused(Exception):
    """An upload the app will not take, with the status and the words to say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _TooLarge(Exception):
    pass


def max_bytes() -> int:
    """The largest file accepted (``CHAINLIGHT_UPLOAD_MAX_BYTES``), read when asked, not at import."""
    value = os.environ.get("CHAINLIGHT_UPLOAD_MAX_BYTES")
    return int(value) if value and value.isdigit() and int(value) > 0 else DEFAULT_MAX_BYTES


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


@cache
def format_choices() -> tuple[FormatChoice, ...]:
    """Every format ``chainlight ingest`` reads, and for CSV each built-in mapping."""
    choices = [
        FormatChoice(value=fmt, label=FORMAT_LABELS.get(fmt, fmt), format=fmt, mapping=None)
        for fmt in READERS if fmt != "csv"
    ]
    for name in builtin_names():
        described = builtin_mapping(name).description or name
        choices.append(FormatChoice(value=f"csv:{name}", label=f"CSV, {name}: {described}", format="csv", mapping=name))
    return tuple(choices)


def safe_file_name(name: str) -> str:
    """The last part of a client's file name, reduced to letters, digits, '.', '_' and '-'."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    return cleaned[:100].rstrip(".") or "upload"


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


def job_payload(job: JobRow) -> UploadJob:
    return UploadJob.model_validate({
        "job_id": job.id, "dataset": job.dataset, "title": job.title, "format": job.format, "mapping": job.mapping,
        "marking": job.marking, "sharing_group": job.sharing_group, "owner": job.organisation,
        "uploaded_by": job.uploaded_by, "file_name": job.file_name, "size": job.size, "sha256": job.sha256,
        "state": job.state, "finished": job.finished, "message": job.message, "bytes_read": job.bytes_read,
        "rows_read": job.rows_read, "rows_loaded": job.rows_loaded, "rows_quarantined": job.rows_quarantined,
        "statements_added": job.statements_added, "records_added": job.records_added, "skipped": job.skipped,
        "problem_count": job.problem_count, "problems": job.problem_list(),
        "created_at": _utc(job.created_at), "started_at": _utc(job.started_at), "finished_at": _utc(job.finished_at),
        "dataset_url": f"/datasets/{job.dataset}" if job.state == "done" else None,
    })


# -- reading ---------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _job(svc: Services, viewer: Viewer, job_id: str) -> JobRow:
    """The job if it is the viewer's organisation's; 404 alike for another's and for none."""
    jobs = UploadJobs(svc.operational)
    job = jobs.get(job_id)
    if job is None or job.organisation != viewer.organisation:
        raise HTTPException(status_code=404, detail=f"No such upload job: {job_id}.")
    if not job.finished and job.pid is not None and not _alive(job.pid):
        # The worker is gone without a word (killed, or the server restarted while it ran).
        jobs.fail(job.id, "The ingest stopped unexpectedly; nothing of this upload was loaded. Try again.")
        job = jobs.get(job_id) or job
    return job


def load_form(svc: Services, viewer: Viewer) -> UploadForm:
    recent = UploadJobs(svc.operational).recent(viewer.organisation)
    return UploadForm.model_validate({
        "organisation": viewer.organisation, "may_upload": viewer.may("analyst"), "formats": list(format_choices()),
        "markings": [m.value for m in MARKINGS], "sharing_groups": member_groups(svc.operational, viewer.organisation),
        "max_bytes": max_bytes(), "jobs": [job_payload(j) for j in recent],
    })


def upload_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    return _render_form(request, load_form(svc, viewer))


def _render_form(
    request: Request, form: UploadForm, *, error: str | None = None, values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    # No format or marking is chosen for the uploader: who may see the data is a decision to make.
    context = {"form": form, "error": error, "values": values or {}, "size": _size}
    return render(request, "upload.html", context, status_code=status_code, json_url="/upload.json")


def upload_form_json(svc: ServicesDep, viewer: ViewerDep) -> UploadForm:
    return load_form(svc, viewer)


def job_page(job_id: JobId, request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    job = job_payload(_job(svc, viewer, job_id))
    return render(request, "upload_job.html", {"job": job, "size": _size}, json_url=f"/upload/jobs/{job_id}.json")


def job_json(job_id: JobId, svc: ServicesDep, viewer: ViewerDep) -> UploadJob:
    return job_payload(_job(svc, viewer, job_id))


# -- taking an upload --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fields:
    dataset: str
    title: str
    choice: FormatChoice
    marking: Marking
    sharing_group: str | None


async def _read_form(request: Request, limit: int) -> tuple[dict[str, str], UploadFile | None]:
    """The multipart form, read as a stream and refused as soon as it passes ``limit``."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Refused(415, "Send the upload as a multipart/form-data form with the file in the field 'file'.")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise Refused(413, f"The file is larger than the upload limit of {_size(limit)}.")

    async def limited() -> AsyncGenerator[bytes, None]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + FORM_OVERHEAD:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, limited(), max_files=1, max_fields=20, max_part_size=16 * 1024)
    try:
        form = await parser.parse()
    except _TooLarge:
        raise Refused(413, f"The file is larger than the upload limit of {_size(limit)}.") from None
    except MultiPartException as exc:
        raise Refused(422, f"The form could not be read: {exc.message}") from None
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    upload = form.get("file")
    return fields, upload if isinstance(upload, UploadFile) else None


def _check_fields(svc: Services, viewer: Viewer, fields: dict[str, str]) -> _Fields:
    dataset = fields.get("dataset", "").strip()
    try:
        check_name("dataset", dataset)
    except OperationalError:
        raise Refused(
            422, f"The dataset name {dataset!r} is not valid: use 1 to 64 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or a digit."
        ) from None
    title = " ".join(fields.get("title", "").split()) or dataset
    if len(title) > 256:
        raise Refused(422, "The title is longer than 256 characters.")
    choice = next((c for c in format_choices() if c.value == fields.get("format")), None)
    if choice is None:
        raise Refused(422, "Choose one of the formats listed.")
    try:
        marking = Marking.parse(fields.get("marking", ""))
    except MarkingError:
        raise Refused(
            422, f"The marking {fields.get('marking', '')!r} is not a TLP 2.0 marking: use CLEAR, GREEN, AMBER, "
            "AMBER+STRICT or RED."
        ) from None
    group = fields.get("sharing_group", "").strip() or None
    if group is not None and group not in member_groups(svc.operational, viewer.organisation):
        raise Refused(422, f"{viewer.organisation} is not a member of a sharing group named {group!r}.")
    if group is not None and marking == Marking.RED:
        raise Refused(422, "A TLP:RED dataset is seen by its owner alone: leave the sharing group empty.")
    existing = next((d for d in svc.operational.datasets() if d.name == dataset), None)
    if existing is not None:
        held = existing.access()
        if held.owner != viewer.organisation:
            # Names are unique over the installation: say only that this one is taken.
            raise Refused(409, f"The dataset name {dataset!r} is taken: choose another name.")
        if held.marking != marking:
            raise Refused(
                409, f"Your dataset {dataset!r} is marked TLP:{held.marking.value}: upload into it with that "
                "marking, or choose another name."
            )
        current = existing.sharing_group.name if existing.sharing_group else None
        if group is not None and group != current:
            raise Refused(409, f"Your dataset {dataset!r} is shared with {current or 'no group'}, not {group!r}.")
    return _Fields(dataset, title, choice, marking, group)


def _store_file(source: BinaryIO, folder: Path, name: str, limit: int) -> tuple[int, str]:
    """Copy the upload to ``folder/name`` (readable by this user only); its size and SHA-256."""
    folder.mkdir(parents=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"The file is larger than the upload limit of {_size(limit)}.")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise Refused(422, "The file is empty.")
    return size, digest.hexdigest()


def _discard(folder: Path) -> None:
    for item in folder.glob("*"):
        item.unlink(missing_ok=True)
    folder.rmdir()


def _accept(svc: Services, viewer: Viewer, fields: dict[str, str], upload: UploadFile | None) -> JobRow:
    """Check the form, store the file and record the job (blocking work: run in a thread)."""
    checked = _check_fields(svc, viewer, fields)
    if upload is None or not upload.filename:
        raise Refused(422, "Choose a file to upload.")
    jobs = UploadJobs(svc.operational)
    if jobs.unfinished() >= MAX_UNFINISHED:
        raise Refused(503, "Too many uploads are being ingested now: try again when one of them has finished.")
    job_id = uuid.uuid4().hex
    name = safe_file_name(upload.filename)
    folder = uploads_folder(svc.settings) / job_id
    try:
        size, sha256 = _store_file(upload.file, folder, name, max_bytes())
    except BaseException:
        if folder.exists():
            _discard(folder)
        raise
    return jobs.create(NewJob(
        id=job_id, organisation=viewer.organisation, uploaded_by=viewer.user, dataset=checked.dataset,
        title=checked.title, format=checked.choice.format, mapping=checked.choice.mapping,
        marking=checked.marking.value, sharing_group=checked.sharing_group, file_name=name,
        stored_path=f"{job_id}/{name}", size=size, sha256=sha256,
    ))


def _watch(process: subprocess.Popen[bytes], jobs: UploadJobs, job_id: str) -> None:
    """Reap the worker; if it ended without finishing the job, say so on the job."""
    code = process.wait()
    try:
        jobs.fail(job_id, f"The ingest stopped unexpectedly (exit status {code}); nothing of this upload was loaded.")
    except Exception:
        log.exception("could not record the end of upload job %s", job_id)


def start_worker(settings: Settings, jobs: UploadJobs, job_id: str) -> None:
    """Start the ingest of a job in a child process, with a thread that reaps it."""
    # The child imports the same Chainlight as this server, however the server found it.
    source = str(Path(chainlight.__file__).resolve().parents[1])
    path = os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "CHAINLIGHT_HOME": str(settings.home), "CHAINLIGHT_DATABASE_URL": settings.database_url,
           "PYTHONPATH": path}
    folder = uploads_folder(settings) / job_id
    try:
        with (folder / "worker.log").open("ab") as output:
            # The arguments are this interpreter and a job id of 32 hex digits: nothing from the client.
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "chainlight.web.upload_worker", job_id], env=env, cwd=settings.home,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                close_fds=True,
            )
    except OSError:
        log.exception("could not start the worker of upload job %s", job_id)
        jobs.fail(job_id, "The ingest could not be started. Tell your administrator.")
        return
    threading.Thread(target=_watch, args=(process, jobs, job_id), name=f"upload-{job_id}", daemon=True).start()


async def _start(
    request: Request, svc: Services, viewer: Viewer, fields: dict[str, str], upload: UploadFile | None
) -> JobRow:
    """Accept the upload (checks, file, job record), log it and start its ingest."""
    try:
        job = await run_in_threadpool(_accept, svc, viewer, fields, upload)
    finally:
        if upload is not None:
            await upload.close()
    access.audit(
        request, viewer, "upload", job.dataset, marking=job.marking,
        detail=f"job {job.id}: {job.file_name} ({job.size} bytes, {job.format}"
        f"{':' + job.mapping if job.mapping else ''}, sha256 {job.sha256})",
    )
    start_worker(svc.settings, UploadJobs(svc.operational), job.id)
    return job


FORM_FIELDS = ("dataset", "title", "format", "marking", "sharing_group")


async def upload_submit(request: Request, svc: ServicesDep, viewer: ViewerDep) -> Response:
    """The form's POST: to the job page (303), or the form again with what is wrong."""
    access.require_role(viewer, "analyst")
    values: dict[str, str] = {}
    try:
        fields, upload = await _read_form(request, max_bytes())
        values = {k: fields.get(k, "") for k in FORM_FIELDS}
        job = await _start(request, svc, viewer, fields, upload)
    except Refused as refused:
        form = await run_in_threadpool(load_form, svc, viewer)
        return _render_form(request, form, error=refused.message, values=values, status_code=refused.status)
    return RedirectResponse(f"/upload/jobs/{job.id}", status_code=303)


async def upload_json(request: Request, svc: ServicesDep, viewer: ViewerDep) -> UploadJob:
    """The upload as JSON (scripts and the page's JavaScript): the new job, or a Problem."""
    access.require_role(viewer, "analyst")
    try:
        fields, upload = await _read_form(request, max_bytes())
        job = await _start(request, svc, viewer, fields, upload)
    except Refused as refused:
        headers = {"Retry-After": "60"} if refused.status == 503 else None
        raise HTTPException(status_code=refused.status, detail=refused.message, headers=headers) from None
    return job_payload(job)
