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
their dataset, shipments and seizures from the statements of visible datasets alone, pivoted
per entity after that filter. A hidden row therefore adds nothing to any quantity, count,
facet or total, and a route only a hidden dataset describes never appears. Ports are named
and placed from visible ``Port`` statements, else from the packaged reference data.

**Units.** Quantities in different units cannot be added up: a response is in one unit, the
one asked for (``unit``) or else the one with the most records, and ``units`` lists the others
with their record counts. ``None`` stands for a number of specimens (a blank CITES unit).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from chainlight.maps import places
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


@dataclass(slots=True)
class _Group:
    """Records of one kind along the same raw stops, in one raw unit (one SQL result row)."""

    kind: Kind
    stops: list[list[str]]  # alternatives per position: [[origins], [one], [transits...] ...]
    unit: str | None
    records: int
    quantity: float
    first_year: int | None
    last_year: int | None
    taxa: list[str]
    datasets: list[str]
    transits: tuple[int, int] | None = None  # stops[start:end] are transit points, in no order yet
    routed: bool = False  # it made at least one route of two stops


def unit_label(unit: str | None) -> str:
    if unit is None:
        return "number of specimens"
    return codes().units.get(unit, unit)


def _unit(raw: str | None) -> str | None:
    """A stored unit as its CITES code; None for a number of specimens; unknown ones as given."""
    if raw is None or not raw.strip():
        return None
    code = codes().unit_code(raw)
    if code is None:
        return raw.strip().upper()
    return code or None


def route_map(
    store: EvidenceStore | None,
    visible: Sequence[str],
    markings: dict[str, Marking],
    flt: MapFilter,
) -> RouteMap:
    """Flows, seizure points and places for a reader who may see ``visible`` datasets."""
    datasets = sorted(set(flt.datasets) if flt.datasets else set(visible))
    groups: list[_Group] = []
    points: list[SeizurePoint] = []
    if store is not None and datasets:
        tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
        taxa = _taxon_names(store, tables, datasets, flt.taxon)
        if "trade" in flt.kinds:
            groups += _trade(store, tables, datasets, flt)
        if "shipments" in flt.kinds and flt.source is None:
            groups += _shipments(store, datasets, flt, taxa)
        if "seizures" in flt.kinds and flt.source is None:
            groups += _seizures(store, datasets, flt, taxa)
            points = _seizure_points(store, datasets, flt, taxa, markings)

    units: dict[str | None, int] = {}
    for group in groups:
        units[group.unit] = units.get(group.unit, 0) + group.records
    if flt.unit is not None:
        unit = flt.unit or None
    elif units:
        unit = min(units, key=lambda u: (-units[u], u is not None, u or ""))
    else:
        unit = None
    chosen = [g for g in groups if g.unit == unit]

    place_ids = {p for g in chosen for alternatives in g.stops for p in alternatives} | {p.place for p in points}
    located = _places(store, datasets, place_ids)
    flows = _flows(chosen, located, markings)
    for flow in flows:
        if flow.kind == "shipments":
            for stop in set(flow.stops):
                if located[stop].kind == "port":
                    located[stop].shipments += flow.records
    for point in points:
        located[point.place].seizures += point.seizures
    flows.sort(key=lambda f: (-f.quantity, -f.records, f.id))

    used = sorted({d for f in flows for d in f.datasets} | {d for p in points for d in p.datasets})
    years = [y for f in flows for y in (f.first_year, f.last_year) if y is not None]
    years += [y for p in points for y in (p.first_year, p.last_year) if y is not None]
    shown = flows[: flt.limit]
    keep = {s for f in shown for s in f.stops} | {p.place for p in points}
    return RouteMap(
        unit=unit,
        unit_label=unit_label(unit),
        units=[UnitCount(u, unit_label(u), n) for u, n in sorted(units.items(), key=lambda i: (-i[1], i[0] or ""))],
        flows=shown,
        total_flows=len(flows),
        records=sum(g.records for g in chosen if g.routed),
        quantity=sum(g.quantity for g in chosen if g.routed),
        seizures=points,
        places=sorted((located[p] for p in keep), key=lambda p: p.id),
        first_year=min(years, default=None),
        last_year=max(years, default=None),
        datasets=used,
        marking=_marking(used, markings),
    )


def _marking(datasets: Iterable[str], markings: dict[str, Marking]) -> str:
    # A dataset missing from the access list is treated as the strictest: never under-mark.
    return most_restrictive(markings.get(d, Marking.RED) for d in datasets).value


# -- taxa ------------------------------------------------------------------------------------


def _taxon_names(store: EvidenceStore, tables: set[str], datasets: list[str], taxon: str | None) -> list[str]:
    """Taxa (lower case) of the visible trade rows whose genus, family, order or class is
    ``taxon``: shipments and seizures name a species, so 'Elephantidae' finds them through these."""
    if taxon is None or "cites_trade" not in tables:
        return []
    rows = store.fetchall(
        'SELECT DISTINCT lower(taxon) FROM cites_trade WHERE dataset = ANY(?) AND taxon IS NOT NULL AND ? IN '
        '(lower(genus), lower(family), lower("order"), lower(class))',
        [datasets, taxon],
    )
    return sorted(r[0] for r in rows)


def _species_condition(column: str, flt: MapFilter, taxa: list[str], params: list[Any]) -> str:
    """SQL: ``column`` (a taxon) is the asked taxon, a species of it, or one of ``taxa``."""
    if flt.taxon is None:
        return "TRUE"
    params += [flt.taxon, flt.taxon + " ", taxa]
    return (f"(lower({column}) = ? OR starts_with(lower({column}), ?) "
            f"OR list_contains(CAST(? AS VARCHAR[]), lower({column})))")


def _year_condition(column: str, flt: MapFilter, params: list[Any]) -> str:
    parts = []
    if flt.year_from is not None:
        parts.append(f"{column} >= ?")
        params.append(flt.year_from)
    if flt.year_to is not None:
        parts.append(f"{column} <= ?")
        params.append(flt.year_to)
    return " AND ".join(parts) or "TRUE"


# -- trade -----------------------------------------------------------------------------------


def _trade(store: EvidenceStore, tables: set[str], datasets: list[str], flt: MapFilter) -> list[_Group]:
    found: list[_Group] = []
    for table in ("cites_trade", "cites_comparative"):
        if table not in tables:
            continue
        params: list[Any] = []
        if table == "cites_trade":
            quantity = "quantity"
            reporter = "TRUE" if flt.reporter == "all" else "reporter_type = ?"
            if flt.reporter != "all":
                params.append(flt.reporter)
        else:  # the comparative tabulation holds both parties' quantities side by side
            quantity = {"E": "exporter_quantity", "I": "importer_quantity"}.get(
                flt.reporter, "greatest(exporter_quantity, importer_quantity)"
            )
            reporter = f"{quantity} IS NOT NULL"
        conditions = [reporter, "dataset = ANY(?)"]
        params.append(datasets)
        if flt.taxon is not None:
            conditions.append(
                '(? IN (lower(taxon), lower(genus), lower(family), lower("order"), lower(class)) '
                "OR starts_with(lower(taxon), ?))"
            )
            params += [flt.taxon, flt.taxon + " "]
        if flt.term is not None:
            conditions.append("upper(term) = ?")
            params.append(flt.term)
        if flt.source is not None:
            conditions.append("upper(source) = ?")
            params.append(flt.source)
        conditions.append(_year_condition("year", flt, params))
        rows = store.fetchall(
            f"""SELECT upper(nullif(trim(origin_country), '')) AS origin, upper(trim(exporter)) AS exporter,
                       upper(trim(importer)) AS importer, nullif(trim(unit), '') AS unit, count(*) AS records,
                       coalesce(sum({quantity}), 0) AS quantity, min(year), max(year),
                       approx_top_k(taxon, 3), list_sort(list_distinct(list(dataset)))
                FROM {table} WHERE {" AND ".join(conditions)}
                GROUP BY ALL""",
            params,
        )
        for origin, exporter, importer, unit, records, total, first, last, taxa, sets in rows:
            stops = [[origin]] if origin and origin != exporter else []
            stops += [[exporter or "XX"], [importer or "XX"]]
            found.append(_Group("trade", [[f"country:{c}" for c in s] for s in stops], _unit(unit), records,
                                float(total), first, last, list(taxa or []), list(sets)))
    return found


# -- shipments and seizures: pivoted from the statements of visible datasets ------------------


def _pivot(schema: str, props: dict[str, str]) -> str:
    """One row per entity of ``schema`` from the statements of the datasets given as the first
    parameter: ``props`` maps an output column to ``"prop"`` (one value), ``"prop[]"`` (every
    value) or ``"prop#"`` (a number)."""
    columns = []
    names = set()
    for column, spec in props.items():
        prop = spec.rstrip("[]#")
        names.add(prop)
        if spec.endswith("[]"):
            columns.append(f"list_sort(list_distinct(list(value) FILTER (WHERE prop = '{prop}'))) AS {column}")
        elif spec.endswith("#"):
            columns.append(f"min(TRY_CAST(value AS DOUBLE)) FILTER (WHERE prop = '{prop}') AS {column}")
        else:
            columns.append(f"min(value) FILTER (WHERE prop = '{prop}') AS {column}")
    wanted = ", ".join(f"'{n}'" for n in sorted(names))
    return f"""
        SELECT entity_id, list_sort(list_distinct(list(dataset))) AS datasets, {", ".join(columns)}
        FROM statements
        WHERE schema = '{schema}' AND dataset = ANY(?) AND prop IN ({wanted})
        GROUP BY entity_id
    """


_SHIPMENT: Final = {
    "loading": "portOfLoading", "transit": "transitPort[]", "discharge": "portOfDischarge",
    "origin": "originCountry", "destination": "destinationCountry", "taxon": "taxon", "term": "term",
    "quantity": "quantity#", "unit": "unit", "departure": "departureDate", "arrival": "arrivalDate",
}


def _common_conditions(flt: MapFilter, taxa: list[str], year: str, params: list[Any]) -> str:
    conditions = [_species_condition("taxon", flt, taxa, params)]
    if flt.term is not None:
        conditions.append("upper(term) = ?")
        params.append(flt.term)
    conditions.append(_year_condition(year, flt, params))
    return " AND ".join(conditions)


def _shipments(store: EvidenceStore, datasets: list[str], flt: MapFilter, taxa: list[str]) -> list[_Group]:
    params: list[Any] = [datasets]
    year = "year(coalesce(TRY_CAST(departure AS DATE), TRY_CAST(arrival AS DATE)))"
    where = _common_conditions(flt, taxa, year, params)
    rows = store.fetchall(
        f"""WITH s AS ({_pivot("Shipment", _SHIPMENT)})
            SELECT upper(origin), loading, coalesce(transit, []), discharge, upper(destination), unit,
                   count(*), coalesce(sum(quantity), 0), min({year}), max({year}), approx_top_k(taxon, 3),
                   list_sort(list_distinct(flatten(list(datasets))))
            FROM s WHERE {where} AND (loading IS NOT NULL OR discharge IS NOT NULL OR len(transit) > 0
                                      OR origin IS NOT NULL OR destination IS NOT NULL)
            GROUP BY ALL""",
        params,
    )
    found = []
    for origin, loading, transit, discharge, destination, unit, records, total, first, last, top, sets in rows:
        stops: list[list[str]] = []
        if origin:
            stops.append([f"country:{origin}"])
        if loading:
            stops.append([f"port:{loading}"])
        transits = (len(stops), len(stops) + len(transit))
        stops += [[f"port:{p}"] for p in transit]  # put in travel order once places are known
        if discharge:
            stops.append([f"port:{discharge}"])
        if destination:
            stops.append([f"country:{destination}"])
        found.append(_Group("shipments", stops, _unit(unit), records, float(total), first, last, list(top or []),
                            list(sets), transits=transits))
    return found


_SEIZURE: Final = {
    "origins": "originCountry[]", "transits": "transitCountry[]", "destinations": "destinationCountry[]",
    "country": "country", "port": "port", "taxon": "taxon", "term": "term", "quantity": "quantity#",
    "weight": "weight#", "unit": "unit", "day": "date",
}
_SEIZURE_YEAR: Final = "year(TRY_CAST(day AS DATE))"


def _seizures(store: EvidenceStore, datasets: list[str], flt: MapFilter, taxa: list[str]) -> list[_Group]:
    params: list[Any] = [datasets]
    where = _common_conditions(flt, taxa, _SEIZURE_YEAR, params)
    rows = store.fetchall(
        f"""WITH s AS ({_pivot("Seizure", _SEIZURE)})
            SELECT coalesce(origins, []), coalesce(transits, []), coalesce(destinations, []), upper(country), unit,
                   count(*), coalesce(sum(quantity), 0), min({_SEIZURE_YEAR}), max({_SEIZURE_YEAR}),
                   approx_top_k(taxon, 3), list_sort(list_distinct(flatten(list(datasets))))
            FROM s WHERE {where} GROUP BY ALL""",
        params,
    )
    found = []
    for origins, transits, destinations, country, unit, records, total, first, last, top, sets in rows:
        origins, transits, destinations = ([c.upper() for c in v] for v in (origins, transits, destinations))
        # Goods are seized on their way: where neither an end nor a transit, the country of
        # seizure is a transit; with no destination given, it is where the route ends.
        if country and destinations and country not in {*origins, *transits, *destinations}:
            transits = [*transits, country]
        ends = destinations or ([country] if country else [])
        stops = [[f"country:{c}" for c in origins]] if origins else []
        between = (len(stops), len(stops) + len(transits))
        stops += [[f"country:{c}"] for c in transits]
        if ends:
            stops.append([f"country:{c}" for c in ends])
        found.append(_Group("seizures", stops, _unit(unit), records, float(total), first, last, list(top or []),
                            list(sets), transits=between))
    return found


def _seizure_points(
    store: EvidenceStore, datasets: list[str], flt: MapFilter, taxa: list[str], markings: dict[str, Marking]
) -> list[SeizurePoint]:
    params: list[Any] = [datasets]
    where = _common_conditions(flt, taxa, _SEIZURE_YEAR, params)
    rows = store.fetchall(
        f"""WITH s AS ({_pivot("Seizure", _SEIZURE)})
            SELECT CASE WHEN port IS NOT NULL THEN 'port:' || port ELSE 'country:' || upper(country) END AS place,
                   count(*), coalesce(sum(quantity) FILTER (WHERE coalesce(trim(unit), '') = ''), 0),
                   coalesce(sum(weight), 0), min({_SEIZURE_YEAR}), max({_SEIZURE_YEAR}), approx_top_k(taxon, 3),
                   list_sort(list_distinct(flatten(list(datasets))))
            FROM s WHERE {where} AND (port IS NOT NULL OR country IS NOT NULL)
            GROUP BY place ORDER BY place""",
        params,
    )
    return [
        SeizurePoint(place, n, float(specimens), float(weight), first, last, list(top or []), list(sets),
                     _marking(sets, markings))
        for place, n, specimens, weight, first, last, top, sets in rows
    ]


# -- places and flows ------------------------------------------------------------------------


def _places(store: EvidenceStore | None, datasets: list[str], ids: set[str]) -> dict[str, Place]:
    """Every place id named, with its name and coordinates (None where none are known)."""
    port_ids = sorted(p.removeprefix("port:") for p in ids if p.startswith("port:"))
    stated: dict[str, dict[str, str]] = {}
    if store is not None and port_ids:
        for entity, prop, value in store.fetchall(
            "SELECT entity_id, prop, min(value) FROM statements WHERE schema = 'Port' AND entity_id = ANY(?) "
            "AND dataset = ANY(?) AND prop IN ('name', 'country', 'latitude', 'longitude') GROUP BY ALL",
            [port_ids, datasets],
        ):
            stated.setdefault(entity, {})[prop] = value
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


def _flows(groups: list[_Group], located: dict[str, Place], markings: dict[str, Marking]) -> list[Flow]:
    merged: dict[tuple[Kind, tuple[str, ...]], Flow] = {}
    for group in groups:
        for route in _routes(group, located):
            group.routed = True
            key = (group.kind, tuple(route))
            flow = merged.get(key)
            if flow is None:
                digest = hashlib.sha256("\x1f".join([group.kind, *route]).encode()).hexdigest()[:16]
                merged[key] = Flow(digest, group.kind, route, group.unit, group.quantity, group.records,
                                   group.first_year, group.last_year, list(group.taxa), list(group.datasets), "")
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


def _routes(group: _Group, located: dict[str, Place]) -> list[list[str]]:
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


def _order_transits(group: _Group, located: dict[str, Place]) -> list[list[str]]:
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

