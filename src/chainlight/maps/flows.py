"""Trade, shipment and seizure routes, aggregated into flows for a map, over visible data only.

Three kinds of evidence describe wildlife moving between places:

* **trade**: CITES Trade Database rows (record tables ``cites_trade`` and
  ``cites_comparative``): origin (for re-exports) -> exporter -> importer, by country;
* **shipments**: transport documents (``Shipment`` entities): country of origin -> port of
  loading -> transit ports -> port of discharge -> country of destination;
* **seizures**: ``Seizure`` entities: countries of origin -> countries of transit (and the
  country of seizure, when it is neither an end nor a transit) -> countries of destination (the
  country of seizure when none is given), and the place of each seizure (its port, else its
  country) as a point. A seizure naming several origins or destinations makes a route from
  each origin to each destination.

Transit ports and countries are stored as sets, in no order: a route visits them nearest first,
by great-circle distance from the stop before them.

A **flow** is every record of one kind along the same stops, in the same unit: its quantity is
their sum, and it carries the datasets of its records and the strictest of their markings.

**Need-to-know.** Every query reads rows of the reader's visible datasets only: trade rows by
their dataset; shipments and seizures from projection rows whose values all lie in visible
datasets, or else pivoted again from the statements of visible datasets alone
(:mod:`chainlight.maps.sources`). A hidden row therefore adds nothing to any quantity, count,
facet or total, and a route only a hidden dataset describes never appears. Ports are named
and placed from visible ``Port`` statements, else from the packaged reference data. A flow's
``taxa`` name the taxon of its largest record.

**Units.** Quantities in different units cannot be added up: a response is in one unit, the
one asked for (``unit``) or else the one with the most records, and ``units`` lists the others
with their record counts. ``None`` stands for a number of specimens (a blank CITES unit).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from chainlight.maps import places, sources
from chainlight.model.markings import Marking, most_restrictive
from chainlight.reference.cites import codes
from chainlight.store.evidence import EvidenceStore

Kind = Literal["trade", "shipments", "seizures"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
Reporter = Literal["all", "E", "I"]

#: The word a request gives for a number of specimens (the CITES blank unit).
NUMBER: Final = "number"
#: How many flows a response lists unless asked otherwise, and at most.
FLOW_LIMIT: Final = 100
MAX_FLOWS: Final = 2000


class MapFilterError(ValueError):
    """A filter names something that does not exist (a term, a unit, a source, a dataset)."""


@dataclass(frozen=True, slots=True)
class MapFilter:
    """What a map shows. Every filter narrows; a record a filter cannot apply to is left out
    (shipments and seizures have no CITES source, so asking for a source leaves trade alone)."""

    kinds: tuple[Kind, ...] = KINDS
    taxon: str | None = None  # a taxon, genus, family, order or class, any case
    term: str | None = None  # a CITES term code
    year_from: int | None = None
    year_to: int | None = None
    datasets: tuple[str, ...] = ()  # only these (all visible when empty)
    source: str | None = None  # a CITES source code (W, C, ...): trade only
    reporter: Reporter = "all"  # trade: whose reports count
    unit: str | None = None  # a CITES unit code, "" for specimens; None: the commonest
    limit: int = FLOW_LIMIT

    @classmethod
    def parse(
        cls,
        *,
        visible: Sequence[str],
        kinds: Sequence[str] | None = None,
        taxon: str | None = None,
        term: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        datasets: Sequence[str] | None = None,
        source: str | None = None,
        reporter: str = "all",
        unit: str | None = None,
        limit: int = FLOW_LIMIT,
    ) -> MapFilter:
        """The filter a request asks for, checked against the code lists and the reader's
        datasets; :class:`MapFilterError` names the first thing that does not exist. A dataset
        the reader may not see is refused with the same words as one that does not exist."""
        cites = codes()
        chosen_kinds: list[Kind] = []
        for kind in dict.fromkeys(kinds or KINDS):
            found = next((k for k in KINDS if k == kind), None)
            if found is None:
                raise MapFilterError(f"There is no flow kind {kind!r}: use trade, shipments or seizures.")
            chosen_kinds.append(found)
        term_code = None
        if term is not None and term.strip():
            term_code = cites.term_code(term)
            if term_code is None:
                raise MapFilterError(f"There is no CITES term {term!r}.")
        source_code = None
        if source is not None and source.strip():
            source_code = source.strip().upper()
            if source_code not in cites.sources:
                raise MapFilterError(f"There is no CITES source code {source!r}.")
        unit_code = None
        if unit is not None and unit.strip():
            unit_code = "" if unit.strip().lower() == NUMBER else cites.unit_code(unit)
            if unit_code is None:
                raise MapFilterError(f"There is no CITES unit {unit!r}.")
        if reporter not in get_args(Reporter):
            raise MapFilterError(f"There is no reporter {reporter!r}: use all, E or I.")
        if year_from is not None and year_to is not None and year_from > year_to:
            raise MapFilterError("year_from is after year_to.")
        wanted = tuple(dict.fromkeys(datasets or ()))
        known = set(visible)
        for name in wanted:
            if name not in known:
                raise MapFilterError(f"There is no dataset named {name!r}.")
        clean_taxon = " ".join(taxon.split()).lower() if taxon and taxon.strip() else None
        return cls(
            kinds=tuple(chosen_kinds), taxon=clean_taxon, term=term_code, year_from=year_from, year_to=year_to,
            datasets=wanted, source=source_code, reporter=reporter,  # type: ignore[arg-type]
            unit=unit_code, limit=limit,
        )


@dataclass(slots=True)
class Place:
    id: str  # "country:KE" or "port:<entity id>"
    kind: Literal["country", "port"]
    name: str
    country: str | None
    latitude: float | None
    longitude: float | None
    shipments: int = 0  # shipment records whose route passes here (ports)
    seizures: int = 0  # seizures made here


@dataclass(slots=True)
class Flow:
    id: str
    kind: Kind
    stops: list[str]  # place ids, in travel order
    unit: str | None  # None: number of specimens
    quantity: float
    records: int
    first_year: int | None
    last_year: int | None
    taxa: list[str]  # the commonest taxa, most frequent first
    datasets: list[str]
    marking: str


@dataclass(slots=True)
class SeizurePoint:
    place: str
    seizures: int
    specimens: float  # summed quantities given as a number of specimens
    weight: float  # summed weights, kg
    first_year: int | None
    last_year: int | None
    taxa: list[str]
    datasets: list[str]
    marking: str


@dataclass(slots=True)
class UnitCount:
    unit: str | None
    label: str
    records: int


@dataclass(slots=True)
class RouteMap:
    unit: str | None
    unit_label: str
    units: list[UnitCount]
    flows: list[Flow]
    total_flows: int
    records: int
    quantity: float
    seizures: list[SeizurePoint]
    places: list[Place]
    first_year: int | None
    last_year: int | None
    datasets: list[str]
    marking: str


def unit_label(unit: str | None) -> str:
    if unit is None:
        return "number of specimens"
    return codes().units.get(unit, unit)


def route_map(
    store: EvidenceStore | None,
    visible: Sequence[str],
    markings: dict[str, Marking],
    flt: MapFilter,
) -> RouteMap:
    """Flows, seizure points and places for a reader who may see ``visible`` datasets.

    A dataset filter names visible datasets only: a filter that leaves none reads nothing (never
    every dataset), so a caller may narrow ``visible`` below what the filter was checked against.
    """
    datasets = sorted(set(flt.datasets) & set(visible) if flt.datasets else set(visible))
    if store is None or not datasets:
        return _empty(flt)
    present = sources.tables(store)
    where = sources.Conditions(flt.taxon, sources.taxon_names(store, present, datasets, flt.taxon), flt.term,
                               flt.year_from, flt.year_to)
    try:
        units: dict[str | None, int] = {}
        if "trade" in flt.kinds:
            units = sources.build_trade(store, present, datasets, where, flt.source, flt.reporter)
        groups: list[sources.Group] = []
        points: list[SeizurePoint] = []
        if flt.source is None:  # shipments and seizures have no CITES source
            if "shipments" in flt.kinds:
                groups += sources.shipment_groups(store, present, datasets, where)
            if "seizures" in flt.kinds:
                groups += sources.seizure_groups(store, present, datasets, where)
                points = [
                    SeizurePoint(place, n, float(specimens), float(weight), first, last, [top] if top else [],
                                 list(sets), _marking(sets, markings))
                    for place, n, specimens, weight, first, last, top, sets in sources.seizure_places(
                        store, present, datasets, where)
                ]
        for group in groups:
            units[group.unit] = units.get(group.unit, 0) + group.records
        unit = _chosen_unit(flt, units)
        if "trade" in flt.kinds:
            trade, trade_rows = sources.trade_flows(store, unit, flt.limit)
        else:
            trade, trade_rows = sources.TradeTotals(0, 0, 0.0, None, None, []), []
    finally:
        sources.drop_trade(store)

    chosen = [g for g in groups if g.unit == unit]
    top_trade = [
        Flow(_flow_id("trade", list(stops)), "trade", list(stops), unit, float(qty), int(n), first, last,
             [top] if top else [], list(sets), _marking(sets, markings))
        for stops, n, qty, first, last, top, sets in trade_rows
    ]
    place_ids = {p for g in chosen for alternatives in g.stops for p in alternatives}
    place_ids |= {p.place for p in points} | {s for f in top_trade for s in f.stops}
    located = _places(store, datasets, place_ids)
    others = _flows(chosen, located, markings)
    for flow in others:
        if flow.kind == "shipments":
            for stop in set(flow.stops):
                if located[stop].kind == "port":
                    located[stop].shipments += flow.records
    for point in points:
        located[point.place].seizures += point.seizures
    shown = sorted([*top_trade, *others], key=lambda f: (-f.quantity, -f.records, f.id))[: flt.limit]

    used = sorted({*trade.datasets, *(d for f in others for d in f.datasets), *(d for p in points for d in p.datasets)})
    years = [y for y in (trade.first_year, trade.last_year) if y is not None]
    years += [y for f in others for y in (f.first_year, f.last_year) if y is not None]
    years += [y for p in points for y in (p.first_year, p.last_year) if y is not None]
    keep = {s for f in shown for s in f.stops} | {p.place for p in points}
    routed = [g for g in chosen if g.routed]
    return RouteMap(
        unit=unit,
        unit_label=unit_label(unit),
        units=[UnitCount(u, unit_label(u), n) for u, n in sorted(units.items(), key=lambda i: (-i[1], i[0] or ""))],
        flows=shown,
        total_flows=trade.flows + len(others),
        records=trade.records + sum(g.records for g in routed),
        quantity=trade.quantity + sum(g.quantity for g in routed),
        seizures=points,
        places=sorted((located[p] for p in keep), key=lambda p: p.id),
        first_year=min(years, default=None),
        last_year=max(years, default=None),
        datasets=used,
        marking=_marking(used, markings),
    )


def _empty(flt: MapFilter) -> RouteMap:
    unit = flt.unit or None
    return RouteMap(unit, unit_label(unit), [], [], 0, 0, 0.0, [], [], None, None, [], Marking.CLEAR.value)


def _chosen_unit(flt: MapFilter, units: dict[str | None, int]) -> str | None:
    """The unit asked for, else the one with the most records (specimens first on a tie)."""
    if flt.unit is not None:
        return flt.unit or None
    if not units:
        return None
    return min(units, key=lambda u: (-units[u], u is not None, u or ""))


def _marking(datasets: Iterable[str], markings: dict[str, Marking]) -> str:
    # A dataset missing from the access list is treated as the strictest: never under-mark.
    return most_restrictive(markings.get(d, Marking.RED) for d in datasets).value


def _flow_id(kind: str, route: list[str]) -> str:
    return hashlib.sha256("\x1f".join([kind, *route]).encode()).hexdigest()[:16]


# -- places and flows ------------------------------------------------------------------------


def _places(store: EvidenceStore, datasets: list[str], ids: set[str]) -> dict[str, Place]:
    """Every place id named, with its name and coordinates (None where none are known)."""
    stated = sources.port_facts(store, datasets, sorted(p.removeprefix("port:") for p in ids if p.startswith("port:")))
    found: dict[str, Place] = {}
    for place in ids:
        kind, _, key = place.partition(":")
        if kind == "country":
            point = places.country_point(key)
            found[place] = Place(place, "country", places.country_name(key), key,
                                 point.latitude if point else None, point.longitude if point else None)
            continue
        facts = stated.get(key, {})
        ref = places.reference_port(key)
        lat, lon = _number(facts.get("latitude")), _number(facts.get("longitude"))
        if (lat is None or lon is None) and ref is not None:
            lat, lon = ref.latitude, ref.longitude
        country = facts.get("country") or (ref.country if ref else None)
        found[place] = Place(place, "port", facts.get("name") or (ref.name if ref else key),
                             country.upper() if country else None, lat, lon)
    return found


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _flows(groups: list[sources.Group], located: dict[str, Place], markings: dict[str, Marking]) -> list[Flow]:
    merged: dict[tuple[Kind, tuple[str, ...]], Flow] = {}
    for group in groups:
        for route in _routes(group, located):
            group.routed = True
            key = (group.kind, tuple(route))
            flow = merged.get(key)
            if flow is None:
                merged[key] = Flow(_flow_id(group.kind, route), group.kind, route, group.unit, group.quantity,
                                   group.records, group.first_year, group.last_year, list(group.taxa),
                                   list(group.datasets), "")
                continue
            flow.quantity += group.quantity
            flow.records += group.records
            flow.first_year = _least(flow.first_year, group.first_year)
            flow.last_year = _most(flow.last_year, group.last_year)
            flow.taxa = list(dict.fromkeys([*flow.taxa, *group.taxa]))[:3]
            flow.datasets = sorted(set(flow.datasets) | set(group.datasets))
    for flow in merged.values():
        flow.marking = _marking(flow.datasets, markings)
    return list(merged.values())


def _routes(group: sources.Group, located: dict[str, Place]) -> list[list[str]]:
    """The routes a group's stops make: one per choice of its alternatives (several origins
    or destinations of a seizure), transit ports in travel order, a country dropped where the
    port next to it lies in it, and repeated stops dropped; only routes of two stops or more."""
    positions = _order_transits(group, located)
    routes: list[list[str]] = [[]]
    for alternatives in positions:
        routes = [[*route, stop] for route in routes for stop in alternatives]
    found = []
    for route in routes:
        clean: list[str] = []
        for i, stop in enumerate(route):
            if clean and clean[-1] == stop:
                continue
            if located[stop].kind == "country" and _beside_port_in(stop, route, i, located):
                continue
            clean.append(stop)
        if len(clean) >= 2:
            found.append(clean)
    return found


def _beside_port_in(stop: str, route: list[str], i: int, located: dict[str, Place]) -> bool:
    country = located[stop].country
    neighbours = [route[j] for j in (i - 1, i + 1) if 0 <= j < len(route)]
    return any(located[n].kind == "port" and located[n].country == country for n in neighbours)


def _order_transits(group: sources.Group, located: dict[str, Place]) -> list[list[str]]:
    """A group's stops with its transit points (stored as an unordered set) sorted by distance
    from the stop before them, where the goods set out: the nearest first. Without a stop
    before them, or without coordinates, they keep their (sorted) order."""
    positions = [list(alternatives) for alternatives in group.stops]
    if group.transits is None:
        return [p for p in positions if p]
    start, end = group.transits
    if start > 0 and end - start > 1:
        before = located[positions[start - 1][0]]
        middle = sorted(positions[start:end], key=lambda p: (_distance(before, located[p[0]]), p[0]))
        positions = [*positions[:start], *middle, *positions[end:]]
    return [p for p in positions if p]


def _distance(a: Place, b: Place) -> float:
    """Great-circle distance in radians; unknown places sort last."""
    if a.latitude is None or a.longitude is None or b.latitude is None or b.longitude is None:
        return math.inf
    la1, lo1, la2, lo2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(h)))


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _most(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)

