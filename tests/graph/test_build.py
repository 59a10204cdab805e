"""Building the graph tables from statements: which edges come out, and incremental rebuilds."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.graph import build
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES


def _edges(store: EvidenceStore) -> dict[str, tuple[str, str, list[str]]]:
    return {
        evidence: (relation, f"{source}->{target}", datasets)
        for relation, evidence, source, target, datasets in store.fetchall(
            "SELECT relation, evidence_id, source, target, datasets FROM graph_edges WHERE NOT derived"
        )
    }


def test_relationships_and_entity_properties_become_edges(graph_pool: Settings) -> None:
    with EvidenceStore(graph_pool.evidence_path, read_only=True) as store:
        edges = _edges(store)
        assert edges["own-shell-one-two"] == ("Ownership", "reg-shell-one->reg-shell-two", ["registry"])
        assert edges["pay-front-relative"] == ("Payment", "fiu-front->fiu-relative", ["fiu"])
        assert edges["ngo-family"] == ("Family", "ngo-official->ngo-relative", ["ngo"])
        assert edges["dna-1-2"] == ("GeneticMatch", "seizure-1->seizure-2", ["ngo"])
        shipment = {
            r[0]: r[1]
            for r in store.fetchall("SELECT relation, target FROM graph_edges WHERE evidence_id = 'ship-1'")
        }
        assert shipment == {"Shipment:shipper": "ngo-front", "Shipment:consignee": "ngo-consignee"}
        amount, currency, start = store.fetchall(
            "SELECT amount, currency, start_date FROM graph_edges WHERE evidence_id = 'pay-front-relative'"
        )[0]
        assert (amount, currency, start.isoformat()) == (5000.0, "USD", "2023-03-01")
        low, high = store.fetchall(
            "SELECT share_min, share_max FROM graph_edges WHERE evidence_id = 'own-partner-two'"
        )[0]
        assert (low, high) == (25.0, 40.0)


def test_addresses_written_differently_meet_at_one_shared_node(graph_pool: Settings) -> None:
    with EvidenceStore(graph_pool.evidence_path, read_only=True) as store:
        rows = store.fetchall(
            "SELECT source, target FROM graph_edges WHERE relation = 'shares:address' ORDER BY source"
        )
        assert [r[0] for r in rows] == ["reg-front", "reg-neighbour"]
        assert rows[0][1] == rows[1][1] and rows[0][1].startswith("shared:address:")
        caption = store.scalar("SELECT caption FROM graph_nodes WHERE entity_id = ?", [rows[0][1]])
        assert caption.lower().startswith("1 harbour road")


def test_rebuild_touches_only_datasets_that_changed(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "registry.ftm.json"], dataset="registry",
                    marking=Marking.CLEAR, owner="registry")
    first = pipeline.graph_build(settings)
    assert first.rebuilt == ["registry"] and first.edges > 0
    again = pipeline.graph_build(settings)
    assert again.rebuilt == [] and again.unchanged == ["registry"] and again.edges == first.edges
    pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "fiu.ftm.json"], dataset="fiu", marking=Marking.RED,
                    owner="fiu")
    with EvidenceStore(settings.evidence_path) as store:
        assert build.stale(store)
        before = set(store.fetchall("SELECT row_id FROM graph_edges"))
    third = pipeline.graph_build(settings)
    assert third.rebuilt == ["fiu"] and third.unchanged == ["registry"]
    with EvidenceStore(settings.evidence_path) as store:
        after = set(store.fetchall("SELECT row_id FROM graph_edges"))
        assert before <= after  # the registry's rows were left alone
        assert store.scalar("SELECT count(*) FROM graph_edges WHERE relation = 'Payment'") == 5
        assert not build.stale(store)


def test_a_failed_build_leaves_the_previous_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "registry.ftm.json"], dataset="registry",
                    marking=Marking.CLEAR, owner="registry")
    first = pipeline.graph_build(settings)
    pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "fiu.ftm.json"], dataset="fiu", marking=Marking.RED,
                    owner="fiu")
    monkeypatch.setattr(build, "_shared_edges_sql", lambda: "SELECT no_such_column FROM statements")
    with pytest.raises(Exception, match="no_such_column"):
        pipeline.graph_build(settings)
    monkeypatch.undo()
    with EvidenceStore(settings.evidence_path) as store:
        assert store.scalar("SELECT count(*) FROM graph_edges") == first.edges
        assert build.stale(store)
    assert pipeline.graph_build(settings).rebuilt == ["fiu"]


def test_a_relationship_split_across_datasets_needs_both(tmp_path: Path) -> None:
    """One source names the payer, another the beneficiary of the same payment."""
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    bank = tmp_path / "bank.ftm.json"
    bank.write_text(
        '{"id": "p-1", "schema": "Person", "properties": {"name": ["Payer Person"]}}\n'
        '{"id": "pay-split", "schema": "Payment", "properties": {"payer": ["p-1"], "amount": ["10"]}}\n'
    )
    other = tmp_path / "other.ftm.json"
    other.write_text(
        '{"id": "p-2", "schema": "Person", "properties": {"name": ["Payee Person"]}}\n'
        '{"id": "pay-split", "schema": "Payment", "properties": {"beneficiary": ["p-2"], "date": ["2024-01-02"]}}\n'
    )
    pipeline.ingest(settings, "ftm", [bank], dataset="bank", marking=Marking.RED, owner="bank")
    pipeline.ingest(settings, "ftm", [other], dataset="other", marking=Marking.CLEAR, owner="other")
    pipeline.graph_build(settings)
    with EvidenceStore(settings.evidence_path) as store:
        rows = store.fetchall(
            "SELECT source, target, datasets, amount, start_date FROM graph_edges WHERE evidence_id = 'pay-split'"
        )
    (row,) = rows
    assert row[:4] == ("p-1", "p-2", ["bank", "other"], 10.0) and row[4].isoformat() == "2024-01-02"
    from chainlight.graph import queries

    with pipeline.graph_session(settings, "bank") as (store, view):
        assert [e["relation"] for e in queries.neighbours(store, view, "p-1")["edges"]] == ["Payment"]
    with pipeline.graph_session(settings, "other") as (store, view):  # sees p-2 but not the bank's half
        assert queries.neighbours(store, view, "p-2")["edges"] == []


def test_a_payment_from_an_account_alone_starts_at_the_account(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    source = tmp_path / "bank.ftm.json"
    source.write_text(
        '{"id": "acc-1", "schema": "BankAccount", "properties": {"accountNumber": ["001"]}}\n'
        '{"id": "p-1", "schema": "Person", "properties": {"name": ["Holder"]}}\n'
        '{"id": "p-2", "schema": "Person", "properties": {"name": ["Payee"]}}\n'
        '{"id": "pay-acc", "schema": "Payment", "properties": {"payerAccount": ["acc-1"], "beneficiary": ["p-2"]}}\n'
        '{"id": "pay-both", "schema": "Payment", "properties": {"payer": ["p-1"], "payerAccount": ["acc-1"],'
        ' "beneficiary": ["p-2"]}}\n'
    )
    pipeline.ingest(settings, "ftm", [source], dataset="bank", marking=Marking.CLEAR, owner="bank")
    pipeline.graph_build(settings)
    with EvidenceStore(settings.evidence_path) as store:
        ends = dict(
            (r[0], (r[1], r[2]))
            for r in store.fetchall("SELECT evidence_id, source, target FROM graph_edges WHERE relation = 'Payment'")
        )
    assert ends == {"pay-acc": ("acc-1", "p-2"), "pay-both": ("p-1", "p-2")}
