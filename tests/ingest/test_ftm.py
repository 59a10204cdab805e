import json
from pathlib import Path

import pytest
from followthemoney.exc import InvalidData
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.ingest.base import IngestError, run_ingest
from chainlight.ingest.ftm import FtmReader
from chainlight.model.statements import statement_id
from chainlight.store.entities import get_entity, iter_entities
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

NETWORK = FIXTURES / "ftm" / "network.jsonl"
MALFORMED = FIXTURES / "malformed" / "entities.jsonl"


def test_entities_become_statements_with_provenance(store: EvidenceStore) -> None:
    report = run_ingest(store, FtmReader(), [NETWORK], "ngo", labels=["network.jsonl"])
    (file_report,) = report.files
    assert (file_report.rows_read, file_report.rows_loaded, file_report.rows_quarantined) == (5, 5, 0)
    rows = store.fetchall(
        "SELECT prop, value, origin, prop_type FROM statements WHERE entity_id = 'p-hung' ORDER BY prop"
    )
    assert [(p, v) for p, v, _, _ in rows] == [
        ("birthDate", "1971-05-02"), ("id", "p-hung"), ("name", "Nguyễn Văn Hùng"), ("nationality", "vn")
    ]
    assert {origin for _, _, origin, _ in rows} == {"network.jsonl:1"}
    assert dict((p, t) for p, _, _, t in rows)["birthDate"] == "date"
    # statement ids are FtM's own keys
    from followthemoney.statement import Statement

    expected = Statement.make_key("ngo", "p-hung", "name", "Nguyễn Văn Hùng", False)
    assert statement_id("ngo", "p-hung", "name", "Nguyễn Văn Hùng") == expected
    assert store.scalar("SELECT count(*) FROM statements WHERE id = ?", [expected]) == 1


def test_reingest_adds_nothing(store: EvidenceStore, tmp_path: Path) -> None:
    first = run_ingest(store, FtmReader(), [NETWORK], "ngo")
    again = run_ingest(store, FtmReader(), [NETWORK], "ngo")
    assert first.statements_added > 0
    assert again.files[0].skipped and again.statements_added == 0
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(NETWORK.read_bytes() + b"\n")  # same entities, different file
    forced = run_ingest(store, FtmReader(), [copy], "ngo")
    assert not forced.files[0].skipped and forced.statements_added == 0
    assert store.scalar("SELECT count(*) FROM statements") == first.statements_added


def test_same_entity_in_two_datasets_keeps_both_sources(store: EvidenceStore) -> None:
    run_ingest(store, FtmReader(), [NETWORK], "ngo")
    run_ingest(store, FtmReader(), [NETWORK], "customs")
    assert store.scalar("SELECT count(DISTINCT dataset) FROM statements WHERE entity_id = 'c-sunrise'") == 2
    only_customs = get_entity(store, "c-sunrise", ["customs"])
    assert only_customs is not None and only_customs.get("name") == ["Sunrise Trading Co., Ltd"]
    assert get_entity(store, "c-sunrise", ["nobody"]) is None


def test_malformed_lines_are_quarantined_and_valid_ones_load(store: EvidenceStore) -> None:
    report = run_ingest(store, FtmReader(), [MALFORMED], "bad", labels=["entities.jsonl"])
    f = report.files[0]
    assert f.rows_read == 10
    messages = {(p.line, p.field): p.error for p in f.problems}
    assert "invalid date" in messages[(2, "birthDate")]
    assert "unknown schema 'Dragon'" in messages[(3, "schema")]
    assert "abstract" in messages[(4, "schema")]
    assert messages[(5, None)] == "expected a JSON object"
    assert messages[(6, "id")] == "entity has no id"
    assert messages[(7, None)].startswith("not valid JSON")
    assert "reverse property" in messages[(8, "ownershipOwner")]
    assert messages[(9, "properties")] == "properties must be an object"
    assert "not a string" in messages[(10, "name")]
    loaded = sorted(r[0] for r in store.fetchall("SELECT DISTINCT entity_id FROM statements"))
    assert loaded == ["x1", "x2", "x6", "x8"]  # x2 without its bad date; x6/x8 without bad values
    assert store.scalar("SELECT count(*) FROM statements WHERE entity_id = 'x2' AND prop = 'birthDate'") == 0
    quarantined = store.fetchall("SELECT line, field, raw FROM quarantine WHERE dataset = 'bad' ORDER BY line")
    assert len(quarantined) == f.problem_count == 9
    assert quarantined[0][2].startswith('{"id": "x2"')


def test_binary_garbage_is_quarantined_not_crashing(store: EvidenceStore) -> None:
    report = run_ingest(store, FtmReader(), [FIXTURES / "malformed" / "binary.jsonl"], "bad")
    assert report.files[0].rows_quarantined == 1
    assert store.scalar("SELECT count(*) FROM statements") == 0


def test_missing_file_is_a_clear_error(store: EvidenceStore, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        run_ingest(store, FtmReader(), [tmp_path / "nope.jsonl"], "x")


def test_export_round_trips_through_followthemoney(tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path / "h"), "--database-url", f"sqlite:///{tmp_path / 'ops.db'}"]
    result = runner.invoke(app, ["ingest", "ftm", str(NETWORK), "-d", "ngo", "-m", "amber", *home])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "ftm", *home])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5
    from followthemoney import model

    proxies = {d["id"]: model.get_proxy(d) for d in lines}
    assert proxies["own-1"].get("shareMinimum") == ["50"]
    assert proxies["bl-1"].get("portOfLoading") == ["port-kemba"]
    # and it reads back in: same statements in a second dataset
    exported = tmp_path / "export.jsonl"
    exported.write_text(result.stdout)
    with EvidenceStore(tmp_path / "other.duckdb") as other:
        run_ingest(other, __import__("chainlight.ingest.ftm", fromlist=["FtmReader"]).FtmReader(), [exported], "ngo")
        original = {p.id: p.to_dict() for p in iter_entities(other)}
    assert {k: v["properties"] for k, v in original.items()} == {d["id"]: d["properties"] for d in lines}


MESSY_LINES = [
    {"id": "p1", "schema": "Person", "properties": {
        "name": ["  John   Smith ", "'Quoted Name'", "John Smith", "Jane\tDoe", "Ok Name", ""],
        "birthDate": ["1990", "2021-02-03T10:00:00", "31/12/1990", "1990-02-30", "1990-05", 1991],
        "nationality": ["Kenya", "KE", "ke", "Atlantis", " vn "],
        "passportNumber": [" A123 ", 123456, 1.5e20],
        "address": ["1 Road;; Town", "Main St, , Nairobi", "Plain Street 4"],
        "gender": ["Male", "f", "x"],
        "email": ["A@Example.org", "not an email"],
        "topics": ["sanction", "bogus"]}},
    {"id": " c1 ", "schema": "Company", "properties": {
        "name": "Acme  Ltd", "jurisdiction": ["Hong Kong", "hk"], "incorporationDate": ["2001-1-5"],
        "registrationNumber": ["  0042  "], "leiCode": ["5493001KJTIIGC8Y1R12", "nope"],
        "notes": ["  free\ttext "], "sourceUrl": ["example.org/x", "https://ok.example.org/"]}},
    {"id": "o1", "schema": "Ownership", "properties": {
        "owner": ["p1", "o1", "bad id!", "p1"], "asset": ["c1"], "percentage": ["1,000.5", "50"],
        "startDate": ["2020-13-01", "2020-12"]}},
    {"id": "o2", "schema": "Ownership", "properties": {"owner": [], "asset": None, "role": [True, "director"]}},
]


def _reference_statements(path: Path, dataset: str, label: str) -> set[tuple[str, ...]]:
    """Statements as the original proxy-per-line reader produced them (FtM cleans every value)."""
    from chainlight.model.ftm import model
    from chainlight.model.statements import entity_statements

    out: set[tuple[str, ...]] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        data = json.loads(line)
        proxy = model.make_entity(data["schema"])
        proxy.id = data["id"].strip()
        for name, values in data["properties"].items():
            prop = proxy.schema.get(name)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    try:
                        proxy.unsafe_add(prop, str(value))
                    except InvalidData:
                        continue
        for st in entity_statements(proxy, dataset, f"{label}:{number}"):
            out.add((st.id, st.entity_id, st.schema, st.prop, st.prop_type, st.value, st.origin))
    return out


def test_messy_values_are_cleaned_exactly_as_followthemoney_cleans_them(
    store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "messy.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in MESSY_LINES))
    report = run_ingest(store, FtmReader(), [path], "m", labels=["messy.jsonl"])
    rows = store.fetchall("SELECT id, entity_id, schema, prop, prop_type, value, origin FROM statements")
    assert set(rows) == _reference_statements(path, "m", "messy.jsonl")
    assert len(rows) == len(set(rows))
    values = {(e, p, v) for _, e, _, p, _, v, _ in rows}
    assert ("p1", "birthDate", "2021-02-03T10:00:00") in values
    assert ("p1", "nationality", "ke") in values and ("c1", "jurisdiction", "hk") in values
    assert ("p1", "name", "John Smith") in values and ("c1", "name", "Acme Ltd") in values
    # cleaned values keep what the file said; unchanged ones do not repeat it
    originals = dict(store.fetchall(
        "SELECT value, original_value FROM statements WHERE entity_id = 'p1' AND prop = 'nationality'"
    ))
    assert originals == {"ke": "Kenya", "vn": " vn "}
    problems = {(p.line, p.field, p.error) for p in report.files[0].problems}
    assert (1, "nationality", "invalid country value 'Atlantis'") in problems
    assert (1, "birthDate", "invalid date value '31/12/1990'") in problems
    assert any(line == 3 and field == "owner" and "Self-relationship" in error for line, field, error in problems)
    assert (4, "role", "value True is not a string") in problems
    assert report.files[0].rows_quarantined == 0
    listed = [p.line or 0 for p in report.files[0].problems]
    assert listed == sorted(listed)


def test_problems_are_counted_and_listed_in_line_order_across_chunks(
    store: EvidenceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chainlight.ingest.ftm.CHUNK_BYTES", 64)
    path = tmp_path / "many.jsonl"
    lines = []
    for i in range(30):
        lines.append(json.dumps({"id": f"e{i}", "schema": "Person", "properties": {"birthDate": ["nope"]}}))
        lines.append("not json")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    report = run_ingest(store, FtmReader(), [path], "many")
    f = report.files[0]
    assert (f.rows_read, f.rows_quarantined, f.problem_count) == (60, 30, 60)
    assert [p.line for p in f.problems] == [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20, 22, 23, 25, 26, 28, 29]
    assert store.scalar("SELECT count(*) FROM quarantine WHERE dataset = 'many'") == 60
    assert store.scalar("SELECT count(DISTINCT entity_id) FROM statements") == 30
    assert store.scalar("SELECT max(origin) FROM statements WHERE entity_id = 'e29'").endswith(":88")


def test_an_entity_repeated_in_one_file_is_stored_once_with_its_first_origin(
    store: EvidenceStore, tmp_path: Path
) -> None:
    path = tmp_path / "repeated.jsonl"
    line = '{"id": "p1", "schema": "Person", "properties": {"name": ["Amina Said"]}}\n'
    path.write_text(line + '{"id": "p2", "schema": "Person", "properties": {"name": ["Other"]}}\n' + line)
    report = run_ingest(store, FtmReader(), [path], "ngo", labels=["repeated.jsonl"])
    assert report.statements_added == 4
    rows = store.fetchall("SELECT prop, origin FROM statements WHERE entity_id = 'p1' ORDER BY prop")
    assert rows == [("id", "repeated.jsonl:1"), ("name", "repeated.jsonl:1")]


def _ingest_snapshot(path: Path, db: Path) -> tuple[object, ...]:
    """Everything an ftm ingest leaves behind that a user could see."""
    with EvidenceStore(db) as other:
        report = run_ingest(other, FtmReader(), [path], "par", labels=["in.jsonl"])
        statements = other.fetchall(
            "SELECT id, entity_id, schema, prop, prop_type, value, original_value, origin FROM statements "
            "ORDER BY entity_id, prop, value"
        )
        quarantine = other.fetchall("SELECT line, field, error, raw FROM quarantine ORDER BY rowid")
    f = report.files[0]
    counters = (f.rows_read, f.rows_loaded, f.rows_quarantined, f.problem_count, report.statements_added)
    return statements, quarantine, counters, [(p.line, p.field, p.error, p.raw) for p in f.problems]


def _generated_file(path: Path) -> None:
    rng = __import__("random").Random(7)
    lines: list[str] = []
    for i in range(3000):
        kind = i % 97
        if kind == 13:
            lines.append("not json at all")
        elif kind == 29:
            lines.append("")
        elif kind == 41:
            lines.append(json.dumps({"id": f"d{i}", "schema": "Dragon", "properties": {}}))
        else:
            props: dict[str, object] = {
                "name": [f"Person {i}", f"  Alias  {rng.randint(0, 50)} "],
                "birthDate": [rng.choice(["1970-01-02", "1980", "31/12/1990", "1990-02-30"])],
                "nationality": [rng.choice(["vn", "Kenya", "Atlantis", "KE"])],
            }
            if kind == 57:
                props["ownershipOwner"] = ["x"]
            lines.append(json.dumps({"id": f"p{i % 2500}", "schema": "Person", "properties": props}))
    path.write_text("\n".join(lines) + "\n\n")


@pytest.mark.parametrize(
    ("source", "chunk_bytes"), [("malformed", 1), ("malformed", 200), ("generated", 4096), ("generated", 50_000)]
)
def test_parallel_read_matches_the_single_process_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int, source: str
) -> None:
    path = MALFORMED
    if source == "generated":
        path = tmp_path / "gen.jsonl"
        _generated_file(path)
    monkeypatch.setattr("chainlight.ingest.ftm.PARALLEL_MIN_BYTES", 1 << 40)
    sequential = _ingest_snapshot(path, tmp_path / "seq.duckdb")
    monkeypatch.setattr("chainlight.ingest.ftm.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("chainlight.ingest.ftm.PARALLEL_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr("chainlight.ingest.ftm.os.cpu_count", lambda: 2)
    parallel = _ingest_snapshot(path, tmp_path / "par.duckdb")
    assert parallel == sequential
    statements, quarantine, counters, problems = sequential
    assert len(statements) > 0 and len(quarantine) > 0 and len(problems) > 0
    if source == "generated":
        assert counters[0] == 3000 - 31  # blank lines are not rows
        assert max(int(str(row[7]).rsplit(":", 1)[1]) for row in statements) == 3000


def test_a_failing_worker_surfaces_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gen.jsonl"
    _generated_file(path)
    monkeypatch.setattr("chainlight.ingest.ftm.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("chainlight.ingest.ftm.PARALLEL_CHUNK_BYTES", 4096)
    monkeypatch.setattr("chainlight.ingest.ftm.os.cpu_count", lambda: 2)

    def explode(self: FtmReader, chunk: object, number: int, raw: bytes) -> None:
        raise RuntimeError(f"worker broke on line {number}")

    monkeypatch.setattr(FtmReader, "_read_line", explode)
    with EvidenceStore(tmp_path / "s.duckdb") as other, pytest.raises(Exception, match="worker broke on line 1"):
        run_ingest(other, FtmReader(), [path], "par")
