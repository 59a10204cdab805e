"""Response models of search (``/search.json``) and entity profiles (``/entities/{id}.json``).

Markings are TLP 2.0 names (CLEAR, GREEN, AMBER, AMBER+STRICT, RED). Every dataset named in an
answer is one the viewer may see; ``marking`` on an answer is the strictest marking of the
datasets whose data it shows, the marking to handle the whole answer under.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_ALIASED = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class IndexStatus(BaseModel):
    built_at: str = Field(description="When 'chainlight index' built the search index (UTC, ISO 8601).")
    possibly_stale: bool = Field(
        description="The evidence store was written after the index was built: run 'chainlight index' to "
        "bring search and profiles up to date."
    )


class SearchFilters(BaseModel):
    model_config = _ALIASED

    schema_name: str | None = Field(default=None, alias="schema", description="Only entities of this schema.")
    country: str | None = Field(default=None, description="Only entities with this country (ISO code, lower case).")
    dataset: str | None = Field(default=None, description="Only records of this dataset.")
    marking: str | None = Field(default=None, description="Only records of datasets with this TLP marking.")


class FacetValue(BaseModel):
    value: str
    count: int = Field(description="Distinct entities with this value among the matches, every filter applied.")
    selected: bool = Field(description="Whether this value is the facet's current filter.")


class SearchFacets(BaseModel):
    model_config = _ALIASED

    schema_name: list[FacetValue] = Field(alias="schema")
    country: list[FacetValue]
    dataset: list[FacetValue]
    marking: list[FacetValue]


class SearchHit(BaseModel):
    model_config = _ALIASED

    entity_id: str
    caption: str = Field(description="The entity's name or label, from its best matching visible record.")
    schema_name: str = Field(alias="schema")
    score: float | None = Field(description="Name similarity to the query, 0 to 1; null when browsing.")
    matched: str | None = Field(description="The entity's name that is most like the query.")
    names: list[str] = Field(description="Names and identifiers from the visible records (at most 8).")
    countries: list[str]
    datasets: list[str] = Field(description="Visible datasets holding a matching record of this entity.")
    marking: str = Field(description="The strictest marking of those datasets.")


class SearchResults(BaseModel):
    query: str
    normalised: str = Field(description="The query as names are compared: lower case, ASCII, no punctuation.")
    filters: SearchFilters
    total: int = Field(description="Matching entities in the viewer's datasets.")
    offset: int
    limit: int
    next_offset: int | None
    approximate: bool = Field(
        description="The query's commonest trigrams were left out to answer quickly: scores below the top "
        "results, the total and the counts are estimates."
    )
    marking: str = Field(description="The strictest marking of the datasets of the hits on this page.")
    hits: list[SearchHit]
    facets: SearchFacets
    index: IndexStatus


class Provenance(BaseModel):
    """One statement behind a value: who said it, in which dataset, when, under which marking."""

    entity_id: str = Field(description="The record's entity id (a member of the cluster).")
    dataset: str
    organisation: str = Field(description="The organisation that owns the dataset.")
    marking: str
    first_seen: str = Field(description="When the value was first loaded (UTC).")
    last_seen: str = Field(description="When the value was last loaded (UTC).")
    statement_id: str
    origin: str | None = Field(description="The source file and line it was read from.")


class ProfileValue(BaseModel):
    value: str
    sources: list[Provenance]


class ProfileProperty(BaseModel):
    name: str
    label: str
    type: str = Field(description="The FollowTheMoney property type (name, date, country, ...).")
    values: list[ProfileValue]


class EntityLink(BaseModel):
    model_config = _ALIASED

    entity_id: str
    caption: str | None = Field(description="Null when the viewer may see no record of the entity.")
    schema_name: str | None = Field(alias="schema")
    prop: str | None = Field(default=None, description="The property naming it (for a relationship's other end).")
    visible: bool = Field(description="Whether the viewer may see a record of the entity (and so its profile).")


class ProfileRelation(BaseModel):
    direction: Literal["outgoing", "incoming"] = Field(
        description="outgoing: this entity names the other; incoming: the other names this entity."
    )
    prop: str = Field(description="The entity-typed property that makes the link.")
    label: str
    other: EntityLink
    source: Provenance = Field(description="The statement the link rests on.")
    counterparts: list[EntityLink] = Field(
        description="For an incoming relationship entity (Ownership, Payment, ...): its other ends."
    )
    details: dict[str, list[str]] = Field(description="The relationship entity's own values (dates, shares, ...).")


class ProfileAlert(BaseModel):
    alert_id: str
    rule_id: str
    title: str
    category: str
    severity: str
    score: float
    subject: str
    reason: str
    datasets: list[str]
    marking: str
    last_raised: str
    state: str = Field(description="The viewer's organisation's triage state: new, confirmed or dismissed.")


class TimelineEvent(BaseModel):
    date: str = Field(description="ISO 8601 date, possibly partial (2019, 2019-03).")
    prop: str
    label: str
    entity: EntityLink = Field(description="The entity the date belongs to (this one or a relationship).")
    dataset: str
    marking: str
    relation: str | None = Field(description="The relationship's schema when the date is a relation's.")


class DatasetMarking(BaseModel):
    name: str
    organisation: str
    marking: str


class EntityProfile(BaseModel):
    model_config = _ALIASED

    entity_id: str = Field(description="The id asked for.")
    canonical_id: str = Field(description="The id of its cluster in the viewer's resolution view.")
    members: list[str] = Field(description="The entity ids merged in that cluster, each with a visible record.")
    schema_name: str = Field(alias="schema")
    caption: str
    marking: str = Field(description="The strictest marking of every dataset this profile shows data from.")
    purpose: str | None = Field(description="The purpose given for reading it (RED and AMBER+STRICT profiles).")
    datasets: list[DatasetMarking]
    properties: list[ProfileProperty]
    relations: list[ProfileRelation]
    relations_total: int = Field(description="All relations; incoming ones beyond the first 200 are left out.")
    alerts: list[ProfileAlert] | None = Field(description="Null when the red-flag rules have not run.")
    timeline: list[TimelineEvent]
    index: IndexStatus
