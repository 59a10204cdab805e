"""The shapes of the JSON API, as pydantic models.

Every JSON route declares one of these as its response model, so ``/openapi.json`` documents
exactly what a client receives and nothing else can slip into a response by accident: a field
that is not declared here is dropped on the way out.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SchemaCount(BaseModel):
    schema_name: str = Field(alias="schema", description="FollowTheMoney schema, e.g. Shipment.")
    entities: int = Field(description="Distinct entities of this schema.")

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


class DatasetSummary(BaseModel):
    """One dataset as the home page lists it."""

    name: str
    owner: str = Field(description="The organisation that owns the dataset.")
    marking: str = Field(description="TLP 2.0 marking: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
    sharing_group: str | None = Field(description="Sharing group whose organisations may also read it.")
    entities: int
    statements: int
    records: int = Field(description="Typed records (e.g. CITES trade rows) outside the entity graph.")
    quarantined: int = Field(description="Input rows or values rejected and kept aside with their error.")
    schemata: list[SchemaCount] = Field(description="Entities per schema in this dataset.")


class Totals(BaseModel):
    """Sums over the datasets the viewer may see, never over the others."""

    datasets: int
    entities: int
    statements: int
    records: int
    quarantined: int


class Home(BaseModel):
    organisation: str = Field(description="The viewer's organisation; it decides what is listed.")
    datasets: list[DatasetSummary]
    totals: Totals
    schemata: list[SchemaCount] = Field(description="Entities per schema over the visible datasets.")


class IngestRun(BaseModel):
    """One file loaded into a dataset."""

    run_id: str
    file: str = Field(description="The file as it was named when ingested.")
    format: str
    sha256: str
    started_at: datetime
    finished_at: datetime
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    statements_added: int
    records_added: int


class DatasetDetail(DatasetSummary):
    runs: list[IngestRun] = Field(description="Ingest runs, newest first.")


class Health(BaseModel):
    status: str = Field(description="'ok' when the app answers.")
    evidence_store: bool = Field(description="Whether an evidence store exists yet.")


class Versions(BaseModel):
    chainlight: str
    followthemoney: str
    duckdb: str
    python: str


class Problem(BaseModel):
    """What a JSON route answers instead of its data when something is wrong."""

    status: int
    error: str
    incident: str | None = Field(default=None, description="Reference to quote to an operator (500s).")
