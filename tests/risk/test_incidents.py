"""Incident breakdowns: who sees what exactly, what is hidden from whom, and that views agree.

Three organisations: macn-org reports most incidents (GREEN dataset ``macn``), customs-ke a
few of its own (GREEN ``ke-incidents``), fiu keeps a RED dataset nobody else sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chainlight.model.markings import DatasetAccess, Marking
from chainlight.risk.incidents import (
    BREAKDOWNS,
    Count,
    IncidentError,
    IncidentViews,
    breakdown,
    incident_views,
    port_key,
)
from chainlight.risk.kanon import HIDDEN
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore

ROWS = [  # dataset, port, stage, actor, item, consequence, outcome, month, incidents
    ("macn", "port-kemba", "physical-inspection", "customs", "cash", "delay", "paid", "2026-06-01", 12),
    ("macn", "port-kemba", "physical-inspection", "customs", "cigarettes", "delay", "refused", "2026-07-01", 3),
    ("macn", "port-kemba", "vessel-clearance", "pilot", "cigarettes", "fine", "paid", "2026-08-01", 1),
    ("macn", "port-kemba", "release", "customs", "cash", "delay", "paid", "2025-05-01", 20),
    ("macn", "port-tzdar", "release", "customs", "cash", "delay", "paid", "2026-08-01", 40),
    ("macn", "port-tzdar", "document-check", "agent", "alcohol", "delay", "paid", "2026-02-01", 2),
    ("macn", "port-nglos", "vessel-clearance", "port-authority", "cash", "delay", "paid", "2025-11-01", 9),
    ("ke-incidents", "port-kemba", "vessel-clearance", "pilot", "cash", "delay", "refused", "2026-08-01", 2),
    ("fiu-red", "port-kemba", "release", "customs", "cash", "delay", "paid", "2026-05-01", 30),
]
ACCESS = [
    DatasetAccess("macn", "macn-org", Marking.GREEN),
    DatasetAccess("ke-incidents", "customs-ke", Marking.GREEN),
    DatasetAccess("fiu-red", "fiu", Marking.RED),
]
COLUMNS = ("dataset VARCHAR, port_id VARCHAR, stage VARCHAR, actor VARCHAR, item VARCHAR, consequence VARCHAR, "
           "outcome VARCHAR, month DATE, incidents BIGINT, cash_amount DOUBLE")


def make_store(path: Path, rows: Sequence[tuple[object, ...]]) -> EvidenceStore:
    store = EvidenceStore(path)
    store.con.execute(f"CREATE TABLE risk_incidents ({COLUMNS})")
    for row in rows:
        store.con.execute("INSERT INTO risk_incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", list(row))
    return store


@pytest.fixture
def incidents(tmp_path: Path) -> Iterator[EvidenceStore]:
    store = make_store(tmp_path / "evidence.duckdb", ROWS)
    try:
        yield store
    finally:
        store.close()


def views(store: EvidenceStore, organisation: str, k: int = 5) -> IncidentViews:
    return incident_views(store, Reader.of(ACCESS, organisation), k)


def lines(view: IncidentViews, by: str, port: str | None = None) -> dict[str, str]:
    return {line.key: line.count.display() for line in view.breakdown(by, port).lines}


def test_counts_show_own_reports_exactly_and_hide_small_shared_ones() -> None:
    assert Count(2, None).display() == f"2 + {HIDDEN}"
    assert Count(0, None).display() == HIDDEN
    assert Count(2, 3).display() == "5"
    assert Count(2, None).as_dict() == {"count": None, "own": 2, "shared": None, "suppressed": True,
                                         "display": "2 + [c]"}


def test_an_organisation_owning_everything_it_sees_sees_it_all(tmp_path: Path) -> None:
    rows = [r for r in ROWS if r[0] == "macn"]
    with make_store(tmp_path / "own.duckdb", rows) as store:
        view = views(store, "macn-org")
        stage = view.breakdown("stage", "KEMBA")
    assert {line.key: line.count.count for line in stage.lines} == {
        "vessel-clearance": 1, "physical-inspection": 15, "release": 20}
    assert stage.total.count == 36 and not stage.suppressed and stage.shared is False
    assert (stage.datasets, stage.marking) == (["macn"], "GREEN")


def test_another_organisation_sees_the_small_cells_hidden_and_its_own_on_top(incidents: EvidenceStore) -> None:
    view = views(incidents, "customs-ke")
    stage = view.breakdown("stage", "KEMBA")
    shown = {line.key: line.count for line in stage.lines}
    # macn's single vessel-clearance report is hidden; customs-ke's own 2 are shown on top of it.
    assert shown["vessel-clearance"] == Count(2, None)
    assert shown["vessel-clearance"].display() == "2 + [c]"
    # the total is shown (36 shared + 2 own); the fiu's RED reports are not in it.
    assert stage.total == Count(2, 36)
    assert stage.total.count == 38
    # a single hidden cell would be 36 - 15 - 20: at least one more is hidden.
    assert sum(1 for c in shown.values() if c.suppressed) >= 2
    assert stage.shared is True and stage.suppressed
    assert stage.datasets == ["ke-incidents", "macn"] and stage.marking == "GREEN"
    assert "fiu-red" not in stage.datasets


def test_the_reporting_organisation_sees_its_own_exactly_and_others_protected(incidents: EvidenceStore) -> None:
    view = views(incidents, "macn-org")
    stage = {line.key: line.count for line in view.breakdown("stage", "KEMBA").lines}
    assert stage["vessel-clearance"] == Count(1, None)  # customs-ke's 2 reports are under k
    assert stage["physical-inspection"] == Count(15, 0)
    assert view.breakdown("stage", "KEMBA").total == Count(36, None)
    ports = view.breakdown("port")
    assert [line.key for line in ports.lines] == ["port-tzdar", "port-kemba", "port-nglos"]
    assert {line.key: line.count.display() for line in ports.lines}["port-kemba"] == "36 + [c]"


def test_no_hidden_shared_cell_can_be_worked_out_from_a_total(incidents: EvidenceStore) -> None:
    view = views(incidents, "customs-ke")
    for by in ("stage", "actor", "item", "consequence", "outcome", "quarter"):
        for port in (None, "KEMBA", "TZDAR", "NGLOS"):
            result = view.breakdown(by, port)
            hidden = [line for line in result.lines if line.count.suppressed]
            if result.total.shared is not None:
                assert len(hidden) != 1, (by, port)


def test_a_port_total_hidden_in_the_ports_list_is_hidden_in_every_view_of_that_port(tmp_path: Path) -> None:
    rows = [("macn", "port-aaaaa", "release", "customs", "cash", "delay", "paid", "2026-01-01", 3),
            ("macn", "port-bbbbb", "release", "customs", "cash", "delay", "paid", "2026-01-01", 6),
            ("macn", "port-ccccc", "release", "customs", "cash", "delay", "paid", "2026-01-01", 50),
            ("macn", "port-ccccc", "release", "pilot", "cash", "delay", "paid", "2026-02-01", 7)]
    with make_store(tmp_path / "ports.duckdb", rows) as store:
        view = views(store, "customs-ke")
        ports = view.breakdown("port")
        # AAAAA (3) is small; BBBBB (6) is hidden with it so that 66 - 57 does not give AAAAA.
        assert [line.key for line in ports.lines] == ["port-ccccc"]
        assert ports.hidden_ports == 2 and ports.total.count == 66
        assert view.hidden_ports() == {"port-aaaaa", "port-bbbbb"}
        for by in ("stage", "actor", "item", "quarter", "year"):
            result = view.breakdown(by, "port-bbbbb")
            assert result.total.count is None, by
            assert any(line.count.suppressed for line in result.lines), by  # else the lines add up to it


def test_stage_actor_margins_match_the_stage_and_actor_views(incidents: EvidenceStore) -> None:
    view = views(incidents, "customs-ke")
    cross = view.breakdown("stage-actor")
    by_stage = {line.key: line.count for line in view.breakdown("stage").lines}
    by_actor = {line.key: line.count for line in view.breakdown("actor").lines}
    assert {line.key: line.count for line in cross.lines} == by_stage
    assert dict(zip([k for k, _ in cross.columns], cross.column_totals, strict=True)) == by_actor
    # one port's stage x actor cells are never shared, only its margins
    one = view.breakdown("stage-actor", "KEMBA")
    assert all(cell.shared is None for line in one.lines for cell in line.cells)
    assert one.total == view.breakdown("stage", "KEMBA").total


def test_quarters_years_and_the_trend_relative_to_the_newest_report(incidents: EvidenceStore) -> None:
    view = views(incidents, "macn-org")
    quarters = view.breakdown("quarter", "TZDAR")
    assert lines(view, "quarter", "TZDAR") == {"2026-Q1": "2", "2026-Q3": "40"}
    assert view.as_of == "2026-08"
    trend = quarters.trend
    assert trend is not None
    assert (trend.recent_from, trend.recent_to, trend.previous_from, trend.previous_to) == (
        "2025-Q4", "2026-Q3", "2024-Q4", "2025-Q3")
    assert (trend.recent.count, trend.previous.count, trend.change) == (42, 0, None)
    kemba = view.trend("KEMBA")
    assert kemba is not None and kemba.recent.display() == "16 + [c]"  # customs-ke's 2 hidden in it
    assert kemba.previous.count == 20
    years = lines(view, "year", "TZDAR")
    assert years == {"2026": "42"}


def test_a_year_is_hidden_when_a_quarter_in_it_is(incidents: EvidenceStore) -> None:
    view = views(incidents, "customs-ke")
    quarters = view.breakdown("quarter", "KEMBA")
    years = view.breakdown("year", "KEMBA")
    hidden_years = {line.key[:4] for line in quarters.lines if line.count.suppressed}
    for line in years.lines:
        assert line.count.suppressed == (line.key in hidden_years)


def test_the_ports_list_and_labels(incidents: EvidenceStore) -> None:
    incidents.con.execute("CREATE TABLE risk_ports (port_id VARCHAR, code VARCHAR, name VARCHAR)")
    incidents.con.execute("INSERT INTO risk_ports VALUES ('port-kemba', 'KEMBA', 'Mombasa')")
    view = views(incidents, "customs-ke")
    ports = view.top_ports(2)
    assert [(line.key, line.label, line.count.count) for line in ports.lines] == [
        ("port-tzdar", "port-tzdar", 42), ("port-kemba", "Mombasa (KEMBA)", 38)]
    assert view.breakdown("stage", "KEMBA").port_label == "Mombasa (KEMBA)"


def test_k_comes_from_the_caller_and_k1_hides_nothing(incidents: EvidenceStore) -> None:
    result = breakdown(incidents, Reader.of(ACCESS, "customs-ke"), 1, "stage", "KEMBA")
    assert not result.suppressed
    assert {line.key: line.count.count for line in result.lines}["vessel-clearance"] == 3
    with pytest.raises(ValueError, match="at least 1"):
        incident_views(incidents, Reader.of(ACCESS, "customs-ke"), 0)


def test_errors_are_clear(incidents: EvidenceStore, tmp_path: Path) -> None:
    view = views(incidents, "customs-ke")
    with pytest.raises(IncidentError, match="unknown breakdown 'ship'"):
        view.breakdown("ship")
    with pytest.raises(IncidentError, match="no incident reports at XXXXX"):
        view.breakdown("stage", "XXXXX")
    with pytest.raises(IncidentError, match="use --by quarter"):
        view.breakdown("month")
    with pytest.raises(IncidentError, match="leave the port out"):
        view.breakdown("port", "KEMBA")
    with EvidenceStore(tmp_path / "empty.duckdb") as empty, pytest.raises(IncidentError, match="risk build"):
        views(empty, "customs-ke")


def test_every_breakdown_answers_as_json(incidents: EvidenceStore) -> None:
    view = views(incidents, "customs-ke")
    for by in BREAKDOWNS:
        data = view.breakdown(by).as_dict()
        assert data["by"] == by and data["k_anonymity"] == 5 and data["marking"] == "GREEN"
        assert "incident_id" not in str(data)
    assert port_key("KEMBA") == "port-kemba" and port_key("port-kemba") == "port-kemba"
    assert port_key("NBO") == "airport-nbo"


def test_the_red_dataset_counts_for_its_owner_only(incidents: EvidenceStore) -> None:
    fiu = views(incidents, "fiu").breakdown("stage", "KEMBA")
    assert "fiu-red" in fiu.datasets and fiu.marking == "RED"
    assert {line.key: line.count for line in fiu.lines}["release"].own == 30


# -- the command, over incidents and assessments ingested from MACN-style CSV files -------------

MACN_HEADER = ("incident_id,port,country,date,process_stage,demanding_actor,item_demanded,amount,currency,"
               "consequence_of_refusal,outcome\n")
MACN_ROWS = (
    "MACN-0000001,KEMBA,KE,2026-03-14,berthing,port authority,cigarettes,,,delay,\"refused, delayed\"\n"
    "MACN-0000002,KEMBA,KE,2026-03-20,berthing,Harbour Master,cash,50,USD,delay,paid\n"
    "MACN-0000003,KEMBA,KE,2026-04-02,cargo clearance,customs,cash,200,USD,fine,paid\n"
    "MACN-0000004,KEMBA,KE,2026-04-09,cargo clearance,customs officer,alcohol,,,delay,paid\n"
    "MACN-0000005,KEMBA,KE,2026-05-11,cargo clearance,Customs,cash,120,USD,delay,paid\n"
    "MACN-0000006,KEMBA,KE,2026-05-12,cargo clearance,customs,cash,80,USD,delay,paid\n"
    "MACN-0000007,KEMBA,KE,2026-06-01,cargo clearance,customs,cigarettes,,,delay,paid\n"
    "MACN-0000008,KEMBA,KE,2026-06-03,crew immigration,immigration,cash,40,USD,threat to crew,paid\n"
    "MACN-0000009,ZZZZZ,KE,2026-06-04,berthing,pilot,cash,10,USD,delay,paid\n"
    "MACN-0000010,KEMBA,KE,2026-13-45,berthing,pilot,cash,10,USD,delay,paid\n"
)
ASSESSMENTS_CSV = (
    "assessment_id,subject_port,subject_name,subject_country,control,framework,status,evidence,assessor,date,score\n"
    "PIA-000001,KEMBA,Mombasa,KE,automation,Revised Arusha Declaration,partial,desk review,Assessors,2025-02-15,2\n"
    "PIA-000002,KEMBA,Mombasa,KE,staff rotation,Revised Arusha Declaration,absent,site visit,Assessors,2025-02-15,0\n"
    "PIA-000003,QQQQQ,Nowhere,KE,automation,Revised Arusha Declaration,in-place,site visit,Assessors,2025-02-15,3\n"
)


def run(home: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from chainlight.cli import app

    result = CliRunner().invoke(app, [*args, "--home", str(home), "--database-url", f"sqlite:///{home / 'op.db'}"])
    return result


def test_macn_csv_through_ingest_and_the_incidents_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    incidents_csv = tmp_path / "incidents.csv"
    incidents_csv.write_text(MACN_HEADER + MACN_ROWS, encoding="utf-8")
    assessments_csv = tmp_path / "assessments.csv"
    assessments_csv.write_text(ASSESSMENTS_CSV, encoding="utf-8")
    ingested = run(home, "ingest", "csv", str(incidents_csv), "--mapping", "incidents", "-d", "macn", "-m", "green",
                   "--owner", "macn-org")
    assert ingested.exit_code == 0, ingested.output
    # the unknown port code and the impossible date are quarantined as cells, named by line
    assert "ZZZZZ" in ingested.output and "2026-13-45" in ingested.output
    assessed = run(home, "ingest", "csv", str(assessments_csv), "--mapping", "assessments", "-d", "audit",
                   "-m", "green", "--owner", "assessors")
    assert assessed.exit_code == 0, assessed.output
    assert "QQQQQ" in assessed.output

    own = run(home, "risk", "incidents", "KEMBA", "--organisation", "macn-org", "--json")
    assert own.exit_code == 0, own.output
    data = json.loads(own.stdout)
    counts = {line["key"]: line["count"] for line in data["lines"]}
    # spellings are catalogue keys: berthing -> vessel-clearance, cargo clearance -> document-check
    assert counts == {"vessel-clearance": 3, "crew-immigration": 1, "document-check": 5}
    assert data["total"]["count"] == 9 and data["suppressed"] is False and data["marking"] == "GREEN"

    other = run(home, "risk", "incidents", "KEMBA", "--organisation", "customs-ke", "--json")
    assert other.exit_code == 0, other.output
    shared = json.loads(other.stdout)
    hidden = {line["key"] for line in shared["lines"] if line["suppressed"]}
    assert {"vessel-clearance", "crew-immigration"} <= hidden
    # the report at an unknown port (ZZZZZ) is 1: with the grand total of 10 shown, KEMBA's 9 goes too
    assert shared["total"]["count"] is None
    ports = json.loads(run(home, "risk", "incidents", "--by", "port", "--organisation", "customs-ke",
                           "--json").stdout)
    assert ports["lines"] == [] and ports["hidden_ports"] == 2 and ports["total"]["count"] == 10

    table = run(home, "risk", "incidents", "KEMBA", "--organisation", "customs-ke", "--by", "actor")
    assert table.exit_code == 0, table.output
    assert "[c]" in table.stdout and "k=5" in table.stdout and "Customs" in table.stdout
    cross = run(home, "risk", "incidents", "--organisation", "macn-org", "--by", "stage-actor")
    assert cross.exit_code == 0 and "Port authority" in cross.stdout
    bad = run(home, "risk", "incidents", "--by", "ship")
    assert bad.exit_code != 0 and "unknown breakdown 'ship'" in bad.output and "Traceback" not in bad.output
    nowhere = run(home, "risk", "incidents", "XXXXX", "--organisation", "macn-org")
    assert nowhere.exit_code != 0 and "no incident reports at XXXXX" in nowhere.output
