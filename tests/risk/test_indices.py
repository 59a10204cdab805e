"""Country indices a user loads: names and codes normalised, bad rows quarantined with file,
line and field, re-loads replacing values atomically, need-to-know on every read."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainlight.ingest.base import IngestError, IngestReport
from chainlight.model.markings import DatasetAccess, Marking
from chainlight.pipeline import open_operational
from chainlight.risk import indices
from chainlight.risk.indices import Columns, IndexLoadError, IndexSpec
from chainlight.rules.alerts import Reader
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "risk"

CPI = IndexSpec("cpi", "ti-cpi", "TI Corruption Perceptions Index", 0, 100, False, "TI CPI 2024", "CC BY-ND 4.0")
AML = IndexSpec("basel-aml", "basel", "Basel AML Index", 0, 10, True, "Basel AML Index 2024", "own copy")


def _reader(settings: Settings, organisation: str) -> Reader:
    operational = open_operational(settings)
    try:
        return Reader.of(operational.dataset_access(), organisation)
    finally:
        operational.dispose()


def _load_cpi(settings: Settings, **kwargs: object) -> IngestReport:
    return indices.load_index(settings, FIXTURES / "cpi.csv", CPI, marking=Marking.CLEAR, owner="ti",
                              label="cpi.csv", **kwargs)  # type: ignore[arg-type]


def test_load_normalises_countries_and_quarantines_bad_rows_with_line_and_field(settings: Settings) -> None:
    report = _load_cpi(settings)
    file = report.files[0]
    assert (file.rows_read, file.rows_quarantined, file.records_added) == (10, 4, 6)
    problems = {(p.line, p.field): p.error for p in file.problems}
    assert problems[(7, "country")] == "unknown country 'Atlantis'"
    assert problems[(8, "score")] == "not a number: '1O'"
    assert problems[(9, "score")] == "121 is outside the declared range 0..100"
    assert problems[(10, "country")] == "a second value for dk in 2024 (first on line 2)"
    assert str(file.problems[0]).startswith("cpi.csv:7: country: unknown country")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        quarantined = store.fetchall("SELECT path, line, field FROM quarantine WHERE dataset = 'ti-cpi' ORDER BY line")
        values = dict(((c, y), v) for c, y, v in store.fetchall(
            "SELECT country, year, value FROM risk_index_values WHERE index = 'cpi'"))
    assert quarantined == [("cpi.csv", 7, "country"), ("cpi.csv", 8, "score"), ("cpi.csv", 9, "score"),
                           ("cpi.csv", 10, "country")]
    assert values == {("dk", 2024): 90, ("de", 2024): 75, ("de", 2023): 78, ("br", 2024): 34, ("ng", 2024): 26,
                      ("vn", 2024): 40}


def test_the_dataset_is_registered_with_owner_and_marking(settings: Settings) -> None:
    _load_cpi(settings)
    operational = open_operational(settings)
    try:
        access = {a.name: a for a in operational.dataset_access()}
    finally:
        operational.dispose()
    assert access["ti-cpi"] == DatasetAccess("ti-cpi", "ti", Marking.CLEAR, frozenset())


def test_riskiness_follows_the_declared_range_and_direction_and_the_latest_year(settings: Settings) -> None:
    _load_cpi(settings)
    indices.load_index(settings, FIXTURES / "aml.csv", AML, marking=Marking.GREEN, owner="basel",
                       columns=Columns(country="iso2", value="aml_score", fixed_year=2024))
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        risk = indices.risk_values(store, _reader(settings, "anyone"))
    assert sorted(risk) == ["br", "de", "dk", "ng", "vn"]
    germany = risk["de"].get("cpi")
    assert germany is not None and (germany.year, germany.value) == (2024, 75)
    assert germany.riskiness == pytest.approx(0.25)  # higher is better: 75 of 100 -> 0.25 risky
    nigeria = risk["ng"]
    assert [v.index for v in nigeria.values] == ["basel-aml", "cpi"]
    assert nigeria.get("basel-aml").riskiness == pytest.approx(0.72)  # type: ignore[union-attr]  # 7,2 (comma)
    assert nigeria.value == pytest.approx((0.72 + 0.74) / 2)
    assert nigeria.datasets == ["basel", "ti-cpi"]
    assert risk["de"].get("basel-aml") is None


def test_reload_replaces_the_values_and_a_file_without_valid_rows_changes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    _load_cpi(settings)
    newer = tmp_path / "cpi-2025.csv"
    newer.write_text("Country,Score,Year\nDenmark,91,2025\n", encoding="utf-8")
    indices.load_index(settings, newer, CPI, marking=Marking.CLEAR, owner="ti")  # columns matched case-insensitively
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        assert store.fetchall("SELECT country, year, value FROM risk_index_values") == [("dk", 2025, 91.0)]
    broken = tmp_path / "broken.csv"
    broken.write_text("country,score,year\nDenmark,101,2025\nNowhere,5,2025\n", encoding="utf-8")
    report = indices.load_index(settings, broken, CPI, marking=Marking.CLEAR, owner="ti", label="broken.csv")
    assert report.files[0].rejected == (
        "no valid values (first problem: broken.csv:2: score: 101 is outside the declared range 0..100)"
    )
    # Loading the first file again is not skipped as "already ingested": it replaces 2025 again.
    _load_cpi(settings)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM risk_index_values") == 6
        assert store.scalar("SELECT count(*) FROM risk_index_specs") == 1


def test_missing_columns_and_bad_declarations_are_errors(settings: Settings, tmp_path: Path) -> None:
    crime = IndexSpec("crime", "gitoc", "Criminality", 1, 10, True)
    report = indices.load_index(settings, FIXTURES / "crime.csv", crime, marking=Marking.CLEAR, owner="gitoc",
                                label="crime.csv")
    assert report.files[0].rejected == (
        "no column 'score' (set --value-column); the columns are: country, criminality"
    )
    with pytest.raises(IndexLoadError, match=r"invalid index name 'ti\.cpi'"):
        IndexSpec("ti.cpi", "ti", "CPI", 0, 100, False)
    with pytest.raises(IndexLoadError, match="--min must be below --max"):
        IndexSpec("cpi", "ti", "CPI", 100, 0, False)
    with pytest.raises(IngestError, match="no such file"):
        indices.load_index(settings, tmp_path / "absent.csv", CPI, marking=Marking.CLEAR, owner="ti")


def test_a_red_index_of_another_organisation_is_neither_listed_nor_used(settings: Settings) -> None:
    _load_cpi(settings)
    secret = IndexSpec("watch", "fiu-watch", "FIU watch score", 1, 10, True, "internal", "internal")
    indices.load_index(settings, FIXTURES / "crime.csv", secret, marking=Marking.RED, owner="fiu",
                       columns=Columns(value="criminality", fixed_year=2024))
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        ngo = _reader(settings, "ngo")
        fiu = _reader(settings, "fiu")
        assert [x.spec.index for x in indices.list_indices(store, ngo)] == ["cpi"]
        assert [(x.spec.index, x.marking) for x in indices.list_indices(store, fiu)] == [
            ("cpi", Marking.CLEAR), ("watch", Marking.RED)]
        listed = indices.list_indices(store, fiu)[1]
        assert (listed.countries, listed.years) == (3, (2024,))
        assert [v.index for v in indices.risk_values(store, ngo)["ng"].values] == ["cpi"]
        assert [v.index for v in indices.risk_values(store, fiu)["ng"].values] == ["cpi", "watch"]
        assert indices.risk_values(store, fiu)["ng"].get("watch").riskiness == pytest.approx(0.7)  # type: ignore[union-attr]


def test_an_empty_store_has_no_indices(store: EvidenceStore) -> None:
    reader = Reader("ngo", {})
    assert indices.risk_values(store, reader) == {} and indices.list_indices(store, reader) == []


@pytest.mark.parametrize(("raw", "code"), [
    ("DE", "de"), ("deu", "de"), ("Germany", "de"), ("Côte d'Ivoire", "ci"), ("Congo, Dem. Rep.", "cd"),
    ("Korea, Dem. People\u2019s Rep.", "kp"), ("  Lao   PDR ", "la"), ("Kosovo", "xk"), ("Atlantis", None), ("", None),
])
def test_countries_by_code_or_name(raw: str, code: str | None) -> None:
    assert indices.clean_country(raw) == code


def test_a_fixed_year_must_be_a_year() -> None:
    with pytest.raises(IndexLoadError, match="--year 24: expected a year"):
        Columns(fixed_year=24)


def test_remove_an_index(settings: Settings) -> None:
    _load_cpi(settings)
    with pytest.raises(IndexLoadError, match="no index 'cpi' loaded in dataset 'other'"):
        indices.remove_index(settings, "cpi", "other")
    assert indices.remove_index(settings, "cpi") == 6
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        assert indices.list_indices(store, _reader(settings, "ti")) == []
        assert store.scalar("SELECT count(*) FROM risk_index_values") == 0
    with pytest.raises(IndexLoadError, match="no index 'cpi' loaded"):
        indices.remove_index(settings, "cpi")
