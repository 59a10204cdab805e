"""The risk evidence tables: built per dataset from the projections, atomically, and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.risk import evidence
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.support.risk_world import build_risk_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("risk-evidence")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    build_risk_world(settings, tmp)
    pipeline.rules_run(settings)
    with EvidenceStore(settings.evidence_path) as store:
        evidence.build(store, home=settings.home)
    return settings


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return store.fetchall(sql)


def test_incidents_are_counted_per_dataset_port_and_catalogue_cell(world: Settings) -> None:
    counts = dict(rows(world, "SELECT dataset || ' ' || port_id, sum(incidents) FROM risk_incidents GROUP BY 1"))
    assert counts == {"macn port-kemba": 15, "macn port-tzdar": 4, "macn port-mypkg": 2, "macn airport-nbo": 1,
                      "fiu-incidents port-tzdar": 30, "fiu-incidents airport-jro": 1}
    cells = dict(rows(world, """SELECT stage || '/' || actor, sum(incidents) FROM risk_incidents
                                WHERE port_id = 'port-kemba' GROUP BY 1"""))
    assert cells == {"release/customs": 8, "vessel-clearance/port-authority": 7}
    cash = rows(world, "SELECT sum(cash_amount) FROM risk_incidents WHERE port_id = 'port-mypkg'")
    assert cash == [(100.0,)]
    months = rows(world, "SELECT min(month), max(month) FROM risk_incidents WHERE port_id = 'port-kemba'")
    assert [str(m) for m in months[0]] == ["2023-03-01", "2024-12-01"]


def test_assessments_carry_catalogue_controls_and_statuses(world: Settings) -> None:
    found = rows(world, "SELECT port_id, control, status, CAST(date AS VARCHAR) FROM risk_assessments ORDER BY ALL")
    assert found == [("port-kemba", "container-scanners", "in-place", "2024-03-01"),
                     ("port-kemba", "staff-rotation", "absent", "2021-03-01"),
                     ("port-kemba", "staff-rotation", "partial", "2024-03-01"),
                     ("port-tzdar", "container-scanners", "absent", "2024-03-01")]


def test_a_seizure_downstream_is_a_missed_opportunity_at_every_port_it_passed(world: Settings) -> None:
    missed = rows(world, "SELECT port_id, datasets FROM risk_missed_seizures ORDER BY port_id")
    assert [m[0] for m in missed] == ["port-aejea", "port-kemba", "port-mypkg"]  # not Hai Phong, where it was seized
    assert all(m[1] == ["customs", "police"] for m in missed)  # the seizure's and the shipment's datasets


def test_exposure_and_alerts_are_tied_to_ports(world: Settings) -> None:
    exposure = {r[0] for r in rows(world, "SELECT port_id FROM risk_route_exposure")}
    assert {"port-kemba", "port-aejea", "port-mypkg", "port-vnhph"} <= exposure
    # The fixture's air waybill NBO -> BKK trips the concealment rule: the alert's subject is the
    # shipment, so the alert is tied to both ports of its route, with the alert's datasets.
    tied = rows(world, "SELECT rule_id, port_id, datasets FROM risk_alert_ports ORDER BY port_id")
    assert tied == [("shipment.concealment-goods", "airport-bkk", ["customs"]),
                    ("shipment.concealment-goods", "airport-nbo", ["customs"])]


def test_all_world_port_index_ports_are_known(world: Settings) -> None:
    kinds = dict(rows(world, "SELECT kind, count(*) FROM risk_ports GROUP BY kind"))
    assert kinds["seaport"] == 3803
    nbo = rows(world, "SELECT name, country FROM risk_ports WHERE port_id = 'airport-nbo'")
    assert nbo and nbo[0][1] == "ke"
    zones = {r[0] for r in rows(world, "SELECT code FROM risk_ports WHERE free_trade_zone")}
    assert "AEJEA" in zones


def test_the_tables_know_when_they_are_stale_and_a_failed_build_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    build_risk_world(settings, tmp_path)
    with EvidenceStore(settings.evidence_path) as store:
        assert evidence.current(store)
    extra = tmp_path / "more.csv"
    extra.write_text("incident_id,port,date\nX-1,KEMBA,2024-12-20\n", encoding="utf-8")
    pipeline.ingest(settings, "csv", [extra], dataset="more", marking=Marking.GREEN, owner="macn",
                    options={"mapping": "incidents"})
    with EvidenceStore(settings.evidence_path) as store:
        assert not evidence.current(store)
        before = store.fetchall("SELECT sum(incidents) FROM risk_incidents")

        def broken(*args: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(evidence, "_route_exposure", broken)
        with pytest.raises(RuntimeError):
            evidence.build(store, home=settings.home)
        assert store.fetchall("SELECT sum(incidents) FROM risk_incidents") == before  # the old tables stand
        monkeypatch.undo()
        report = evidence.build(store, home=settings.home)
        assert report.incidents == int(before[0][0]) + 1
        assert evidence.current(store)


def test_an_empty_store_builds_empty_tables(settings: Settings) -> None:
    with EvidenceStore(settings.evidence_path) as store:
        store.migrate()
        report = evidence.build(store)
    assert report.incidents == 0 and report.assessments == 0 and report.ports == 3803
