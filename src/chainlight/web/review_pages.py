"""The resolution review queue page (``/review``, twin ``/review.json``) and its verdict forms.

The queue is the one the API serves (``/api/resolution/review``, :func:`service.review_queue`)
in the viewer's view: pairs the model is unsure of, most valuable first, named from visible
records only. Each pair comes with both records side by side (their properties in visible
datasets) and the links between them feature by feature (:func:`service.explain`), so a
person can decide without leaving the page.

A verdict (same, different, unsure) is a POST form that records a judgement through the same
path as the API (:func:`chainlight.web.resolution.record_judgement`, which calls
:func:`chainlight.pipeline.judge` and rebuilds the clusters), then sends the viewer back to the
queue, where the next pair is now first and the judged one can be undone. Judging needs the
analyst role; both entities must be visible (404 like an unknown id otherwise); every
judgement and undo goes to the access log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chainlight.resolve import clusters, service
from chainlight.resolve.engine import ResolutionNotRun
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access, resolution
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.payloads import (
    LastJudgement,
    MatchLink,
    RecordProperty,
    ReviewPage,
    ReviewPair,
    ReviewSide,
)
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

#: Pairs one page shows unless asked otherwise, and the most it may.
PAGE_SIZE = 10
MAX_PAGE = 50
#: Values shown per side of a pair.
MAX_VALUES = 200
VERDICTS = ("same", "different", "unsure")

EntityId = Annotated[str, Form(min_length=1, max_length=500)]
LastQuery = Annotated[str | None, Query(max_length=500, description="The entity judged last (left or right).")]


def _sides(store: EvidenceStore, ids: list[str], datasets: list[str]) -> dict[str, ReviewSide]:
    """Both records of every pair, from visible datasets only: schemata, datasets and properties."""
    rows = store.fetchall(
        "SELECT entity_id, schema, prop, value, dataset FROM statements "
        "WHERE entity_id = ANY(?) AND dataset = ANY(?) ORDER BY entity_id, prop, value, dataset",
        [ids, datasets],
    )
    schemata: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    values: dict[str, dict[str, dict[str, set[str]]]] = {}
    for entity_id, schema, prop, value, dataset in rows:
        schemata.setdefault(entity_id, set()).add(schema)
        sources.setdefault(entity_id, set()).add(dataset)
        if prop != "id":
            values.setdefault(entity_id, {}).setdefault(prop, {}).setdefault(value, set()).add(dataset)
    sides = {}
    for entity_id in ids:
        props: list[RecordProperty] = []
        shown = 0
        for prop, by_value in sorted(values.get(entity_id, {}).items(), key=lambda kv: (kv[0] != "name", kv[0])):
            kept = sorted(by_value)[: max(0, MAX_VALUES - shown)]
            if not kept:
                break
            shown += len(kept)
            props.append(RecordProperty(
                prop=prop, values=kept, datasets=sorted({d for v in kept for d in by_value[v]}),
            ))
        sides[entity_id] = ReviewSide(
            entity_id=entity_id, name=None, schemata=sorted(schemata.get(entity_id, ())),
            datasets=sorted(sources.get(entity_id, ())), properties=props,
        )
    return sides


def _last(
    svc: Services, store: EvidenceStore, datasets: list[str], verdicts: Sequence[clusters.Verdict],
    left: str | None, right: str | None,
) -> LastJudgement | None:
    """The pair named in the address, if the viewer may see both entities; else nothing at all."""
    if not left or not right or left == right:
        return None
    if not all(service.visible_entity(store, e, datasets) for e in (left, right)):
        return None  # says nothing, not even whether the pair was judged
    key = clusters.pair_key(left, right)
    verdict = next((v.verdict for v in verdicts if clusters.pair_key(v.left, v.right) == key), None)
    author = None
    if verdict is not None:
        standing = [j for j in svc.operational.judgements() if clusters.pair_key(j.left_id, j.right_id) == key]
        author = standing[-1].author if standing else None
    return LastJudgement(left=key[0], right=key[1], verdict=verdict, author=author)


def load_review(
    svc: Services, viewer: Viewer, limit: int, left: str | None = None, right: str | None = None
) -> ReviewPage:
    """The most valuable uncertain pairs in the viewer's view, each with both sides and its links."""
    datasets = [d.name for d in access.visible_datasets(svc.operational, viewer)]
    verdicts = service.verdicts(svc.operational)
    may_judge = viewer.may("analyst")
    with svc.evidence.open() as store:
        if store is None or not service.has_resolution(store):
            return ReviewPage(resolution_run=False, pairs=[], limit=limit, may_judge=may_judge, last=None)
        queue = service.review_queue(store, verdicts, datasets, limit=limit)
        ids = sorted({e for c in queue for e in (c.left, c.right)})
        sides = _sides(store, ids, datasets) if ids else {}
        pairs = []
        for candidate in queue:
            found = candidate.as_dict()
            links = service.explain(store, candidate.left, candidate.right, datasets)
            left_side = sides[candidate.left].model_copy(update={"name": candidate.left_name})
            right_side = sides[candidate.right].model_copy(update={"name": candidate.right_name})
            pairs.append(ReviewPair(
                left=left_side, right=right_side, group=found["group"],
                match_probability=found["match_probability"], value=found["value"], datasets=found["datasets"],
                cluster_sizes=found["cluster_sizes"], unsure=found["unsure"],
                links=[MatchLink.model_validate(link.as_dict()) for link in links],
            ))
        last = _last(svc, store, datasets, verdicts, left, right)
    return ReviewPage(resolution_run=True, pairs=pairs, limit=limit, may_judge=may_judge, last=last)


LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many pairs.")]


def review_page(
    request: Request, svc: ServicesDep, viewer: ViewerDep, limit: LimitQuery = PAGE_SIZE,
    left: LastQuery = None, right: LastQuery = None,
) -> HTMLResponse:
    data = load_review(svc, viewer, limit, left, right)
    undone = request.query_params.get("undone") == "1"
    json_query = f"?{urlencode({'limit': limit})}" if limit != PAGE_SIZE else ""
    return render(
        request, "review.html", {"review": data, "undone": undone, "verdicts": VERDICTS},
        json_url=f"/review.json{json_query}",
    )


def review_json(
    svc: ServicesDep, viewer: ViewerDep, limit: LimitQuery = PAGE_SIZE,
    left: LastQuery = None, right: LastQuery = None,
) -> ReviewPage:
    return load_review(svc, viewer, limit, left, right)


def _record(
    request: Request, svc: Services, viewer: Viewer, left: str, right: str, verdict: str | None, note: str | None,
    *, undo: bool,
) -> None:
    """A judgement (or its undo) through the API's own path, with the page's error answers."""
    access.require_role(viewer, "analyst")
    try:
        outcome = resolution.record_judgement(svc, viewer, left, right, verdict, note, undo=undo)
    except service.NotVisible as exc:  # hidden and missing read the same
        raise HTTPException(status_code=404, detail=f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    except ResolutionNotRun:
        raise HTTPException(status_code=409, detail=resolution.NOT_RUN) from None
    access.audit(
        request, viewer, "resolution.undo" if undo else "resolution.judge", f"{left} {right}",
        detail=outcome.summary,
    )


def _back(left: str, right: str, **extra: str) -> RedirectResponse:
    return RedirectResponse(f"/review?{urlencode({'left': left, 'right': right, **extra})}", status_code=303)


def judge_form(
    request: Request,
    svc: ServicesDep,
    viewer: ViewerDep,
    left: EntityId,
    right: EntityId,
    verdict: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A verdict button: record the judgement, then back to the queue (303) with an undo."""
    if verdict not in VERDICTS:
        raise HTTPException(status_code=422, detail=f"Unknown verdict {verdict!r}: use same, different or unsure.")
    _record(request, svc, viewer, left, right, verdict, note.strip() or None, undo=False)
    return _back(left, right)


def undo_form(request: Request, svc: ServicesDep, viewer: ViewerDep, left: EntityId, right: EntityId) -> Response:
    """The undo button: withdraw the standing judgement on the pair, then back to the queue."""
    _record(request, svc, viewer, left, right, None, None, undo=True)
    return _back(left, right, undone="1")
