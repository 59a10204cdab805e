"""Where countries and ports lie, from the reference data the package ships.

A port is placed at its World Port Index or airport coordinates (``chainlight.reference``),
looked up by the entity id every source gives it (``port-kemba``, ``airport-nbo``). A country
is placed at the median latitude and longitude of its seaports and airports: a point inside
the country, near where its trade happens, for every country and territory with a port or an
airport. That includes Singapore, Hong Kong and Macao, the small hubs that a coarse world
outline leaves out. It needs no table of centroids beside the port data. CITES pseudo-codes
(``XX`` unknown, ``XF`` Africa ...) have no place: a flow through them is listed, not drawn.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import cache

from chainlight.reference import ports
from chainlight.reference.cites import codes


@dataclass(frozen=True, slots=True)
class Point:
    latitude: float
    longitude: float


@cache
def country_points() -> dict[str, Point]:
    """ISO-2 code (upper case) -> a representative point, for every country with a port."""
    latitudes: dict[str, list[float]] = {}
    longitudes: dict[str, list[float]] = {}
    for info in (*ports.all_ports(), *ports.all_airports()):
        if info.country is None or info.latitude is None or info.longitude is None:
            continue
        code = info.country.upper()
        latitudes.setdefault(code, []).append(info.latitude)
        longitudes.setdefault(code, []).append(info.longitude)
    return {
        code: Point(round(statistics.median(latitudes[code]), 4), round(statistics.median(longitudes[code]), 4))
        for code in latitudes
    }


def country_point(code: str) -> Point | None:
    return country_points().get(code.upper())


def country_name(code: str) -> str:
    """The CITES Trade Database's name of a country code; the code itself when unknown."""
    found = codes().countries.get(code.upper())
    return found.name if found is not None else code.upper()


@cache
def _ports_by_entity() -> dict[str, ports.PortInfo]:
    return {info.entity_id: info for info in (*ports.all_ports(), *ports.all_airports())}


def reference_port(entity_id: str) -> ports.PortInfo | None:
    """The reference seaport or airport with this entity id, if it is one."""
    return _ports_by_entity().get(entity_id)
