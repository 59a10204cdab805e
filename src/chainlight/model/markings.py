"""TLP 2.0 markings and the need-to-know rule that decides who sees a dataset.

FIRST's Traffic Light Protocol 2.0: CLEAR (public), GREEN (the community), AMBER (recipient
organisations and their clients, on a need-to-know basis), AMBER+STRICT (recipient
organisations only), RED (named recipients only). In Chainlight the recipients of a dataset
are its owner organisation and the members of its sharing group. The most restrictive
marking always wins when evidence is combined, and processing never downgrades a marking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class MarkingError(ValueError):
    """A marking could not be understood."""


class Marking(StrEnum):
    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def label(self) -> str:
        return f"TLP:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Marking:
        """Accept ``AMBER+STRICT``, ``tlp:amber+strict``, ``amber-strict`` and ``WHITE`` (TLP 1.0)."""
        key = text.strip().upper().removeprefix("TLP:").replace("-", "+").replace("_", "+")
        if key == "WHITE":
            return cls.CLEAR
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise MarkingError(f"unknown TLP marking {text!r}; use one of {names}") from None


_RANK = {
    Marking.CLEAR: 0,
    Marking.GREEN: 1,
    Marking.AMBER: 2,
    Marking.AMBER_STRICT: 3,
    Marking.RED: 4,
}


def most_restrictive(markings: Iterable[Marking]) -> Marking:
    """The marking a fact derived from all these inputs must carry (CLEAR when there are none)."""
    return max(markings, key=lambda m: m.rank, default=Marking.CLEAR)


@dataclass(frozen=True, slots=True)
class DatasetAccess:
    """What the need-to-know rule needs to know about a dataset."""

    name: str
    owner: str
    marking: Marking
    recipients: frozenset[str] = field(default_factory=frozenset)

    def visible_to(self, organisation: str) -> bool:
        """Whether members of ``organisation`` may read this dataset.

        CLEAR and GREEN datasets are open to every organisation on the platform. AMBER and
        AMBER+STRICT datasets are open to the owner and the organisations of the dataset's
        sharing group. RED datasets stay with the owner organisation: named individual
        recipients are granted per user, never per organisation.
        """
        if organisation == self.owner:
            return True
        if self.marking in (Marking.CLEAR, Marking.GREEN):
            return True
        if self.marking in (Marking.AMBER, Marking.AMBER_STRICT):
            return organisation in self.recipients
        return False


def visible_datasets(datasets: Iterable[DatasetAccess], organisation: str) -> frozenset[str]:
    return frozenset(d.name for d in datasets if d.visible_to(organisation))


def derived_visible(evidence: Iterable[str], visible: frozenset[str]) -> bool:
    """A derived fact is shown only when every dataset of its evidence is visible."""
    return all(name in visible for name in evidence)


#: Schemata whose records only the organisation owning their dataset may read one by one.
#:
#: A MACN-style corruption incident report (``Incident``: port, date, process stage, demanding
#: actor, item demanded) never names the ship, but one report is often enough to tell which
#: ship it was: few ships call at a small port in a given month, and the reporter's own crew
#: and agents know the story. Reporters share incidents with the platform on the promise that
#: other organisations see them only as k-anonymous aggregates (``chainlight.risk.incidents``,
#: the risk scores), however open the dataset's marking is: GREEN lets the whole community
#: count them, not read them. So every path that shows single records (search, entity
#: profiles, relations and timelines, ``export ftm``, the graph) leaves out records of these
#: schemata from datasets the reader's organisation does not own, exactly as if they did not
#: exist. A schema that extends one of these must be listed too.
OWNER_ONLY_SCHEMATA: frozenset[str] = frozenset({"Incident"})


def owned_datasets(datasets: Iterable[DatasetAccess], organisation: str) -> frozenset[str]:
    """Names of the datasets ``organisation`` owns: the only ones whose owner-only records it reads."""
    return frozenset(d.name for d in datasets if d.owner == organisation)


def readable_record(
    schema: str, datasets: Iterable[str], organisation: str, access: Mapping[str, DatasetAccess]
) -> bool:
    """Whether ``organisation`` may read, one by one, a record of ``schema`` that rests on
    ``datasets``: every dataset must be visible to it (an unregistered one hides the record),
    and for an owner-only schema (:data:`OWNER_ONLY_SCHEMATA`) every dataset must be its own."""
    names = list(datasets)
    for name in names:
        found = access.get(name)
        if found is None or not found.visible_to(organisation):
            return False
    if schema not in OWNER_ONLY_SCHEMATA:
        return True
    return all(access[name].owner == organisation for name in names)
