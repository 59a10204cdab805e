"""The shapes of the route map (``/map.json``) and of the network explorer (``/network.json``).

The map's flows, seizure points and totals are computed by :mod:`chainlight.maps.flows` from
the viewer's visible datasets only; every flow and point carries those datasets and their
strictest TLP marking, the marking to handle it under.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chainlight.web.graph_payloads import EntityRef, Provenance
from chainlight.web.graph_payloads import Marking as MarkingName

Kind = Literal["trade", "shipments", "seizures"]

_FROM_OBJECTS = ConfigDict(from_attributes=True)


class MapPlace(BaseModel):
    """A country or a port that a flow passes or a seizure happened at."""

    model_config = _FROM_OBJECTS

    id: str = Field(description="'country:<ISO-2 or CITES code>' or 'port:<entity id>'.")
    kind: Literal["country", "port"]
    name: str
    country: str | None = Field(description="The country (ISO-2, upper case) the place lies in.")
    latitude: float | None = Field(description="Degrees north; null when the place cannot be located.")
    longitude: float | None = Field(description="Degrees east; null when the place cannot be located.")
    shipments: int = Field(description="Shipment records, among the flows, whose route passes this port.")
    seizures: int = Field(description="Seizures made here.")


class MapFlow(Provenance):
    """Every record of one kind along the same stops, in the response's unit."""

    model_config = _FROM_OBJECTS

    id: str = Field(description="Stable id of the flow (kind and stops).")
    kind: Kind
    stops: list[str] = Field(description="Place ids in travel order: origin, transit points, destination.")
    unit: str | None = Field(description="CITES unit code of the quantity; null: number of specimens.")
    quantity: float = Field(description="Sum of the records' quantities.")
    records: int = Field(description="Trade rows, shipments or seizures along the route.")
    first_year: int | None
    last_year: int | None
    taxa: list[str] = Field(description="Taxa of its largest records (up to three).")


class MapSeizurePoint(Provenance):
    """The seizures made at one place (their port, else their country)."""

    model_config = _FROM_OBJECTS

    place: str = Field(description="Place id.")
    seizures: int
    specimens: float = Field(description="Summed quantities stated as numbers of specimens.")
    weight: float = Field(description="Summed weights, kg.")
    first_year: int | None
    last_year: int | None
    taxa: list[str] = Field(description="The taxon of the heaviest seizure here.")


class MapUnit(BaseModel):
    model_config = _FROM_OBJECTS

    unit: str | None = Field(description="CITES unit code; null: number of specimens.")
    label: str
    records: int = Field(description="Matching records in this unit (all kinds).")


class MapFilters(BaseModel):
    """The filters the map was drawn with, as understood (codes resolved)."""

    kinds: list[Kind]
    taxon: str | None
    term: str | None = Field(description="CITES term code.")
    year_from: int | None
    year_to: int | None
    datasets: list[str] = Field(description="Only these datasets (empty: every visible dataset).")
    source: str | None = Field(description="CITES source code (trade only).")
    reporter: Literal["all", "E", "I"]
    unit: str | None = Field(description="The unit asked for ('number' for specimens); null: the commonest.")
    limit: int


class RouteMap(Provenance):
    """Trade, shipment and seizure flows and seizure points, over the viewer's visible datasets."""

    filters: MapFilters
    unit: str | None = Field(description="The unit of every quantity below; null: number of specimens.")
    unit_label: str
    units: list[MapUnit] = Field(description="Every unit the matching records use, most records first.")
    flows: list[MapFlow] = Field(description="The largest flows, up to the limit, largest first.")
    total_flows: int = Field(description="How many flows there are in all (before the limit).")
    records: int = Field(description="Records behind all the flows.")
    quantity: float = Field(description="Quantity of all the flows, in the unit.")
    seizures: list[MapSeizurePoint]
    places: list[MapPlace] = Field(description="Every place the listed flows and seizure points name.")
    first_year: int | None
    last_year: int | None
    held_back: int = Field(
        default=0,
        description="Flows from RED or AMBER+STRICT datasets left out because no purpose was given (?purpose= "
                    "or the X-Chainlight-Purpose header); nothing of them is in any list, count or total above.",
    )
    held_back_seizures: int = Field(default=0, description="Seizures from such datasets left out likewise.")
    held_back_marking: MarkingName | None = Field(
        default=None, description="The strictest marking of what was held back (null: nothing was)."
    )


class NetworkRelation(BaseModel):
    name: str = Field(description="Relation name, as the graph API's relation filter takes it.")
    label: str = Field(description="The relation in words.")
    edges: int = Field(description="Edges of this relation in the viewer's graph.")


class NetworkStart(EntityRef, Provenance):
    """The entity the explorer starts from."""

    entity_ids: list[str] = Field(description="The visible entity ids merged under this node.")


class NetworkExplorer(BaseModel):
    """What the network explorer needs before it draws: the relation types and the start."""

    built: bool = Field(description="False until 'chainlight graph build' has run (the explorer cannot draw).")
    relations: list[NetworkRelation] = Field(description="Relations present in the viewer's graph, by name.")
    entity: NetworkStart | None = Field(description="The entity asked for with ?entity=, if any.")
    neighbours_url: str = Field(description="Template of the neighbourhood API address ({id} to fill in).")
    path_url: str = Field(description="The path API address.")

