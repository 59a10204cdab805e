"""Writers shared by the generator's source modules: CSV files in the default layouts and
the record of which file belongs to which dataset."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from chainlight.model.markings import Marking


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """Who owns a dataset and how it may be shared."""

    name: str
    owner: str
    marking: Marking
    sharing_group: str | None = None


TASKFORCE = "iwt-taskforce"
TASKFORCE_MEMBERS = ["kenya-revenue-authority", "wildlife-ngo", "fiu", "local"]

UNEP_WCMC = DatasetSpec("unep-wcmc", "unep-wcmc", Marking.CLEAR)
CUSTOMS = DatasetSpec("customs-ke", "kenya-revenue-authority", Marking.AMBER, TASKFORCE)
PERMITS = DatasetSpec("cites-permits", "cites-management-authorities", Marking.GREEN)
FIU = DatasetSpec("fiu-goaml", "fiu", Marking.RED)
REGISTRY = DatasetSpec("bo-registry", "company-registry", Marking.CLEAR)
SEIZURES = DatasetSpec("ngo-seizures", "wildlife-ngo", Marking.AMBER, TASKFORCE)
INVESTIGATION = DatasetSpec("ngo-investigation", "wildlife-ngo", Marking.AMBER_STRICT, TASKFORCE)
INCIDENTS = DatasetSpec("macn-incidents", "macn", Marking.GREEN)
ASSESSMENTS = DatasetSpec("port-assessments", "port-integrity-assessors", Marking.GREEN)


class CsvSource:
    """A CSV file in one of the default layouts, written row by row (RFC 4180, UTF-8)."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self._fh: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, **values: Any) -> None:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"{self.path.name}: no column(s) {sorted(unknown)}")
        self._writer.writerow(["" if values.get(c) is None else values[c] for c in self.columns])
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


SHIPMENT_COLUMNS = (
    "document_number",
    "document_type",
    "transport_mode",
    "shipper_id",
    "shipper_name",
    "shipper_country",
    "shipper_type",
    "consignee_id",
    "consignee_name",
    "consignee_country",
    "consignee_type",
    "notify_id",
    "notify_name",
    "notify_country",
    "carrier_name",
    "forwarder_id",
    "forwarder_name",
    "forwarder_country",
    "vessel_name",
    "vessel_imo",
    "voyage_number",
    "flight_number",
    "port_of_loading",
    "transit_ports",
    "port_of_discharge",
    "departure_date",
    "arrival_date",
    "origin_country",
    "destination_country",
    "goods_description",
    "hs_code",
    "taxon",
    "term",
    "quantity",
    "unit",
    "gross_weight_kg",
    "declared_value",
    "currency",
    "container_numbers",
    "permit_number",
    "permit_country",
)
PERMIT_COLUMNS = (
    "permit_number",
    "permit_type",
    "issuing_country",
    "issuing_authority",
    "holder_id",
    "holder_name",
    "holder_country",
    "holder_type",
    "counterpart_id",
    "counterpart_name",
    "counterpart_country",
    "counterpart_type",
    "export_country",
    "import_country",
    "origin_country",
    "issue_date",
    "expiry_date",
    "taxon",
    "appendix",
    "term",
    "quantity",
    "unit",
    "purpose",
    "source",
    "original_permit_number",
    "original_permit_country",
    "status",
    "random_id",
)
ENDORSEMENT_COLUMNS = (
    "permit_number",
    "permit_country",
    "document_number",
    "endorsement_date",
    "port",
    "actual_quantity",
    "unit",
    "endorsing_authority",
    "endorsing_country",
)
SEIZURE_COLUMNS = (
    "seizure_id",
    "case_number",
    "date",
    "port",
    "place",
    "country",
    "agency",
    "taxon",
    "term",
    "quantity",
    "unit",
    "weight_kg",
    "concealment",
    "transport_mode",
    "origin_countries",
    "transit_countries",
    "destination_countries",
    "document_number",
    "suspect_ids",
    "suspect_names",
    "suspect_countries",
    "suspect_types",
)
SAMPLE_COLUMNS = (
    "sample_id",
    "seizure_id",
    "taxon",
    "specimen",
    "laboratory",
    "collection_date",
    "assigned_origin",
    "assigned_origin_country",
    "latitude",
    "longitude",
)
MATCH_COLUMNS = (
    "seizure_a",
    "seizure_b",
    "sample_a",
    "sample_b",
    "match_type",
    "likelihood_ratio",
    "laboratory",
    "date",
)
INCIDENT_COLUMNS = (
    "incident_id",
    "port",
    "country",
    "date",
    "process_stage",
    "demanding_actor",
    "item_demanded",
    "amount",
    "currency",
    "consequence_of_refusal",
    "outcome",
)
ASSESSMENT_COLUMNS = (
    "assessment_id",
    "subject_port",
    "subject_name",
    "subject_country",
    "control",
    "framework",
    "status",
    "evidence",
    "assessor",
    "date",
    "score",
)
