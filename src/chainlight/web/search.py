"""Search (``/search``) and entity profiles (``/entities/{id}``), each page with its JSON twin.

Both read the serving index alone (:mod:`chainlight.search`), never the evidence store, so a
request costs a few index lookups and a little numpy: no DuckDB connection is opened, and
requests do not queue on the evidence store's lock. The index is built by ``chainlight index``
(and by ``chainlight demo``); until then the JSON twins answer 409 and the pages say how to
build it. Dataset markings and sharing are read from the operational store on every request,
so a change of marking or sharing group applies at once, without rebuilding the index.

Need-to-know is applied per record: search reads only the postings and records of visible
datasets (and owner-only records, such as incident reports, of the viewer's own datasets
alone), and a profile is built from those records only, merged over the viewer's own
resolution view (:func:`chainlight.search.profile.view_cluster`). An entity with no visible
record answers 404 exactly like an unknown id. A profile whose data is marked RED or
AMBER+STRICT asks for a purpose (:func:`access.require_purpose`); every search and every
profile read goes to the access log (:func:`access.audit`).

The JSON twins serialise their model once, in pydantic's Rust core, and answer the bytes
(:func:`_json`): FastAPI would otherwise validate the model again and encode it with the
standard library, which costs more than the lookup itself on a large profile.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import select

from chainlight.model.markings import Marking, MarkingError
from chainlight.resolve import clusters
from chainlight.search import profile as profiles
from chainlight.search import query as search_query
from chainlight.search.build import evidence_mtime_ns, index_path
from chainlight.search.reader import IndexMissing, Loaded, SearchIndex, Snapshot
from chainlight.store.operational import (
    AlertTriage,
    Judgement,
)
from chainlight.web import access
from chainlight.web.access import Viewer, VisibleDataset, current_viewer
from chainlight.web.search_payloads import (
    DatasetMarking,
    EntityLink,
    EntityProfile,
    FacetValue,
    IndexStatus,
    ProfileAlert,
    ProfileProperty,
    ProfileRelation,
    ProfileValue,
    Provenance,
    SearchFacets,
    SearchFilters,
    SearchHit,
    SearchResults,
    TimelineEvent,
)
from chainlight.web.services import Services, services
from chainlight.web.templating import render

NOT_BUILT = "Search has no index yet: run 'chainlight index' (chainlight demo builds it)."
PAGE_SIZE = 20
MAX_PAGE = 100

_index_lock = threading.Lock()


def search_index(request: Request) -> SearchIndex:
    """The app's search index (one per app, opened on first use)."""
    state = request.app.state
    found: SearchIndex | None = getattr(state, "search_index", None)
    if found is None:
        with _index_lock:
            found = getattr(state, "search_index", None)
            if found is None:
                found = SearchIndex(index_path(services(request).settings.home))
                state.search_index = found
    return found


def _snapshot(index: SearchIndex) -> Snapshot:
    try:
        return index.snapshot()
    except IndexMissing:
        raise HTTPException(status_code=409, detail=NOT_BUILT) from None


def _status(svc: Services, loaded: Loaded) -> IndexStatus:
    return IndexStatus(
        built_at=loaded.built_at,
        possibly_stale=evidence_mtime_ns(svc.settings.evidence_path) > loaded.evidence_mtime_ns,
    )


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


# -- search -----------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    """An empty form field is no filter (the search form sends every field)."""
    return None if isinstance(value, str) and not value.strip() else value


_Name = Annotated[str, Field(min_length=1, max_length=100)]
# The length limit sits on the string itself: on the optional value it would also be applied to
# the None an empty field becomes, and fail (a 500, not a 422).
_Marking = Annotated[str, Field(max_length=20)]


def _marking(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            return Marking.parse(value).value
        except MarkingError:
            raise ValueError(f"unknown TLP marking {value!r}") from None
    return _blank(value)


async def search_filters(
    schema: Annotated[_Name | None, BeforeValidator(_blank), Query(description="Only this schema.")] = None,
    country: Annotated[
        _Name | None, BeforeValidator(_blank), Query(description="Only this country (ISO code).")
    ] = None,
    dataset: Annotated[_Name | None, BeforeValidator(_blank), Query(description="Only this dataset.")] = None,
    marking: Annotated[
        _Marking | None, BeforeValidator(_marking), Query(description="Only datasets with this marking.")
    ] = None,
) -> search_query.Filters:
    return search_query.Filters(
        schema=schema, country=country.lower() if country else None, dataset=dataset, marking=marking
    )


FiltersDep = Annotated[search_query.Filters, Depends(search_filters)]
QueryText = Annotated[str, Query(max_length=200, description="A name, part of one, or an identifier; "
                                 "empty to browse by the filters.")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Entities per page.")]
OffsetQuery = Annotated[int, Query(ge=0, le=search_query.MAX_OFFSET, description="Entities to skip.")]


# Built once: constructing a statement costs more than running it against a handful of rows.
_JUDGEMENTS = (
    select(Judgement.left_id, Judgement.right_id, Judgement.verdict)
    .where(Judgement.undone_at.is_(None))
    .order_by(Judgement.created_at, Judgement.id)
)


def _visible(svc: Services, viewer: Viewer) -> dict[str, VisibleDataset]:
    """The datasets ``viewer`` may read, by name (:func:`access.visible_datasets`)."""
    return {d.name: d for d in access.visible_datasets(svc.operational, viewer)}


def _owned(visible: dict[str, VisibleDataset], viewer: Viewer) -> frozenset[str]:
    """The visible datasets the viewer's organisation owns: only their owner-only records
    (incident reports, :data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`) are read one by one."""
    return frozenset(name for name, d in visible.items() if d.owner == viewer.organisation)


def _verdicts(svc: Services) -> list[clusters.Verdict]:
    """The standing judgements, as :func:`chainlight.resolve.service.verdicts` gives them (the
    latest per pair, undone ones left out), in one plain query."""
    latest: dict[tuple[str, str], str] = {}
    with svc.operational.engine.connect() as con:
        for left, right, verdict in con.execute(_JUDGEMENTS):
            latest[(left, right)] = verdict
    return [clusters.Verdict(a, b, v) for (a, b), v in latest.items()]


def _facet(pairs: list[tuple[str, int]], selected: str | None) -> list[FacetValue]:
    values = [FacetValue(value=v, count=n, selected=v == selected) for v, n in pairs]
    if selected is not None and all(v.value != selected for v in values):
        values.insert(0, FacetValue(value=selected, count=0, selected=True))
    return values


def _context(request: Request) -> tuple[Services, Viewer, SearchIndex]:
    """The stores, the viewer and the index, read straight from the request: as dependencies
    they would each cost a trip through the thread pool (FastAPI runs sync dependencies there)."""
    return services(request), current_viewer(request), search_index(request)


def load_search(
    request: Request, q: str, filters: search_query.Filters, offset: int, limit: int
) -> SearchResults:
    svc, viewer, index = _context(request)
    visible = _visible(svc, viewer)
    snap = _snapshot(index)
    page = search_query.search(
        snap.index, snap.con, {name: d.marking for name, d in visible.items()}, q, filters,
        offset=offset, limit=limit, owned=_owned(visible, viewer),
    )
    detail = orjson.dumps({k: v for k, v in (("schema", filters.schema), ("country", filters.country),
                                             ("dataset", filters.dataset), ("marking", filters.marking),
                                             ("offset", offset or None)) if v}).decode()
    access.audit(request, viewer, "search", q, marking=page.marking if page.hits else None,
                 detail=None if detail == "{}" else detail)
    end = offset + len(page.hits)
    return SearchResults(
        query=q, normalised=page.normalised,
        filters=SearchFilters(schema=filters.schema, country=filters.country, dataset=filters.dataset,
                              marking=filters.marking),
        total=page.total, offset=offset, limit=limit, next_offset=end if end < min(page.total, search_query.MAX_OFFSET)
        else None, approximate=page.approximate, marking=page.marking.value,
        hits=[
            SearchHit(entity_id=h.entity_id, caption=h.caption, schema=h.schema, score=h.score, matched=h.matched,
                      names=h.names, countries=h.countries, datasets=h.datasets, marking=h.marking.value)
            for h in page.hits
        ],
        facets=SearchFacets(
            schema=_facet(page.facets["schema"], filters.schema),
            country=_facet(page.facets["country"], filters.country),
            dataset=_facet(page.facets["dataset"], filters.dataset),
            marking=_facet(page.facets["marking"], filters.marking),
        ),
        index=_status(svc, snap.index),
    )


def search_json(
    request: Request, filters: FiltersDep, q: QueryText = "", offset: OffsetQuery = 0, limit: LimitQuery = PAGE_SIZE,
) -> Response:
    return _json(load_search(request, q, filters, offset, limit))


def search_page(
    request: Request, filters: FiltersDep, q: QueryText = "", offset: OffsetQuery = 0, limit: LimitQuery = PAGE_SIZE,
) -> HTMLResponse:
    params = [(k, v) for k, v in (("q", q), ("schema", filters.schema), ("country", filters.country),
                                  ("dataset", filters.dataset), ("marking", filters.marking)) if v]
    json_url = "/search.json" + (f"?{urlencode(params)}" if params else "")
    try:
        results = load_search(request, q, filters, offset, limit)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        return render(request, "search.html", {"results": None, "q": q, "missing": True}, json_url=json_url)

    def link(**changes: str | int | None) -> str:
        """This search with some parameters changed (None removes one); paging restarts."""
        current: dict[str, str | int | None] = dict(params) | {"offset": None}
        current.update(changes)
        kept = [(k, v) for k, v in current.items() if v not in (None, "", 0)]
        return "/search" + (f"?{urlencode(kept)}" if kept else "")

    return render(request, "search.html", {"results": results, "q": q, "missing": False, "link": link},
                  json_url=json_url)


# -- entity profiles --------------------------------------------------------------------------

EntityId = Annotated[str, Path(min_length=1, max_length=200, description="An entity id, or a canonical id of "
                                                                          "the viewer's resolution view.")]


def _link(ref: profiles.EntityRef) -> EntityLink:
    return EntityLink(entity_id=ref.entity_id, caption=ref.caption, schema=ref.schema, prop=ref.prop,
                      visible=ref.visible)


def _provenance(s: profiles.Source) -> Provenance:
    return Provenance(entity_id=s.entity_id, dataset=s.dataset, organisation=s.organisation,
                      marking=s.marking.value, first_seen=s.first_seen, last_seen=s.last_seen,
                      statement_id=s.statement_id, origin=s.origin)


def load_profile(request: Request, entity_id: str) -> EntityProfile:
    """The viewer's profile of one entity; 404 for a hidden or unknown one, a purpose for a RED or
    AMBER+STRICT one, and the read recorded in the access log."""
    svc, viewer, index = _context(request)
    visible = _visible(svc, viewer)
    snap = _snapshot(index)
    verdicts = _verdicts(svc) if snap.index.has_resolution else []
    try:
        found = profiles.profile(snap.con, snap.index, entity_id, visible, verdicts, owned=_owned(visible, viewer))
    except profiles.NotVisible:
        raise HTTPException(status_code=404, detail=f"No such entity: {entity_id}.") from None
    purpose = access.require_purpose(request, found.marking)
    access.audit(request, viewer, "entity.read", entity_id, marking=found.marking, purpose=purpose)
    states: dict[str, str] = {}
    if found.alerts:  # the organisation's standing decision on each: its latest row
        with svc.operational.engine.connect() as con:
            for alert_id, state in con.execute(
                select(AlertTriage.alert_id, AlertTriage.state)
                .where(AlertTriage.organisation == viewer.organisation,
                       AlertTriage.alert_id.in_([a.alert_id for a in found.alerts]))
                .order_by(AlertTriage.created_at, AlertTriage.id)
            ):
                states[alert_id] = state
    return EntityProfile(
        entity_id=found.entity_id, canonical_id=found.canonical_id, members=found.members, schema=found.schema,
        caption=found.caption, marking=found.marking.value, purpose=purpose,
        datasets=[DatasetMarking(name=d, organisation=visible[d].owner, marking=visible[d].marking.value)
                  for d in found.datasets],
        properties=[
            ProfileProperty(name=p.name, label=p.label, type=p.type, values=[
                ProfileValue(value=v.value, sources=[_provenance(s) for s in v.sources]) for v in p.values
            ])
            for p in found.properties
        ],
        relations=[
            ProfileRelation(direction="outgoing" if r.direction == "outgoing" else "incoming", prop=r.prop,
                            label=r.label, other=_link(r.other), source=_provenance(r.source),
                            counterparts=[_link(c) for c in r.counterparts], details=r.details)
            for r in found.relations
        ],
        relations_total=found.relations_total,
        alerts=None if found.alerts is None else [
            ProfileAlert(alert_id=a.alert_id, rule_id=a.rule_id, title=a.title, category=a.category,
                         severity=a.severity, score=a.score, subject=a.subject, reason=a.reason,
                         datasets=a.datasets, marking=a.marking.value, last_raised=a.last_raised,
                         state=states.get(a.alert_id, "new"))
            for a in found.alerts
        ],
        timeline=[
            TimelineEvent(date=e.date, prop=e.prop, label=e.label, entity=_link(e.entity), dataset=e.dataset,
                          marking=e.marking.value, relation=e.relation)
            for e in found.timeline
        ],
        index=_status(svc, snap.index),
    )


def entity_json(request: Request, entity_id: EntityId) -> Response:
    return _json(load_profile(request, entity_id))


def entity_page(request: Request, entity_id: EntityId) -> HTMLResponse:
    found = load_profile(request, entity_id)
    purpose = f"?{urlencode({'purpose': found.purpose})}" if found.purpose else ""
    return render(request, "entity.html", {"entity": found, "purpose_query": purpose},
                  json_url=f"/entities/{entity_id}.json{purpose}")
