"""The entity-resolution JSON API: matches, explanations, the review queue, judgements, clusters.

Everything is computed for the viewer's view, the datasets :mod:`access` lets them see: a link
appears only when the datasets of both its records are visible, canonical ids are those of the
clusters the visible links make (:mod:`chainlight.resolve.service`), and an entity with no
record in a visible dataset answers exactly like one that does not exist (404).

These routes live under ``/api/``, which :func:`errors.wants_json` does not count as JSON, so
:class:`ApiRoute` answers their errors itself, always as a JSON :class:`Problem`.

Judgements are the one thing the web app writes to the evidence store: the judgement goes to the
operational store and the clusters in the evidence store are rebuilt
(:func:`chainlight.pipeline.judge`). They need the analyst role and go to the access log; the
review page (:mod:`chainlight.web.review_pages`) records them through :func:`record_judgement` too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

import duckdb
from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from chainlight import pipeline
from chainlight.resolve import clusters, service
from chainlight.resolve.engine import ResolutionNotRun
from chainlight.store.evidence import EvidenceStore, StoreError
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.alerts import author as author_of
from chainlight.web.catalogue import EvidenceBusyError
from chainlight.web.payloads import (
    ClusterMap,
    EntityMatches,
    Explanation,
    JudgementOutcome,
    JudgementRequest,
    MatchLink,
    Problem,
    ReviewCandidate,
    ReviewQueue,
    UndoRequest,
)
from chainlight.web.services import Services, services

log = logging.getLogger("chainlight.web")

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

NOT_RUN = "Entity resolution has not run yet: run 'chainlight resolve' first."
BUSY = "The evidence store is busy: an ingest is writing to it. Try again shortly."


def purpose_message(exc: access.PurposeRequired) -> str:
    return exc.problem or (
        f"This item is marked {exc.marking.value}: repeat the request with a purpose "
        f"(?purpose=... or the {access.PURPOSE_HEADER} header); it is kept in the access log."
    )


def _problem(status: int, message: str, incident: str | None = None) -> JSONResponse:
    return JSONResponse(Problem(status=status, error=message, incident=incident).model_dump(), status_code=status)


class ApiRoute(APIRoute):
    """A route of the JSON API: every error, expected or not, is answered as a JSON Problem
    with no traceback (the same messages :mod:`errors` gives the ``*.json`` routes)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as exc:  # FastAPI's own too: a body that is not JSON at all (400)
                if exc.status_code == 400:  # reads as any other invalid request, a documented 422
                    return _problem(422, "The request body is not valid JSON.")
                return _problem(exc.status_code, str(exc.detail))
            except access.PurposeRequired as exc:
                return _problem(428, purpose_message(exc))
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
                return _problem(422, f"The request has invalid values: {fields}.")
            except service.NotVisible as exc:  # hidden and missing read the same
                return _problem(404, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            except ResolutionNotRun:
                return _problem(409, NOT_RUN)
            except (EvidenceBusyError, StoreError, duckdb.ConnectionException):
                response = _problem(503, BUSY)
                response.headers["Retry-After"] = "5"
                return response
            except Exception:
                incident = uuid.uuid4().hex[:12]
                log.exception("unexpected error, incident %s: %s %s", incident, request.method, request.url.path)
                return _problem(500, "Something went wrong on our side.", incident)

        return answer


def _view(svc: Services, viewer: Viewer) -> tuple[list[str], list[clusters.Verdict]]:
    """The datasets the viewer may see and the standing verdicts."""
    datasets = [d.name for d in access.visible_datasets(svc.operational, viewer)]
    return datasets, service.verdicts(svc.operational)


def _require(store: EvidenceStore | None) -> EvidenceStore:
    if store is None:
        raise ResolutionNotRun("no evidence store yet")
    service.require_resolution(store)
    return store


def _links(links: Sequence[service.Link]) -> list[MatchLink]:
    return [MatchLink.model_validate(link.as_dict()) for link in links]


def entity_matches(
    entity_id: str,
    svc: ServicesDep,
    viewer: ViewerDep,
    floor: Annotated[float, Query(ge=0.0, le=1.0, description="Leave out links below this probability.")] = 0.0,
) -> EntityMatches:
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:
        store = _require(opened)
        links = service.matches(store, entity_id, datasets, floor)
        ids = service.canonical_ids(store, verdicts, datasets)
    return EntityMatches(entity_id=entity_id, canonical_id=ids.get(entity_id, entity_id), links=_links(links))


def explain(
    left: Annotated[str, Query(min_length=1, description="An entity id.")],
    right: Annotated[str, Query(min_length=1, description="Another entity id.")],
    svc: ServicesDep,
    viewer: ViewerDep,
) -> Explanation:
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:
        store = _require(opened)
        links = service.explain(store, left, right, datasets)
        ids = service.canonical_ids(store, verdicts, datasets)
    left_id, right_id = ids.get(left, left), ids.get(right, right)
    return Explanation(
        left=left, right=right, left_canonical_id=left_id, right_canonical_id=right_id,
        same_cluster=left_id == right_id, links=_links(links),
    )


def review(
    svc: ServicesDep,
    viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many pairs.")] = 50,
) -> ReviewQueue:
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:
        store = _require(opened)
        queue = service.review_queue(store, verdicts, datasets, limit=limit)  # named from visible records only
    return ReviewQueue(candidates=[ReviewCandidate.model_validate(c.as_dict()) for c in queue])


def record_judgement(
    svc: Services, viewer: Viewer, left: str, right: str, verdict: str | None, note: str | None, *, undo: bool
) -> JudgementOutcome:
    """Record (or undo) a judgement for the API and the review page alike: analyst role, both
    entities visible, then :func:`pipeline.judge` with the clusters rebuilt."""
    access.require_role(viewer, "analyst")
    if left == right:
        raise HTTPException(status_code=422, detail="A judgement needs two different entities.")
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:  # check first, so that nothing is written for a hidden pair
        store = _require(opened)
        for entity in (left, right):
            if not service.visible_entity(store, entity, datasets):
                raise service.NotVisible(f"no such entity: {entity}")
    if undo and clusters.pair_key(left, right) not in {clusters.pair_key(v.left, v.right) for v in verdicts}:
        raise HTTPException(status_code=409, detail="There is no standing judgement on these two entities to undo.")
    author = author_of(viewer)  # the signed-in person; web:ORGANISATION in a trusted app
    # A judgement rewrites the clusters, so it opens the evidence store read-write. DuckDB refuses
    # that beside a read-only connection of this process, and EvidenceReader's lock is what keeps
    # this process's connections to the file apart: hold it, and requests wait for the rebuild.
    with svc.evidence._lock:
        summary = pipeline.judge(
            svc.settings, left, right, verdict, author=author, organisation=viewer.organisation, undo=undo, note=note
        )
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:
        ids = service.canonical_ids(_require(opened), verdicts, datasets)
    left_id, right_id = ids.get(left, left), ids.get(right, right)
    return JudgementOutcome(
        summary=summary, author=author, left_canonical_id=left_id, right_canonical_id=right_id,
        same_cluster=left_id == right_id,
    )


def judge(body: JudgementRequest, request: Request, svc: ServicesDep, viewer: ViewerDep) -> JudgementOutcome:
    outcome = record_judgement(svc, viewer, body.left, body.right, body.verdict, body.note, undo=False)
    access.audit(request, viewer, "resolution.judge", f"{body.left} {body.right}", detail=outcome.summary)
    return outcome


def undo(body: UndoRequest, request: Request, svc: ServicesDep, viewer: ViewerDep) -> JudgementOutcome:
    outcome = record_judgement(svc, viewer, body.left, body.right, None, None, undo=True)
    access.audit(request, viewer, "resolution.undo", f"{body.left} {body.right}", detail=outcome.summary)
    return outcome


def cluster_map(
    svc: ServicesDep,
    viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many entities per page.")] = 1000,
    offset: Annotated[int, Query(ge=0, description="Entities to skip, from the previous page's next_offset.")] = 0,
) -> ClusterMap:
    datasets, verdicts = _view(svc, viewer)
    with svc.evidence.open() as opened:
        ids = service.canonical_ids(_require(opened), verdicts, datasets)
    sizes: dict[str, int] = {}
    for cid in ids.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    # Ordered by cluster, then member, so that a page splits as few clusters as possible.
    members = sorted(((cid, e) for e, cid in ids.items() if sizes[cid] > 1))
    page = members[offset : offset + limit]
    end = offset + len(page)
    return ClusterMap(
        clusters={e: cid for cid, e in page}, total=len(members), offset=offset, limit=limit,
        next_offset=end if end < len(members) else None,
    )
