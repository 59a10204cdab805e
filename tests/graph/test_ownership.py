"""Ultimate beneficial owners: chains multiplied and summed, share ranges, cycles, BODS."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.graph import ownership
from chainlight.model.markings import Marking
from chainlight.settings import Settings


def _owners(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {str(o["caption"]): o for o in result["owners"]}  # type: ignore[attr-defined, index]


def test_shares_multiply_along_chains_and_add_across_them(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        result = ownership.ultimate_owners(store, view, "reg-front")
        owners = _owners(result)
        assert set(owners) == {"Amani Juma Said", "Wei Chen"}  # the shells are not ultimate owners
        boss, partner = owners["Amani Juma Said"], owners["Wei Chen"]
        # 20 % directly + 100 % x 60 % x 80 % through the two shells
        assert boss["share"] == {"min": 68.0, "max": 68.0}
        assert boss["beneficial_owner"] == "yes" and boss["natural_person"] and boss["share_known"]
        assert sorted(len(c["steps"]) for c in boss["chains"]) == [1, 3]  # type: ignore[attr-defined]
        # a 25-40 % range through an 80 % holding stays a range: 20-32 %
        assert partner["share"] == {"min": 20.0, "max": 32.0}
        assert partner["beneficial_owner"] == "possible"
        assert result["datasets"] == ["registry"] and result["marking"] == "CLEAR" and result["cycles"] == []
        strict = ownership.ultimate_owners(store, view, "reg-front", threshold=70)
        assert _owners(strict)["Amani Juma Said"]["beneficial_owner"] == "no"


def test_circular_ownership_terminates_and_is_reported(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        result = ownership.ultimate_owners(store, view, "reg-loop-a")
        assert _owners(result)["Elena Marquez"]["share"] == {"min": 50.0, "max": 50.0}
        assert "Ouroboros Shipping SA" not in _owners(result)
        (cycle,) = result["cycles"]
        assert set(cycle["captions"]) == {"Mobius Trading Ltd", "Ouroboros Shipping SA"}
        (group,) = ownership.circular_ownership(store, view)
        assert set(group["captions"]) == {"Mobius Trading Ltd", "Ouroboros Shipping SA"}
        assert len(group["edges"]) == 2 and group["datasets"] == ["registry"]
        bulk = dict(ownership.all_ultimate_owners(view))
        a, b = view.vertex("reg-loop-a"), view.vertex("reg-loop-b")
        assert a is not None and b is not None
        assert {view.ids[o] for o in bulk[a]} == {view.canonical("reg-loop-owner")}
        # B is owned only by A, whose other owner is Elena: 50 % of 50 %
        owner_b = bulk[b][view.index[view.canonical("reg-loop-owner")]]
        assert (round(owner_b.low, 6), round(owner_b.high, 6)) == (0.25, 0.25)


def test_bulk_owners_agree_with_single_queries(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        bulk = dict(ownership.all_ultimate_owners(view))
        assert bulk
        for target, owners in bulk.items():
            single = ownership.ultimate_owners(store, view, view.ids[target])
            expected = {o["id"]: (o["share"]["min"], o["share"]["max"]) for o in single["owners"]}
            got = {view.ids[v]: (round(o.low * 100, 6), round(o.high * 100, 6)) for v, o in owners.items()}
            assert got == expected, view.ids[target]


def test_bods_indirect_ownership_example(tmp_path: Path, shared: Path) -> None:
    """BODS 0.4 example: Company B owns 60 % of A; Person 1 has an interest of unspecified kind
    in B and declares a 30 % indirect shareholding in A through it."""
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    pipeline.ingest(settings, "bods", [shared / "standards/bods/examples/indirect-ownership.json"],
                    dataset="bods", marking=Marking.CLEAR, owner="registry")
    with pipeline.graph_session(settings, "anyone") as (store, view):
        company_a = next(view.ids[v] for v in range(view.vertex_count)
                         if view.schema_of(v) == "Company" and "Company A" in str(
                             store.scalar("SELECT caption FROM graph_nodes WHERE entity_id = ?", [view.ids[v]])))
        result = ownership.ultimate_owners(store, view, company_a)
        owners = _owners(result)
        assert set(owners) == {"Person 1"}  # Company B is owned in turn: not an ultimate owner
        person = owners["Person 1"]
        assert person["share"] == {"min": 30.0, "max": 30.0}
        assert person["declared"] == {"min": 30.0, "max": 30.0} and not person["declared_conflicts"]
        assert person["natural_person"] and person["beneficial_owner"] == "yes"
        (chain,) = person["chains"]
        assert [s["relation"] for s in chain["steps"]] == ["UnknownLink", "Ownership"]


@pytest.mark.parametrize("depth", [1, 2])
def test_walks_stop_at_the_depth_limit(graph_pool: Settings, depth: int) -> None:
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        result = ownership.ultimate_owners(store, view, "reg-front", max_depth=depth)
        chains = [c for o in result["owners"] for c in o["chains"]]
        assert chains and all(len(c["steps"]) <= depth for c in chains)
        assert any(c["cut_at_depth"] for c in chains)


def test_walks_say_when_they_stop_at_the_chain_budget(graph_pool: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        assert ownership.ultimate_owners(store, view, "reg-front")["chains_truncated"] is False
        monkeypatch.setattr(ownership, "MAX_CHAINS", 1)
        result = ownership.ultimate_owners(store, view, "reg-front")
        assert result["chains_truncated"] is True
        assert sum(len(o["chains"]) for o in result["owners"]) == 1
