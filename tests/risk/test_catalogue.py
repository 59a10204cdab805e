"""The catalogue turns sources' spellings of stages, actors and controls into one key each."""

from __future__ import annotations

import pytest

from chainlight.risk.catalogue import Catalogue, CatalogueError, slug


def test_spellings_from_sources_land_in_one_cell() -> None:
    catalogue = Catalogue.load()
    assert catalogue.stage_of("Cargo  Clearance") == "document-check"
    assert catalogue.stage_of("berthing") == "vessel-clearance"
    assert catalogue.stage_of("Container release") == "release"
    assert catalogue.actor_of("Port Authority") == "port-authority"
    assert catalogue.actor_of("harbour master") == "port-authority"
    assert catalogue.control_of("X-ray scanners") == "container-scanners"
    assert catalogue.control_of("Human resource management") == "human-resource-management"


def test_an_unknown_value_is_kept_as_reported_not_forced_into_a_cell() -> None:
    catalogue = Catalogue.load()
    assert catalogue.stage_of("Bunkering (fuel)") == "bunkering-fuel"
    assert catalogue.actor_of(None) == "unknown"
    assert catalogue.label("stages", "bunkering-fuel") == "bunkering-fuel"


def test_the_ten_arusha_factors_are_controls() -> None:
    arusha = [c for c in Catalogue.load().controls.values() if c.framework == "revised-arusha-declaration"]
    assert len(arusha) == 10
    scanners = Catalogue.load().controls["container-scanners"]
    assert scanners.protects("physical-inspection") and not scanners.protects("crew-immigration")
    assert Catalogue.load().controls["reporting-channel"].protects("crew-immigration")  # no stages = all


def test_slug() -> None:
    assert slug("  Port-State  Control ") == "port-state-control"


def test_a_control_protecting_an_unknown_stage_is_an_error() -> None:
    data = {"stages": {"release": {"label": "Release", "impact": 5}}, "actors": {},
            "controls": {"cctv": {"label": "CCTV", "framework": "x", "stages": ["gate"]}}}
    with pytest.raises(CatalogueError, match=r"controls\.cctv\.stages: unknown stage 'gate'"):
        Catalogue.parse(data, "test")
    with pytest.raises(CatalogueError, match=r"stages\.release\.impact"):
        Catalogue.parse({**data, "stages": {"release": {"label": "Release", "impact": 9}}, "controls": {}}, "test")
