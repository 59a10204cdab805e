"""Derive the graph tables from the statements: ``graph_nodes`` (one row per entity and
dataset, with the caption and schema a reader needs) and ``graph_edges`` (one row per
relationship as asserted by one dataset, with its dates, amount and share range).

Both tables keep raw entity ids and the datasets of their evidence, never canonical ids:
clusters and visibility differ per reader, so they are applied when a reader's view is loaded
(:mod:`chainlight.graph.view`). Builds are incremental per dataset: ``graph_state`` keeps a
signature of each dataset's statements, and only datasets whose signature changed are
rebuilt. Each build runs in one transaction, so a crash leaves the previous graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from chainlight.graph.relations import (
    END_PROPS,
    FALLBACK_ENDS,
    SHARED_TYPES,
    SHARING_SCHEMATA,
    START_PROPS,
    edge_schemata,
)
from chainlight.model.ftm import model
from chainlight.store.evidence import EvidenceStore

GRAPH_VERSION = 2

TABLES = (
    """CREATE TABLE IF NOT EXISTS graph_nodes (
        entity_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        schema VARCHAR NOT NULL,
        caption VARCHAR,
        country VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS graph_edges (
        row_id BIGINT NOT NULL,
        relation VARCHAR NOT NULL,
        evidence_id VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        datasets VARCHAR[] NOT NULL,
        start_date DATE,
        end_date DATE,
        amount DOUBLE,
        currency VARCHAR,
        share_min DOUBLE,
        share_max DOUBLE,
        qualifier VARCHAR,
        derived BOOLEAN NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS graph_state (
        dataset VARCHAR NOT NULL,
        signature VARCHAR NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE SEQUENCE IF NOT EXISTS graph_row_seq",
)

Progress = Callable[[str], None]


class GraphBuildError(RuntimeError):
    """The graph cannot be built (nothing ingested yet)."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    rebuilt: list[str]
    unchanged: list[str]
    removed: list[str]
    nodes: int
    edges: int


def _date(expr: str) -> str:
    """A DATE from an FtM date value, which may be '2023', '2023-05' or a full timestamp (the
    common full date is cast directly; CASE evaluates the fallback only where that fails)."""
    return (
        f"CASE WHEN TRY_CAST({expr} AS DATE) IS NOT NULL THEN TRY_CAST({expr} AS DATE) ELSE "
        f"TRY_CAST(CASE length({expr}) WHEN 4 THEN {expr} || '-01-01' WHEN 7 THEN {expr} || '-01' "
        f"ELSE left({expr}, 10) END AS DATE) END"
    )


def _number(expr: str) -> str:
    """A DOUBLE from a number or a percentage written with symbols ('60%', '1,000')."""
    return (
        f"CASE WHEN TRY_CAST({expr} AS DOUBLE) IS NOT NULL THEN TRY_CAST({expr} AS DOUBLE) ELSE "
        f"TRY_CAST(regexp_replace({expr}, '[^0-9.eE+-]', '', 'g') AS DOUBLE) END"
    )


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _lookup_tables(store: EvidenceStore) -> None:
    """Register the model-derived lookup tables the build SQL joins against."""
    caption_rows = []
    for schema in model.schemata.values():
        for rank, prop in enumerate(schema.caption):
            caption_rows.append((schema.name, prop, rank))
    store.con.register(
        "graph_caption_props",
        pa.table(
            {
                "schema": [r[0] for r in caption_rows],
                "prop": [r[1] for r in caption_rows],
                "rank": [r[2] for r in caption_rows],
            }
        ),
    )
    ends = []
    for edge in edge_schemata():
        for role, prop in (("source", edge.source), ("target", edge.target)):
            ends.append((edge.schema, prop, role, 0))
            fallback = FALLBACK_ENDS.get((edge.schema, prop))
            if fallback:
                ends.append((edge.schema, fallback, role, 1))
    store.con.register(
        "graph_edge_ends",
        pa.table(
            {
                "schema": [e[0] for e in ends],
                "prop": [e[1] for e in ends],
                "role": [e[2] for e in ends],
                "fallback": [e[3] for e in ends],
            }
        ),
    )


def ensure_tables(store: EvidenceStore) -> None:
    """Create the graph tables; tables of an older shape are dropped, so the next build is full."""
    have = {
        r[0] for r in store.fetchall("SELECT column_name FROM duckdb_columns() WHERE table_name = 'graph_edges'")
    }
    if have and "qualifier" not in have:
        for name in ("graph_nodes", "graph_edges", "graph_state"):
            store.con.execute(f"DROP TABLE IF EXISTS {name}")
    for ddl in TABLES:
        store.con.execute(ddl)


def signatures(store: EvidenceStore) -> dict[str, str]:
    """What a dataset's statements look like now: their count and first and last sightings.
    Statements are only ever added (an ingest adds what is new), so this changes whenever a
    dataset does; it is a plain aggregate, cheap enough to run before every query."""
    rows = store.fetchall(
        "SELECT dataset, count(*), max(first_seen), max(last_seen) FROM statements GROUP BY dataset"
    )
    return {d: f"{n}:{first}:{last}" for d, n, first, last in rows}


def stale(store: EvidenceStore) -> bool:
    """Whether any dataset changed since the graph was last built (or it never was)."""
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    if "graph_state" not in tables:
        return True
    built = {d: (s, v) for d, s, v in store.fetchall("SELECT dataset, signature, version FROM graph_state")}
    now = signatures(store)
    return set(built) != set(now) or any(built[d] != (s, GRAPH_VERSION) for d, s in now.items())


def build(store: EvidenceStore, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
    """Bring ``graph_nodes`` and ``graph_edges`` up to date with the statements."""
    ensure_tables(store)
    _lookup_tables(store)
    now = signatures(store)
    built = {d: (s, v) for d, s, v in store.fetchall("SELECT dataset, signature, version FROM graph_state")}
    changed = sorted(d for d, s in now.items() if full or built.get(d) != (s, GRAPH_VERSION))
    removed = sorted(set(built) - set(now))
    touched = changed + removed
    if touched:
        with store.transaction() as con:
            con.execute("DELETE FROM graph_nodes WHERE dataset = ANY(?)", [touched])
            con.execute("DELETE FROM graph_edges WHERE list_has_any(datasets, ?)", [touched])
            if changed:
                if progress:
                    progress("nodes")
                con.execute(f"INSERT INTO graph_nodes {_nodes_sql()}", [changed])
                if progress:
                    progress("relationships")
                con.execute(f"INSERT INTO graph_edges {_relationship_edges_sql()}", [changed])
                con.execute(f"INSERT INTO graph_edges {_split_relationship_edges_sql()}", [changed])
                if progress:
                    progress("properties")
                con.execute(f"INSERT INTO graph_edges {_property_edges_sql()}", [changed])
                if progress:
                    progress("shared identifiers")
                con.execute(f"INSERT INTO graph_nodes {_shared_nodes_sql()}", [changed])
                con.execute(f"INSERT INTO graph_edges {_shared_edges_sql()}", [changed])
            con.execute("DELETE FROM graph_state WHERE dataset = ANY(?)", [touched])
            for d in changed:
                con.execute("INSERT INTO graph_state VALUES (?, ?, ?)", [d, now[d], GRAPH_VERSION])
    nodes = int(store.scalar("SELECT count(DISTINCT entity_id) FROM graph_nodes"))
    edges = int(store.scalar("SELECT count(*) FROM graph_edges"))
    return BuildReport(changed, sorted(set(now) - set(changed)), removed, nodes, edges)


def _nodes_sql() -> str:
    """One row per entity and dataset: every entity has an ``id`` statement; only caption and
    country statements are read besides."""
    captions = sorted({prop for schema in model.schemata.values() for prop in schema.caption})
    return f"""
        SELECT s.entity_id, s.dataset, any_value(s.schema) AS schema,
               arg_min(s.value, c.rank) FILTER (WHERE c.rank IS NOT NULL) AS caption,
               min(s.value) FILTER (WHERE s.prop_type = 'country') AS country
        FROM statements s
        LEFT JOIN graph_caption_props c ON c.schema = s.schema AND c.prop = s.prop
        WHERE s.dataset = ANY($1) AND (s.prop = 'id' OR s.prop_type = 'country' OR s.prop IN {_in(captions)})
        GROUP BY s.entity_id, s.dataset
    """


NUMBER_PROPS: tuple[str, ...] = ("amount", "shareMinimum", "shareMaximum", "percentage")
TEXT_PROPS: tuple[str, ...] = ("currency", "directOrIndirect", "role")


def _spans_sql(where: str) -> str:
    """Per entity and dataset: the edge's time span, amount, currency, share range and qualifier.
    Only the statements of those properties are read, and each value is parsed once."""
    dates = START_PROPS + END_PROPS
    return f"""
        SELECT entity_id, dataset,
            min(day) FILTER (WHERE prop IN {_in(START_PROPS)}) AS start_date,
            max(day) FILTER (WHERE prop IN {_in(END_PROPS)}) AS end_date,
            max(num) FILTER (WHERE prop = 'amount') AS amount,
            min(value) FILTER (WHERE prop = 'currency') AS currency,
            min(num) FILTER (WHERE prop IN ('shareMinimum', 'percentage')) AS share_min,
            max(num) FILTER (WHERE prop IN ('shareMaximum', 'percentage')) AS share_max,
            coalesce(min(value) FILTER (WHERE prop = 'directOrIndirect'), min(value) FILTER (WHERE prop = 'role'))
                AS qualifier
        FROM (
            SELECT entity_id, dataset, prop, value,
                   CASE WHEN prop IN {_in(dates)} THEN {_date('value')} END AS day,
                   CASE WHEN prop IN {_in(NUMBER_PROPS)} THEN {_number('value')} END AS num
            FROM statements
            WHERE ({where}) AND prop IN {_in(dates + NUMBER_PROPS + TEXT_PROPS)}
        )
        GROUP BY entity_id, dataset
    """


def _relationship_ends_sql(where: str) -> str:
    """Per relationship entity and dataset: its source and target values. An end given by the
    fallback property (a payment's account) counts only where the main one is empty."""
    return f"""
        SELECT entity_id, dataset, schema,
               coalesce(src, src_alt) AS sources, coalesce(tgt, tgt_alt) AS targets
        FROM (
            SELECT s.entity_id, s.dataset, any_value(s.schema) AS schema,
                list(DISTINCT s.value) FILTER (WHERE e.role = 'source' AND e.fallback = 0) AS src,
                list(DISTINCT s.value) FILTER (WHERE e.role = 'source' AND e.fallback = 1) AS src_alt,
                list(DISTINCT s.value) FILTER (WHERE e.role = 'target' AND e.fallback = 0) AS tgt,
                list(DISTINCT s.value) FILTER (WHERE e.role = 'target' AND e.fallback = 1) AS tgt_alt
            FROM statements s JOIN graph_edge_ends e ON e.schema = s.schema AND e.prop = s.prop
            WHERE {where}
            GROUP BY s.entity_id, s.dataset
        )
    """


def _relationship_edges_sql() -> str:
    """Relationship entities: one row per (entity, source, target) for each dataset that gives
    both ends (the common case, and the one that is cheap: hash joins, no aggregation). An end
    given by the fallback property (a payment's account) counts only where the main one is
    missing in that dataset."""
    edge_names = _in([e.schema for e in edge_schemata()])
    return f"""
        WITH ends AS (
            SELECT s.entity_id, s.dataset, s.schema, s.value, e.role, e.fallback
            FROM statements s JOIN graph_edge_ends e ON e.schema = s.schema AND e.prop = s.prop
            WHERE s.dataset = ANY($1)
        ),
        main AS (SELECT * FROM ends WHERE fallback = 0),
        chosen AS (
            SELECT * FROM main
            UNION ALL
            SELECT a.* FROM ends a ANTI JOIN main m
              ON m.entity_id = a.entity_id AND m.dataset = a.dataset AND m.role = a.role
            WHERE a.fallback = 1
        ),
        pairs AS (
            SELECT a.entity_id, a.dataset, a.schema, a.value AS source, b.value AS target
            FROM chosen a JOIN chosen b ON a.entity_id = b.entity_id AND a.dataset = b.dataset
            WHERE a.role = 'source' AND b.role = 'target'
        ),
        spans AS ({_spans_sql(f"schema IN {edge_names} AND dataset = ANY($1)")})
        SELECT nextval('graph_row_seq'), p.schema, p.entity_id, p.source, p.target, [p.dataset],
               s.start_date, coalesce(s.end_date, s.start_date), s.amount, s.currency, s.share_min, s.share_max,
               s.qualifier, false
        FROM pairs p LEFT JOIN spans s ON s.entity_id = p.entity_id AND s.dataset = p.dataset
    """


def _split_relationship_edges_sql() -> str:
    """Relationship entities whose ends come from different datasets, none giving both (one
    source names the payer, another the beneficiary): one row per pair of datasets, visible
    only to a reader who sees both. Only entities asserted in two or more datasets can be so."""
    edge_names = _in([e.schema for e in edge_schemata()])
    shared = (
        f"SELECT entity_id FROM statements WHERE prop = 'id' AND schema IN {edge_names} "
        "GROUP BY entity_id HAVING count(DISTINCT dataset) > 1"
    )
    return f"""
        WITH ends AS ({_relationship_ends_sql(f"s.entity_id IN ({shared})")}),
        split AS (
            SELECT entity_id FROM ends GROUP BY entity_id
            HAVING NOT bool_or(sources IS NOT NULL AND targets IS NOT NULL)
               AND bool_or(sources IS NOT NULL) AND bool_or(targets IS NOT NULL)
        ),
        sources AS (
            SELECT entity_id, schema, dataset, unnest(sources) AS source FROM ends
            WHERE sources IS NOT NULL AND entity_id IN (SELECT entity_id FROM split)
        ),
        targets AS (
            SELECT entity_id, dataset, unnest(targets) AS target FROM ends
            WHERE targets IS NOT NULL AND entity_id IN (SELECT entity_id FROM split)
        ),
        pairs AS (
            SELECT a.entity_id, a.schema, a.source, b.target, list_sort([a.dataset, b.dataset]) AS datasets
            FROM sources a JOIN targets b ON a.entity_id = b.entity_id
        ),
        spans AS ({_spans_sql("entity_id IN (SELECT entity_id FROM split)")})
        SELECT nextval('graph_row_seq'), k.schema, k.entity_id, k.source, k.target, k.datasets,
               min(p.start_date), max(coalesce(p.end_date, p.start_date)), max(p.amount), min(p.currency),
               min(p.share_min), max(p.share_max), min(p.qualifier), false
        FROM pairs k LEFT JOIN spans p ON p.entity_id = k.entity_id AND list_contains(k.datasets, p.dataset)
        WHERE list_has_any(k.datasets, $1)
        GROUP BY k.schema, k.entity_id, k.source, k.target, k.datasets
    """


def _property_edges_sql() -> str:
    edge_names = _in([e.schema for e in edge_schemata()])
    return f"""
        WITH refs AS (
            SELECT entity_id, schema, prop, value, dataset FROM statements
            WHERE prop_type = 'entity' AND schema NOT IN {edge_names} AND dataset = ANY($1)
        ),
        spans AS ({_spans_sql(f"prop_type = 'date' AND schema NOT IN {edge_names} AND dataset = ANY($1)")})
        SELECT nextval('graph_row_seq'), r.schema || ':' || r.prop, r.entity_id, r.entity_id, r.value,
               [r.dataset], p.start_date, coalesce(p.end_date, p.start_date), NULL, NULL, NULL, NULL, NULL, false
        FROM refs r LEFT JOIN spans p ON p.entity_id = r.entity_id AND p.dataset = r.dataset
    """


def _shared_keys_sql() -> str:
    cases = " ".join(f"WHEN '{t}' THEN '{r}'" for t, r in SHARED_TYPES.items())
    return f"""
        SELECT entity_id, dataset, CASE prop_type {cases} END AS relation, value,
               CASE prop_type
                 WHEN 'address' THEN trim(regexp_replace(lower(strip_accents(value)), '[^a-z0-9]+', ' ', 'g'))
                 WHEN 'phone' THEN regexp_replace(value, '[^0-9+]', '', 'g')
                 ELSE lower(trim(value)) END AS key
        FROM statements
        WHERE prop_type IN {_in(list(SHARED_TYPES))} AND schema IN {_in(SHARING_SCHEMATA)} AND dataset = ANY($1)
    """


def _shared_node_id(relation: str = "relation", key: str = "key") -> str:
    return f"'shared:' || split_part({relation}, ':', 2) || ':' || md5({key})"


def _shared_nodes_sql() -> str:
    return f"""
        SELECT {_shared_node_id()}, dataset,
               'Shared' || upper(left(split_part(relation, ':', 2), 1)) || substr(split_part(relation, ':', 2), 2),
               min(value), NULL
        FROM ({_shared_keys_sql()}) WHERE key <> ''
        GROUP BY ALL
    """


def _shared_edges_sql() -> str:
    return f"""
        SELECT nextval('graph_row_seq'), relation, entity_id, entity_id, {_shared_node_id()}, [dataset],
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, true
        FROM (SELECT DISTINCT entity_id, dataset, relation, key FROM ({_shared_keys_sql()}) WHERE key <> '')
    """
