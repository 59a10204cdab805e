"""Risk registers: evidence seeding, editing, append-only reviews and the need-to-know rule."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text

from chainlight.model.markings import Marking
from chainlight.risk import registers as rr
from chainlight.risk.catalogue import Catalogue
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalStore
from tests.support.postgres import postgres_server

INCIDENTS = [  # dataset, port, stage, actor, item, consequence, month, incidents
    ("macn", "port-kemba", "physical-inspection", "customs", "cash", "delay", "2026-06-01", 12),
    ("macn", "port-kemba", "physical-inspection", "customs", "cigarettes", "delay", "2026-07-01", 3),
    ("macn", "port-kemba", "vessel-clearance", "pilot", "cigarettes", "fine", "2026-08-01", 1),
    ("macn", "port-kemba", "release", "terminal-operator", "cash", "delay", "2020-01-01", 50),  # too old
    ("macn", "port-tzdar", "release", "customs", "cash", "delay", "2026-08-01", 40),  # another port
    ("macn", "port-cnsha", "release", "customs", "cash", "delay", "2023-08-01", 9),  # only old reports there
    ("fiu-red", "port-kemba", "release", "customs", "cash", "seizure", "2026-05-01", 30),  # RED dataset
]
ASSESSMENTS = [  # dataset, id, port, control, framework, status, score, date, evidence
    ("audit", "a1", "port-kemba", "container-scanners", "wco-crm", "absent", 0.0, "2025-01-10", "no scanner"),
    ("audit", "a2", "port-kemba", "container-scanners", "wco-crm", "in-place", 1.0, "2026-03-01", "scanner seen"),
    ("audit", "a2", "port-kemba", "cctv", "wco-crm", "in-place", 1.0, "2026-03-01", None),
    ("audit", "a2", "port-kemba", "automation", "revised-arusha-declaration", "partial", 0.5, "2026-03-01", None),
    ("audit", "a2", "port-kemba", "incident-escalation", "macn", "absent", 0.0, "2026-03-01", None),
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _world(operational: OperationalStore) -> None:
    operational.ensure_sharing_group("taskforce", ["ngo", "customs"])
    operational.ensure_sharing_group("outsiders", ["ngo", "press"])
    operational.ensure_dataset("macn", owner="ngo", marking=Marking.AMBER, sharing_group="taskforce")
    operational.ensure_dataset("audit", owner="ngo", marking=Marking.GREEN)
    operational.ensure_dataset("fiu-red", owner="fiu", marking=Marking.RED)


@pytest.fixture(params=["sqlite", "postgresql"])
def operational(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OperationalStore]:
    url = f"sqlite:///{tmp_path / 'ops.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = OperationalStore(url)
    store.migrate()
    _world(store)
    yield store
    if request.param == "postgresql":
        with store.engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection)
            tables.drop_all(connection)
    store.dispose()


@pytest.fixture
def sqlite_ops(tmp_path: Path) -> Iterator[OperationalStore]:
    store = OperationalStore(f"sqlite:///{tmp_path / 'ops.db'}")
    store.migrate()
    _world(store)
    yield store
    store.dispose()


def write_evidence(store: EvidenceStore) -> None:
    store.con.execute("""CREATE TABLE risk_incidents (dataset VARCHAR, port_id VARCHAR, stage VARCHAR,
        actor VARCHAR, item VARCHAR, consequence VARCHAR, outcome VARCHAR, month DATE, incidents BIGINT,
        cash_amount DOUBLE)""")
    store.con.execute("""CREATE TABLE risk_assessments (dataset VARCHAR, assessment_id VARCHAR, port_id VARCHAR,
        control VARCHAR, framework VARCHAR, status VARCHAR, score DOUBLE, date DATE, evidence VARCHAR)""")
    for d, p, s, a, item, cons, month, n in INCIDENTS:
        store.con.execute("INSERT INTO risk_incidents VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
                          [d, p, s, a, item, cons, month, n])
    for row in ASSESSMENTS:
        store.con.execute("INSERT INTO risk_assessments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))


@pytest.fixture
def evidence(store: EvidenceStore) -> EvidenceStore:
    write_evidence(store)
    return store


def reader(operational: OperationalStore, organisation: str) -> Reader:
    return Reader.of(operational.dataset_access(), organisation)


def test_bands_and_thresholds() -> None:
    assert [rr.band(s) for s in (1, 4, 5, 9, 10, 16, 20, 25)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]
    assert [rr.likelihood_from_incidents(n) for n in (0, 1, 2, 4, 5, 19, 20, 500)] == [1, 2, 3, 3, 4, 4, 5, 5]
    assert rr.suggested_residual(5, 2) == 3
    assert rr.suggested_residual(5, 9) == rr.RESIDUAL_LIKELIHOOD_FLOOR
    assert rr.suggested_residual(1, 3) == 1  # never raised to the floor


def test_ports_resolve_from_codes_and_ids() -> None:
    kemba = rr.resolve_port("kemba")
    assert (kemba.port_id, kemba.name, kemba.kind) == ("port-kemba", "Mombasa", "seaport")
    assert rr.resolve_port("port-kemba") == kemba
    assert rr.resolve_port("NBO").port_id == "airport-nbo"
    assert rr.resolve_port("border-malaba").name is None  # a place only evidence names
    with pytest.raises(rr.RegisterError, match="unknown port code"):
        rr.resolve_port("ZZQQX")
    with pytest.raises(rr.RegisterError, match="unknown port"):
        rr.resolve_port("not a port")


def test_seeded_from_what_the_reader_may_see(sqlite_ops: OperationalStore, evidence: EvidenceStore) -> None:
    draft = rr.seed_register(evidence, reader(sqlite_ops, "ngo"), "KEMBA", today=date(2026, 11, 1))
    assert draft.draft and draft.organisation == "ngo"
    cells = {(r.stage, r.actor): r for r in draft.rows}
    # the RED dataset of another organisation, another port and incidents older than the window stay out
    assert set(cells) == {("physical-inspection", "customs"), ("vessel-clearance", "pilot")}
    inspection = cells[("physical-inspection", "customs")]
    assert inspection.incidents == 15 and inspection.likelihood == 4
    assert inspection.impact == Catalogue.load().stages["physical-inspection"].impact == 5
    assert any("cash (12)" in f for f in inspection.factors)
    controls = {c.control: c for c in inspection.controls}
    # latest status per control; automation does not protect physical inspection
    assert controls["container-scanners"].status == "in-place" and "a2" in (controls["container-scanners"].note or "")
    assert "automation" not in controls and "incident-escalation" not in controls
    assert set(controls) == {"container-scanners", "cctv"}
    assert inspection.residual_likelihood == 2 and inspection.residual == 10  # two controls in place: 4 -> 2
    pilot = cells[("vessel-clearance", "pilot")]
    assert pilot.likelihood == 2 and pilot.residual_likelihood == 2  # the floor
    assert {c.control: c.status for c in pilot.controls}["incident-escalation"] == "absent"
    assert [v.kind for v in inspection.reviews] == ["initial"]
    assert draft.evidence_datasets == ("audit", "macn") and draft.marking is Marking.AMBER


def test_the_window_ends_at_the_readers_newest_evidence(sqlite_ops: OperationalStore,
                                                         evidence: EvidenceStore) -> None:
    shanghai = rr.seed_register(evidence, reader(sqlite_ops, "ngo"), "port-cnsha")
    assert shanghai.rows == () and shanghai.evidence_datasets == ()
    assert any("no incidents" in note for note in shanghai.notes)
    dar = rr.seed_register(evidence, reader(sqlite_ops, "ngo"), "TZDAR")
    assert [(r.likelihood, r.incidents) for r in dar.rows] == [(5, 40)]
    assert dar.rows[0].factors[0] == "40 incidents reported in 2026-08 (macn)"


def test_a_register_drawn_from_red_evidence_is_red(sqlite_ops: OperationalStore, evidence: EvidenceStore) -> None:
    draft = rr.seed_register(evidence, reader(sqlite_ops, "fiu"), "port-kemba")
    assert ("release", "customs") in {(r.stage, r.actor) for r in draft.rows}
    assert "macn" not in draft.evidence_datasets and draft.marking is Marking.RED
    with pytest.raises(rr.RegisterError, match="cannot be marked TLP:AMBER"):
        rr.save_register(sqlite_ops, draft, author="ana", marking=Marking.AMBER)
    saved = rr.save_register(sqlite_ops, draft, author="ana")
    assert saved.marking is Marking.RED and not saved.draft


def test_seeding_needs_the_risk_tables(sqlite_ops: OperationalStore, store: EvidenceStore) -> None:
    with pytest.raises(rr.RegisterError, match="chainlight risk build"):
        rr.seed_register(store, reader(sqlite_ops, "ngo"), "KEMBA")


def test_save_edit_and_review(operational: OperationalStore, evidence: EvidenceStore) -> None:
    draft = rr.seed_register(evidence, reader(operational, "ngo"), "KEMBA", today=date(2026, 11, 1))
    saved = rr.save_register(operational, draft, author="ana")
    assert saved.id is not None and saved.marking is Marking.AMBER
    again = rr.get_register(operational, "ngo", "port-kemba")
    assert again is not None and again.rows == saved.rows
    first = again.row("physical-inspection", "customs")
    assert first is not None and first.reviews[0].reviewer == "ana" and first.reviews[0].on == date(2026, 11, 1)
    with pytest.raises(rr.RegisterError, match="already keeps"):
        rr.save_register(operational, draft, author="ana")

    with pytest.raises(rr.RegisterError, match="needs a likelihood"):
        rr.set_row(operational, "ngo", "KEMBA", "release", "customs", author="ana")
    reg = rr.set_row(operational, "ngo", "KEMBA", "container release", "Customs Officers", author="ana",
                     likelihood=3, factors=["release codes shared by phone", " "], owner="KRA customs services")
    row = reg.row("release", "customs")  # synonyms land on catalogue keys
    assert row is not None and (row.likelihood, row.impact) == (3, 5) and row.factors == ("release codes shared "
                                                                                           "by phone",)
    assert [v.kind for v in row.reviews] == ["initial"] and row.owner == "KRA customs services"
    with pytest.raises(rr.RegisterError, match="must be 1-5"):
        rr.set_row(operational, "ngo", "KEMBA", "release", "customs", author="ana", likelihood=6)

    reg = rr.set_control(operational, "ngo", "KEMBA", "release", "customs", "PIN code security", "planned",
                         note="terminal to switch to secure codes")
    row = reg.row("release", "customs")
    assert row is not None and row.controls == (rr.ControlEntry("release-code-security", "planned",
                                                                "terminal to switch to secure codes"),)
    with pytest.raises(rr.RegisterError, match="unknown control status"):
        rr.set_control(operational, "ngo", "KEMBA", "release", "customs", "cctv", "maybe")
    with pytest.raises(rr.RegisterError, match="unknown control"):
        rr.set_control(operational, "ngo", "KEMBA", "release", "customs", "moon shield", "planned")

    action = rr.add_action(operational, "ngo", "KEMBA", "release", "customs", "Introduce secure release codes",
                           owner="Terminal IT", due=date(2027, 3, 31))
    assert action.id is not None and action.status == "open" and action.closed is None
    done = rr.set_action_status(operational, "ngo", "KEMBA", action.id, "done", on=date(2027, 2, 1))
    assert (done.status, done.closed) == ("done", date(2027, 2, 1))
    reopened = rr.set_action_status(operational, "ngo", "KEMBA", action.id, "open")
    assert reopened.closed is None

    estimated = rr.add_review(operational, "ngo", "KEMBA", "estimated", reviewer="ben", stage="release",
                              actor="customs", likelihood=2, note="once codes are secured", on=date(2027, 1, 5))
    assert [(v.likelihood, v.impact) for v in estimated] == [(2, 5)]
    everything = rr.add_review(operational, "ngo", "KEMBA", "monitored", reviewer="ben", on=date(2027, 6, 1))
    assert len(everything) == 3
    reg2 = rr.get_register(operational, "ngo", "KEMBA")
    assert reg2 is not None
    row = reg2.row("release", "customs")
    assert row is not None and row.residual_likelihood == 2  # the estimated review set the residual
    assert [v.kind for v in row.reviews] == ["initial", "estimated", "monitored"]
    assert row.reviews[0].likelihood == 3  # history keeps what the initial review found
    with pytest.raises(rr.RegisterError, match="unknown review kind"):
        rr.add_review(operational, "ngo", "KEMBA", "guessed", reviewer="ben")


def test_reviews_are_append_only_in_the_database(operational: OperationalStore) -> None:
    rr.create_register(operational, "ngo", "KEMBA", author="ana")
    rr.set_row(operational, "ngo", "KEMBA", "release", "customs", author="ana", likelihood=4)
    with pytest.raises(Exception, match="append-only"), operational.engine.begin() as connection:
        connection.execute(text("UPDATE risk_register_reviews SET likelihood = 1"))
    reg = rr.get_register(operational, "ngo", "KEMBA")
    assert reg is not None and reg.rows[0].reviews[0].likelihood == 4


def test_another_organisation_cannot_read_or_change_it(operational: OperationalStore,
                                                       evidence: EvidenceStore) -> None:
    draft = rr.seed_register(evidence, reader(operational, "ngo"), "KEMBA")
    rr.save_register(operational, draft, author="ana")  # AMBER, no sharing group: ngo only
    for other in ("customs", "press", "fiu"):
        assert rr.get_register(operational, other, "KEMBA", owner="ngo") is None
        assert rr.list_registers(operational, other) == []
        with pytest.raises(rr.RegisterError, match="keeps no register"):
            rr.set_row(operational, other, "KEMBA", "release", "customs", author="x", likelihood=5)
    assert [r.organisation for r in rr.list_registers(operational, "ngo", port="port-kemba")] == ["ngo"]

    # shared with the task force (which may read the evidence): customs reads it, press does not
    rr.set_sharing(operational, "ngo", "KEMBA", marking=Marking.AMBER, sharing_group="taskforce")
    assert rr.get_register(operational, "customs", "KEMBA", owner="ngo") is not None
    assert rr.get_register(operational, "customs", "KEMBA") is None  # customs keeps none of its own
    assert rr.get_register(operational, "press", "KEMBA", owner="ngo") is None

    # shared with a group whose members may not read the AMBER evidence: still hidden from them
    rr.set_sharing(operational, "ngo", "KEMBA", marking=Marking.AMBER, sharing_group="outsiders")
    assert rr.list_registers(operational, "press") == []
    assert rr.list_registers(operational, "customs") == []
    # and it cannot be marked below its evidence
    with pytest.raises(rr.RegisterError, match="cannot be marked TLP:GREEN"):
        rr.set_sharing(operational, "ngo", "KEMBA", marking=Marking.GREEN)

    # a hand-made GREEN register without evidence is open to the community
    rr.create_register(operational, "customs", "TZDAR", author="cu", marking=Marking.GREEN)
    assert [r.port_id for r in rr.list_registers(operational, "press")] == ["port-tzdar"]


def test_heatmap_places_every_row(sqlite_ops: OperationalStore, evidence: EvidenceStore) -> None:
    draft = rr.seed_register(evidence, reader(sqlite_ops, "ngo"), "KEMBA")
    grid = rr.heatmap(draft)
    assert [c.likelihood for c in grid[0]] == [5] * 5 and [c.impact for c in grid[0]] == [1, 2, 3, 4, 5]
    placed = {(c.likelihood, c.impact): len(c.rows) for line in grid for c in line if c.rows}
    assert placed == {(2, 5): 1, (2, 2): 1}
    inherent = {(c.likelihood, c.impact) for line in rr.heatmap(draft, residual=False) for c in line if c.rows}
    assert inherent == {(4, 5), (2, 2)}
    assert grid[0][4].band == "critical" and grid[4][0].band == "low"
    assert [r.stage for r in rr.ranked_rows(draft)] == ["physical-inspection", "vessel-clearance"]


def test_deleting_a_register_takes_its_history(sqlite_ops: OperationalStore) -> None:
    rr.create_register(sqlite_ops, "ngo", "KEMBA", author="ana")
    rr.set_row(sqlite_ops, "ngo", "KEMBA", "release", "customs", author="ana", likelihood=4)
    rr.delete_register(sqlite_ops, "ngo", "KEMBA")
    assert rr.get_register(sqlite_ops, "ngo", "KEMBA") is None
    with sqlite_ops.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM risk_register_reviews")).scalar() == 0


def test_a_draft_from_another_organisations_reports_shows_them_k_anonymously(
    sqlite_ops: OperationalStore, evidence: EvidenceStore,
) -> None:
    """customs shares the taskforce group, so it reads the NGO's MACN reports, but only as a
    shared view: 15 reports are the band 15-19, one report is [c], and an item only a few
    other-organisation reports name is not shown at all."""
    draft = rr.seed_register(evidence, reader(sqlite_ops, "customs"), "KEMBA", today=date(2026, 11, 1))
    cells = {(r.stage, r.actor): r for r in draft.rows}
    inspection, pilot = cells[("physical-inspection", "customs")], cells[("vessel-clearance", "pilot")]
    assert inspection.factors[0].startswith("15-19 incidents reported")
    assert any("cash (10-14)" in f for f in inspection.factors)
    assert not any("cigarettes" in f for f in inspection.factors)  # 3 reports: under k
    assert pilot.factors[0].startswith("[c] incidents reported")
    assert not any("fine" in f or "cigarettes" in f for f in pilot.factors)
    assert pilot.incidents == 2  # counted as k / 2 (rounded down), never the true 1
