"""A tiny pool for the search and profile tests: two organisations' datasets, a sharing group,
two RED datasets with secret words, relations into hidden data, resolution links written by
hand (so each cluster is exactly the one a test needs) and alerts.

Datasets (owner, marking):

- ``ke-customs`` (customs-ke, GREEN): the company Sunrise Trading, its owner Muhammed Hassan
  Abdallah, their ownership, a shipment whose consignee exists only in ``tz-fiu``, and two
  companies (Pacific Bridge Holdings, Pacific Bridge Investments) that only ``tz-fiu``'s record
  links;
- ``ngo-reports`` (ngo-x, AMBER, shared with the lake-victoria group: customs-ke and ngo-x): the
  same Sunrise company under its own id, linked to customs' record; Wanjiru Kamau;
- ``ke-red`` (customs-ke, RED): an informant (KEREDWORD) who owns part of Sunrise;
- ``tz-fiu`` (fiu-tz, RED): a company named with TZSECRETWORD, its payment to Sunrise, a record
  of Sunrise under customs' own id (with the secret in its name) and a record linked to both
  Pacific Bridge companies.

Who sees what: customs-ke: ke-customs, ngo-reports, ke-red; ngo-x: ke-customs, ngo-reports;
fiu-tz: ke-customs, tz-fiu; outsider (no datasets of its own): ke-customs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.resolve import clusters, engine, matching, records
from chainlight.rules.engine import ALERT_TABLES
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore


def entity(entity_id: str, schema: str, **props: Any) -> str:
    return json.dumps({"id": entity_id, "schema": schema,
                       "properties": {k: v if isinstance(v, list) else [v] for k, v in props.items()}})


FILES: dict[str, tuple[str, Marking, str | None, list[str]]] = {
    "ke-customs": ("customs-ke", Marking.GREEN, None, [
        entity("c-sunrise", "Company", name="Sunrise Trading Co., Ltd", country="ke", registrationNumber="KE-4471",
               incorporationDate="2011-05-17"),
        entity("p-muhammed", "Person", name="Muhammed Hassan Abdallah", nationality="ke", birthDate="1971-04-02"),
        entity("own-1", "Ownership", owner="p-muhammed", asset="c-sunrise", percentage="60",
               startDate="2019-03-01"),
        entity("s-1", "Shipment", shipper="c-sunrise", consignee="c-hidden", departureDate="2021-06-01",
               transportDocumentNumber="MSKU1234567"),
        entity("c-pacific-h", "Company", name="Pacific Bridge Holdings Ltd", country="hk"),
        entity("c-pacific-i", "Company", name="Pacific Bridge Investments Ltd", country="sg"),
    ]),
    "ngo-reports": ("ngo-x", Marking.AMBER, "lake-victoria", [
        entity("ngo-sunrise", "Company", name="Sunrise Trading Company Limited", country="ke"),
        entity("p-wanjiru", "Person", name="Wanjiru Kamau", nationality="tz"),
    ]),
    "ke-red": ("customs-ke", Marking.RED, None, [
        entity("p-informant", "Person", name="Juma KEREDWORD Otieno", nationality="ug"),
        entity("own-red", "Ownership", owner="p-informant", asset="c-sunrise", startDate="2020-01-01"),
    ]),
    "tz-fiu": ("fiu-tz", Marking.RED, None, [
        entity("c-hidden", "Company", name="Kilimanjaro TZSECRETWORD Exports", country="tz"),
        entity("pay-1", "Payment", payer="c-hidden", beneficiary="c-sunrise", amount="9000", date="2022-02-02"),
        entity("c-sunrise", "Company", name="Sunrise TZSECRETWORD Holdings", country="ae"),
        entity("fiu-pacific", "Company", name="Pacific Bridge Group", country="hk"),
    ]),
}
SHARING_GROUP = ("lake-victoria", ["customs-ke", "ngo-x"])
VISIBLE = {
    "customs-ke": {"ke-customs", "ngo-reports", "ke-red"},
    "ngo-x": {"ke-customs", "ngo-reports"},
    "fiu-tz": {"ke-customs", "tz-fiu"},
    "outsider": {"ke-customs"},
}
SECRETS = {"ke-red": ["KEREDWORD", "p-informant", "own-red"], "tz-fiu": ["TZSECRETWORD", "pay-1", "fiu-pacific"],
           "ngo-reports": ["Wanjiru", "ngo-sunrise"]}
#: (left entity, left dataset, right entity, right dataset, probability)
LINKS = [
    ("c-sunrise", "ke-customs", "ngo-sunrise", "ngo-reports", 0.95),
    ("c-pacific-h", "ke-customs", "fiu-pacific", "tz-fiu", 0.9),
    ("c-pacific-i", "ke-customs", "fiu-pacific", "tz-fiu", 0.9),
]
#: (alert id, subject, datasets)
ALERTS = [
    ("al-green", "c-sunrise", ["ke-customs"]),
    ("al-red", "c-sunrise", ["ke-customs", "tz-fiu"]),
]


def load(root: Path, *, resolution: bool = True, alerts: bool = True) -> Settings:
    """Ingest the pool into a fresh home under ``root``; links and alerts unless told not to."""
    settings = Settings.load(root / "home", f"sqlite:///{root / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group(*SHARING_GROUP)
        operational.ensure_organisation("outsider")
    finally:
        operational.dispose()
    for name, (owner, marking, group, lines) in FILES.items():
        path = root / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        pipeline.ingest(settings, "ftm", [path], dataset=name, marking=marking, owner=owner, sharing_group=group,
                        rebuild=False)
    with EvidenceStore(settings.evidence_path) as store:
        if resolution:
            write_links(store, LINKS)
        if alerts:
            write_alerts(store, ALERTS)
    return settings


def write_links(store: EvidenceStore, links: list[tuple[str, str, str, str, float]]) -> None:
    """Records for every person and company, the given links, and the global clusters (as
    ``chainlight resolve`` leaves them, without scoring anything)."""
    records.ensure_tables(store)
    matching.ensure_tables(store)
    clusters.ensure_tables(store)
    store.con.execute("DELETE FROM er_links")
    store.con.execute("DELETE FROM er_records")
    store.con.execute(
        "INSERT INTO er_records SELECT row_number() OVER (ORDER BY entity_id, dataset), entity_id, dataset, "
        "CASE WHEN schema = 'Person' THEN 'person' ELSE 'organisation' END, schema, NULL, '', 'test' "
        "FROM (SELECT DISTINCT entity_id, dataset, schema FROM statements "
        "WHERE prop = 'id' AND schema IN ('Person', 'Company'))"
    )
    for a, da, b, db, p in links:
        store.con.execute(
            "INSERT INTO er_links SELECT x.record_id, y.record_id, x.grp, 3.0, ?, '[]', 'test' FROM er_records x, "
            "er_records y WHERE x.entity_id = ? AND x.dataset = ? AND y.entity_id = ? AND y.dataset = ?",
            [p, a, da, b, db],
        )
    clusters.save_threshold(store, clusters.DEFAULT_THRESHOLD)
    engine.rebuild_clusters(store, [])


def write_alerts(store: EvidenceStore, alerts: list[tuple[str, str, list[str]]]) -> None:
    for ddl in ALERT_TABLES:
        store.con.execute(ddl)
    store.con.execute("DELETE FROM alerts")
    for alert_id, subject, datasets in alerts:
        store.con.execute(
            "INSERT INTO alerts VALUES (?, 'ownership.secrecy-chain', ?, 'ownership', 'high', 0.8, 'Company', ?, "
            "[?], [?], ?, ?, '{}', now()::TIMESTAMP, now()::TIMESTAMP, 'test')",
            [alert_id, f"Alert {alert_id}", subject, subject, subject, datasets, f"reason of {alert_id}"],
        )


def build_index(settings: Settings) -> None:
    info, _ = pipeline.build_index(settings, force=True)
    assert info.records > 0
