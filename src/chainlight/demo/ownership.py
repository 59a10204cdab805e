"""Beneficial ownership statements (BODS 0.4) from a company registry.

Every shell, exporter and importer is declared with its shareholders. A syndicate's front
company is owned through two or three shells in secrecy jurisdictions; the registry also
declares the indirect relationship from the boss to the front company, whose component
records are the links of the chain (``isComponent``), as BODS 0.4 models indirect control.
Statements are written as JSON arrays of at most ``STATEMENTS_PER_FILE`` statements.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import orjson

from chainlight.demo import names
from chainlight.demo.actors import Cast, Company, Person
from chainlight.demo.sources import REGISTRY
from chainlight.demo.truth import Truth
from chainlight.model.identity import dataset_key
from chainlight.reference.cites import codes

STATEMENTS_PER_FILE = 50_000
PUBLISHER = {"name": "Chainlight synthetic company registry"}


def _country(code: str) -> dict[str, str]:
    found = codes().countries.get(code)
    return {"name": found.name if found else code, "code": code}


def _statement_id(record_id: str, kind: str) -> str:
    return hashlib.sha256(f"{record_id}:{kind}".encode()).hexdigest()[:40]


class _Package:
    """A streamed JSON array split over numbered files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self._fh: IO[bytes] | None = None
        self._count = 0

    def add(self, statement: dict[str, Any]) -> str:
        if self._fh is None or self._count >= STATEMENTS_PER_FILE:
            self._close()
            path = self.folder / f"bods_{len(self.files) + 1:03d}.json"
            self.files.append(path)
            self._fh = path.open("wb")
            self._fh.write(b"[\n")
            self._count = 0
        assert self._fh is not None
        self._fh.write((b",\n" if self._count else b"") + orjson.dumps(statement))
        self._count += 1
        return self.files[-1].relative_to(self.folder.parent).as_posix()

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.write(b"\n]\n")
            self._fh.close()
            self._fh = None

    def close(self) -> list[Path]:
        self._close()
        return self.files


def _envelope(record_id: str, record_type: str, subject: str, when: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "statementId": _statement_id(record_id, record_type),
        "declarationSubject": subject,
        "statementDate": when,
        "publicationDetails": {"publicationDate": "2024-06-30", "bodsVersion": "0.4", "publisher": PUBLISHER},
        "recordId": record_id,
        "recordStatus": "new",
        "recordType": record_type,
        "recordDetails": details,
    }


def write_ownership(
    rng: random.Random, cast: Cast, truth: Truth, out_dir: Path, advance: Callable[[int], None]
) -> list[Path]:
    folder = out_dir / REGISTRY.name
    folder.mkdir(parents=True, exist_ok=True)
    package = _Package(folder)
    declared_people: set[str] = set()
    declared: set[str] = set()

    def entity(company: Company, component: bool) -> str:
        record_id = f"{company.country.lower()}-{company.incorporation_number.lower()}"
        if record_id in declared:
            return record_id
        declared.add(record_id)
        name = names.company_variant(rng, company.base, company.legal_form, "registry")
        details: dict[str, Any] = {
            "isComponent": component,
            "entityType": {"type": "registeredEntity"},
            "name": name,
            "jurisdiction": _country(company.country),
            "identifiers": [{"id": company.incorporation_number, "schemeName": f"{company.country} company register"}],
            "foundingDate": company.incorporation_date,
            "addresses": [{"type": "registered", "address": company.address, "country": _country(company.country)}],
        }
        file = package.add(_envelope(record_id, "entity", record_id, company.incorporation_date, details))
        truth.mention(company.key, REGISTRY.name, "bods", file, dataset_key(REGISTRY.name, "bods", record_id), name)
        return record_id

    def person(p: Person, subject: str, component: bool) -> str:
        record_id = f"person-{hashlib.sha256(p.key.encode()).hexdigest()[:12]}"
        if record_id in declared_people:
            return record_id
        declared_people.add(record_id)
        details: dict[str, Any] = {
            "isComponent": component,
            "personType": "knownPerson",
            "names": [
                {"type": "legal", "fullName": p.name.full, "givenName": p.name.given, "familyName": p.name.family}
            ],
            "nationalities": [_country(p.country)],
            "birthDate": p.birthdate[:7],
        }
        if p.pep:
            details["politicalExposure"] = {
                "status": "isPep",
                "details": [{"reason": p.position or "public official", "jurisdiction": _country(p.country)}],
            }
        file = package.add(_envelope(record_id, "person", subject, "2024-01-15", details))
        truth.mention(p.key, REGISTRY.name, "bods", file, dataset_key(REGISTRY.name, "bods", record_id), p.name.full)
        return record_id

    def owner_record(key: str, subject: str, component: bool) -> str:
        if key in cast.people:
            return person(cast.people[key], subject, component)
        return entity(cast.companies[key], component)

    def relationship(
        subject: str,
        party: str,
        share: float,
        component: bool,
        beneficial: bool,
        start: str,
        direct: bool = True,
        parts: list[str] | None = None,
    ) -> str:
        record_id = f"rel-{hashlib.sha256(f'{subject}>{party}'.encode()).hexdigest()[:16]}"
        interest: dict[str, Any] = {
            "type": "shareholding",
            "directOrIndirect": "direct" if direct else "indirect",
            "beneficialOwnershipOrControl": beneficial,
            "share": {"exact": share},
            "startDate": start,
        }
        details: dict[str, Any] = {
            "isComponent": component,
            "subject": subject,
            "interestedParty": party,
            "interests": [interest],
        }
        if parts:
            details["componentRecords"] = parts
        package.add(_envelope(record_id, "relationship", subject, start, details))
        return record_id

    chain_members = {k for s in cast.syndicates for k in s.shells}
    count = 0
    for company in cast.companies.values():
        if company.kind in ("bank", "forwarder") and rng.random() < 0.5:
            continue
        subject = entity(company, company.key in chain_members)
        for owner, share in company.owners:
            is_person = owner in cast.people
            component = company.key in chain_members or (not is_person and owner in chain_members)
            party = owner_record(owner, subject, component and not is_person)
            relationship(subject, party, share, component, is_person, company.incorporation_date)
        count += 1
        if count % 1000 == 0:
            advance(1000)
    advance(count % 1000)
    for s in cast.syndicates:
        _declare_indirect(cast, s.exporters + s.importers, s.boss, entity, person, relationship, truth)
    return package.close()


def _declare_indirect(
    cast: Cast,
    fronts: list[str],
    boss: str,
    entity: Callable[..., str],
    person: Callable[..., str],
    relationship: Callable[..., str],
    truth: Truth,
) -> None:
    """Boss -> front company, indirect, with the chain's relationships as components."""
    for front in fronts:
        company = cast.companies[front]
        path = _ownership_path(cast, front, boss)
        if path is None:
            continue
        subject = entity(company, False)
        parts = []
        for owned, owner in pairwise(path):
            owned_id = entity(cast.companies[owned], True)
            owner_id = (
                person(cast.people[owner], subject, False)
                if owner in cast.people
                else entity(cast.companies[owner], True)
            )
            share = dict(cast.companies[owned].owners)[owner]
            parts.append(
                relationship(
                    owned_id, owner_id, share, True, owner in cast.people, cast.companies[owned].incorporation_date
                )
            )
        relationship(
            subject,
            person(cast.people[boss], subject, False),
            100.0,
            False,
            True,
            company.incorporation_date,
            direct=False,
            parts=parts,
        )
        truth.pattern(
            "layered_ownership",
            syndicate=company.syndicate,
            company=front,
            beneficial_owner=boss,
            chain=path,
            depth=len(path) - 1,
        )


def _ownership_path(cast: Cast, start: str, target: str) -> list[str] | None:
    path = [start]
    current = start
    while current in cast.companies:
        owners = [o for o, _ in cast.companies[current].owners]
        if target in owners:
            return [*path, target]
        nxt = next((o for o in owners if o in cast.companies), None)
        if nxt is None or nxt in path:
            return None
        path.append(nxt)
        current = nxt
    return None
