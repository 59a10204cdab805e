"""Reader views, made once and reused: the CLI builds one per command, the web app keeps the
last few per (visible datasets, graph state, clusters, judgements) so that a query on a large
graph does not pay the load again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from chainlight.graph import build
from chainlight.graph.view import GraphView, load
from chainlight.model.markings import DatasetAccess, Marking, owned_datasets
from chainlight.resolve import clusters, service
from chainlight.store.evidence import EvidenceStore


class GraphNotBuilt(RuntimeError):
    """The graph tables do not exist yet."""


def built(store: EvidenceStore) -> bool:
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    return {"graph_nodes", "graph_edges", "graph_state"} <= tables


def require_built(store: EvidenceStore) -> None:
    if not built(store):
        raise GraphNotBuilt("the graph has not been built yet: run 'chainlight graph build'")


def aliases(store: EvidenceStore, verdicts: Sequence[clusters.Verdict], visible: Sequence[str]) -> dict[str, str]:
    """entity id -> canonical id in the reader's resolution view (empty before any resolve)."""
    if not service.has_resolution(store):
        return {}
    return service.canonical_ids(store, verdicts, visible)


def state_key(store: EvidenceStore) -> tuple[object, ...]:
    """Changes whenever the graph tables or the clusters change."""
    graph = tuple(store.fetchall("SELECT dataset, signature, version FROM graph_state ORDER BY dataset"))
    resolved = (
        tuple(store.fetchall("SELECT count(*), bit_xor(hash(entity_id || canonical_id)) FROM er_clusters"))
        if service.has_resolution(store)
        else ()
    )
    return graph, resolved


def reader_view(
    store: EvidenceStore,
    access: Sequence[DatasetAccess],
    organisation: str,
    verdicts: Sequence[clusters.Verdict],
) -> GraphView:
    require_built(store)
    visible = sorted(a.name for a in access if a.visible_to(organisation))
    markings: dict[str, Marking] = {a.name: a.marking for a in access}
    owned = sorted(owned_datasets(access, organisation))
    return load(store, visible, aliases(store, verdicts, visible), markings, owned=owned)


class ViewCache:
    """The last few reader views, keyed by everything they depend on."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._views: OrderedDict[tuple[object, ...], GraphView] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        store: EvidenceStore,
        access: Sequence[DatasetAccess],
        organisation: str,
        verdicts: Sequence[clusters.Verdict],
    ) -> GraphView:
        require_built(store)  # before state_key reads graph_state
        visible = tuple(sorted(a.name for a in access if a.visible_to(organisation)))
        owned = tuple(sorted(owned_datasets(access, organisation)))  # owner-only records differ per owner
        markings = tuple(sorted((a.name, a.marking.value) for a in access))
        judged = tuple(sorted((v.left, v.right, v.verdict) for v in verdicts))
        key = (visible, owned, markings, state_key(store), judged)
        with self._lock:
            found = self._views.get(key)
            if found is not None:
                self._views.move_to_end(key)
                return found
            view = reader_view(store, access, organisation, verdicts)
            self._views[key] = view
            while len(self._views) > self.size:
                self._views.popitem(last=False)
            return view


def ensure_built(store: EvidenceStore, progress: build.Progress | None = None) -> build.BuildReport | None:
    """Build the graph when any dataset changed since the last build (writers only)."""
    if build.stale(store):
        return build.build(store, progress=progress)
    return None
