"""The graph's vocabulary: which statements become edges, what each relation is called, and
which properties date an edge.

Two kinds of edge come from the FtM model itself:

* **Relationship entities** (FtM schemata with an ``edge`` section: ``Ownership``,
  ``Directorship``, ``Payment``, ``Family``, ``Associate``, ``Employment``,
  ``GeneticMatch``, ``PermitEndorsement`` ...) become one edge from their source property to
  their target property (``Ownership``: owner -> asset). The relation is the schema name.
* **Entity-valued properties** of every other schema become an edge from the entity to the one
  it names (``Shipment`` -> shipper, ``Seizure`` -> suspects, ``Permit`` -> holder). The
  relation is ``Schema:property``, e.g. ``Shipment:consignee``.

A third kind is derived: entities that give the same address, phone number or e-mail are
joined through a shared-identifier node (``shares:address`` ...), a star rather than a clique,
so that one address used by five hundred companies costs five hundred edges, not 125,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from chainlight.model.ftm import model

#: Relationship entities whose source is sometimes given only as an account (goAML): the
#: property to fall back on when the main one is empty.
FALLBACK_ENDS: dict[tuple[str, str], str] = {
    ("Payment", "payer"): "payerAccount",
    ("Payment", "beneficiary"): "beneficiaryAccount",
}

#: Date properties that open an edge's time span, most specific first.
START_PROPS: tuple[str, ...] = (
    "startDate", "date", "departureDate", "issueDate", "collectionDate", "incorporationDate", "createdAt",
)
#: Date properties that close it.
END_PROPS: tuple[str, ...] = ("endDate", "arrivalDate", "expiryDate", "dissolutionDate")

#: Shared-identifier kinds: FtM property type -> relation.
SHARED_TYPES: dict[str, str] = {"address": "shares:address", "phone": "shares:phone", "email": "shares:email"}

#: Schemata whose shared addresses, phones and e-mails are worth a link (people and bodies).
SHARING_SCHEMATA: tuple[str, ...] = tuple(
    [*sorted(s.name for s in model.schemata.values() if s.is_a("LegalEntity") and not s.abstract), "LegalEntity"]
)

#: Relations joined at places rather than between actors; they tie everything that passed
#: through one port together, so community detection leaves them out by default.
PLACE_RELATIONS: frozenset[str] = frozenset(
    {
        "Shipment:portOfLoading", "Shipment:portOfDischarge", "Shipment:transitPort", "Seizure:port",
        "Incident:port", "IntegrityAssessment:subject", "IntegrityAssessment:assessor",
        "Seizure:agency", "Permit:issuingAuthority", "Note:entity",
        "Shipment:carrier", "Shipment:vessel",
    }
)


@dataclass(frozen=True, slots=True)
class EdgeSchema:
    schema: str
    source: str
    target: str
    label: str


@cache
def edge_schemata() -> tuple[EdgeSchema, ...]:
    """Every concrete FtM schema (upstream and Chainlight's) that is a relationship."""
    found = []
    for schema in model.schemata.values():
        if schema.edge and not schema.abstract and schema.edge_source and schema.edge_target:
            found.append(EdgeSchema(schema.name, schema.edge_source, schema.edge_target, schema.edge_label or ""))
    return tuple(sorted(found, key=lambda e: e.schema))


def relation_label(relation: str) -> str:
    """A human label: ``Ownership`` -> ``owns``, ``Shipment:consignee`` -> ``Consignee``."""
    if relation.startswith("shares:"):
        return "shares " + relation.split(":", 1)[1]
    if ":" in relation:
        schema_name, prop = relation.split(":", 1)
        schema = model.get(schema_name)
        if schema is not None and prop in schema.properties:
            return str(schema.properties[prop].label)
        return prop
    for edge in edge_schemata():
        if edge.schema == relation:
            return edge.label or relation
    return relation


def matches(relation: str, wanted: Iterable[str]) -> bool:
    """Whether a relation is selected by any of the user's filter terms.

    A term matches the relation exactly (``Shipment:consignee``), its schema
    (``Shipment`` selects every property edge of a shipment as well as the relationship
    schema of that name) or its property (``consignee``); ``shares`` selects every
    shared-identifier link. Case does not matter.
    """
    rel = relation.lower()
    head, _, tail = rel.partition(":")
    for term in wanted:
        t = term.strip().lower()
        if t in (rel, head) or (tail and t == tail):
            return True
    return False


def known_relations() -> list[str]:
    """Every relation the model can produce (for help texts and validation)."""
    names = {e.schema for e in edge_schemata()} | set(SHARED_TYPES.values())
    edge_names = {e.schema for e in edge_schemata()}
    for schema in model.schemata.values():
        if schema.abstract or schema.name in edge_names:
            continue
        for prop in schema.properties.values():
            if prop.type.name == "entity" and not prop.stub:
                names.add(f"{schema.name}:{prop.name}")
    return sorted(names)
