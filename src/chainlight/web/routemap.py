"""The trade and seizure route map: ``/map`` (a page) and ``/map.json`` (its twin).

Both share :func:`load_route_map`, which asks :func:`chainlight.maps.flows.route_map` for the
flows and seizure points over the viewer's visible datasets only. The page renders the filter
form and the table of the largest flows on the server, so it is useful without JavaScript;
``static/js/routemap.js`` draws the map from ``/map.json`` with d3-geo and the world-atlas
outlines served from ``/vendor/``.

A filter that names nothing known (a term, a unit, a source code, a dataset the viewer cannot
see or that does not exist) answers 422 with the same words either way.

**Purposes.** The map is never refused, but data from RED and AMBER+STRICT datasets is shown
only with a purpose (``?purpose=`` or the ``X-Chainlight-Purpose`` header). Without one the map
is computed over the other visible datasets alone, so no held-back record adds to any flow,
point, count or total, and ``held_back`` says how many flows (``held_back_seizures``: seizures)
those datasets would add, with their strictest marking; the page offers a form for the purpose.
With one, everything visible is shown and the read goes into the access log (``map.read``).
The home page's small map never gives one.

Aggregating ten million trade rows and a million shipments takes seconds, and the home page
asks for its map on every visit, so answers are kept (:class:`RouteMapCache`) per evidence file
state, visible datasets with their markings, and filter: a new ingest, a changed marking or a
changed sharing group makes a new key, and two viewers share an answer only when they see
exactly the same datasets under the same markings.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BeforeValidator, Field

from chainlight.maps import flows
from chainlight.model.markings import Marking
from chainlight.reference.cites import codes
from chainlight.web import access, vendor
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.map_payloads import MapFilters, RouteMap
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]


def _blank(value: object) -> object:
    """An empty form field (``?year_from=``) means no filter, as if it were left out."""
    return None if value == "" else value


Year = Annotated[
    Annotated[int, Field(ge=1975, le=2100)] | None,
    BeforeValidator(_blank),
    Query(description="Only records of this year or later (trade year, shipment departure, seizure date)."),
]
YearTo = Annotated[
    Annotated[int, Field(ge=1975, le=2100)] | None,
    BeforeValidator(_blank),
    Query(description="Only records of this year or earlier."),
]


@dataclass(frozen=True, slots=True)
class MapQuery:
    """The map's query parameters as given; checked against the viewer's datasets by the loader."""

    kind: list[str] | None
    taxon: str | None
    term: str | None
    year_from: int | None
    year_to: int | None
    dataset: list[str] | None
    source: str | None
    reporter: str
    unit: str | None
    limit: int

    def encoded(self, **changes: Any) -> str:
        """The query string of these parameters (for links to the twin)."""
        pairs: list[tuple[str, str]] = []
        values = dataclasses.asdict(self) | changes
        for name, value in values.items():
            if value is None or value == "" or (name == "reporter" and value == "all") or (
                name == "limit" and value == flows.FLOW_LIMIT
            ):
                continue
            for item in value if isinstance(value, list) else [value]:
                pairs.append((name, str(item)))
        return urlencode(pairs)


def map_query(
    kind: Annotated[
        list[Literal["trade", "shipments", "seizures"]] | None,
        Query(description="Flow kinds to show: trade, shipments, seizures; repeatable (default: all)."),
    ] = None,
    taxon: Annotated[
        str | None, Query(max_length=200, description="A taxon, genus, family, order or class (any case).")
    ] = None,
    term: Annotated[str | None, Query(max_length=80, description="A CITES term: code (TUS) or words.")] = None,
    year_from: Year = None,
    year_to: YearTo = None,
    dataset: Annotated[
        list[str] | None, Query(description="Only these datasets (by name); repeatable.")
    ] = None,
    source: Annotated[
        str | None, Query(max_length=8, description="A CITES source code (W, C, ...); leaves trade only.")
    ] = None,
    reporter: Annotated[
        Literal["all", "E", "I"],
        Query(description="Trade: count every report (all), the exporters' (E) or the importers' (I)."),
    ] = "all",
    unit: Annotated[
        str | None,
        Query(max_length=80, description="Quantities in this CITES unit (code or words; 'number' for "
                                         "specimens). Default: the unit most records use."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=flows.MAX_FLOWS, description="How many flows to list, largest first.")
    ] = flows.FLOW_LIMIT,
) -> MapQuery:
    kinds: list[str] | None = list(kind) if kind else None
    return MapQuery(kinds, taxon, term, year_from, year_to, dataset, source, reporter, unit, limit)


QueryDep = Annotated[MapQuery, Depends(map_query)]


class RouteMapCache:
    """The last few route maps, keyed by everything an answer depends on."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._maps: OrderedDict[Hashable, flows.RouteMap] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._maps)

    def get(self, key: Hashable) -> flows.RouteMap | None:
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
            return found

    def put(self, key: Hashable, value: flows.RouteMap) -> None:
        with self._lock:
            self._maps[key] = value
            self._maps.move_to_end(key)
            while len(self._maps) > self.size:
                self._maps.popitem(last=False)


CACHE = RouteMapCache()


def file_state(path: Path) -> tuple[object, ...]:
    """Changes whenever the evidence store is written: its file's and its write-ahead log's
    modification time and size (DuckDB appends to the log first and checkpoints later)."""
    state: list[object] = [str(path)]
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            state.append(None)
            continue
        state.append((stat.st_mtime_ns, stat.st_size))
    return tuple(state)


def given_purpose(request: Request) -> str | None:
    """The purpose the request gives, if any: one too short or too long is refused (428) as for
    any RED read; none at all is not (the map then holds RED and AMBER+STRICT data back)."""
    if not (request.query_params.get("purpose") or request.headers.get(access.PURPOSE_HEADER) or "").strip():
        return None
    return access.require_purpose(request, Marking.RED)


def _computed(svc: Services, names: list[str], markings: dict[str, Marking], flt: flows.MapFilter) -> flows.RouteMap:
    """The route map over ``names``, from the cache when the same question was answered before."""
    key = (file_state(svc.evidence.path), tuple(sorted((n, markings[n].value) for n in names)), flt)
    found = CACHE.get(key)
    if found is None:
        with svc.evidence.open() as store:
            found = flows.route_map(store, names, markings, flt)
        CACHE.put(key, found)
    return found


def load_route_map(request: Request, svc: Services, viewer: Viewer, query: MapQuery) -> RouteMap:
    purpose = given_purpose(request)
    visible = access.visible_datasets(svc.operational, viewer)
    names = [d.name for d in visible]
    try:
        flt = flows.MapFilter.parse(
            visible=names, kinds=query.kind, taxon=query.taxon, term=query.term, year_from=query.year_from,
            year_to=query.year_to, datasets=query.dataset, source=query.source, reporter=query.reporter,
            unit=query.unit, limit=query.limit,
        )
    except flows.MapFilterError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    markings = {d.name: d.marking for d in visible}
    held = [n for n in names if markings[n] in access.PURPOSE_MARKINGS]
    held_back: dict[str, Any] = {}
    if purpose is not None or not held:
        found = _computed(svc, names, markings, flt)
    else:  # only what needs no purpose, and how much the rest would add
        found = _computed(svc, [n for n in names if n not in held], markings, flt)
        rest = _computed(svc, held, markings, flt)
        if rest.total_flows or rest.seizures:
            held_back = {"held_back": rest.total_flows, "held_back_seizures": sum(p.seizures for p in rest.seizures),
                         "held_back_marking": rest.marking}
    if purpose is not None:
        access.audit(request, viewer, "map.read", query.encoded() or "all", marking=found.marking, purpose=purpose)
    filters = MapFilters(
        kinds=list(flt.kinds), taxon=flt.taxon, term=flt.term, year_from=flt.year_from, year_to=flt.year_to,
        datasets=list(flt.datasets), source=flt.source, reporter=flt.reporter,
        unit=None if flt.unit is None else (flt.unit or flows.NUMBER), limit=flt.limit,
    )
    return RouteMap.model_validate({**dataclasses.asdict(found), "filters": filters, **held_back})


def amount(value: float) -> str:
    """A quantity for people: thousands separated, at most two decimals, no trailing zeros."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text or "0"


def map_json(request: Request, svc: ServicesDep, viewer: ViewerDep, query: QueryDep) -> RouteMap:
    return load_route_map(request, svc, viewer, query)


def map_page(request: Request, svc: ServicesDep, viewer: ViewerDep, query: QueryDep) -> HTMLResponse:
    data = load_route_map(request, svc, viewer, query)
    purpose = given_purpose(request)
    cites = codes()
    encoded = query.encoded()
    map_json_url = "/map.json" + (f"?{encoded}" if encoded else "")
    if purpose:
        map_json_url += ("&" if encoded else "?") + urlencode({"purpose": purpose})
    context: dict[str, Any] = {
        "map": data,
        "query": query,
        "places": {p.id: p for p in data.places},
        "datasets": [d.name for d in access.visible_datasets(svc.operational, viewer)],
        "terms": sorted(cites.terms.items()),
        "sources": sorted(cites.sources.items()),
        "units": sorted(cites.units.items()),
        "missing": vendor.missing(vendor.MAP),
        "map_json": map_json_url,
        "amount": amount,
        "default_limit": flows.FLOW_LIMIT,
        "purpose": purpose,
        "keep": [(k, v) for k, v in request.query_params.multi_items() if k != "purpose"],
    }
    return render(request, "map.html", context, json_url=map_json_url)
