"""Real ports and airports on the routes wildlife is trafficked along: source -> transit ->
destination, by sea (UN/LOCODE) and by air (IATA). Codes only; names and coordinates come
from :mod:`chainlight.reference.ports` when it is installed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Final

from chainlight.reference import ports

SEAPORTS: Final[dict[str, tuple[str, ...]]] = {
    "KE": ("KEMBA",),
    "TZ": ("TZDAR", "TZZNZ"),
    "MZ": ("MZMPM", "MZBEW"),
    "ZA": ("ZADUR", "ZACPT"),
    "NG": ("NGLOS",),
    "CM": ("CMDLA",),
    "CG": ("CGPNR",),
    "CD": ("CDMAT",),
    "MY": ("MYPKG", "MYTPP"),
    "SG": ("SGKEP",),
    "HK": ("HKHKG",),
    "TH": ("THLCH", "THBKK"),
    "AE": ("AEJEA",),
    "TR": ("TRIST", "TRMER"),
    "VN": ("VNHPH", "VNSGN"),
    "KH": ("KHKOS",),
    "CN": ("CNGGZ", "CNSGH", "CNXMG", "CNSHK"),
}
AIRPORTS: Final[dict[str, tuple[str, ...]]] = {
    "KE": ("NBO",),
    "TZ": ("DAR",),
    "UG": ("EBB",),
    "NG": ("LOS",),
    "CD": ("FIH",),
    "ZA": ("JNB",),
    "ZM": ("LUN",),
    "ZW": ("HRE",),
    "MZ": ("MPM",),
    "CM": ("DLA",),
    "ET": ("ADD",),
    "QA": ("DOH",),
    "AE": ("DXB",),
    "TR": ("IST",),
    "MY": ("KUL",),
    "SG": ("SIN",),
    "TH": ("BKK",),
    "HK": ("HKG",),
    "VN": ("HAN", "SGN"),
    "LA": ("VTE",),
    "CN": ("CAN", "PVG"),
}
#: Landlocked source countries ship by sea through a neighbour's port.
GATEWAY: Final[dict[str, str]] = {"UG": "KE", "ZM": "TZ", "ZW": "MZ", "CD": "KE"}
SEA_TRANSIT: Final = ("MY", "SG", "HK", "TH", "AE", "TR", "VN", "KH")
AIR_TRANSIT: Final = ("ET", "QA", "AE", "TR", "MY", "SG", "TH", "LA")


@dataclass(frozen=True, slots=True)
class Route:
    mode: str
    origin_country: str
    loading: str
    transits: tuple[str, ...]
    discharge: str
    destination_country: str


def route(rng: random.Random, origin: str, destination: str) -> Route:
    """A plausible routing: by sea through the origin's (or its gateway's) port and one or two
    transit hubs, or by air through a hub airport."""
    air = rng.random() < 0.3 and origin in AIRPORTS and destination in AIRPORTS
    if air:
        hubs = tuple(rng.choice(AIRPORTS[c]) for c in rng.sample(AIR_TRANSIT, k=1))
        return Route("air", origin, rng.choice(AIRPORTS[origin]), hubs, rng.choice(AIRPORTS[destination]), destination)
    gateway = origin if origin in SEAPORTS else GATEWAY.get(origin, "KE")
    dest = destination if destination in SEAPORTS else "HK"
    hubs = tuple(rng.choice(SEAPORTS[c]) for c in rng.sample(SEA_TRANSIT, k=rng.choice((1, 1, 2))) if c != dest)
    return Route("sea", origin, rng.choice(SEAPORTS[gateway]), hubs, rng.choice(SEAPORTS[dest]), dest)


def all_codes() -> list[str]:
    return sorted({c for codes in (*SEAPORTS.values(), *AIRPORTS.values()) for c in codes})


@cache
def port_name(code: str) -> str:
    """The port's name from the packaged reference list (the code itself if unknown)."""
    found = ports.lookup(code)
    return found.name if found is not None else code
