"""The shapes of the graph API (routes in :mod:`chainlight.web.graph`), as pydantic models.

The graph package (:mod:`chainlight.graph`) answers with JSON-ready dicts; each route
validates its dict against one of these models, so ``/openapi.json`` documents what a client
receives and a field the graph package adds later is dropped until it is declared here.

Every id below is a node id of the viewer's view: an entity's canonical id when the viewer's
resolution view merges it with others (``entity_ids`` lists the visible entities merged under
it), its own id otherwise. Every derived result (an edge, a path, a chain, a counterparty, a
community, a cluster, the response itself) carries ``datasets``, the visible datasets its
evidence comes from, and ``marking``, the strictest TLP marking among them: that is the marking
the result must be handled under.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Marking = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]

_ALIASED = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Provenance(BaseModel):
    """Where a derived result comes from, and so how it must be handled."""

    datasets: list[str] = Field(description="The visible datasets whose evidence this result derives from.")
    marking: Marking = Field(description="The strictest TLP 2.0 marking of those datasets.")


class ShareRange(BaseModel):
    """An ownership share in percent, as a range: an exact share is a range of one value."""

    min: float | None = Field(description="Lowest share, percent (null: not stated).")
    max: float | None = Field(description="Highest share, percent (null: not stated).")


class EntityRef(BaseModel):
    """A node named in a result: enough to show it and to ask about it."""

    model_config = _ALIASED

    id: str = Field(description="Node id: the canonical id of a merged entity, else the entity id.")
    schema_name: str = Field(alias="schema", description="FollowTheMoney schema, e.g. Company, Person, Shipment.")
    caption: str | None = Field(description="The entity's name or other caption, from a visible dataset.")
    country: str | None = Field(default=None, description="A country of the entity (ISO code), if any.")


class GraphNode(EntityRef, Provenance):
    """A node of the viewer's graph with the datasets that describe it."""

    entity_ids: list[str] = Field(description="The visible entity ids merged under this node.")


class NeighbourNode(GraphNode):
    distance: int | None = Field(description="Hops from the entity asked about (0 for itself).")


class Evidence(BaseModel):
    """The entity whose statements assert an edge: a Payment, an Ownership, a Shipment ..."""

    entity_id: str | None = Field(description="Id of the evidence entity (for a shared address: the entity).")
    caption: str | None = Field(description="Its caption in a visible dataset.")
    source_entity: str | None = Field(description="The edge's source as the evidence names it (before merging).")
    target_entity: str | None = Field(description="The edge's target as the evidence names it (before merging).")


class GraphEdge(Provenance):
    """One relationship as asserted by the datasets of its evidence."""

    source: str = Field(description="Node id of the source (owner, payer, shipment ...).")
    target: str = Field(description="Node id of the target (asset, beneficiary, consignee ...).")
    relation: str = Field(description="Relation: a relationship schema (Ownership, Payment) or Schema:property.")
    label: str = Field(description="The relation in words, e.g. 'owns', 'paid', 'Consignee'.")
    evidence: Evidence
    start: date | None = Field(default=None, description="When the relation began (or the payment's date).")
    end: date | None = Field(default=None, description="When the relation ended.")
    amount: float | None = Field(default=None, description="Amount (payments, trade), in currency.")
    currency: str | None = Field(default=None, description="Currency of the amount, as stated.")
    share: ShareRange | None = Field(default=None, description="Ownership share range, percent.")
    qualifier: str | None = Field(default=None, description="Qualifier, e.g. 'direct' or 'indirect' ownership.")


class Neighbourhood(Provenance):
    """The entities within some hops of one entity, and the edges walked to reach them."""

    entity: str = Field(description="Node id of the entity asked about.")
    hops: int
    nodes: list[NeighbourNode]
    edges: list[GraphEdge]
    truncated: bool = Field(description="The walk stopped at the node limit.")
    hubs: list[str] = Field(description="Nodes with too many edges to expand (ports, banks): shown, not walked.")


class ParallelEdge(Evidence, Provenance):
    """Another edge between the same two nodes as a path step."""

    relation: str
    label: str
    start: date | None = None
    amount: float | None = None
    currency: str | None = None


class PathStep(GraphEdge):
    direction: Literal["forward", "backward"] = Field(
        description="forward: the step follows the edge from source to target; backward: against it."
    )
    parallel: list[ParallelEdge] = Field(
        default_factory=list, description="Other edges between the same two nodes (a second payment ...)."
    )


class GraphPath(Provenance):
    length: int = Field(description="Number of steps.")
    steps: list[PathStep]


class Paths(Provenance):
    """The shortest paths between two entities, direction ignored."""

    source: str = Field(description="Node id of the first entity.")
    target: str = Field(description="Node id of the second entity.")
    paths: list[GraphPath] = Field(description="Shortest first; empty when nothing the viewer sees joins them.")
    nodes: list[GraphNode] = Field(description="Every node on the paths, and both ends.")


class OwnershipChain(Provenance):
    """One chain of ownership from an ultimate owner down to the entity asked about."""

    share: ShareRange = Field(description="The product of the shares along the chain, percent.")
    cut_at_depth: bool = Field(description="The walk up stopped at its depth limit here: there may be more above.")
    steps: list[GraphEdge] = Field(description="The ownership links, from the owner down.")


class UltimateOwner(EntityRef):
    natural_person: bool
    share: ShareRange = Field(description="Effective share: chains multiplied along and summed across, percent.")
    share_known: bool = Field(description="False when some link on a chain states no share (taken as 0-100 %).")
    beneficial_owner: Literal["yes", "possible", "no"] = Field(
        description="yes: the lowest share reaches the threshold; possible: only the highest does."
    )
    declared: ShareRange | None = Field(description="An indirect interest the data declares outright, if any.")
    declared_conflicts: bool = Field(description="The declared interest disagrees with the chains.")
    chains: list[OwnershipChain]


class CycleRef(BaseModel):
    members: list[str] = Field(description="Node ids round the cycle.")
    captions: list[str | None]


class UltimateOwners(Provenance):
    """The ultimate owners of one entity, with share ranges and the chains behind them."""

    entity: str
    caption: str | None = None
    threshold: float = Field(description="Beneficial-ownership threshold, percent.")
    owners: list[UltimateOwner] = Field(description="Highest share first.")
    cycles: list[CycleRef] = Field(description="Circular ownership met while walking up.")
    chains_truncated: bool = Field(
        default=False, description="The walk stopped after 10,000 chains (dense cross-holdings): shares are partial."
    )


class CircularOwnership(Provenance):
    """A group of entities that own each other round a cycle."""

    members: list[str]
    captions: list[str | None]
    edges: list[GraphEdge]


class CircularOwnerships(Provenance):
    cycles: list[CircularOwnership]


class MoneyCounterparty(EntityRef, Provenance):
    """Who the money reached at one hop (or came from), summed over the payments."""

    returns_to_origin: bool = Field(description="The money came back to the entity traced from.")
    payments: int
    amounts: dict[str, float] = Field(description="Sum per currency (nothing is converted).")
    first: date | None = Field(description="Date of the earliest payment.")
    last: date | None = Field(description="Date of the latest payment.")
    from_: list[str] | None = Field(default=None, alias="from", description="Forward: the payers at the hop before.")
    to: list[str] | None = Field(default=None, description="Backward: the payees at the hop before.")


class MoneyHop(BaseModel):
    hop: int
    counterparties: list[MoneyCounterparty] = Field(description="Largest sum first.")
    totals: dict[str, float] = Field(description="Sum per currency over the hop.")


class MoneyWindow(BaseModel):
    since: date | None
    until: date | None


class MoneyTrace(Provenance):
    """Payments followed hop by hop in time order: money can only move on after it arrived."""

    entity: str
    window: MoneyWindow
    undated_payments_left_out: int = Field(description="Payments with no date, which cannot be put in order.")
    forward: list[MoneyHop] | None = Field(default=None, description="Where the money went, per hop.")
    backward: list[MoneyHop] | None = Field(default=None, description="Where the money came from, per hop.")


class Broker(BaseModel):
    model_config = _ALIASED

    id: str
    schema_name: str = Field(alias="schema")
    caption: str | None
    betweenness: float = Field(description="Betweenness centrality inside the community.")


class Community(Provenance):
    id: str = Field(description="A label that depends only on the members.")
    size: int = Field(description="People, companies, accounts and vessels in it.")
    schemata: dict[str, int] = Field(description="Members per schema.")
    brokers: list[Broker] = Field(description="Highest betweenness first.")
    members: list[EntityRef] = Field(description="Best connected first (at most 50).")


class Communities(Provenance):
    """Syndicate candidates: Leiden communities, largest first, with their brokers."""

    communities: list[Community]
    total: int = Field(description="Communities of the minimum size or more (before the limit).")
    resolution: float
    excluded_relations: list[str]


class ClusterOwner(BaseModel):
    model_config = _ALIASED

    of: str = Field(description="The party or suspect owned.")
    id: str
    schema_name: str = Field(alias="schema")
    caption: str | None
    share: ShareRange


class DnaCluster(Provenance):
    """Seizures linked by DNA and everything their paperwork names."""

    seizures: list[EntityRef]
    matches: list[GraphEdge] = Field(description="The genetic matches that link the seizures.")
    shipments: list[EntityRef]
    permits: list[EntityRef]
    parties: list[EntityRef] = Field(description="Shippers, consignees, notify parties and forwarders.")
    suspects: list[EntityRef]
    ports: list[EntityRef]
    owners: list[ClusterOwner] = Field(description="Ultimate owners of the parties and suspects.")


class DnaClusters(Provenance):
    clusters: list[DnaCluster] = Field(description="Largest first.")
