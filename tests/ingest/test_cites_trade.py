from pathlib import Path

from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.ingest.base import run_ingest
from chainlight.ingest.cites_trade import CitesTradeReader
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

CITES = FIXTURES / "cites"
SHIPMENTS_1 = CITES / "shipments-1.csv"
SHIPMENTS_2 = CITES / "shipments-2.csv"
COMPARATIVE = CITES / "comparative.csv"
WRONG = CITES / "wrong-header.csv"


def _ingest(store: EvidenceStore, *paths: Path):  # type: ignore[no-untyped-def]
    return run_ingest(store, CitesTradeReader(), list(paths), "cites", labels=[p.name for p in paths])


def test_shipment_rows_load_typed_with_codes_normalised_and_permits_kept(store: EvidenceStore) -> None:
    report = _ingest(store, SHIPMENTS_1)
    (f,) = report.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.records_added) == (9, 5, 4, 5)
    assert f.statements_added == 0
    rows = store.fetchall(
        "SELECT record_id, year, appendix, taxon, term, quantity, unit, importer, exporter, origin_country, "
        "purpose, source, reporter_type, import_permit_id, export_permit_id, origin_permit_id, origin "
        "FROM cites_trade WHERE dataset = 'cites' ORDER BY record_id"
    )
    assert rows == [
        ("9283011", 2016, "I", "Loxodonta africana", "TUS", 2.0, None, "US", "ZA", None, "H", "W", "I",
         "c8a3f1d2e4", "5b7e90aa1f", None, "shipments-1.csv:2"),
        ("9283012", 2016, "II", "Manis spp.", "SCA", 120.0, "KIL", "CN", "NG", "CM", "T", "W", "E",
         None, "0d4e6b2c19", "7f1a2b3c4d", "shipments-1.csv:3"),
        ("9283013", 2017, "II", "Python reticulatus", "SKI", 350.0, None, "SG", "ID", None, "T", "C", "E",
         None, "a19b3c5d7e", None, "shipments-1.csv:4"),
        ("9283017", 2018, "II", "Panthera leo", "BON", 240.0, "KIL", "VN", "ZA", None, "T", "C", "E",
         None, "4455667788", None, "shipments-1.csv:8"),
        ("9283019", 2019, "II", "Dalbergia cochinchinensis", "TIM", 3.5, "CUM", "CN", "LA", None, "T", "W", "I",
         "eeff001122", None, None, "shipments-1.csv:10"),
    ]
    assert store.fetchall(
        'SELECT class, "order", family, genus FROM cites_trade WHERE record_id = \'9283012\''
    ) == [("Mammalia", "Pholidota", "Manidae", "Manis")]


def test_bad_rows_are_quarantined_with_line_and_first_failing_field(store: EvidenceStore) -> None:
    report = _ingest(store, SHIPMENTS_1)
    quarantined = store.fetchall(
        "SELECT path, line, field, error FROM quarantine WHERE dataset = 'cites' ORDER BY line"
    )
    assert quarantined == [
        ("shipments-1.csv", 5, "Source", "unknown source code Q"),
        ("shipments-1.csv", 6, "Quantity", "quantity is not a number >= 0: many"),
        ("shipments-1.csv", 7, None, "malformed CSV line: Expected Number of Columns: 20 Found: 21"),
        ("shipments-1.csv", 9, "Exporter", "unknown exporter country code QQ"),
    ]
    raw = store.scalar("SELECT raw FROM quarantine WHERE line = 6")
    assert '"Quantity":"many"' in raw and '"Id":"9283015"' in raw
    assert store.scalar("SELECT raw FROM quarantine WHERE line = 7").startswith("9283016,2018,II,Panthera leo")
    problems = [str(p) for p in report.files[0].problems]
    assert "shipments-1.csv:6: Quantity: quantity is not a number >= 0: many" in problems


def test_reingest_adds_nothing(store: EvidenceStore) -> None:
    _ingest(store, SHIPMENTS_1, SHIPMENTS_2)
    again = run_ingest(store, CitesTradeReader(), [SHIPMENTS_1, SHIPMENTS_2], "cites",
                       labels=["shipments-1.csv", "shipments-2.csv"], force=True)
    assert again.records_added == 0
    assert store.scalar("SELECT count(*) FROM cites_trade WHERE dataset = 'cites'") == 7
    skipped = _ingest(store, SHIPMENTS_1)
    assert skipped.files[0].skipped and skipped.records_added == 0


def test_several_files_at_once_keep_their_own_lines(store: EvidenceStore) -> None:
    report = _ingest(store, SHIPMENTS_1, SHIPMENTS_2)
    assert [f.records_added for f in report.files] == [5, 2]
    assert [f.rows_quarantined for f in report.files] == [4, 1]
    assert store.fetchall("SELECT record_id, origin, exporter FROM cites_trade WHERE record_id >= '9283020'"
                          " ORDER BY 1") == [
        ("9283020", "shipments-2.csv:2", "XX"),  # CITES pseudo-code for unknown
        ("9283021", "shipments-2.csv:3", "ZR"),  # former code of DR Congo
    ]
    assert store.fetchall("SELECT path, line, field FROM quarantine WHERE path = 'shipments-2.csv'") == [
        ("shipments-2.csv", 4, "Quantity")
    ]


def test_duplicate_id_in_a_file_keeps_the_first(store: EvidenceStore, tmp_path: Path) -> None:
    lines = SHIPMENTS_2.read_text().splitlines()
    path = tmp_path / "dupes.csv"
    path.write_text("\n".join([*lines[:3], lines[1].replace(",55.5,", ",60,")]) + "\n")
    report = _ingest(store, path)
    assert report.records_added == 2
    assert store.scalar("SELECT quantity FROM cites_trade WHERE record_id = '9283020'") == 55.5
    assert store.fetchall("SELECT line, field, error FROM quarantine") == [
        (4, "Id", "duplicate Id 9283020 (first on line 2)")
    ]


def test_comparative_tabulation_keeps_identical_aggregates(store: EvidenceStore) -> None:
    report = _ingest(store, COMPARATIVE)
    (f,) = report.files
    assert (f.rows_read, f.records_added, f.rows_quarantined) == (6, 4, 2)
    rows = store.fetchall(
        "SELECT year, appendix, taxon, importer, exporter, origin_country, importer_quantity, exporter_quantity,"
        " term, unit, purpose, source, origin FROM cites_comparative ORDER BY origin"
    )
    assert rows == [
        (2016, "I", "Loxodonta africana", "US", "ZA", None, 2.0, 4.0, "TUS", None, "H", "W", "comparative.csv:2"),
        (2016, "II", "Manis spp.", "CN", "NG", "CM", 120.0, None, "SCA", "KIL", "T", "W", "comparative.csv:3"),
        (2016, "II", "Manis spp.", "CN", "NG", "CM", 120.0, None, "SCA", "KIL", "T", "W", "comparative.csv:4"),
        (2017, "II", "Python reticulatus", "SG", "ID", None, None, 350.0, "SKI", None, "T", "C", "comparative.csv:5"),
    ]
    ids = [r[0] for r in store.fetchall("SELECT record_id FROM cites_comparative ORDER BY origin")]
    assert ids[1].split("-")[0] == ids[2].split("-")[0] and ids[1] != ids[2]
    assert store.fetchall("SELECT line, field FROM quarantine ORDER BY line") == [
        (6, "Importer reported quantity"), (7, "App.")
    ]
    again = run_ingest(store, CitesTradeReader(), [COMPARATIVE], "cites", labels=["comparative.csv"], force=True)
    assert again.records_added == 0
    assert store.fetchall("SELECT record_id FROM cites_comparative ORDER BY origin") == [(i,) for i in ids]


def test_wrong_header_rejects_the_file_and_names_both_layouts(store: EvidenceStore) -> None:
    report = _ingest(store, WRONG, SHIPMENTS_2)
    wrong, good = report.files
    assert wrong.rejected is not None
    assert "Id,Year,Appendix" in wrong.rejected and "Importer reported quantity" in wrong.rejected
    assert good.records_added == 2
    assert store.scalar("SELECT count(*) FROM cites_trade") == 2
    assert store.fetchall("SELECT path, line FROM quarantine WHERE path = 'wrong-header.csv'") == [
        ("wrong-header.csv", 1)
    ]


def test_cli_ingests_two_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(app, [
        "ingest", "cites-trade", str(SHIPMENTS_1), str(SHIPMENTS_2), "-d", "cites", "-m", "clear",
        "--home", str(home), "--database-url", f"sqlite:///{tmp_path / 'x.db'}",
    ])
    assert result.exit_code == 0, result.output
    assert "quarantined" in result.output
    with EvidenceStore(home / "evidence.duckdb", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM cites_trade WHERE dataset = 'cites'") == 7
        assert store.scalar("SELECT count(*) FROM quarantine WHERE dataset = 'cites'") == 5
