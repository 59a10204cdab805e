"""A small world for route maps: CITES trade rows, shipments and seizures in datasets of three
markings and two owners, with RED rows that would change every count if they leaked.

Readers: ``ngo-x`` sees the GREEN datasets; ``customs-ke`` also its AMBER trade; ``wildlife-tz``
also the AMBER trade (its sharing group) and its own RED trade and seizures, which add 1,000
tusks to the Kenya -> China route, a Mozambique -> Hong Kong route of 777 tusks, a seizure in
Colombo, and a transit through Colombo to the GREEN shipment ``ship-1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.settings import Settings

HEADER = (
    "Id,Year,Appendix,Taxon,Class,Order,Family,Genus,Term,Quantity,Unit,Importer,Exporter,Origin,Purpose,Source,"
    "Reporter.type,Import.permit.RandomID,Export.permit.RandomID,Origin.permit.RandomID"
)
ELEPHANT = "Loxodonta africana,Mammalia,Proboscidea,Elephantidae,Loxodonta"
PANGOLIN = "Manis spp.,Mammalia,Pholidota,Manidae,Manis"
LION = "Panthera leo,Mammalia,Carnivora,Felidae,Panthera"

TRADE = {
    "trade-green": [
        f"1,2019,I,{ELEPHANT},TUS,10,,CN,KE,,T,W,E,,a1,",
        f"2,2020,I,{ELEPHANT},TUS,5,,CN,KE,,T,W,I,,a2,",
        f"3,2021,II,{PANGOLIN},SCA,100,kg,VN,KE,TZ,T,W,E,,a3,",
        f"4,2018,II,{LION},TRO,3,,US,ZA,,H,C,E,,a4,",
    ],
    "trade-amber": [
        f"1,2019,I,{ELEPHANT},TUS,7,,CN,KE,,T,W,E,,b1,",
    ],
    "trade-red": [
        f"1,2019,I,{ELEPHANT},TUS,1000,,CN,KE,,T,W,E,,c1,",
        f"2,2020,I,{ELEPHANT},TUS,777,,HK,MZ,,T,W,E,,c2,",
    ],
}


def entity(entity_id: str, schema: str, **properties: object) -> str:
    values = {k: v if isinstance(v, list) else [v] for k, v in properties.items()}
    return json.dumps({"id": entity_id, "schema": schema, "properties": values})


FTM = {
    "shipments-green": [
        entity("ship-1", "Shipment", transportDocumentNumber="BL-1", portOfLoading="port-kemba",
               transitPort="port-aejea", portOfDischarge="port-hkhkg", originCountry="ke", destinationCountry="hk",
               taxon="Loxodonta africana", term="TUS", quantity="50", departureDate="2020-05-01"),
        # Two transit ports, stored unordered: Mina Raysut (Oman) is nearer Mombasa than Keppel (Singapore).
        entity("ship-2", "Shipment", transportDocumentNumber="BL-2", portOfLoading="port-kemba",
               transitPort=["port-sgkep", "port-omsll"], portOfDischarge="port-vnnha", originCountry="ug",
               destinationCountry="vn", taxon="Loxodonta africana", term="TUS", quantity="8",
               departureDate="2021-02-01"),
        entity("ship-3", "Shipment", transportDocumentNumber="BL-3", portOfLoading="port-lamu-test",
               portOfDischarge="port-kemba", taxon="Manis spp.", term="SCA", quantity="40", unit="kg",
               departureDate="2021-07-01"),
        entity("port-lamu-test", "Port", name="Lamu Test Jetty", country="ke", latitude="-2.27", longitude="40.9"),
        entity("seizure-1", "Seizure", country="hk", port="port-hkhkg", originCountry="ke", destinationCountry="cn",
               taxon="Loxodonta africana", term="TUS", quantity="20", weight="40", date="2022-01-01"),
    ],
    "seizures-red": [
        entity("seizure-red", "Seizure", country="lk", port="port-lkcmb", originCountry="mz", transitCountry="ae",
               destinationCountry="vn", taxon="Loxodonta africana", term="TUS", quantity="99", weight="500",
               date="2021-03-01"),
        # The RED dataset's word on the GREEN shipment: a further transit through Colombo.
        entity("ship-1", "Shipment", transportDocumentNumber="BL-1", transitPort="port-lkcmb"),
    ],
}

REGISTRATION = {
    "trade-green": ("customs-ke", Marking.GREEN, None),
    "trade-amber": ("customs-ke", Marking.AMBER, "east-africa"),
    "trade-red": ("wildlife-tz", Marking.RED, None),
    "shipments-green": ("customs-ke", Marking.GREEN, None),
    "seizures-red": ("wildlife-tz", Marking.RED, None),
}
VISIBLE = {
    "ngo-x": {"trade-green", "shipments-green"},
    "customs-ke": {"trade-green", "trade-amber", "shipments-green"},
    "wildlife-tz": {"trade-green", "trade-amber", "shipments-green", "trade-red", "seizures-red"},
}
#: Strings only the RED datasets hold: their names, the places only their rows name, their marking.
RED_ONLY = ("trade-red", "seizures-red", "Mozambique", "Colombo", "country:MZ", "port-lkcmb", "Sri Lanka",
            "TLP:RED", '"RED"')


def load_map_world(root: Path) -> Settings:
    settings = Settings.load(root / "home", f"sqlite:///{root / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group("east-africa", ["customs-ke", "wildlife-tz"])
        operational.ensure_organisation("ngo-x")
    finally:
        operational.dispose()
    for name, rows in TRADE.items():
        path = root / f"{name}.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        owner, marking, group = REGISTRATION[name]
        pipeline.ingest(settings, "cites-trade", [path], dataset=name, marking=marking, owner=owner,
                        sharing_group=group)
    for name, lines in FTM.items():
        path = root / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        owner, marking, group = REGISTRATION[name]
        pipeline.ingest(settings, "ftm", [path], dataset=name, marking=marking, owner=owner, sharing_group=group)
    return settings


@pytest.fixture(scope="module")
def map_world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_map_world(tmp_path_factory.mktemp("map-world"))
