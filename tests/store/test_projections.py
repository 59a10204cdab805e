"""Per-schema projections: one row per entity with sorted distinct values, and a signature
that tells a later stage whether they still match the statements."""

from __future__ import annotations

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES


def test_projections_hold_sorted_distinct_values_and_know_when_they_are_stale(settings: Settings) -> None:
    graph = FIXTURES / "graph"
    pipeline.ingest(settings, "ftm", [graph / "registry.ftm.json"], dataset="registry", marking=Marking.CLEAR,
                    owner="registry")
    with EvidenceStore(settings.evidence_path) as store:
        assert projections.current(store)
        row = store.fetchall(
            "SELECT datasets, name, address FROM proj_company WHERE id = ?", ["reg-neighbour"])[0]
        # FtM cleans the address's double space on the way in.
        assert row == (["registry"], ["Kilindini Freight Ltd"], ["1 HARBOUR ROAD, MOMBASA"])
        owners = store.fetchall("SELECT owner, asset, percentage FROM proj_ownership WHERE id = 'own-loop-ab'")
        assert owners == [(["reg-loop-a"], ["reg-loop-b"], ["50"])]
    # An ingest told not to rebuild leaves the projections stale; ensure_current notices and rebuilds.
    pipeline.ingest(settings, "ftm", [graph / "fiu.ftm.json"], dataset="fiu", marking=Marking.RED, owner="fiu",
                    rebuild=False)
    with EvidenceStore(settings.evidence_path) as store:
        assert not projections.current(store)
        assert store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'proj_payment'") == 0
        assert projections.ensure_current(store) is True
        assert projections.current(store) and projections.ensure_current(store) is False
        assert store.scalar("SELECT count(*) FROM proj_payment") == 5
        assert store.fetchall("SELECT amount FROM proj_payment WHERE id = 'pay-front-relative'") == [(["5000"],)]
