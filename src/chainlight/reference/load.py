"""Load the packaged port and airport reference data as the public dataset ``reference-ports``.

Shipments, seizures and incidents refer to ports by id; this dataset gives every one of them
its full World Port Index or airport record, visible to everyone (TLP:CLEAR). It goes
through the ordinary FtM reader, so it is atomic and idempotent like any other ingest:
loading it twice adds nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson

from chainlight.ingest import get_reader
from chainlight.ingest.base import IngestReport, run_ingest
from chainlight.model.markings import Marking
from chainlight.pipeline import open_operational
from chainlight.reference.ports import port_entities
from chainlight.settings import Settings
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore

DATASET = "reference-ports"
OWNER = "chainlight"
#: How the file is named in statement origins and reports (not the temporary path).
LABEL = "chainlight:reference/ports"


def write_ports_jsonl(path: Path) -> int:
    """Write all reference Port entities as FtM JSON lines; return how many."""
    count = 0
    with path.open("wb") as fh:
        for proxy in port_entities():
            fh.write(orjson.dumps(proxy.to_dict(), option=orjson.OPT_SORT_KEYS))
            fh.write(b"\n")
            count += 1
    return count


def load_reference(settings: Settings) -> IngestReport:
    """Ingest the reference ports and airports into ``reference-ports`` (owner chainlight, CLEAR)."""
    operational = open_operational(settings)
    try:
        operational.ensure_dataset(DATASET, owner=OWNER, marking=Marking.CLEAR)
    finally:
        operational.dispose()
    with tempfile.TemporaryDirectory(prefix="chainlight-ports-") as tmp:
        path = Path(tmp) / "reference-ports.ftm.jsonl"
        write_ports_jsonl(path)
        with EvidenceStore(settings.evidence_path) as store:
            report = run_ingest(store, get_reader("ftm"), [path], DATASET, labels=[LABEL])
            if report.statements_added:
                projections.rebuild(store)
    return report
