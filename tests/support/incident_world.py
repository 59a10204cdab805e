"""A tiny world for the owner-only rule (incident reports): two organisations, two GREEN datasets.

- ``shipowners`` owns ``macn-incidents`` (TLP:GREEN, ingested with ``--mapping incidents``):
  two MACN-style incident reports at Mombasa (``KEMBA``), one of them with an unusual item
  (:data:`TELLING_ITEM`) that would point at the reporting ship.
- ``customs`` owns ``customs-shipments`` (TLP:GREEN, ``--mapping shipments``): the bill of
  lading of tests/fixtures/csv/shipments.csv, loaded at Mombasa.

Both organisations see both datasets (GREEN). ``customs`` may count the incidents through the
risk views, but never read one of them individually; ``shipowners`` reads its own. The graph is
built and the search index too, as ``chainlight demo`` leaves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from chainlight import pipeline
from chainlight.graph import build as graph_build
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

OWNER: Final = "shipowners"
READER: Final = "customs"
INCIDENTS: Final = "macn-incidents"
SHIPMENTS: Final = "customs-shipments"
PORT: Final = "port-kemba"
TELLING_ITEM: Final = "outboard-engine-parts"
INCIDENTS_CSV: Final = f"""incident_id,port,country,date,process_stage,demanding_actor,item_demanded,amount,currency,\
consequence_of_refusal,outcome
INC-7001,KEMBA,KE,2024-02-11,vessel-clearance,port-authority,cash,200,USD,delay,refused
INC-7002,KEMBA,KE,2024-03-19,physical-inspection,customs,{TELLING_ITEM},,,threat,paid
"""


def load(root: Path) -> Settings:
    """Ingest both datasets into a fresh home under ``root``, build the graph and the index."""
    settings = Settings.load(root / "home", f"sqlite:///{root / 'home' / 'chainlight.db'}").ensure()
    incidents = root / "incidents.csv"
    incidents.write_text(INCIDENTS_CSV, encoding="utf-8")
    pipeline.ingest(settings, "csv", [incidents], dataset=INCIDENTS, marking=Marking.GREEN, owner=OWNER,
                    options={"mapping": "incidents"})
    pipeline.ingest(settings, "csv", [FIXTURES / "csv" / "shipments.csv"], dataset=SHIPMENTS,
                    marking=Marking.GREEN, owner=READER, options={"mapping": "shipments"})
    with EvidenceStore(settings.evidence_path) as store:
        graph_build.build(store)
    pipeline.build_index(settings, force=True)
    return settings


def incident_ids(settings: Settings) -> list[str]:
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return [r[0] for r in store.fetchall(
            "SELECT DISTINCT entity_id FROM statements WHERE schema = 'Incident' ORDER BY 1"
        )]
