"""Port scores: deterministic, explained to the point, need-to-know, and moved by weights."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.risk.model import RiskModel
from chainlight.risk.scoring import RiskError, Scorecard, score_ports, shared_band
from chainlight.rules.alerts import Reader
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.support.risk_world import build_risk_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("risk")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    return build_risk_world(settings, tmp)


@contextmanager
def session(settings: Settings, organisation: str) -> Iterator[tuple[EvidenceStore, Reader]]:
    with pipeline.alerts_session(settings, organisation) as (store, _operational, reader):
        yield store, reader


def card_for(settings: Settings, organisation: str = "local", model: RiskModel | None = None) -> Scorecard:
    with session(settings, organisation) as (store, reader):
        return score_ports(store, reader, model)


def card_for_without_secret(settings: Settings) -> Scorecard:
    """The local reader's card computed with the RED dataset dropped from the view explicitly."""
    with session(settings, "local") as (store, reader):
        trimmed = Reader(reader.organisation, {k: v for k, v in reader.access.items() if k != "fiu-incidents"})
        return score_ports(store, trimmed)


def test_every_port_of_the_world_port_index_is_scored(world: Settings) -> None:
    card = card_for(world)
    seaports = [p for p in card.ports if p.kind == "seaport"]
    assert len(seaports) == 3803
    assert card.port("NBO") is not None  # an airport named by an incident joins them
    assert [p.rank for p in card.ports] == list(range(1, len(card.ports) + 1))
    residuals = [p.residual for p in card.ports]
    assert residuals == sorted(residuals, reverse=True)


def test_contributions_sum_to_the_score_for_every_port(world: Settings) -> None:
    card = card_for(world)
    for port in card.ports:
        contributions = port.contributions
        assert math.isclose(sum(t.points for t in contributions), port.residual, abs_tol=1e-9), port.code
        likelihood_points = sum(t.points for t in contributions if t.group == "likelihood")
        assert math.isclose(likelihood_points, port.inherent, abs_tol=1e-9)
        assert math.isclose(sum(t.points for t in port.impact_terms), port.impact, abs_tol=1e-9)
        assert math.isclose(sum(t.points for t in port.control_terms), port.control_effectiveness, abs_tol=1e-9)
        present = [t.weight for t in contributions if t.group == "likelihood" and not t.missing]
        assert math.isclose(sum(present), 1.0, abs_tol=1e-9)  # missing factors' weight is shared out


def test_scoring_is_deterministic(world: Settings) -> None:
    first = card_for(world).as_dict()
    second = card_for(world).as_dict()
    assert first == second


def test_evidence_drives_the_ranking(world: Settings) -> None:
    card = card_for(world)
    kemba, tzdar, quiet = card.port("KEMBA"), card.port("TZDAR"), card.port("TZTGT")
    assert kemba is not None and tzdar is not None and quiet is not None
    assert kemba.rank < quiet.rank and tzdar.rank < quiet.rank
    terms = {t.factor: t for t in kemba.contributions}
    assert terms["incidents"].raw == "15-19"  # MACN's 15 reports, rounded to their band of k = 5
    assert terms["missed-seizures"].raw == 1  # the timber seized at Hai Phong left from Mombasa
    # 12 reports in the last 12 months (band 10-14, counted as 12) against 3 before, which are
    # under k and count as 2.5: (12 - 2.5) / max(14.5, 10)
    assert terms["incident-trend"].raw == pytest.approx(9.5 / 14.5)
    assert kemba.previous_residual is not None and kemba.trend == pytest.approx(
        kemba.residual - kemba.previous_residual)
    # Scanners in place and rotation partly (the 2024 assessment beats the 2021 one) cut the score.
    controls = {t.factor: t for t in kemba.control_terms}
    assert controls["container-scanners"].raw == "in-place"
    assert controls["staff-rotation"].raw == "partial"
    assert terms["container-scanners"].points < 0
    assert kemba.residual < kemba.inherent
    assert "country" in {m.split(".")[1] for m in kemba.missing}
    hubs = card.port("MYPKG")
    assert hubs is not None
    assert {t.factor: t for t in hubs.impact_terms}["trafficking-routes"].note == "known transit hub"


def test_a_red_dataset_moves_nothing_for_a_reader_who_may_not_see_it(world: Settings) -> None:
    local = card_for(world, "local")
    fiu = card_for(world, "fiu")
    assert "fiu-incidents" not in local.datasets
    assert all("fiu-incidents" not in p.datasets for p in local.ports)
    local_tz, fiu_tz = local.port("TZDAR"), fiu.port("TZDAR")
    assert local_tz is not None and fiu_tz is not None
    # The FIU counts its own 30 reports exactly; MACN's 4 are under k = 5 for both, so hidden.
    assert (local_tz.incidents_text, local_tz.incidents_hidden) == ("[c]", True)
    assert (fiu_tz.incidents_text, fiu_tz.incidents, fiu_tz.incidents_hidden) == ("30 + [c]", 31, True)
    assert {t.factor: t for t in fiu_tz.contributions}["incidents"].raw == "30 + [c]"
    assert fiu_tz.marking == "RED" and local_tz.marking == "GREEN"
    assert fiu_tz.residual > local_tz.residual
    # An airport only the RED dataset names is no port at all for others: no row, no rank shift.
    assert fiu.port("JRO") is not None and local.port("JRO") is None
    assert len(fiu.ports) == len(local.ports) + 1
    # Normalisation caps come from the reader's own view, so the RED counts cannot leak through them.
    assert local.caps == card_for_without_secret(world).caps
    assert fiu.marking == "RED"


def test_small_counts_from_other_organisations_cannot_be_read_off_a_score(world: Settings) -> None:
    """Port Klang has 2 MACN reports in the window, Nairobi airport 1: under k = 5, so for any
    reader but MACN both count as k / 2, and nothing in their scores tells 1 from 2."""
    local = card_for(world, "local")
    macn = card_for(world, "macn")

    def incidents(card: Scorecard, code: str) -> tuple[object, float | None]:
        port = card.port(code)
        assert port is not None
        term = {t.factor: t for t in port.contributions}["incidents"]
        return term.raw, term.normalised

    assert incidents(local, "MYPKG") == incidents(local, "NBO")
    assert incidents(local, "MYPKG")[0] == "[c]"
    assert incidents(macn, "MYPKG")[0] == 2 and incidents(macn, "NBO")[0] == 1  # the owner sees its counts
    # Larger shared counts are rounded to their band of k, so subtracting them from a total
    # shown elsewhere never isolates a small cell; the owner sees its exact count.
    kemba, own = local.port("KEMBA"), macn.port("KEMBA")
    assert kemba is not None and (kemba.incidents_text, kemba.incidents, kemba.incidents_hidden) == ("15-19", 15, True)
    assert own is not None and (own.incidents_text, own.incidents_hidden) == ("15", False)


def test_shared_bands() -> None:
    assert [shared_band(n, 5).text() for n in (0, 1, 4, 5, 9, 10, 437)] == [
        "0", "[c]", "[c]", "5-9", "5-9", "10-14", "435-439"]
    assert shared_band(3, 1).text() == "3"  # k = 1 hides nothing
    assert shared_band(7, 5).value == 7.0 and shared_band(2, 5).value == 2.5


def test_changing_a_weight_moves_the_ranking_and_says_so(world: Settings) -> None:
    base = card_for(world)
    model = RiskModel.load().with_weights({"likelihood.incidents": 0.0, "likelihood.missed-seizures": 1.0})
    moved = card_for(world, model=model)
    assert "likelihood.incidents=0" in moved.model
    assert moved.weights["likelihood.incidents"] == 0.0
    b, m = base.port("AEJEA"), moved.port("AEJEA")
    assert b is not None and m is not None
    assert m.rank < b.rank  # a missed seizure weighs more now
    tz = moved.port("TZDAR")
    assert tz is not None and {t.factor: t for t in tz.contributions}["incidents"].points == 0


def test_scoring_without_risk_evidence_is_a_clear_error(store: EvidenceStore) -> None:
    store.migrate()
    with pytest.raises(RiskError, match="chainlight risk build"):
        score_ports(store, Reader("local", {}), RiskModel.load())


def test_country_indices_feed_the_country_factor(world: Settings, tmp_path: Path) -> None:
    from chainlight.risk import indices

    csv = tmp_path / "cpi.csv"
    csv.write_text("country,score,year\nKE,32,2024\nTZ,40,2024\n", encoding="utf-8")
    scratch = Settings.load(tmp_path / "home2", f"sqlite:///{tmp_path / 'home2' / 'chainlight.db'}").ensure()
    build_risk_world(scratch, tmp_path)
    spec = indices.IndexSpec(index="cpi", dataset="cpi", label="CPI", minimum=0, maximum=100,
                             higher_is_riskier=False, source="test")
    indices.load_index(scratch, csv, spec, marking=Marking.CLEAR, owner="local")
    card = card_for(scratch)
    kemba = card.port("KEMBA")
    assert kemba is not None
    country = {t.factor: t for t in kemba.contributions}["country"]
    assert country.raw == pytest.approx(0.68) and not country.missing
    assert "cpi" in kemba.datasets
