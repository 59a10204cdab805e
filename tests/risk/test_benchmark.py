"""The port integrity benchmark: peers, gaps against good practice, group overviews."""

from __future__ import annotations

import pytest

from chainlight import pipeline
from chainlight.risk.benchmark import benchmark_port, peer_group, summary
from chainlight.risk.scoring import Scorecard, score_ports
from chainlight.settings import Settings
from tests.support.risk_world import build_risk_world


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Scorecard:
    tmp = tmp_path_factory.mktemp("risk-benchmark")
    settings = build_risk_world(Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure(),
                                tmp)
    with pipeline.alerts_session(settings, "local") as (store, _operational, reader):
        return score_ports(store, reader)


def test_a_port_is_ranked_among_its_peers_with_evidence(card: Scorecard) -> None:
    kemba = card.port("KEMBA")
    assert kemba is not None
    country = peer_group(card, kemba, "country")
    assert country.key == "ke" and country.rank == 1
    # Mombasa and Nairobi airport have evidence; Kenya's other seaports are counted, not ranked.
    assert country.with_evidence == 2 and country.ports > country.with_evidence
    size = peer_group(card, kemba, "size")
    assert size.key == kemba.harbour_size
    quiet = card.port("KELAU")
    assert quiet is not None and peer_group(card, quiet, "country").rank is None


def test_gaps_are_the_controls_not_in_place_most_closed_by_peers_first(card: Scorecard) -> None:
    kemba = card.port("KEMBA")
    assert kemba is not None
    result = benchmark_port(card, kemba)
    gaps = {g.control: g for g in result.gaps}
    assert "container-scanners" not in gaps  # in place: no gap
    assert gaps["staff-rotation"].status == "partial"
    assert gaps["cctv"].status == "not assessed"
    assert result.controls_in_place == 1 and result.controls_total == 19
    shares = [g.peer_share or 0.0 for g in result.gaps]
    assert shares == sorted(shares, reverse=True)


def test_a_peer_with_the_control_in_place_shows_in_the_gap(card: Scorecard) -> None:
    tzdar = card.port("TZDAR")
    assert tzdar is not None
    gaps = {g.control: g for g in benchmark_port(card, tzdar).gaps}
    assert gaps["container-scanners"].status == "absent"
    # Mombasa is in another WPI region, so it is no regional peer of Dar es Salaam.
    assert gaps["container-scanners"].peers_assessed == 0 and gaps["container-scanners"].peer_share is None


def test_the_overview_groups_every_port(card: Scorecard) -> None:
    regions = summary(card, "region")
    assert sum(g.ports for g in regions) == len(card.ports)
    assert regions[0].max_residual == max(p.residual for p in card.ports if p.has_evidence)
    sizes = {g.key for g in summary(card, "size")}
    assert {"L", "M", "S", "V", "airport"} <= sizes
    kenya = next(g for g in summary(card, "country") if g.key == "ke")
    assert kenya.worst == "KEMBA" and kenya.controls_in_place_share == pytest.approx(1 / 19, abs=1e-4)
