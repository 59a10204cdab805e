"""The shapes of the alerts API (routes in :mod:`chainlight.web.alerts`), as pydantic models.

The rule engine's read functions (:mod:`chainlight.rules.alerts`) answer with dataclasses and
dicts; each route validates them against these models, so ``/openapi.json`` documents what a
client receives and a field the engine adds later is dropped until it is declared here.

Every alert, evidence item and risk entry below comes from datasets the viewer may see: an
alert is listed only when every dataset it derives from is visible, and its ``marking`` is the
strictest TLP marking of those datasets, the marking to handle it under. Ids in ``entities``
and ``subject`` are the ids the rules saw: an entity's canonical id where resolution merged
records (``nk-...``), its own id otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chainlight.web.graph_payloads import Marking

TriageState = Literal["new", "confirmed", "dismissed"]
#: The rule categories (chainlight.rules.model.CATEGORIES), as the schema's enum.
Category = Literal["cites-trade", "permits", "shipments", "money", "ownership"]


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A time the stores keep as naive UTC, sent with its offset (RFC 3339, as the schema says).
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

_ALIASED = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Alert(BaseModel):
    """One finding of one rule, with the viewer's organisation's standing triage decision."""

    alert_id: str = Field(description="Stable id (al-...): the same rule flagging the same subject keeps it.")
    rule_id: str = Field(description="The rule that raised it, e.g. money.bribe-flow.")
    title: str = Field(description="The rule's title.")
    category: str = Field(description="cites-trade, permits, shipments, money or ownership.")
    severity: str = Field(description="The rule's severity: low, medium, high or critical.")
    score: float = Field(ge=0.0, le=1.0, description="0 to 1: the rule's score, or the alert's own.")
    flags: str = Field(description="What the subject is: a FollowTheMoney schema or TradeRecord.")
    subject: str = Field(description="The id of what is flagged (an entity, or a trade record).")
    entities: list[str] = Field(description="The people and companies the alert is about.")
    evidence: list[str] = Field(description="Ids of the entities and records (trade:DATASET:ID) it rests on.")
    datasets: list[str] = Field(description="Every dataset its evidence comes from.")
    marking: Marking = Field(description="The strictest TLP 2.0 marking of those datasets.")
    reason: str = Field(description="Why, in one sentence.")
    details: dict[str, Any] = Field(description="Figures the rule keeps with the alert (amounts, counts ...).")
    first_raised: UtcDatetime = Field(description="When a run first raised it (UTC).")
    last_raised: UtcDatetime = Field(description="When a run last raised it (UTC).")
    state: TriageState = Field(description="The viewer's organisation's standing decision ('new' when none).")
    triage_reason: str | None = Field(description="Why it was decided so, if a reason was given.")
    triaged_by: str | None = Field(description="Who decided (web:ORGANISATION from the web app).")
    triaged_at: UtcDatetime | None = Field(description="When it was decided (UTC).")


class AlertList(BaseModel):
    """A page of the viewer's alerts, highest score first."""

    alerts: list[Alert]
    total: int = Field(description="Alerts matching the filters over all pages.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class TriageEntry(BaseModel):
    """One decision of the viewer's organisation on an alert; the latest one stands."""

    state: TriageState
    reason: str | None
    author: str
    at: UtcDatetime = Field(description="When it was recorded (UTC).")


class StatementItem(BaseModel):
    """A statement about an entity the alert rests on."""

    model_config = _ALIASED

    kind: Literal["statement"]
    evidence: str = Field(description="The evidence id of the alert this statement belongs to.")
    statement_id: str
    entity_id: str = Field(description="The record's own entity id (before merging).")
    schema_name: str = Field(alias="schema", description="FollowTheMoney schema of the record.")
    prop: str
    value: str
    dataset: str
    origin: str | None = Field(description="Where the statement was read from (file, row).")


class RecordItem(BaseModel):
    """A CITES trade record the alert rests on."""

    kind: Literal["record"]
    evidence: str = Field(description="trade:DATASET:RECORD_ID.")
    record_id: str
    dataset: str
    taxon: str | None
    term: str | None
    quantity: float | None
    unit: str | None
    exporter: str | None
    importer: str | None
    year: int | None
    source: str | None
    purpose: str | None
    reporter_type: str | None
    export_permit_id: str | None
    origin: str | None


EvidenceItem = Annotated[StatementItem | RecordItem, Field(discriminator="kind")]


class AlertDetail(Alert):
    """One alert with what it rests on and every triage decision of the viewer's organisation."""

    evidence_items: list[EvidenceItem] = Field(
        description="The statements and trade records behind the alert, from its datasets (at most 500)."
    )
    history: list[TriageEntry] = Field(description="Triage decisions, oldest first.")


class TriageRequest(BaseModel):
    state: TriageState = Field(description="new (set back), confirmed or dismissed.")
    reason: str | None = Field(default=None, max_length=2000, description="Why; required to dismiss.")


class EntityRisk(BaseModel):
    """An entity's combined risk over the viewer's visible, undismissed alerts."""

    entity_id: str
    name: str | None = Field(description="A name of the entity from a visible dataset.")
    score: float = Field(description="1 - prod(1 - score), one signal (its highest score) per rule.")
    alerts: int = Field(description="Alerts naming the entity.")
    rules: list[str] = Field(description="The rules behind them, strongest first.")
    datasets: list[str]
    marking: Marking = Field(description="The strictest TLP 2.0 marking of those datasets.")


class RiskRanking(BaseModel):
    entities: list[EntityRisk] = Field(description="Highest risk first.")


# The alerts pages (routes in chainlight.web.alert_pages): each page's JSON twin answers one of
# these, built by the same loader as the page, from the same functions as the API above.


class RuleFacet(BaseModel):
    """A rule with alerts the viewer may see, and how many (filters other than the rule's ignored)."""

    rule_id: str
    title: str
    category: str
    alerts: int = Field(description="Visible alerts of this rule.")


class AlertFilters(BaseModel):
    """The filters a queue page was asked for, as it applied them."""

    rule: str | None = None
    category: Category | None = None
    state: TriageState | None = None
    entity: str | None = None
    min_score: float | None = None


class AlertQueue(AlertList):
    """The alerts queue page: a page of the viewer's alerts with what its filters offer."""

    rules_run: bool = Field(description="False until 'chainlight rules run' has made the alerts (the list is empty).")
    filters: AlertFilters
    rules: list[RuleFacet] = Field(description="Rules with visible alerts, most alerts first.")
    categories: list[str] = Field(description="The rule categories a filter may name.")
    names: dict[str, str] = Field(
        description="Entity id -> a name of it from a visible dataset, for the entities the page lists."
    )


class AlertPage(AlertDetail):
    """The alert page: the alert, its evidence and history, with names and dataset markings."""

    names: dict[str, str] = Field(description="Entity id -> a name of it from a visible dataset.")
    dataset_markings: dict[str, Marking] = Field(description="The marking of each dataset the alert derives from.")
    purpose: str | None = Field(description="The purpose given to read it (RED and AMBER+STRICT alerts need one).")
    may_triage: bool = Field(description="Whether the viewer's role may triage (analyst or admin).")
