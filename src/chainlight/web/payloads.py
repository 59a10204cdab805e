"""The shapes of the JSON API, as pydantic models.

Every JSON route declares one of these as its response model, so ``/openapi.json`` documents
exactly what a client receives and nothing else can slip into a response by accident: a field
that is not declared here is dropped on the way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from chainlight.web.alert_payloads import Alert


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
    latest_alerts: list[Alert] | None = Field(
        default=None,
        description="The viewer's latest alerts (at most 10, the last run's first, highest score first); "
        "null until 'chainlight rules run' has made the alerts.",
    )


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


# Entity resolution (routes in chainlight.web.resolution). Every id and dataset below is one
# the viewer may see: links and clusters are computed over the visible datasets alone.


class MatchFeature(BaseModel):
    """One compared feature of a pair of records and what it added to the match weight."""

    feature: str = Field(description="What was compared, e.g. name, countries, ids.")
    level: str = Field(description="How well it agreed, e.g. exact, overlap, missing.")
    weight: float = Field(description="Its match weight (log2 Bayes factor): > 0 for, < 0 against.")


class MatchLink(BaseModel):
    """A scored pair of records: the model's evidence that two entities are one."""

    left: str = Field(description="Entity id of one record.")
    right: str = Field(description="Entity id of the other record.")
    group: str = Field(description="Resolution group, e.g. person, organisation, vessel.")
    match_probability: float
    match_weight: float = Field(description="Sum of the prior and feature weights (log2 odds).")
    datasets: list[str] = Field(description="The datasets of both records: the link's markings.")
    features: list[MatchFeature]


class EntityMatches(BaseModel):
    entity_id: str
    canonical_id: str = Field(description="The entity's cluster in the viewer's view (its own id when alone).")
    links: list[MatchLink] = Field(description="Links to other entities, strongest first.")


class Explanation(BaseModel):
    left: str
    right: str
    left_canonical_id: str
    right_canonical_id: str
    same_cluster: bool = Field(description="Whether the viewer's view puts both in one cluster.")
    links: list[MatchLink] = Field(description="Every link between the two entities' records, strongest first.")


class ReviewCandidate(BaseModel):
    """A pair the model is unsure of, worth a person's look."""

    left: str
    right: str
    left_name: str | None
    right_name: str | None
    group: str
    match_probability: float
    value: float = Field(description="How much a verdict would decide; the queue is sorted by it.")
    datasets: list[str]
    cluster_sizes: list[int] = Field(description="Sizes of both entities' clusters in the viewer's view.")
    unsure: bool = Field(description="Someone judged the pair 'unsure' (such pairs come last).")


class ReviewQueue(BaseModel):
    candidates: list[ReviewCandidate]


class JudgementRequest(BaseModel):
    left: str = Field(min_length=1, max_length=500)
    right: str = Field(min_length=1, max_length=500)
    verdict: Literal["same", "different", "unsure"]
    note: str | None = Field(default=None, max_length=2000)


class UndoRequest(BaseModel):
    left: str = Field(min_length=1, max_length=500)
    right: str = Field(min_length=1, max_length=500)


class JudgementOutcome(BaseModel):
    """What a judgement (or its undo) did, and the two entities' clusters afterwards."""

    summary: str
    author: str
    left_canonical_id: str
    right_canonical_id: str
    same_cluster: bool


class ClusterMap(BaseModel):
    clusters: dict[str, str] = Field(description="entity id -> canonical id, for clusters of two or more.")
    total: int = Field(description="Entities in such clusters over all pages.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


# The review queue page (routes in chainlight.web.review_pages): each pair with both records
# side by side and the features behind its score, all from the viewer's visible datasets.


class RecordProperty(BaseModel):
    """One property of a record under review, with its values in visible datasets."""

    prop: str
    values: list[str]
    datasets: list[str] = Field(description="The visible datasets these values come from.")


class ReviewSide(BaseModel):
    """One entity of a pair under review, as the viewer's visible datasets describe it."""

    entity_id: str
    name: str | None
    schemata: list[str]
    datasets: list[str]
    properties: list[RecordProperty] = Field(description="Its properties (at most 200 values), by property name.")


class ReviewPair(BaseModel):
    """A pair the model is unsure of, with both sides and the links (features, weights) between them."""

    left: ReviewSide
    right: ReviewSide
    group: str
    match_probability: float
    value: float = Field(description="How much a verdict would decide; the queue is sorted by it.")
    datasets: list[str]
    cluster_sizes: list[int]
    unsure: bool = Field(description="Someone judged the pair 'unsure' (such pairs come last).")
    links: list[MatchLink] = Field(description="Every visible link between the two, feature by feature.")


class LastJudgement(BaseModel):
    """The pair the viewer judged last (from the address the judgement form sends them back to)."""

    left: str
    right: str
    verdict: str | None = Field(description="The standing verdict on the pair; null when none stands (undone).")
    author: str | None


class ReviewPage(BaseModel):
    """The review queue page: the most valuable uncertain pairs, each ready for a verdict."""

    resolution_run: bool = Field(description="False until 'chainlight resolve' has run (the queue is empty).")
    pairs: list[ReviewPair]
    limit: int
    may_judge: bool = Field(description="Whether the viewer's role may record judgements (analyst or admin).")
    last: LastJudgement | None = Field(description="The pair judged last, with an undo while its verdict stands.")
