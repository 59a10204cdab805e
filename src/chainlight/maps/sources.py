"""Reading the evidence behind route maps, from the reader's visible datasets only.

* **Trade** rows are aggregated in DuckDB, first per route, unit and dataset, then per route and
  unit, into a temp table on the request's connection: ten million rows become a few hundred
  thousand routes without leaving the database, and only the largest flows are fetched.
* **Shipments and seizures** are entities. Their rows come from the per-schema projections
  (``proj_shipment``, ``proj_seizure``) where a row's values all lie in visible datasets and
  stand for one entity; every other row (values from a hidden dataset too, or a cluster that
  resolution merged) is pivoted again from the statements of visible datasets alone, entity by
  entity. When the projections are stale, everything is pivoted from the statements. Either
  way a value from a hidden dataset never reaches a row.

Each function returns plain rows or :class:`Group` records for :mod:`chainlight.maps.flows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal

from chainlight.reference.cites import codes
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore

Kind = Literal["trade", "shipments", "seizures"]

#: The temp table holding the trade flows of one request.
TRADE_TABLE: Final = "map_trade_flows"


@dataclass(slots=True)
class Group:
    """Records of one kind along the same raw stops, in one unit (shipments and seizures)."""

    kind: Kind
    stops: list[list[str]]  # alternatives per position (several origins of a seizure ...)
    unit: str | None
    records: int
    quantity: float
    first_year: int | None
    last_year: int | None
    taxa: list[str]  # the taxon of its largest record
    datasets: list[str]
    transits: tuple[int, int] | None = None  # stops[start:end] are transit points, in no order yet
    routed: bool = False  # it made at least one route of two stops


@dataclass(frozen=True, slots=True)
class Conditions:
    """The filters as SQL, for one kind of record."""

    taxon: str | None
    taxa: list[str]  # species of the asked higher taxon, from the visible trade rows
    term: str | None
    year_from: int | None
    year_to: int | None

    def species(self, column: str, params: list[Any]) -> str:
        """``column`` (a taxon) is the asked taxon, a species of it, or one of :attr:`taxa`."""
        if self.taxon is None:
            return "TRUE"
        params += [self.taxon, self.taxon + " ", self.taxa]
        return (f"(lower({column}) = ? OR starts_with(lower({column}), ?) "
                f"OR list_contains(CAST(? AS VARCHAR[]), lower({column})))")

    def years(self, column: str, params: list[Any]) -> str:
        parts = []
        if self.year_from is not None:
            parts.append(f"{column} >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            parts.append(f"{column} <= ?")
            params.append(self.year_to)
        return " AND ".join(parts) or "TRUE"

    def common(self, year: str, params: list[Any]) -> str:
        """Taxon, term and years, for shipments and seizures (columns ``taxon``, ``term``)."""
        parts = [self.species("taxon", params)]
        if self.term is not None:
            parts.append("upper(term) = ?")
            params.append(self.term)
        parts.append(self.years(year, params))
        return " AND ".join(parts)


@cache
def unit_code(raw: str | None) -> str | None:
    """A stored unit as its CITES code; None for a number of specimens; unknown ones as given."""
    if raw is None or not raw.strip():
        return None
    code = codes().unit_code(raw)
    if code is None:
        return raw.strip().upper()
    return code or None


def tables(store: EvidenceStore) -> set[str]:
    return {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}


def taxon_names(store: EvidenceStore, present: set[str], datasets: list[str], taxon: str | None) -> list[str]:
    """Taxa (lower case) of the visible trade rows whose genus, family, order or class is
    ``taxon``: shipments and seizures name a species, so 'Elephantidae' finds them through these."""
    if taxon is None or "cites_trade" not in present:
        return []
    rows = store.fetchall(
        'SELECT DISTINCT lower(taxon) FROM cites_trade WHERE dataset = ANY(?) AND taxon IS NOT NULL AND ? IN '
        '(lower(genus), lower(family), lower("order"), lower(class))',
        [datasets, taxon],
    )
    return sorted(r[0] for r in rows)


# -- trade -----------------------------------------------------------------------------------


def build_trade(
    store: EvidenceStore,
    present: set[str],
    datasets: list[str],
    where: Conditions,
    source: str | None,
    reporter: str,
) -> dict[str | None, int]:
    """Aggregate the visible trade rows into :data:`TRADE_TABLE` (stops, raw unit, records,
    quantity, years, the taxon of the largest row, datasets); return records per unit code."""
    parts: list[str] = []
    params: list[Any] = []
    for table in ("cites_trade", "cites_comparative"):
        if table not in present:
            continue
        if table == "cites_trade":
            quantity = "quantity"
            conditions = ["TRUE" if reporter == "all" else "reporter_type = ?"]
            if reporter != "all":
                params.append(reporter)
        else:  # the comparative tabulation holds both parties' quantities side by side
            quantity = {"E": "exporter_quantity", "I": "importer_quantity"}.get(
                reporter, "greatest(exporter_quantity, importer_quantity)"
            )
            conditions = [f"{quantity} IS NOT NULL"]
        conditions.append("dataset = ANY(?)")
        params.append(datasets)
        if where.taxon is not None:
            conditions.append(
                '(? IN (lower(taxon), lower(genus), lower(family), lower("order"), lower(class)) '
                "OR starts_with(lower(taxon), ?))"
            )
            params += [where.taxon, where.taxon + " "]
        if where.term is not None:
            conditions.append("term = ?")
            params.append(where.term)
        if source is not None:
            conditions.append("source = ?")
            params.append(source)
        conditions.append(where.years("year", params))
        # Codes are stored as the code lists spell them (upper case): no per-row normalising.
        parts.append(
            f"""SELECT nullif(origin_country, '') AS o, coalesce(exporter, 'XX') AS e,
                       coalesce(importer, 'XX') AS i, nullif(unit, '') AS u, dataset, count(*) AS n,
                       coalesce(sum({quantity}), 0) AS qty, min(year) AS y0, max(year) AS y1,
                       arg_max(taxon, {quantity}) AS top, max({quantity}) AS big
                FROM {table} WHERE {" AND ".join(conditions)} GROUP BY ALL"""
        )
    body = " UNION ALL ".join(parts) if parts else (
        "SELECT NULL::VARCHAR AS o, NULL::VARCHAR AS e, NULL::VARCHAR AS i, NULL::VARCHAR AS u, "
        "NULL::VARCHAR AS dataset, 0::BIGINT AS n, 0::DOUBLE AS qty, NULL::INTEGER AS y0, NULL::INTEGER AS y1, "
        "NULL::VARCHAR AS top, 0::DOUBLE AS big WHERE FALSE"
    )
    store.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TRADE_TABLE} AS
        WITH g AS ({body}),
        r AS (
            SELECT CASE WHEN o IS NOT NULL AND o <> e THEN (CASE WHEN e <> i THEN [o, e, i] ELSE [o, e] END)
                        ELSE (CASE WHEN e <> i THEN [e, i] ELSE [e] END) END AS route, *
            FROM g
        )
        SELECT list_transform(route, lambda c: 'country:' || c) AS stops, u, sum(n)::BIGINT AS n, sum(qty) AS qty,
               min(y0) AS y0, max(y1) AS y1, arg_max(top, big) AS top, list_sort(list(DISTINCT dataset)) AS datasets
        FROM r GROUP BY route, u""",
        params,
    )
    units: dict[str | None, int] = {}
    for raw, n in store.fetchall(f"SELECT u, sum(n) FROM {TRADE_TABLE} GROUP BY u"):
        code = unit_code(raw)
        units[code] = units.get(code, 0) + int(n)
    return units


@dataclass(slots=True)
class TradeTotals:
    flows: int
    records: int
    quantity: float
    first_year: int | None
    last_year: int | None
    datasets: list[str]


def trade_flows(store: EvidenceStore, unit: str | None, limit: int) -> tuple[TradeTotals, list[tuple[Any, ...]]]:
    """Totals of the trade flows in ``unit`` and the ``limit`` largest of them, as rows of
    (stops, records, quantity, first year, last year, taxon, datasets)."""
    raws = [r[0] or "" for r in store.fetchall(f"SELECT DISTINCT u FROM {TRADE_TABLE}") if unit_code(r[0]) == unit]
    where = "len(stops) >= 2 AND list_contains(CAST(? AS VARCHAR[]), coalesce(u, ''))"
    flows, records, quantity, first, last, sets = store.fetchall(
        f"SELECT count(*), coalesce(sum(n), 0), coalesce(sum(qty), 0), min(y0), max(y1), "
        f"list_sort(list_distinct(flatten(list(datasets)))) FROM {TRADE_TABLE} WHERE {where}",
        [raws],
    )[0]
    rows = store.fetchall(
        f"SELECT stops, n, qty, y0, y1, top, datasets FROM {TRADE_TABLE} WHERE {where} "
        "ORDER BY qty DESC, n DESC, stops LIMIT ?",
        [raws, limit],
    )
    return TradeTotals(int(flows), int(records), float(quantity), first, last, list(sets or [])), rows


def drop_trade(store: EvidenceStore) -> None:
    store.con.execute(f"DROP TABLE IF EXISTS {TRADE_TABLE}")


# -- shipments and seizures ------------------------------------------------------------------

#: Output column -> FtM property: "prop" (one value, the first in sort order), "prop[]" (every
#: value), "prop#" (a number: the least).
SHIPMENT: Final = {
    "loading": "portOfLoading", "transit": "transitPort[]", "discharge": "portOfDischarge",
    "origin": "originCountry", "destination": "destinationCountry", "taxon": "taxon", "term": "term",
    "quantity": "quantity#", "unit": "unit", "departure": "departureDate", "arrival": "arrivalDate",
}
SEIZURE: Final = {
    "origins": "originCountry[]", "transits": "transitCountry[]", "destinations": "destinationCountry[]",
    "country": "country", "port": "port", "taxon": "taxon", "term": "term", "quantity": "quantity#",
    "weight": "weight#", "unit": "unit", "day": "date",
}


def _prop(spec: str) -> str:
    return spec.removesuffix("[]").removesuffix("#")


def _from_statements(schema: str, props: dict[str, str], where: str) -> str:
    """One row per entity of ``schema`` pivoted from statements of the datasets given as the
    first parameter (and ``where``, more conditions on ``statements``)."""
    columns = []
    for column, spec in props.items():
        prop = _prop(spec)
        if spec.endswith("[]"):
            columns.append(f"list_sort(list_distinct(list(value) FILTER (WHERE prop = '{prop}'))) AS {column}")
        elif spec.endswith("#"):
            columns.append(f"min(TRY_CAST(value AS DOUBLE)) FILTER (WHERE prop = '{prop}') AS {column}")
        else:
            columns.append(f"min(value) FILTER (WHERE prop = '{prop}') AS {column}")
    wanted = ", ".join(f"'{_prop(s)}'" for s in sorted(set(props.values())))
    return f"""
        SELECT list_sort(list_distinct(list(dataset))) AS datasets, {", ".join(columns)}
        FROM statements
        WHERE schema = '{schema}' AND dataset = ANY(?) AND prop IN ({wanted}) AND {where}
        GROUP BY entity_id
    """


def _from_projection(table: str, props: dict[str, str]) -> str:
    columns = []
    for column, spec in props.items():
        ref = f'p."{_prop(spec)}"'
        if spec.endswith("[]"):
            columns.append(f"{ref} AS {column}")
        elif spec.endswith("#"):
            columns.append(f"list_min(list_transform({ref}, lambda v: TRY_CAST(v AS DOUBLE))) AS {column}")
        else:
            columns.append(f"{ref}[1] AS {column}")
    return f'SELECT p.datasets, {", ".join(columns)} FROM "{table}" p'


def entity_rows(
    store: EvidenceStore, present: set[str], schema: str, props: dict[str, str], datasets: list[str]
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of one row per visible entity of ``schema``: its ``datasets``
    (visible ones only) and the ``props`` columns, from visible statements alone."""
    table = projections.table_name(schema)
    if table not in present or not projections.current(store):
        return _from_statements(schema, props, "TRUE"), [datasets]
    merged = (
        "p.id IN (SELECT canonical_id FROM er_clusters GROUP BY canonical_id HAVING count(*) > 1)"
        if "er_clusters" in present else "FALSE"
    )
    whole = f"list_has_all(CAST(? AS VARCHAR[]), p.datasets) AND NOT ({merged})"
    partial = f"list_has_any(CAST(? AS VARCHAR[]), p.datasets) AND NOT ({whole})"
    fast = f"{_from_projection(table, props)} WHERE {whole}"
    slow_count = store.fetchall(f'SELECT count(*) FROM "{table}" p WHERE {partial}', [datasets, datasets])[0][0]
    if not slow_count:
        return fast, [datasets]
    slow = _from_statements(
        schema, props, f'coalesce(canonical_id, entity_id) IN (SELECT p.id FROM "{table}" p WHERE {partial})'
    )
    return f"{fast} UNION ALL BY NAME {slow}", [datasets, datasets, datasets, datasets]


def _with_year(rows_sql: str, year: str) -> str:
    """The rows with their year computed once (``yr``), for filtering and for min and max."""
    return f"SELECT *, {year} AS yr FROM ({rows_sql}) r"


def shipment_groups(
    store: EvidenceStore, present: set[str], datasets: list[str], where: Conditions
) -> list[Group]:
    rows_sql, params = entity_rows(store, present, "Shipment", SHIPMENT, datasets)
    rows_sql = _with_year(rows_sql, "year(coalesce(TRY_CAST(departure AS DATE), TRY_CAST(arrival AS DATE)))")
    condition = where.common("yr", params)
    # Grouped by the row's datasets too (a key costs less than merging lists per group); groups
    # along the same stops merge into one flow afterwards.
    rows = store.fetchall(
        f"""SELECT origin, loading, coalesce(transit, []), discharge, destination, unit, datasets, count(*),
                   coalesce(sum(quantity), 0), min(yr), max(yr), arg_max(taxon, quantity)
            FROM ({rows_sql}) s
            WHERE {condition} AND (loading IS NOT NULL OR discharge IS NOT NULL OR len(transit) > 0
                                   OR origin IS NOT NULL OR destination IS NOT NULL)
            GROUP BY ALL""",
        params,
    )
    found = []
    for origin, loading, transit, discharge, destination, unit, sets, n, total, first, last, top in rows:
        stops: list[list[str]] = []
        if origin:
            stops.append([f"country:{origin.upper()}"])
        if loading:
            stops.append([f"port:{loading}"])
        transits = (len(stops), len(stops) + len(transit))
        stops += [[f"port:{p}"] for p in transit]  # put in travel order once places are known
        if discharge:
            stops.append([f"port:{discharge}"])
        if destination:
            stops.append([f"country:{destination.upper()}"])
        found.append(Group("shipments", stops, unit_code(unit), int(n), float(total), first, last,
                           [top] if top else [], list(sets), transits=transits))
    return found


SEIZURE_YEAR: Final = "year(TRY_CAST(day AS DATE))"


def seizure_groups(
    store: EvidenceStore, present: set[str], datasets: list[str], where: Conditions
) -> list[Group]:
    rows_sql, params = entity_rows(store, present, "Seizure", SEIZURE, datasets)
    rows_sql = _with_year(rows_sql, SEIZURE_YEAR)
    condition = where.common("yr", params)
    rows = store.fetchall(
        f"""SELECT coalesce(origins, []), coalesce(transits, []), coalesce(destinations, []), country, unit,
                   datasets, count(*), coalesce(sum(quantity), 0), min(yr), max(yr), arg_max(taxon, quantity)
            FROM ({rows_sql}) s WHERE {condition} GROUP BY ALL""",
        params,
    )
    found = []
    for origins, transits, destinations, country, unit, sets, n, total, first, last, top in rows:
        origins, transits, destinations = ([c.upper() for c in v] for v in (origins, transits, destinations))
        seized = country.upper() if country else None
        # Goods are seized on their way: where neither an end nor a transit, the country of
        # seizure is a transit; with no destination given, it is where the route ends.
        if seized and destinations and seized not in {*origins, *transits, *destinations}:
            transits = [*transits, seized]
        ends = destinations or ([seized] if seized else [])
        stops = [[f"country:{c}" for c in origins]] if origins else []
        between = (len(stops), len(stops) + len(transits))
        stops += [[f"country:{c}"] for c in transits]
        if ends:
            stops.append([f"country:{c}" for c in ends])
        found.append(Group("seizures", stops, unit_code(unit), int(n), float(total), first, last,
                           [top] if top else [], list(sets), transits=between))
    return found


def seizure_places(
    store: EvidenceStore, present: set[str], datasets: list[str], where: Conditions
) -> list[tuple[Any, ...]]:
    """Per place of seizure (its port, else its country): seizures, specimens, weight (kg),
    years, the taxon of the heaviest, datasets."""
    rows_sql, params = entity_rows(store, present, "Seizure", SEIZURE, datasets)
    rows_sql = _with_year(rows_sql, SEIZURE_YEAR)
    condition = where.common("yr", params)
    return store.fetchall(
        f"""SELECT CASE WHEN port IS NOT NULL THEN 'port:' || port ELSE 'country:' || upper(country) END AS place,
                   count(*), coalesce(sum(quantity) FILTER (WHERE coalesce(trim(unit), '') = ''), 0),
                   coalesce(sum(weight), 0), min(yr), max(yr), arg_max(taxon, weight),
                   list_sort(list_distinct(flatten(list(datasets))))
            FROM ({rows_sql}) s WHERE {condition} AND (port IS NOT NULL OR country IS NOT NULL)
            GROUP BY place ORDER BY place""",
        params,
    )


def port_facts(store: EvidenceStore, datasets: list[str], ports: Sequence[str]) -> dict[str, dict[str, str]]:
    """Name, country and coordinates of ports, from the statements of visible datasets."""
    facts: dict[str, dict[str, str]] = {}
    if not ports:
        return facts
    for entity, prop, value in store.fetchall(
        "SELECT entity_id, prop, min(value) FROM statements WHERE schema = 'Port' AND entity_id = ANY(?) "
        "AND dataset = ANY(?) AND prop IN ('name', 'country', 'latitude', 'longitude') GROUP BY ALL",
        [list(ports), datasets],
    ):
        facts.setdefault(entity, {})[prop] = value
    return facts
