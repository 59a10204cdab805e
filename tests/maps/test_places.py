"""Countries and ports placed from the packaged reference data (``chainlight.maps.places``)."""

from __future__ import annotations

import pytest

from chainlight.maps import places


@pytest.mark.parametrize(
    ("code", "south", "north", "west", "east"),
    [
        ("KE", -5.0, 5.0, 33.9, 42.0),  # Kenya
        ("sg", 1.1, 1.5, 103.6, 104.1),  # Singapore, lower case: too small for a coarse world outline
        ("HK", 22.1, 22.6, 113.8, 114.5),
        ("VN", 8.0, 23.5, 102.0, 110.0),
        ("ZA", -35.0, -22.0, 16.0, 33.0),
    ],
)
def test_a_country_is_placed_inside_it(code: str, south: float, north: float, west: float, east: float) -> None:
    point = places.country_point(code)
    assert point is not None
    assert south <= point.latitude <= north and west <= point.longitude <= east


def test_pseudo_codes_have_no_place_but_keep_their_names() -> None:
    assert places.country_point("XX") is None
    assert places.country_name("XX") == "Unknown"
    assert places.country_name("ke") == "Kenya"
    assert places.country_name("Q9") == "Q9"


def test_ports_are_found_by_the_entity_id_sources_give_them() -> None:
    mombasa = places.reference_port("port-kemba")
    nairobi = places.reference_port("airport-nbo")
    assert mombasa is not None and (mombasa.name, mombasa.country) == ("Mombasa", "KE")
    assert nairobi is not None and nairobi.kind == "airport" and nairobi.latitude is not None
    assert places.reference_port("port-nowhere") is None
