"""One reader's graph: the edges whose evidence the reader may see, between the entities the
reader may see, with entities merged into the clusters that the reader's resolution view
forms. Edges and their attributes live in numpy arrays (one index per edge); searches run on
compressed adjacency arrays built from them, igraph is built from them where its algorithms
are needed (Leiden, k shortest paths), and details (captions, evidence ids) are looked up in the
store only for the few nodes and edges a result names.

Nothing about an invisible dataset enters a view: an edge is loaded only when every dataset
of its evidence is visible and both of its ends have a statement in a visible dataset, and a
shared-identifier node is kept only when at least two visible entities point at it.

Owner-only records (incident reports, :data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`)
enter a view only from the datasets the reader's organisation owns: a node of such a schema
from another organisation's dataset is not seen (so its edges, such as ``Incident:port``, go
with it), nor is an edge whose evidence is such a record. A port's neighbours, paths,
communities and exports therefore never list another organisation's incident reports.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import igraph as ig
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from chainlight.graph import relations as rel
from chainlight.model.markings import OWNER_ONLY_SCHEMATA, Marking, most_restrictive
from chainlight.store.evidence import EvidenceStore

#: Shared-identifier nodes with more visible entities than this are left out (a registered
#: agent's address shared by thousands says little about any one of them).
SHARED_CAP = 1000
NO_DATE = np.iinfo(np.int32).min
_EPOCH = date(1970, 1, 1)


class GraphError(LookupError):
    """A graph query cannot be answered (unknown or invisible entity, bad filter)."""


class NotInGraph(GraphError):
    """No such entity among those the reader may see (the same answer as 'does not exist')."""


def day_number(value: date | None) -> int:
    return NO_DATE if value is None else (value - _EPOCH).days


def day_date(value: int) -> date | None:
    return None if value == NO_DATE else date.fromordinal(_EPOCH.toordinal() + int(value))


@dataclass(frozen=True, slots=True)
class EdgeFilter:
    """Which edges a query walks: relation terms (see :func:`relations.matches`) and a time
    window. Undated edges (most ownership, family, associates) are always inside the window."""

    relations: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.relations or self.exclude or self.since or self.until)

    @classmethod
    def parse(
        cls,
        relations: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> EdgeFilter:
        """The filter a user asked for; :class:`GraphError` for a term that matches no relation
        the model can produce (a typo would otherwise silently select nothing) or a window that
        ends before it starts."""
        known = rel.known_relations()
        for term in [*(relations or ()), *(exclude or ())]:
            if not any(rel.matches(r, [term]) for r in known):
                raise GraphError(f"no relation matches {term!r} (see 'chainlight graph relations')")
        if since and until and since > until:
            raise GraphError("the time window ends before it starts (since is after until)")
        return cls(tuple(relations or ()), tuple(exclude or ()), since, until)


@dataclass
class GraphView:
    ids: list[str]
    index: dict[str, int]
    alias: dict[str, str]
    members: dict[str, list[str]]
    node_schema: npt.NDArray[np.int16]
    schemata: list[str]
    row_id: npt.NDArray[np.int64]
    relation: npt.NDArray[np.int16]
    relations: list[str]
    dataset_set: npt.NDArray[np.int32]
    dataset_sets: list[tuple[str, ...]]
    start: npt.NDArray[np.int32]
    end: npt.NDArray[np.int32]
    amount: npt.NDArray[np.float64]
    share_min: npt.NDArray[np.float64]
    share_max: npt.NDArray[np.float64]
    qualifier: npt.NDArray[np.int16]
    qualifiers: list[str | None]
    currency: npt.NDArray[np.int16]
    currencies: list[str | None]
    source: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    visible: tuple[str, ...]
    markings: dict[str, Marking]
    #: The visible datasets the reader's organisation owns (its own owner-only records are read).
    owned: tuple[str, ...] = ()
    cache: dict[Hashable, Any] = field(default_factory=dict)

    def readable_nodes(self, column_prefix: str = "") -> tuple[str, list[Any]]:
        """A condition on ``graph_nodes`` rows (and its parameters) that keeps the rows this
        reader may read: visible datasets, and owner-only schemata from owned datasets only.
        Every lookup of captions, schemata or existence in ``graph_nodes`` adds it."""
        p = column_prefix
        return (
            f"{p}dataset = ANY(?) AND (NOT list_contains(?, {p}schema) OR list_contains(?, {p}dataset))",
            [list(self.visible), sorted(OWNER_ONLY_SCHEMATA), list(self.owned)],
        )

    # -- identity ------------------------------------------------------------------------

    def canonical(self, entity_id: str) -> str:
        return self.alias.get(entity_id, entity_id)

    def vertex(self, entity_id: str) -> int | None:
        return self.index.get(self.canonical(entity_id))

    def entity_ids(self, canonical_id: str) -> list[str]:
        """The visible entity ids merged under one node id."""
        return self.members.get(canonical_id, [canonical_id])

    def schema_of(self, vertex: int) -> str:
        return self.schemata[int(self.node_schema[vertex])]

    def schema_codes(self, names: Iterable[str]) -> npt.NDArray[np.int16]:
        wanted = set(names)
        return np.array([i for i, s in enumerate(self.schemata) if s in wanted], dtype=np.int16)

    # -- edges ---------------------------------------------------------------------------

    def relation_codes(self, terms: Sequence[str]) -> npt.NDArray[np.int16]:
        return np.array([i for i, r in enumerate(self.relations) if rel.matches(r, terms)], dtype=np.int16)

    @property
    def vertex_count(self) -> int:
        return len(self.ids)

    @property
    def edge_count(self) -> int:
        return len(self.source)

    def mask(self, flt: EdgeFilter) -> npt.NDArray[np.bool_]:
        keep = np.ones(self.edge_count, dtype=bool)
        if flt.relations:
            keep &= np.isin(self.relation, self.relation_codes(flt.relations))
        if flt.exclude:
            keep &= ~np.isin(self.relation, self.relation_codes(flt.exclude))
        if flt.since is not None:
            keep &= (self.end == NO_DATE) | (self.end >= day_number(flt.since))
        if flt.until is not None:
            keep &= (self.start == NO_DATE) | (self.start <= day_number(flt.until))
        return keep

    def kept(self, flt: EdgeFilter) -> npt.NDArray[np.int64]:
        """Indices of the edges ``flt`` selects (the last few filters are remembered)."""
        key = ("kept", flt)
        found = self.cache.get(key)
        if found is None:
            found = np.arange(self.edge_count, dtype=np.int64) if flt.empty else np.flatnonzero(self.mask(flt))
            self._remember(key, found)
        return found

    def igraph(self, flt: EdgeFilter) -> tuple[ig.Graph, npt.NDArray[np.int64]]:
        """An igraph graph of the selected edges over all vertices (built on first use: most
        queries run on numpy arrays), and for each of its edges the edge's index in the view."""
        key = ("igraph", flt)
        found = self.cache.get(key)
        if found is None:
            kept = self.kept(flt)
            graph = ig.Graph(n=self.vertex_count, directed=True)
            graph.add_edges(np.column_stack([self.source[kept], self.target[kept]]))
            found = (graph, kept)
            self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, EdgeFilter], value: Any) -> None:
        same_kind = [k for k in self.cache if isinstance(k, tuple) and k[0] == key[0]]
        if len(same_kind) >= 8:
            self.cache.pop(same_kind[0])
        self.cache[key] = value

    def datasets_of(self, edges: Iterable[int]) -> list[str]:
        found: set[str] = set()
        for code in {int(self.dataset_set[e]) for e in edges}:
            found.update(self.dataset_sets[code])
        return sorted(found)

    def marking_of(self, datasets: Iterable[str]) -> Marking:
        return most_restrictive(self.markings.get(d, Marking.RED) for d in datasets)

    def provenance(self, edges: Iterable[int]) -> dict[str, Any]:
        """What a result derived from these edges carries: its datasets and their strictest marking."""
        datasets = self.datasets_of(edges)
        return {"datasets": datasets, "marking": self.marking_of(datasets).value}


def load(
    store: EvidenceStore,
    visible: Sequence[str],
    alias: dict[str, str],
    markings: dict[str, Marking],
    *,
    owned: Sequence[str] = (),
    shared_cap: int = SHARED_CAP,
) -> GraphView:
    """Load the view for a reader who sees ``visible`` datasets, with ``alias`` mapping merged
    entity ids to their canonical id (entities absent from it stand for themselves). Owner-only
    records (incident reports) come only from the visible datasets in ``owned``, the reader
    organisation's own."""
    visible_list = sorted(set(visible))
    owned_list = sorted(set(owned) & set(visible_list))
    owner_only = sorted(OWNER_ONLY_SCHEMATA)
    merged = {k: v for k, v in alias.items() if k != v}
    con = store.con
    con.register(
        "gv_alias",
        pa.table({"entity_id": list(merged), "canonical_id": list(merged.values())}, schema=_ALIAS_SCHEMA),
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gv_seen AS SELECT entity_id, "
        "coalesce(min(schema) FILTER (WHERE schema <> 'LegalEntity'), min(schema)) AS schema "
        "FROM graph_nodes WHERE dataset = ANY(?) AND (NOT list_contains(?, schema) OR list_contains(?, dataset)) "
        "GROUP BY entity_id",
        [visible_list, owner_only, owned_list],
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE gv_edges AS
        SELECT e.row_id, e.relation, coalesce(a.canonical_id, e.source) AS s, coalesce(b.canonical_id, e.target) AS t,
               list_sort(e.datasets) AS datasets, e.start_date, e.end_date, e.amount, e.share_min, e.share_max,
               e.qualifier, e.currency, e.derived
        FROM graph_edges e
        LEFT JOIN gv_alias a ON a.entity_id = e.source
        LEFT JOIN gv_alias b ON b.entity_id = e.target
        WHERE list_has_all(?, e.datasets)
          AND (NOT list_contains(?, split_part(e.relation, ':', 1)) OR list_has_all(?, e.datasets))
          AND e.source IN (SELECT entity_id FROM gv_seen) AND e.target IN (SELECT entity_id FROM gv_seen)""",
        [visible_list, owner_only, owned_list],
    )
    con.execute(
        """DELETE FROM gv_edges WHERE derived AND t IN (
            SELECT t FROM gv_edges WHERE derived GROUP BY t HAVING count(DISTINCT s) < 2 OR count(DISTINCT s) > ?)""",
        [shared_cap],
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE gv_nodes AS
        SELECT id, (row_number() OVER (ORDER BY id) - 1)::BIGINT AS idx FROM (
            SELECT s AS id FROM gv_edges UNION SELECT t FROM gv_edges)"""
    )
    nodes = con.sql(
        """SELECT n.idx, n.id, coalesce(min(g.schema) FILTER (WHERE g.schema <> 'LegalEntity'), min(g.schema)) AS schema
        FROM gv_nodes n
        LEFT JOIN gv_alias a ON a.canonical_id = n.id
        LEFT JOIN gv_seen g ON g.entity_id = coalesce(a.entity_id, n.id)
        GROUP BY n.idx, n.id ORDER BY n.idx"""
    ).to_arrow_table()
    # Small dictionaries (relation, dataset set, qualifier, currency -> code), joined back:
    # cheaper than ranking five million rows four times.
    for name, expr in _DICTIONARIES.items():
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE gv_{name} AS SELECT k, (row_number() OVER (ORDER BY k NULLS FIRST) - 1)"
            f"::INTEGER AS code, any_value(v) AS v FROM (SELECT {expr} AS k, {name} AS v FROM gv_edges) "
            "GROUP BY k"
        )
    edges = con.sql(
        f"""SELECT x.idx AS s, y.idx AS t, e.row_id, r.code AS relation_code, d.code AS set_code,
                  q.code AS qualifier_code, c.code AS currency_code,
                  e.start_date, e.end_date, e.amount, e.share_min, e.share_max
        FROM gv_edges e JOIN gv_nodes x ON x.id = e.s JOIN gv_nodes y ON y.id = e.t
        JOIN gv_relation r ON r.k = e.relation
        JOIN gv_datasets d ON d.k = {_DICTIONARIES["datasets"]}
        JOIN gv_qualifier q ON q.k IS NOT DISTINCT FROM e.qualifier
        JOIN gv_currency c ON c.k IS NOT DISTINCT FROM e.currency
        ORDER BY e.row_id"""
    ).to_arrow_table()
    relation_names, sets, qualifiers, currencies = (
        [row[0] for row in con.execute(f"SELECT v FROM gv_{name} ORDER BY code").fetchall()]
        for name in _DICTIONARIES
    )
    sets = [tuple(v) for v in sets]
    for name in ("gv_edges", "gv_nodes", "gv_seen", *(f"gv_{d}" for d in _DICTIONARIES)):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    con.unregister("gv_alias")

    ids: list[str] = nodes.column("id").to_pylist()
    schema_codes, schemata = _codes(nodes.column("schema").to_pylist())
    src = edges.column("s").to_numpy()
    tgt = edges.column("t").to_numpy()
    members: dict[str, list[str]] = {}
    for entity, canonical in merged.items():
        members.setdefault(canonical, []).append(entity)
    return GraphView(
        ids=ids,
        index={v: i for i, v in enumerate(ids)},
        alias=merged,
        members={k: sorted(v) for k, v in members.items()},
        node_schema=schema_codes.astype(np.int16),
        schemata=[s or "Thing" for s in schemata],
        row_id=edges.column("row_id").to_numpy().astype(np.int64),
        relation=edges.column("relation_code").to_numpy().astype(np.int16),
        relations=relation_names,
        dataset_set=edges.column("set_code").to_numpy().astype(np.int32),
        dataset_sets=sets,
        start=_days(edges.column("start_date")),
        end=_days(edges.column("end_date")),
        amount=_floats(edges.column("amount")),
        share_min=_floats(edges.column("share_min")),
        share_max=_floats(edges.column("share_max")),
        qualifier=edges.column("qualifier_code").to_numpy().astype(np.int16),
        qualifiers=qualifiers,
        currency=edges.column("currency_code").to_numpy().astype(np.int16),
        currencies=currencies,
        source=src.astype(np.int64),
        target=tgt.astype(np.int64),
        visible=tuple(visible_list),
        markings=dict(markings),
        owned=tuple(owned_list),
    )


_DICTIONARIES = {
    "relation": "relation",
    "datasets": "array_to_string(datasets, chr(31))",
    "qualifier": "qualifier",
    "currency": "currency",
}

_ALIAS_SCHEMA = pa.schema([("entity_id", pa.string()), ("canonical_id", pa.string())])


def _codes(values: list[Any]) -> tuple[npt.NDArray[np.int64], list[Any]]:
    lookup: dict[Any, int] = {}
    codes = np.fromiter((lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(lookup)


def _days(column: pa.ChunkedArray) -> npt.NDArray[np.int32]:
    days = column.cast(pa.int32()).fill_null(NO_DATE)
    return np.asarray(days.to_numpy(), dtype=np.int32)


def _floats(column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    return np.asarray(column.cast(pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64)
