"""Seaports and airports that shipments, seizures and incidents name by code.

Sources name a port by its UN/LOCODE (``KEMBA``) or an airport by its IATA code (``NBO``);
this module turns those codes into the facts a map and a risk score need (name, country,
coordinates) from the packaged NGA World Port Index and OpenFlights/OurAirports extracts
(see ``data/README.md``). The tables are read once, on first use, so importing a reader
costs nothing.

Entity ids follow :mod:`chainlight.model.identity`. The World Port Index gives a few
UN/LOCODEs to more than one port (an oil terminal beside its town) and a few WPI numbers
to two records, yet every port must be its own entity: the largest harbour of a code gets
``port_id(code)``, the others ``wpi_port_id(number)``, and a repeated number gets a
``-2``, ``-3`` suffix in file order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from chainlight.model.ftm import model
from chainlight.model.identity import port_id, wpi_port_id

PortKind = Literal["seaport", "airport"]

#: World Port Index harbour sizes, largest first, as the codes the Port schema stores.
HARBOUR_SIZES = {"Large": "L", "Medium": "M", "Small": "S", "Very Small": "V"}
#: World Port Index harbour types and their WPI codes (the Port schema keeps codes).
HARBOUR_TYPES = {
    "Coastal (Natural)": "CN",
    "Coastal (Breakwater)": "CB",
    "Coastal (Tide Gates)": "CT",
    "River (Natural)": "RN",
    "River (Basins)": "RB",
    "River (Tide Gates)": "RT",
    "Canal or Lake": "LC",
    "Open Roadstead": "OR",
    "Typhoon Harbor": "TH",
}
_YES_NO = {"Yes": "Y", "No": "N", "Unknown": "U"}
_SIZE_RANK = {"L": 0, "M": 1, "S": 2, "V": 3}


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One seaport (World Port Index) or airport (IATA code) from the reference data."""

    entity_id: str
    kind: PortKind
    name: str
    country: str | None
    latitude: float | None
    longitude: float | None
    unlocode: str | None = None
    iata: str | None = None
    icao: str | None = None
    wpi_number: str | None = None
    alternate_name: str | None = None
    city: str | None = None
    region: str | None = None
    harbour_size: str | None = None
    harbour_type: str | None = None
    port_security: str | None = None
    first_port_of_entry: str | None = None

    @property
    def code(self) -> str | None:
        """The code sources use for it: UN/LOCODE for seaports, IATA for airports."""
        return self.iata if self.kind == "airport" else self.unlocode


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _float(value: str | None) -> float | None:
    text = _clean(value)
    return float(text) if text is not None else None


def _unlocode(value: str | None) -> str | None:
    """A well-formed UN/LOCODE (2-letter country + 3 alphanumerics), else None: the WPI
    has a few truncated or mangled ones that must not become ids."""
    text = (_clean(value) or "").upper()
    if len(text) == 5 and text.isalnum() and text[:2].isalpha():
        return text
    return None


def _read(name: str) -> list[dict[str, str]]:
    source = resources.files("chainlight.reference").joinpath("data", name)
    return list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"), newline="")))


def _seaports() -> list[PortInfo]:
    rows = _read("ports.csv")
    # The port that keeps the readable id of a shared UN/LOCODE: the largest harbour, then file order.
    primary: dict[str, int] = {}
    for index, row in enumerate(rows):
        code = _unlocode(row["unlocode"])
        if code is None:
            continue
        size = _SIZE_RANK.get(HARBOUR_SIZES.get(row["harbor_size"], ""), len(_SIZE_RANK))
        best = primary.get(code)
        if best is None:
            primary[code] = index
            continue
        best_size = _SIZE_RANK.get(HARBOUR_SIZES.get(rows[best]["harbor_size"], ""), len(_SIZE_RANK))
        if size < best_size:
            primary[code] = index
    seen_numbers: dict[str, int] = {}
    ports: list[PortInfo] = []
    for index, row in enumerate(rows):
        code = _unlocode(row["unlocode"])
        number = row["wpi_number"].strip()
        if code is not None and primary[code] == index:
            entity_id = port_id(code)
        else:
            seen_numbers[number] = seen_numbers.get(number, 0) + 1
            count = seen_numbers[number]
            entity_id = wpi_port_id(number if count == 1 else f"{number}-{count}")
        ports.append(
            PortInfo(
                entity_id=entity_id,
                kind="seaport",
                name=row["name"].strip(),
                country=_clean(row["country"]),
                latitude=_float(row["latitude"]),
                longitude=_float(row["longitude"]),
                unlocode=code,
                wpi_number=number,
                alternate_name=_clean(row["alternate_name"]),
                region=_clean(row["region"]),
                harbour_size=HARBOUR_SIZES.get(row["harbor_size"]),
                harbour_type=HARBOUR_TYPES.get(row["harbor_type"]),
                port_security=_YES_NO.get(row["port_security"]),
                first_port_of_entry=_YES_NO.get(row["first_port_of_entry"]),
            )
        )
    return ports


def _airports() -> list[PortInfo]:
    airports = []
    for row in _read("airports.csv"):
        iata = (_clean(row["iata"]) or "").upper()
        if len(iata) != 3:
            continue
        airports.append(
            PortInfo(
                entity_id=port_id(iata),
                kind="airport",
                name=row["name"].strip(),
                country=_clean(row["country"]),
                latitude=_float(row["latitude"]),
                longitude=_float(row["longitude"]),
                iata=iata,
                icao=_clean(row["icao"]),
                city=_clean(row["city"]),
            )
        )
    return airports


@cache
def all_ports() -> tuple[PortInfo, ...]:
    """Every World Port Index seaport, in the packaged file's order."""
    return tuple(_seaports())


@cache
def all_airports() -> tuple[PortInfo, ...]:
    """Every airport with an IATA code."""
    return tuple(_airports())


@cache
def _index() -> dict[str, PortInfo]:
    by_code: dict[str, PortInfo] = {}
    for info in all_airports():
        by_code[info.iata or ""] = info
    for info in all_ports():
        if info.unlocode and info.entity_id == port_id(info.unlocode):
            by_code[info.unlocode] = info
    return by_code


def normalise_code(code: str) -> str:
    """``" kemba "`` -> ``KEMBA``: codes are compared upper-case without spaces."""
    return "".join(code.split()).upper()


def lookup(code: str) -> PortInfo | None:
    """The port a UN/LOCODE (5 characters) or IATA code (3 characters) names, if known."""
    return _index().get(normalise_code(code))


def stub_entity(info: PortInfo) -> Any:
    """The Port a source implies when it names a code: what identifies and places it."""
    proxy = model.make_entity("Port")
    proxy.id = info.entity_id
    proxy.add("name", info.name)
    proxy.add("portType", info.kind)
    proxy.add("country", info.country)
    if info.latitude is not None and info.longitude is not None:
        proxy.add("latitude", str(info.latitude))
        proxy.add("longitude", str(info.longitude))
    proxy.add("unLocode", info.unlocode)
    proxy.add("iataCode", info.iata)
    return proxy


def port_entity(info: PortInfo) -> Any:
    """The full reference Port: the stub plus World Port Index or airport facts."""
    proxy = stub_entity(info)
    proxy.add("alias", info.alternate_name)
    proxy.add("icaoCode", info.icao)
    proxy.add("city", info.city)
    proxy.add("wpiNumber", info.wpi_number)
    proxy.add("region", info.region)
    proxy.add("harbourSize", info.harbour_size)
    proxy.add("harbourType", info.harbour_type)
    proxy.add("portSecurity", info.port_security)
    proxy.add("firstPortOfEntry", info.first_port_of_entry)
    return proxy


def port_entities() -> Iterator[Any]:
    """FtM Port proxies for all World Port Index seaports, then all IATA airports."""
    for info in all_ports():
        yield port_entity(info)
    for info in all_airports():
        yield port_entity(info)
