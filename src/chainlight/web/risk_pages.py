"""The risk pages: the port integrity benchmark (``/risk``), the likelihood x impact heat map
(``/risk/heatmap``) and the country tiers (``/risk/countries``), each with its JSON twin, and what
every risk page shares (the reader, the model and its weights, kept scorecards, filters). A port's
profile is in :mod:`chainlight.web.risk_port_pages`, registers and their exports in
:mod:`chainlight.web.risk_register_pages`.

Every figure is computed by :func:`chainlight.risk.scoring.score_ports` for the viewer's
organisation as a :class:`~chainlight.rules.alerts.Reader`, so a score rests only on evidence the
viewer may read, and a port's contributions sum to its residual score as the CLI shows it.

**Purposes.** As on the route map, nothing is refused, but evidence in RED and AMBER+STRICT
datasets counts only with a purpose (``?purpose=`` or the ``X-Chainlight-Purpose`` header).
Without one the scores are computed by a reader that lacks those datasets, so nothing held back
moves any score, rank, class or count, and ``held_back`` says how many datasets were left out.
Every read goes to the access log (``risk.read``), with the purpose when one was given.

**Weights.** ``w.KEY=NUMBER`` (``w.likelihood.incidents=0.6``; keys from
:meth:`chainlight.risk.model.RiskModel.weights`) re-scores with those weights changed for this
request only; each port then also carries its rank under the default model, so the page shows
the ranking move. An unknown key or a value that is not a number of 0 or more answers 422.

Scoring every port takes a moment, and each page asks for it, so scorecards are kept
(:class:`ScoreCache`) per evidence file state, reader (organisation, datasets and markings),
model and dismissed alerts: an ingest, a changed marking or a triage makes a new key.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BeforeValidator, Field

from chainlight.model.markings import Marking
from chainlight.reference import ports as reference_ports
from chainlight.risk import evidence as risk_evidence
from chainlight.risk import registers, tiers
from chainlight.risk.catalogue import Catalogue
from chainlight.risk.model import RiskModel, RiskModelError
from chainlight.risk.scoring import Gathered, PortScore, RiskError, Scorecard, Term, gather, score_gathered
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access, routemap, vendor
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.graph_payloads import Marking as MarkingName
from chainlight.web.risk_payloads import (
    Band,
    RiskBenchmark,
    RiskCountries,
    RiskFilters,
    RiskHeatCell,
    RiskHeatmap,
    RiskMapPort,
    RiskPortScore,
    RiskWeight,
)
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

NOT_BUILT = "No risk evidence yet: run 'chainlight risk build' (after ingest and 'chainlight rules run')."
PAGE_SIZE = 50
MAX_PAGE = 500
#: The map shows every matching port with evidence and, of the rest, the riskiest this many.
MAP_TOP = 150
SIZES = ("L", "M", "S", "V", "airport")
WEIGHT_PREFIX = "w."


def _blank(value: Any) -> Any:
    """An empty form field means no filter (the filter form sends every field)."""
    return None if isinstance(value, str) and not value.strip() else value


# --- who reads, with which model ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """The reader scores are computed for, and what was held back from it."""

    reader: Reader
    purpose: str | None
    held: tuple[str, ...]
    held_marking: str | None
    dismissed: frozenset[str]

    def held_back(self) -> dict[str, Any]:
        return {"held_back": len(self.held), "held_back_marking": self.held_marking, "purpose": self.purpose}


def view_of(request: Request, svc: Services, viewer: Viewer) -> View:
    """The viewer as a reader of risk evidence: without a purpose, RED and AMBER+STRICT datasets
    are left out; with one (4 to 500 characters, else 428), everything the viewer may see."""
    purpose = routemap.given_purpose(request)
    reader = Reader.of(svc.operational.dataset_access(), viewer.organisation)
    held = tuple(sorted(d for d, a in reader.access.items() if a.marking in access.PURPOSE_MARKINGS))
    marking = None
    if purpose is None and held:
        marking = reader.marking(list(held)).value
        reader = Reader(reader.organisation, {k: v for k, v in reader.access.items() if k not in held})
    else:
        held = ()
    dismissed = frozenset(
        k for k, t in svc.operational.triage(viewer.organisation).items() if t.state == "dismissed"
    )
    return View(reader, purpose, held, marking, dismissed)


def base_model(svc: Services) -> RiskModel:
    try:
        return RiskModel.load(home=svc.settings.home)
    except RiskModelError as exc:
        raise HTTPException(status_code=409, detail=f"The risk model cannot be read: {exc}") from None


def requested_weights(request: Request, model: RiskModel) -> dict[str, float]:
    """The ``w.KEY`` parameters that change a weight (an empty field or the model's own value
    changes nothing); 422 for an unknown key or a value that is not a number of 0 or more."""
    defaults = model.weights()
    changed: dict[str, float] = {}
    for key, value in request.query_params.multi_items():
        if not key.startswith(WEIGHT_PREFIX):
            continue
        name = key[len(WEIGHT_PREFIX):]
        if name not in defaults:
            raise HTTPException(status_code=422, detail=f"Unknown weight {name!r}: the model's weights are "
                                                        f"{', '.join(sorted(defaults))}.")
        text = value.strip()
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            raise HTTPException(status_code=422, detail=f"Weight {name}: {text[:40]!r} is not a number.") from None
        if not math.isfinite(number) or number < 0 or number > 1000:
            raise HTTPException(status_code=422, detail=f"Weight {name}: give a number from 0 to 1000.")
        if name == "mitigation" and number > 1:
            raise HTTPException(status_code=422, detail="Weight mitigation: give a number from 0 to 1.")
        if number != defaults[name]:
            changed[name] = number
    return changed


def weighted(model: RiskModel, changed: dict[str, float]) -> RiskModel:
    try:
        return model.with_weights(changed)
    except RiskModelError as exc:
        raise HTTPException(status_code=422, detail=f"These weights cannot be used: {exc}.") from None


def weight_rows(model: RiskModel, used: RiskModel) -> list[RiskWeight]:
    catalogue = Catalogue.load()
    defaults = model.weights()
    labels: dict[str, str] = {f"likelihood.{k}": f.label for k, f in model.settings.likelihood.items()}
    labels |= {f"impact.{k}": f.label for k, f in model.settings.impact.items()}
    labels |= {f"controls.{k}": c.label for k, c in catalogue.controls.items()}
    labels["mitigation"] = "How much fully effective controls cut likelihood (0 to 1)"
    return [RiskWeight(key=k, label=labels.get(k, k), value=v, default=defaults[k]) for k, v in used.weights().items()]


# --- scorecards, kept -----------------------------------------------------------------------------


class ScoreCache:
    """The last few scorecards, keyed by everything a score depends on."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._cards: OrderedDict[Hashable, Scorecard] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Scorecard | None:
        with self._lock:
            found = self._cards.get(key)
            if found is not None:
                self._cards.move_to_end(key)
            return found

    def put(self, key: Hashable, card: Scorecard) -> None:
        with self._lock:
            self._cards[key] = card
            self._cards.move_to_end(key)
            while len(self._cards) > self.size:
                self._cards.popitem(last=False)


CACHE = ScoreCache()
#: What scoring read per reader: a re-score with other weights (the weight form) reuses it and
#: costs only the arithmetic (tenths of a second for every port, not seconds of SQL).
GATHERED: OrderedDict[Hashable, Gathered] = OrderedDict()
_GATHERED_LOCK = threading.Lock()


@contextmanager
def risk_store(svc: Services) -> Iterator[EvidenceStore]:
    """The evidence store, read-only for this request; 409 before the risk evidence is built."""
    with svc.evidence.open() as store:
        if store is None or not risk_evidence.built(store):
            raise HTTPException(status_code=409, detail=NOT_BUILT)
        yield store


def scored(svc: Services, store: EvidenceStore, view: View, model: RiskModel) -> Scorecard:
    reader = view.reader
    # The organisation too: a score shows its own reports exactly and others' with k-anonymity.
    key = (routemap.file_state(svc.evidence.path), reader.organisation,
           tuple(sorted((d, a.marking.value) for d, a in reader.access.items())),
           model.settings.model_dump_json(), view.dismissed)
    card = CACHE.get(key)
    if card is None:
        evidence_key = (key[0], key[1], key[2], view.dismissed, Gathered.key(model))
        try:
            with _GATHERED_LOCK:
                gathered = GATHERED.get(evidence_key)
            if gathered is None:
                gathered = gather(store, reader, model, dismissed=set(view.dismissed))
                with _GATHERED_LOCK:
                    GATHERED[evidence_key] = gathered
                    while len(GATHERED) > 4:
                        GATHERED.popitem(last=False)
            card = score_gathered(gathered, reader, model)
        except RiskError as exc:
            raise HTTPException(status_code=409, detail=f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        card = known_to(store, reader, card)
        CACHE.put(key, card)
    return card


@cache
def _reference_ports() -> frozenset[str]:
    return frozenset(p.entity_id for p in reference_ports.all_ports())


def known_to(store: EvidenceStore, reader: Reader, card: Scorecard) -> Scorecard:
    """The scorecard without the ports the reader does not know of, ranked again.

    The World Port Index ports are everyone's; an airport or unlisted port joins the risk tables
    when any evidence names it, so one named only by evidence the reader may not see would give
    that evidence away (it would be listed, counted, and push the ports below it down a rank).
    """
    reference = _reference_ports()
    extra = [p.port_id for p in card.ports if p.port_id not in reference]
    if not extra:
        return card
    named = named_by_evidence(store, reader, extra)
    ports = [p for p in card.ports if p.port_id in reference or p.port_id in named]
    if len(ports) == len(card.ports):
        return card
    for rank, port in enumerate(ports, start=1):
        port.rank = rank
    return Scorecard(ports=ports, as_of=card.as_of, previous_as_of=card.previous_as_of, model=card.model,
                     weights=card.weights, caps=card.caps, datasets=card.datasets, marking=card.marking)


def named_by_evidence(store: EvidenceStore, reader: Reader, port_ids: list[str]) -> set[str]:
    """Those of ``port_ids`` that a risk evidence row the reader may read names."""
    visible = reader.datasets
    return {r[0] for r in store.fetchall(
        """SELECT port_id FROM risk_incidents WHERE port_id = ANY($1) AND dataset = ANY($2)
           UNION SELECT port_id FROM risk_assessments WHERE port_id = ANY($1) AND dataset = ANY($2)
           UNION SELECT port_id FROM risk_missed_seizures WHERE port_id = ANY($1) AND list_has_all($2, datasets)
           UNION SELECT port_id FROM risk_route_exposure WHERE port_id = ANY($1) AND list_has_all($2, datasets)
           UNION SELECT port_id FROM risk_alert_ports WHERE port_id = ANY($1) AND list_has_all($2, datasets)""",
        [port_ids, visible],
    )} if visible and port_ids else set()


# --- ports as the pages show them -------------------------------------------------------------------


def band(score: int) -> Band:
    """The band (low, medium, high, critical) of a likelihood x impact score (1-25), as registers rate it."""
    return cast(Band, registers.band(score))


def marking_name(value: str) -> MarkingName:
    return Marking.parse(value).value


def band_of(port: PortScore) -> Band:
    """A port's band as a register would rate its cell: residual likelihood class x impact class."""
    return band(port.residual_likelihood_class * port.impact_class)


def top_terms(port: PortScore, n: int = 3) -> list[Term]:
    return sorted((t for t in port.contributions if t.points > 0), key=lambda t: -t.points)[:n]


def port_score(port: PortScore, default_ranks: dict[str, int], *, explain: bool = False) -> RiskPortScore:
    default_rank = default_ranks.get(port.port_id, port.rank)
    data = port.as_dict(explain=False)
    data |= {"band": band_of(port), "default_rank": default_rank, "rank_change": default_rank - port.rank,
             "top": [t.as_dict() for t in top_terms(port)]}
    if explain:
        data["contributions"] = [t.as_dict() for t in port.contributions]
    return RiskPortScore.model_validate(data)


@dataclass(frozen=True, slots=True)
class Filters:
    region: str | None = None
    country: str | None = None
    size: str | None = None
    evidence: bool = False
    likelihood: int | None = None
    impact: int | None = None
    variant: Literal["inherent", "residual"] = "residual"
    limit: int = PAGE_SIZE
    offset: int = 0

    def payload(self) -> RiskFilters:
        return RiskFilters(region=self.region, country=self.country, size=self.size, evidence=self.evidence,
                           likelihood=self.likelihood, impact=self.impact, variant=self.variant, limit=self.limit,
                           offset=self.offset)

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The filters as query parameters (defaults left out), for links."""
        values = {"region": self.region, "country": self.country, "size": self.size,
                  "evidence": "true" if self.evidence else None, "likelihood": self.likelihood,
                  "impact": self.impact, "variant": None if self.variant == "residual" else self.variant,
                  "limit": None if self.limit == PAGE_SIZE else self.limit, "offset": self.offset or None} | changes
        return [(k, str(v)) for k, v in values.items() if v is not None and v != ""]

    def matching(self, card: Scorecard) -> list[PortScore]:
        ports = card.ports
        if self.region:
            wanted = self.region.casefold()
            ports = [p for p in ports if (p.region or "").casefold() == wanted]
        if self.country:
            country = self.country.casefold()
            ports = [p for p in ports if p.country == country]
        if self.size == "airport":
            ports = [p for p in ports if p.kind == "airport"]
        elif self.size:
            ports = [p for p in ports if p.kind != "airport" and p.harbour_size == self.size]
        if self.evidence:
            ports = [p for p in ports if p.has_evidence]
        if self.likelihood is not None:
            residual = self.variant == "residual"
            ports = [p for p in ports
                     if (p.residual_likelihood_class if residual else p.likelihood_class) == self.likelihood]
        if self.impact is not None:
            ports = [p for p in ports if p.impact_class == self.impact]
        return ports


_Class = Annotated[int, Field(ge=1, le=5)]


def risk_filters(
    region: Annotated[
        Annotated[str, Field(max_length=200)] | None, BeforeValidator(_blank),
        Query(description="Only ports of this World Port Index region (as /risk.json's regions name it)."),
    ] = None,
    country: Annotated[
        Annotated[str, Field(min_length=2, max_length=2)] | None, BeforeValidator(_blank),
        Query(description="Only ports of this country (ISO 3166 alpha-2)."),
    ] = None,
    size: Annotated[
        Literal["L", "M", "S", "V", "airport"] | None, BeforeValidator(_blank),
        Query(description="Only this harbour size (L, M, S, V) or airports."),
    ] = None,
    evidence: Annotated[
        bool, BeforeValidator(lambda v: False if v == "" else v),
        Query(description="Only ports whose score rests on evidence beyond the reference facts."),
    ] = False,
    likelihood: Annotated[
        _Class | None, BeforeValidator(_blank), Query(description="Only ports of this likelihood class (1-5).")
    ] = None,
    impact: Annotated[
        _Class | None, BeforeValidator(_blank), Query(description="Only ports of this impact class (1-5).")
    ] = None,
    variant: Annotated[
        Literal["inherent", "residual"],
        Query(description="Likelihood before (inherent) or after controls (residual), for the class filter."),
    ] = "residual",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Ports per page.")] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Ports to skip.")] = 0,
) -> Filters:
    return Filters(region, country.casefold() if country else None, size, evidence, likelihood, impact, variant,
                   limit, offset)


FiltersDep = Annotated[Filters, Depends(risk_filters)]
PortCode = Annotated[
    str, Path(min_length=1, max_length=200, description="UN/LOCODE (KEMBA), IATA code or port id (port-kemba).")
]


def audit_read(request: Request, viewer: Viewer, view: View, what: str, marking: str) -> None:
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "purpose"])
    access.audit(request, viewer, "risk.read", f"{what}?{query}" if query else what, marking=marking,
                 purpose=view.purpose)


# --- the benchmark --------------------------------------------------------------------------------


def load_benchmark(request: Request, svc: Services, viewer: Viewer, flt: Filters) -> RiskBenchmark:
    view = view_of(request, svc, viewer)
    model = base_model(svc)
    changed = requested_weights(request, model)
    used = weighted(model, changed)
    with risk_store(svc) as store:
        card = scored(svc, store, view, used)
        default = scored(svc, store, view, model) if changed else card
    regions = sorted({p.region for p in card.ports if p.region})
    if flt.region and flt.region.casefold() not in {r.casefold() for r in regions}:
        raise HTTPException(status_code=422, detail=f"No region named {flt.region!r}: see regions in /risk.json.")
    ports = flt.matching(card)
    default_ranks = {p.port_id: p.rank for p in default.ports} if changed else {}
    page = ports[flt.offset:flt.offset + flt.limit]
    shown = [p for i, p in enumerate(ports) if (i < MAP_TOP or p.has_evidence)
             and p.latitude is not None and p.longitude is not None]
    points = [RiskMapPort(port_id=p.port_id, code=p.code, name=p.name, latitude=p.latitude or 0.0,
                          longitude=p.longitude or 0.0, rank=p.rank, residual=p.residual, band=band_of(p),
                          harbour_size=p.harbour_size, kind=p.kind, evidence=p.has_evidence,
                          marking=marking_name(p.marking))
              for p in shown]
    audit_read(request, viewer, view, "benchmark", card.marking)
    following = flt.offset + flt.limit
    return RiskBenchmark.model_validate({
        "as_of": card.as_of.isoformat() if card.as_of else None,
        "previous_as_of": card.previous_as_of.isoformat() if card.previous_as_of else None,
        "model": card.model, "weights": weight_rows(model, used), "changed": changed, "caps": card.caps,
        "filters": flt.payload(), "regions": regions, "total": len(card.ports),
        "with_evidence": sum(p.has_evidence for p in card.ports), "matching": len(ports),
        "next_offset": following if following < len(ports) else None,
        "ports": [port_score(p, default_ranks) for p in page], "map": points,
        "datasets": card.datasets, "marking": card.marking, **view.held_back(),
    })


def keep_params(request: Request, *drop: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in drop]


def with_purpose(url: str, view: View) -> str:
    if not view.purpose:
        return url
    return url + ("&" if "?" in url else "?") + urlencode({"purpose": view.purpose})


def benchmark_json(request: Request, svc: ServicesDep, viewer: ViewerDep, flt: FiltersDep) -> RiskBenchmark:
    return load_benchmark(request, svc, viewer, flt)


def benchmark_page(request: Request, svc: ServicesDep, viewer: ViewerDep, flt: FiltersDep) -> HTMLResponse:
    data = load_benchmark(request, svc, viewer, flt)
    query = urlencode(keep_params(request))
    json_url = "/risk.json" + (f"?{query}" if query else "")
    weights = [(k, v) for k, v in request.query_params.multi_items() if k.startswith(WEIGHT_PREFIX) and v.strip()]
    purpose = [("purpose", data.purpose)] if data.purpose else []
    context = {
        "data": data, "json_url": json_url, "keep": keep_params(request, "purpose"),
        "missing": vendor.missing(vendor.MAP), "sizes": SIZES,
        "page_url": lambda **changes: "/risk?" + urlencode(flt.pairs(**changes) + weights + purpose),
        "reset_url": "/risk?" + urlencode(flt.pairs(offset=None) + purpose),
        "port_url": lambda port_id: f"/risk/ports/{port_id}"
        + ("?" + urlencode({"purpose": data.purpose}) if data.purpose else ""),
    }
    return render(request, "risk.html", context, json_url=json_url)


# --- the heat map ---------------------------------------------------------------------------------


def load_heatmap(request: Request, svc: Services, viewer: Viewer, flt: Filters) -> RiskHeatmap:
    view = view_of(request, svc, viewer)
    model = base_model(svc)
    with risk_store(svc) as store:
        card = scored(svc, store, view, model)
    whole = Filters(flt.region, flt.country, flt.size, flt.evidence, variant=flt.variant)
    regions = {(p.region or "").casefold() for p in card.ports}
    if flt.region and flt.region.casefold() not in regions:
        raise HTTPException(status_code=422, detail=f"No region named {flt.region!r}: see regions in /risk.json.")
    ports = whole.matching(card)
    counts: dict[tuple[int, int], int] = {}
    residual = flt.variant == "residual"
    for p in ports:
        cell = (p.residual_likelihood_class if residual else p.likelihood_class, p.impact_class)
        counts[cell] = counts.get(cell, 0) + 1
    used = sorted({d for p in ports for d in p.datasets})
    marking = view.reader.marking(used).value if used else Marking.CLEAR.value
    rows = [[RiskHeatCell(likelihood=lv, impact=im, ports=counts.get((lv, im), 0), band=band(lv * im),
                          url=with_purpose("/risk?" + urlencode(whole.pairs(likelihood=lv, impact=im)), view))
             for im in range(1, 6)] for lv in range(5, 0, -1)]
    audit_read(request, viewer, view, "heatmap", marking)
    return RiskHeatmap(variant=flt.variant, filters=whole.payload(), rows=rows, total=len(ports), model=card.model,
                       datasets=used, marking=marking, **view.held_back())  # type: ignore[arg-type]


def heatmap_json(request: Request, svc: ServicesDep, viewer: ViewerDep, flt: FiltersDep) -> RiskHeatmap:
    return load_heatmap(request, svc, viewer, flt)


def heatmap_page(request: Request, svc: ServicesDep, viewer: ViewerDep, flt: FiltersDep) -> HTMLResponse:
    data = load_heatmap(request, svc, viewer, flt)
    query = urlencode(keep_params(request))
    json_url = "/risk/heatmap.json" + (f"?{query}" if query else "")
    context = {"data": data, "keep": keep_params(request, "purpose"), "sizes": SIZES,
               "other": "/risk/heatmap?" + urlencode(
                   [(k, v) for k, v in keep_params(request, "variant")]
                   + [("variant", "inherent" if flt.variant == "residual" else "residual")])}
    return render(request, "risk_heatmap.html", context, json_url=json_url)


# --- country tiers --------------------------------------------------------------------------------


def load_countries(request: Request, svc: Services, viewer: Viewer) -> RiskCountries:
    view = view_of(request, svc, viewer)
    model = base_model(svc)
    try:
        criteria = tiers.Criteria.load(home=svc.settings.home)
    except tiers.CriteriaError as exc:
        raise HTTPException(status_code=409, detail=f"The tier criteria cannot be read: {exc}") from None
    with risk_store(svc) as store:
        card = scored(svc, store, view, model)
        found = tiers.country_evidence(store, view.reader, ports=card.ports, dismissed=view.dismissed)
        # Ports per country as the reader knows them (the scorecard leaves out those only hidden
        # evidence names), not every row of the risk tables.
        known = Counter(p.country for p in card.ports if p.country)
        found = {c: replace(e, ports=known.get(c, 0)) for c, e in found.items()}
        report = tiers.country_tiers(store, view.reader, criteria, evidence=found)
    audit_read(request, viewer, view, "countries", report.marking.value)
    return RiskCountries.model_validate({
        "scheme": report.scheme, "criteria": report.criteria,
        "countries": [t.as_dict() for t in report.countries],
        "datasets": list(report.datasets), "marking": report.marking.value, **view.held_back(),
    })


def countries_json(request: Request, svc: ServicesDep, viewer: ViewerDep) -> RiskCountries:
    return load_countries(request, svc, viewer)


def countries_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    data = load_countries(request, svc, viewer)
    query = urlencode(keep_params(request))
    json_url = "/risk/countries.json" + (f"?{query}" if query else "")
    return render(request, "risk_countries.html", {"data": data, "keep": keep_params(request, "purpose")},
                  json_url=json_url)
