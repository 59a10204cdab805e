"""From scored links and human judgements to clusters with stable canonical ids.

Edges are model links at or above the threshold, minus pairs a person judged (a judgement
overrides the model either way), plus pairs judged the same. Clusters are the connected
components (scipy). Where a ``different`` judgement falls inside a component, that component
is rebuilt greedily (judged-same edges first, then links by falling probability) and no
union may join two entities judged different, so both kinds of judgement apply
transitively.

Everything is computed for a *view*: the set of datasets a reader may see. A link is in a
view only if the datasets of both its records are; a judgement only if both of its entities
have a record in the view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from chainlight.store.evidence import EvidenceStore

TABLES = (
    """CREATE TABLE IF NOT EXISTS er_clusters (
        entity_id VARCHAR NOT NULL,
        canonical_id VARCHAR NOT NULL,
        grp VARCHAR NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS er_settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
)
DEFAULT_THRESHOLD = 0.7
REVIEW_FLOOR = 0.3


def ensure_tables(store: EvidenceStore) -> None:
    for ddl in TABLES:
        store.con.execute(ddl)


def stored_threshold(store: EvidenceStore) -> float:
    """The link threshold of the last ``chainlight resolve`` (every later view uses it too)."""
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    if "er_settings" not in tables:
        return DEFAULT_THRESHOLD
    value = store.scalar("SELECT value FROM er_settings WHERE key = 'threshold'")
    return float(value) if value is not None else DEFAULT_THRESHOLD


def save_threshold(store: EvidenceStore, threshold: float) -> None:
    store.con.execute("DELETE FROM er_settings WHERE key = 'threshold'")
    store.con.execute("INSERT INTO er_settings VALUES ('threshold', ?)", [repr(float(threshold))])


@dataclass(frozen=True, slots=True)
class Verdict:
    """A person's judgement on a pair of entities (only the latest, not undone, counts)."""

    left: str
    right: str
    verdict: str  # same | different | unsure


@dataclass(slots=True)
class Graph:
    """The entity-level inputs of a view: nodes, model edges and judgements."""

    entities: list[str]
    groups: dict[str, str]
    edges: list[tuple[str, str, float]] = field(default_factory=list)
    same: list[tuple[str, str]] = field(default_factory=list)
    different: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    # entity -> kind -> values of its unique identifiers (only entities with a link)
    unique_ids: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # pairs kept apart because their unique identifiers of one kind disagree (found per run)
    id_conflicts: list[tuple[str, str]] = field(default_factory=list)


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def load_graph(
    store: EvidenceStore,
    verdicts: Iterable[Verdict],
    *,
    datasets: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Graph:
    """Read records and links visible in the view (all datasets when ``datasets`` is None)."""
    where, params = ("", []) if datasets is None else ("WHERE dataset = ANY(?)", [list(datasets)])
    rows = store.fetchall(f"SELECT DISTINCT entity_id, grp FROM er_records {where}", params)
    groups = {e: g for e, g in rows}
    link_where = "WHERE k.match_probability >= ?"
    link_params: list[object] = [threshold]
    if datasets is not None:
        link_where += " AND a.dataset = ANY(?) AND b.dataset = ANY(?)"
        link_params += [list(datasets), list(datasets)]
    links = store.fetchall(
        f"""SELECT a.entity_id, b.entity_id, max(k.match_probability)
        FROM er_links k JOIN er_records a ON a.record_id = k.left_id JOIN er_records b ON b.record_id = k.right_id
        {link_where} GROUP BY 1, 2""",
        link_params,
    )
    graph_ids = _unique_ids(store, link_where, link_params, datasets)
    judged: dict[tuple[str, str], str] = {}
    for v in verdicts:
        if v.left in groups and v.right in groups:
            judged[pair_key(v.left, v.right)] = v.verdict
    graph = Graph(entities=sorted(groups), groups=groups, unique_ids=graph_ids)
    for a, b, p in links:
        key = pair_key(a, b)
        if judged.get(key, "unsure") == "unsure":
            graph.edges.append((key[0], key[1], float(p)))
    for key, verdict in judged.items():
        if verdict == "same":
            graph.same.append(key)
        elif verdict == "different":
            graph.different.append(key)
    return graph


def _unique_ids(
    store: EvidenceStore, link_where: str, link_params: list[object], datasets: Sequence[str] | None
) -> dict[str, dict[str, set[str]]]:
    """Unique identifiers (``kind=value``) of the visible records of linked entities."""
    from chainlight.resolve.groups import GROUPS, UNIQUE_ID_GROUPS

    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    sources = [
        f"SELECT record_id, unnest(unique_ids) AS u FROM {GROUPS[g].table}"
        for g in UNIQUE_ID_GROUPS
        if GROUPS[g].table in tables
    ]
    if not sources:
        return {}
    record_where, record_params = ("", []) if datasets is None else ("WHERE r.dataset = ANY(?)", [list(datasets)])
    rows = store.fetchall(
        f"""WITH ends AS (
            SELECT k.left_id, k.right_id FROM er_links k
            JOIN er_records a ON a.record_id = k.left_id JOIN er_records b ON b.record_id = k.right_id
            {link_where}),
        linked AS (SELECT left_id AS record_id FROM ends UNION SELECT right_id FROM ends)
        SELECT r.entity_id, f.u FROM ({" UNION ALL ".join(sources)}) f
        SEMI JOIN linked USING (record_id) JOIN er_records r USING (record_id) {record_where}""",
        [*link_params, *record_params],
    )
    out: dict[str, dict[str, set[str]]] = {}
    for entity, value in rows:
        kind, _, number = value.partition("=")
        out.setdefault(entity, {}).setdefault(kind, set()).add(number)
    return out


def _disagree(a: dict[str, set[str]], b: dict[str, set[str]]) -> bool:
    return any(kind in b and not (values & b[kind]) for kind, values in a.items())


MAX_CHECKED_MEMBERS = 2_000


def _identifier_conflicts(graph: Graph, label: dict[str, int]) -> list[tuple[str, str]]:
    """Pairs inside one component whose unique identifiers of one kind disagree."""
    holders: dict[int, list[str]] = {}
    for entity in graph.unique_ids:
        if entity in label:
            holders.setdefault(label[entity], []).append(entity)
    out = []
    for members in holders.values():
        if len(members) < 2 or len(members) > MAX_CHECKED_MEMBERS:
            continue
        members.sort()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if _disagree(graph.unique_ids[a], graph.unique_ids[b]):
                    out.append((a, b))
    return out


def components(graph: Graph) -> dict[str, int]:
    """Entity id -> component number, honouring judgements."""
    index = {e: i for i, e in enumerate(graph.entities)}
    pairs = [(a, b) for a, b, _ in graph.edges] + graph.same
    n = len(index)
    if pairs:
        rows = np.fromiter((index[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
        cols = np.fromiter((index[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
        matrix = coo_matrix((np.ones(len(pairs), dtype=np.int8), (rows, cols)), shape=(n, n))
        _, found = connected_components(matrix, directed=False)
        labels = np.asarray(found, dtype=np.int64)
    else:
        labels = np.arange(n, dtype=np.int64)
    label = {e: int(labels[i]) for e, i in index.items()}
    graph.id_conflicts = _identifier_conflicts(graph, label)
    torn = {label[a] for a, b in [*graph.different, *graph.id_conflicts] if label[a] == label[b]}
    if torn:
        _split(graph, label, torn)
    return label


def _split(graph: Graph, label: dict[str, int], torn: set[int]) -> None:
    """Re-cluster the components that hold a pair judged different (or whose unique identifiers
    disagree), never uniting such a pair."""
    parent: dict[str, str] = {}
    apart: dict[str, set[str]] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in graph.different:
        if label[a] in torn:
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    # Identifiers that disagree keep model links from joining two entities, but a person who
    # judged them the same has the last word.
    soft: dict[str, set[str]] = {}
    for a, b in graph.id_conflicts:
        if label[a] in torn:
            soft.setdefault(a, set()).add(b)
            soft.setdefault(b, set()).add(a)
    members: dict[str, set[str]] = {}

    def group_of(root: str) -> set[str]:
        return members.setdefault(root, {root})

    def union(a: str, b: str, *, judged: bool = False) -> bool:
        ra, rb = find(a), find(b)
        if ra == rb:
            return True
        ga, gb = group_of(ra), group_of(rb)
        if any(apart.get(x, set()) & gb for x in ga):
            return False
        if not judged and any(soft.get(x, set()) & gb for x in ga):
            return False
        parent[rb] = ra
        ga |= gb
        members.pop(rb, None)
        return True

    for a, b in graph.same:
        if label[a] in torn and not union(a, b, judged=True):
            graph.conflicts.append((a, b))
    for a, b, _ in sorted(graph.edges, key=lambda e: (-e[2], e[0], e[1])):
        if label[a] in torn:
            union(a, b)
    next_label = max(label.values(), default=0) + 1
    roots: dict[str, int] = {}
    for entity, lab in list(label.items()):
        if lab in torn:
            root = find(entity)
            if root not in roots:
                roots[root] = next_label
                next_label += 1
            label[entity] = roots[root]


def mint(members: Iterable[str], salt: str = "") -> str:
    """A canonical id for a new cluster, derived from its smallest member."""
    first = min(members)
    return "nk-" + hashlib.sha1(f"chainlight-cluster:{first}{salt}".encode(), usedforsecurity=False).hexdigest()[:24]


def assign_ids(label: Mapping[str, int], previous: Mapping[str, str]) -> dict[str, str]:
    """Canonical id per entity. Singletons keep their own id. A multi-member cluster keeps the
    canonical id most of its members had before (each old id goes to one cluster only, the
    one holding most of its former members); otherwise it gets a new one."""
    clusters: dict[int, list[str]] = {}
    for entity, lab in label.items():
        clusters.setdefault(lab, []).append(entity)
    out: dict[str, str] = {}
    claims: list[tuple[int, str, int]] = []
    multi = {lab: sorted(m) for lab, m in clusters.items() if len(m) > 1}
    for lab, members in multi.items():
        counts: dict[str, int] = {}
        for m in members:
            old = previous.get(m)
            if old is not None and old != m:
                counts[old] = counts.get(old, 0) + 1
        claims.extend((lab, old, n) for old, n in counts.items())
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    for lab, old, _ in sorted(claims, key=lambda c: (-c[2], c[1], c[0])):
        if lab not in chosen and old not in taken:
            chosen[lab] = old
            taken.add(old)
    for lab, members in multi.items():
        cid = chosen.get(lab)
        if cid is None:
            cid, n = mint(members), 0
            while cid in taken:
                n += 1
                cid = mint(members, f":{n}")
            taken.add(cid)
        for m in members:
            out[m] = cid
    for members in clusters.values():
        if len(members) == 1:
            out[members[0]] = members[0]
    return out


def view_ids(label: Mapping[str, int], global_ids: Mapping[str, str]) -> dict[str, str]:
    """Canonical ids for a restricted view: a cluster that is exactly a global cluster keeps the
    global id; any other multi-member cluster gets an id minted from its own (visible)
    members, so nothing about invisible members can be read from it."""
    clusters: dict[int, list[str]] = {}
    for entity, lab in label.items():
        clusters.setdefault(lab, []).append(entity)
    global_sizes: dict[str, int] = {}
    for cid in global_ids.values():
        global_sizes[cid] = global_sizes.get(cid, 0) + 1
    out: dict[str, str] = {}
    for members in clusters.values():
        if len(members) == 1:
            out[members[0]] = members[0]
            continue
        ids = {global_ids.get(m) for m in members}
        kept = ids.pop() if len(ids) == 1 else None
        cid = kept if kept is not None and global_sizes.get(kept) == len(members) else mint(members, ":view")
        for m in members:
            out[m] = cid
    return out


def previous_ids(store: EvidenceStore) -> dict[str, str]:
    return dict(store.fetchall("SELECT entity_id, canonical_id FROM er_clusters"))


def save_ids(store: EvidenceStore, ids: Mapping[str, str], groups: Mapping[str, str]) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "entity_id": list(ids),
            "canonical_id": [ids[e] for e in ids],
            "grp": [groups.get(e, "") for e in ids],
        }
    )
    # Replaced whole rather than deleted and re-inserted: keeping an index up to date over a
    # million deletions and insertions took 40 s; a fresh table takes one.
    store.con.register("er_incoming", table)
    store.con.execute(
        "CREATE OR REPLACE TABLE er_clusters AS SELECT entity_id, canonical_id, grp FROM er_incoming ORDER BY entity_id"
    )
    store.con.unregister("er_incoming")
