"""``chainlight risk register``: show, seed, save, edit and export a register as an organisation,
and nothing of a register another organisation may not read."""

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalStore

runner = CliRunner()


@pytest.fixture
def home(settings: Settings) -> Settings:
    operational = OperationalStore(settings.database_url)
    operational.migrate()
    operational.ensure_sharing_group("taskforce", ["ngo", "customs"])
    operational.ensure_dataset("macn", owner="ngo", marking=Marking.AMBER, sharing_group="taskforce")
    operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        store.con.execute("""CREATE TABLE risk_incidents (dataset VARCHAR, port_id VARCHAR, stage VARCHAR,
            actor VARCHAR, item VARCHAR, consequence VARCHAR, outcome VARCHAR, month DATE, incidents BIGINT,
            cash_amount DOUBLE)""")
        store.con.execute("""CREATE TABLE risk_assessments (dataset VARCHAR, assessment_id VARCHAR,
            port_id VARCHAR, control VARCHAR, framework VARCHAR, status VARCHAR, score DOUBLE, date DATE,
            evidence VARCHAR)""")
        store.con.execute("""INSERT INTO risk_incidents VALUES
            ('macn', 'port-kemba', 'release', 'customs', 'cash', 'delay', NULL, '2026-05-01', 7, NULL),
            ('macn', 'port-kemba', 'vessel-clearance', 'pilot', 'cigarettes', 'delay', NULL, '2026-06-01', 1, NULL)""")
        store.con.execute("""INSERT INTO risk_assessments VALUES
            ('macn', 'a1', 'port-kemba', 'cctv', 'wco-crm', 'in-place', 1, '2026-01-01', 'cameras at the gate')""")
    return settings


def chainlight(settings: Settings, *args: str, organisation: str = "ngo") -> tuple[int, str, str]:
    result = runner.invoke(app, ["risk", *args, "--home", str(settings.home), "--database-url",
                                 settings.database_url, "--organisation", organisation])
    return result.exit_code, result.stdout, result.stderr


def test_a_newcomer_sees_a_seeded_draft_and_saves_it(home: Settings, tmp_path: Path) -> None:
    code, stdout, stderr = chainlight(home, "register", "KEMBA")
    assert code == 0, stderr
    assert "(draft)" in stdout and "TLP:AMBER" in stdout and "Release of goods" in stdout
    assert "--save" in stderr
    code, stdout, _ = chainlight(home, "register", "KEMBA", "--json")
    draft = json.loads(stdout)
    assert draft["draft"] and {(r["stage"], r["actor"]) for r in draft["rows"]} == {
        ("release", "customs"), ("vessel-clearance", "pilot")}
    release = next(r for r in draft["rows"] if r["stage"] == "release")
    assert (release["likelihood"], release["residual_likelihood"]) == (4, 3)  # 7 incidents; CCTV in place

    code, _, stderr = chainlight(home, "register", "KEMBA", "--save", "--by", "ana")
    assert code == 0 and "saved" in stderr
    code, stdout, _ = chainlight(home, "register", "port-kemba", "--json")
    saved = json.loads(stdout)
    assert not saved["draft"] and saved["marking"] == "AMBER" and saved["created_by"] == "ana"
    code, _, stderr = chainlight(home, "register", "KEMBA", "--save")
    assert code == 1 and "already keeps" in stderr and "Traceback" not in stderr


def test_edit_review_and_export(home: Settings, tmp_path: Path) -> None:
    assert chainlight(home, "register", "KEMBA", "--save", "--empty")[0] == 0
    code, _, stderr = chainlight(home, "register-row", "KEMBA", "physical-inspection", "customs", "--likelihood",
                                 "4", "--factor", "officers on the same post for years", "--risk-owner", "KRA")
    assert code == 0, stderr
    assert chainlight(home, "register-control", "KEMBA", "physical-inspection", "customs", "staff-rotation",
                      "planned", "--note", "from 2027")[0] == 0
    code, stdout, _ = chainlight(home, "register-action", "KEMBA", "physical-inspection", "customs",
                                 "Rotate examination officers", "--action-owner", "KRA HR", "--due", "2027-03-31",
                                 "--json")
    action = json.loads(stdout)
    assert action["status"] == "open" and action["due"] == "2027-03-31"
    assert chainlight(home, "register-action-status", "KEMBA", str(action["id"]), "done", "--on", "2027-02-01")[0] == 0
    code, stdout, _ = chainlight(home, "register-review", "KEMBA", "estimated", "--likelihood", "2", "--json")
    assert [r["likelihood"] for r in json.loads(stdout)] == [2]
    code, _, stderr = chainlight(home, "register-review", "KEMBA", "guessed")
    assert code == 1 and stderr.count("\n") == 1 and "unknown review kind" in stderr

    csv_file, pdf_file = tmp_path / "kemba.csv", tmp_path / "kemba.pdf"
    code, stdout, stderr = chainlight(home, "register", "KEMBA", "--csv", str(csv_file), "--pdf", str(pdf_file))
    assert code == 0, stderr
    assert "Rotate examination officers" in stdout and "estimated" in stdout
    (line,) = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert line["residual"] == "10" and line["controls"] == "staff-rotation=planned (from 2027)"
    assert "done 2027-02-01" in line["actions"] and line["marking"] == "TLP:AMBER"
    assert pdf_file.read_bytes().startswith(b"%PDF")


def test_another_organisation_gets_nothing(home: Settings, tmp_path: Path) -> None:
    assert chainlight(home, "register", "KEMBA", "--save")[0] == 0
    for other in ("press", "customs"):  # customs is in the evidence's group, not the register's
        code, _, stderr = chainlight(home, "register", "KEMBA", "--owner", "ngo", "--json", organisation=other)
        assert code == 1 and "no register of ngo" in stderr
        code, _, _ = chainlight(home, "register", "KEMBA", "--owner", "ngo", "--csv", str(tmp_path / "x.csv"),
                                organisation=other)
        assert code == 1 and not (tmp_path / "x.csv").exists()
        code, stdout, _ = chainlight(home, "register-list", "--json", organisation=other)
        assert json.loads(stdout) == []
        code, _, stderr = chainlight(home, "register-row", "KEMBA", "release", "customs", "--likelihood", "1",
                                     organisation=other)
        assert code == 1 and "keeps no register" in stderr
    # press's own draft holds nothing from the AMBER evidence it may not read
    code, stdout, _ = chainlight(home, "register", "KEMBA", "--json", organisation="press")
    assert json.loads(stdout)["rows"] == [] and json.loads(stdout)["evidence_datasets"] == []
    # shared with the task force, customs reads it
    assert chainlight(home, "register-share", "KEMBA", "--marking", "amber", "--sharing-group", "taskforce")[0] == 0
    code, stdout, _ = chainlight(home, "register", "KEMBA", "--owner", "ngo", "--json", organisation="customs")
    assert code == 0 and json.loads(stdout)["organisation"] == "ngo"
    code, _, stderr = chainlight(home, "register-share", "KEMBA", "--marking", "clear")
    assert code == 1 and "cannot be marked TLP:CLEAR" in stderr


def test_unknown_port_is_one_line(home: Settings) -> None:
    code, _, stderr = chainlight(home, "register", "QQQQQ")
    assert code == 1 and "unknown port code" in stderr and "Traceback" not in stderr
