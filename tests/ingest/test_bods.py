import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.ingest import bods_schema
from chainlight.ingest.base import IngestReport, run_ingest
from chainlight.ingest.bods import (
    BodsReader,
    interest_entity_id,
    record_entity_id,
    relationship_entity_id,
    share_bounds,
    share_text,
)
from chainlight.ingest.bods_schema import check_statement
from chainlight.model.identity import dataset_key
from chainlight.store.entities import get_entity
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

BODS = FIXTURES / "bods"
DATASET = "registry"


def ingest(store: EvidenceStore, path: Path, **kwargs: Any) -> IngestReport:
    return run_ingest(store, BodsReader(), [path], DATASET, labels=[path.name], **kwargs)


def entity(store: EvidenceStore, entity_id: str) -> Any:
    proxy = get_entity(store, entity_id, [DATASET])
    assert proxy is not None, entity_id
    return proxy


def rid(record_id: str) -> str:
    return record_entity_id(DATASET, record_id)


def test_every_bods_example_loads_without_quarantine(store: EvidenceStore, shared: Path) -> None:
    examples = sorted((shared / "standards/bods/examples").glob("*.json"))
    assert len(examples) >= 7
    for path in examples:
        statements = json.loads(path.read_text(encoding="utf-8"))
        assert all(check_statement(st) is None for st in statements), path.name
        report = ingest(store, path)
        (file_report,) = report.files
        assert file_report.rejected is None, path.name
        assert (file_report.rows_read, file_report.rows_quarantined) == (len(statements), 0), path.name
        assert file_report.statements_added > 0, path.name
    assert store.scalar("SELECT count(*) FROM quarantine") == 0


def test_indirect_ownership_chain(store: EvidenceStore, shared: Path) -> None:
    ingest(store, shared / "standards/bods/examples/indirect-ownership.json")
    company_a, company_b, person = rid("ad3f6c2fcc9e"), rid("d4ab89ea169a"), rid("c25d4d612c2c")
    assert entity(store, company_a).schema.name == "Company"
    assert entity(store, company_b).get("registrationNumber") == ["XE1010"]
    assert entity(store, person).get("birthDate") == ["1965-11"]

    b_owns_a = entity(store, interest_entity_id(DATASET, "4cf2837bd01f", 0))
    assert b_owns_a.schema.name == "Ownership"
    assert (b_owns_a.get("owner"), b_owns_a.get("asset")) == ([company_b], [company_a])
    assert b_owns_a.get("percentage") == ["60"]
    assert b_owns_a.get("beneficialOwnershipOrControl") == ["false"]
    assert b_owns_a.get("directOrIndirect") == ["direct"]

    person_owns_a = entity(store, interest_entity_id(DATASET, "d8d75ccf40e4", 0))
    assert (person_owns_a.get("owner"), person_owns_a.get("asset")) == ([person], [company_a])
    assert person_owns_a.get("percentage") == ["30"]
    assert person_owns_a.get("directOrIndirect") == ["indirect"]
    assert person_owns_a.get("beneficialOwnershipOrControl") == ["true"]
    assert person_owns_a.get("startDate") == ["2017-11-01"]
    assert "component records d4ab89ea169a, 4cf2837bd01f, 05e81af035e4" in person_owns_a.first("summary")

    # The component interest has no type: a link, not an ownership.
    person_to_b = entity(store, interest_entity_id(DATASET, "05e81af035e4", 0))
    assert person_to_b.schema.name == "UnknownLink"
    assert (person_to_b.get("subject"), person_to_b.get("object")) == ([person], [company_b])
    assert person_to_b.get("role") == ["Unspecified interest"]


def test_share_ranges_fold_exclusive_bounds(store: EvidenceStore, shared: Path) -> None:
    ingest(store, shared / "standards/bods/examples/bods-package-entity-owning-entity.json")
    ownership = entity(store, interest_entity_id(DATASET, "0f31559c6eec", 0))
    assert (ownership.get("owner"), ownership.get("asset")) == ([rid("e83cce729ada")], [rid("12b7dd0770ce")])
    assert (ownership.get("shareMinimum"), ownership.get("shareMaximum")) == (["75"], ["100"])
    assert ownership.get("percentage") == []
    assert "share >= 75% and < 100%" in ownership.first("summary")
    assert share_bounds({"exclusiveMinimum": 25, "maximum": 50}) == (25, 50)
    assert share_text({"exclusiveMinimum": 25.5, "maximum": 50}) == "> 25.5% and <= 50%"


def test_pep_persons_get_the_pep_topic(store: EvidenceStore, shared: Path) -> None:
    examples = shared / "standards/bods/examples"
    ingest(store, examples / "simple-pep-declaration.json")
    ingest(store, examples / "full-pep-declaration.json")
    simple = entity(store, rid("c9ceb68d7241"))
    assert simple.get("topics") == ["role.pep"]
    full = entity(store, rid("9bcdcc85e803"))
    assert full.get("topics") == ["role.pep"]
    assert full.get("position") == ["Member of Parliament"]
    voting = entity(store, interest_entity_id(DATASET, "b317970cb37c", 1))
    assert voting.get("interestType") == ["votingRights"]
    assert voting.get("role") == ["Voting rights"]
    assert (voting.get("shareMinimum"), voting.get("shareMaximum")) == (["25"], ["50"])
    # A known person who is not a PEP gets no topic.
    ingest(store, examples / "bods-package.json")
    assert entity(store, rid("10478c6cf6de")).get("topics") == []


def test_nomination_arrangement_board_and_roles(store: EvidenceStore, shared: Path) -> None:
    ingest(store, shared / "standards/bods/examples/nomination.json")
    arrangement = entity(store, rid("103AB1984D"))
    assert arrangement.schema.name == "Organization"
    assert arrangement.get("classification") == ["nomination"]
    company = entity(store, rid("104AB1984C"))
    assert company.get("idNumber") == ["CPL211105123"]
    assert company.get("jurisdiction") == ["mx"]
    board = entity(store, interest_entity_id(DATASET, "107AC1984F", 0))
    assert board.schema.name == "Directorship"
    assert (board.get("director"), board.get("organization")) == ([rid("103AB1984D")], [rid("104AB1984C")])
    nominee = entity(store, interest_entity_id(DATASET, "106AB1984A", 0))
    assert nominee.schema.name == "UnknownLink"
    assert nominee.get("role") == ["Nominee"]
    control = entity(store, interest_entity_id(DATASET, "108AC1984E", 0))
    assert control.schema.name == "Ownership"
    assert control.get("interestType") == ["otherInfluenceOrControl"]


def test_unspecified_interested_party_becomes_a_note(store: EvidenceStore, shared: Path) -> None:
    ingest(store, shared / "standards/bods/examples/listed-company-exempt-from-disclosure.json")
    company = entity(store, rid("4c7ea3bfbe6c"))
    assert company.schema.name == "Company"
    (note,) = company.get("notes")
    assert note.startswith("Interested party unspecified (subjectExemptFromDisclosure)")
    assert store.scalar("SELECT count(*) FROM statements WHERE schema IN ('Ownership', 'UnknownLink')") == 0


def test_malformed_statement_is_quarantined_with_its_field(store: EvidenceStore) -> None:
    report = ingest(store, BODS / "malformed-statement.json")
    (file_report,) = report.files
    assert (file_report.rows_read, file_report.rows_loaded, file_report.rows_quarantined) == (4, 2, 2)
    problems = {p.line: p for p in file_report.problems}
    assert problems[2].field == "$.recordDetails.interests[0].share.exact"
    assert "statement 2 (recordId rel-bad-share)" in problems[2].error
    assert "160 is greater than the maximum of 100" in problems[2].error
    assert problems[4].field == "$.recordDetails.entityType"
    assert "'entityType' is a required property" in problems[4].error
    assert str(problems[2]).startswith("malformed-statement.json:2: $.recordDetails.interests[0].share.exact:")
    quarantined = store.fetchall("SELECT line, field FROM quarantine ORDER BY line")
    assert quarantined == [(2, "$.recordDetails.interests[0].share.exact"), (4, "$.recordDetails.entityType")]
    assert entity(store, rid("ent-tembo")).get("name") == ["Tembo Curios Ltd"]
    assert entity(store, rid("per-okello")).get("passportNumber") == ["AK0042917"]
    assert get_entity(store, interest_entity_id(DATASET, "rel-bad-share", 0)) is None
    assert get_entity(store, rid("ent-no-type")) is None


def test_json_lines_updates_merge_onto_one_entity(store: EvidenceStore) -> None:
    report = ingest(store, BODS / "updates.jsonl")
    (file_report,) = report.files
    assert (file_report.rows_read, file_report.rows_quarantined) == (9, 1)
    (problem,) = file_report.problems
    assert problem.line == 6 and "not valid JSON" in problem.error

    mamba = entity(store, rid("ent-mamba"))
    assert sorted(mamba.get("name")) == ["Mamba Freight Forwarders Ltd", "Mamba Logistics Ltd"]
    assert mamba.get("leiCode") == ["5493001KJTIIGC8Y1R12"]
    assert mamba.get("registrationNumber") == ["09876543"]
    assert mamba.get("dissolutionDate") == ["2024-02-01"]
    assert mamba.get("address") == ["Moi Avenue 12, Mombasa, 80100, Kenya"]
    assert mamba.get("publisher") == ["Kenya Beneficial Ownership Register"]
    origins = store.fetchall(
        "SELECT prop, origin FROM statements WHERE entity_id = ? AND prop = 'name' ORDER BY origin", [rid("ent-mamba")]
    )
    assert [origin for _, origin in origins] == ["updates.jsonl:1", "updates.jsonl:3"]
    (unspecified_note,) = [n for n in mamba.get("notes") if "interestedPartyHasNotProvidedInformation" in n]
    assert "Voting rights, share 40%" in unspecified_note

    assert entity(store, rid("ent-wildlife-service")).schema.name == "PublicBody"
    anonymous = entity(store, rid("per-anon"))
    assert anonymous.get("notes") == ["Details unspecified (interestedPartyExemptFromDisclosure): Protection order"]

    shares = entity(store, interest_entity_id(DATASET, "rel-range", 0))
    assert (shares.get("shareMinimum"), shares.get("shareMaximum")) == (["25"], ["50"])
    assert (shares.get("startDate"), shares.get("endDate")) == (["2019-01-01"], ["2024-01-31"])
    assert "share > 25% and <= 50%" in shares.first("summary")
    chair = entity(store, interest_entity_id(DATASET, "rel-range", 1))
    assert chair.schema.name == "Directorship" and chair.get("role") == ["Board chair"]
    profits = entity(store, interest_entity_id(DATASET, "rel-range", 2))
    assert profits.schema.name == "Ownership"
    assert profits.get("interestType") == ["rightsToProfitOrIncome"]
    assert (profits.get("shareMinimum"), profits.get("shareMaximum")) == (["10"], ["20"])
    trustee = entity(store, interest_entity_id(DATASET, "rel-state", 0))
    assert trustee.schema.name == "UnknownLink"
    assert trustee.get("description") == ["Holds shares on trust"]
    bare = entity(store, relationship_entity_id(DATASET, "rel-bare"))
    assert bare.schema.name == "UnknownLink" and bare.get("status") == ["closed"]
    assert bare.get("subject") == [rid("ent-wildlife-service")]


def test_ids_follow_the_identity_conventions() -> None:
    assert record_entity_id("registry", "ad3f6c2fcc9e") == dataset_key("registry", "bods", "ad3f6c2fcc9e")
    assert interest_entity_id("registry", "r1", 2) == dataset_key("registry", "bods-interest", "r1", 2)
    assert record_entity_id("other", "ad3f6c2fcc9e") != record_entity_id("registry", "ad3f6c2fcc9e")


@pytest.mark.parametrize(
    ("name", "message"),
    [("not-json.csv", "not BODS JSON"), ("truncated-array.json", "not valid JSON")],
)
def test_file_that_is_not_json_is_rejected(store: EvidenceStore, name: str, message: str) -> None:
    report = ingest(store, BODS / name)
    (file_report,) = report.files
    assert file_report.rejected is not None and message in file_report.rejected
    assert store.scalar("SELECT count(*) FROM statements") == 0
    assert store.scalar("SELECT count(*) FROM ingest_runs") == 0


def test_reingest_adds_no_statements(store: EvidenceStore, shared: Path) -> None:
    path = shared / "standards/bods/examples/nomination.json"
    first = ingest(store, path)
    again = ingest(store, path, force=True)
    assert first.statements_added > 0
    assert not again.files[0].skipped and again.statements_added == 0
    assert store.scalar("SELECT count(*) FROM statements") == first.statements_added


def test_cli_ingests_a_bods_package(tmp_path: Path, shared: Path) -> None:
    path = shared / "standards/bods/examples/indirect-ownership.json"
    home = tmp_path / "home"
    result = CliRunner().invoke(
        app,
        ["ingest", "bods", str(path), "-d", DATASET, "-m", "clear", "--home", str(home),
         "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
    )
    assert result.exit_code == 0, result.output
    assert "Ingest into registry" in result.output
    with EvidenceStore(home / "evidence.duckdb") as store:
        assert store.scalar("SELECT rows_read FROM ingest_runs") == 6
        assert entity(store, interest_entity_id(DATASET, "4cf2837bd01f", 0)).get("percentage") == ["60"]


def test_a_single_pretty_printed_statement_loads(store: EvidenceStore) -> None:
    report = ingest(store, BODS / "single-statement.json")
    assert (report.files[0].rows_read, report.files[0].rows_quarantined) == (1, 0)
    company = entity(store, rid("ent-kifaru"))
    assert (company.get("ticker"), company.get("isinCode")) == (["KIFR"], ["KE0000000999"])


def test_packaged_schema_is_the_published_one(shared: Path) -> None:
    published = shared / "standards/bods"
    packaged = Path(bods_schema.__file__).parent / "schemas" / "bods"
    names = sorted(p.relative_to(published / "schema") for p in (published / "schema").rglob("*") if p.is_file())
    assert len(names) >= 19
    for name in names:
        assert (packaged / name).read_bytes() == (published / "schema" / name).read_bytes(), name
    assert (packaged / "LICENSE-schema.txt").read_bytes() == (published / "LICENSE-schema.txt").read_bytes()


def test_a_value_ftm_refuses_is_quarantined_and_the_entity_loads(store: EvidenceStore, tmp_path: Path) -> None:
    """BODS accepts any identifier string; FtM's leiCode checks the LEI shape. The refused
    value is quarantined with its field, the rest of the entity loads."""
    statement = {
        "statementId": "5b1c0e8a-0000-4000-8000-000000000001", "declarationSubject": "lei-test",
        "statementDate": "2024-01-02",
        "publicationDetails": {"publicationDate": "2024-01-02", "bodsVersion": "0.4", "publisher": {"name": "T"}},
        "recordId": "lei-test", "recordStatus": "new", "recordType": "entity",
        "recordDetails": {
            "isComponent": False, "entityType": {"type": "registeredEntity"}, "name": "Sunrise Trading Limited",
            "identifiers": [{"scheme": "XI-LEI", "id": "NOT-AN-LEI"}, {"scheme": "GB-COH", "id": "01234567"}],
        },
    }
    assert check_statement(statement) is None
    path = tmp_path / "lei.jsonl"
    path.write_text(json.dumps(statement) + "\n", "utf-8")
    report = run_ingest(store, BodsReader(), [path], "registry", labels=["lei.jsonl"])
    (f,) = report.files
    assert (f.rows_read, f.rows_quarantined, f.problem_count) == (1, 0, 1)
    assert store.fetchall("SELECT line, field, error FROM quarantine") == [
        (1, "Company.leiCode", "invalid lei value 'NOT-AN-LEI'")
    ]
    company = get_entity(store, dataset_key("registry", "bods", "lei-test"), ["registry"])
    assert company is not None
    assert company.get("registrationNumber") == ["01234567"]
    assert company.get("leiCode") == []
