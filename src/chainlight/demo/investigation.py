"""An NGO's investigation notes as FollowTheMoney entities (JSON lines): the syndicates'
members and companies, the officials they reach (Person with position and the
``role.pep`` topic), the officials' relatives (Family) and who works with whom (Associate,
Employment). Names are written as a newspaper would (Hung Nguyen), without legal suffixes
half the time."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import orjson

from chainlight.demo import names
from chainlight.demo.actors import Cast, Company, Person
from chainlight.demo.sources import INVESTIGATION
from chainlight.demo.truth import Truth


def _id(*parts: str) -> str:
    return "ngo-inv-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:20]


def write_investigation(rng: random.Random, cast: Cast, truth: Truth, out_dir: Path) -> list[Path]:
    folder = out_dir / INVESTIGATION.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "investigation.ftm.jsonl"
    rel = path.relative_to(out_dir).as_posix()
    written: set[str] = set()

    with path.open("wb") as out:

        def emit(entity_id: str, schema: str, properties: dict[str, list[str]]) -> str:
            if entity_id not in written:
                written.add(entity_id)
                clean = {k: v for k, v in properties.items() if v and all(v)}
                out.write(orjson.dumps({"id": entity_id, "schema": schema, "properties": clean}) + b"\n")
            return entity_id

        def person(p: Person) -> str:
            name = names.person_variant(rng, p.name, "ngo")
            props: dict[str, list[str]] = {"name": [name], "nationality": [p.country.lower()]}
            if rng.random() < 0.6:
                props["birthDate"] = [p.birthdate[:4]]
            if p.position:
                props["position"] = [p.position]
                if p.pep:
                    props["topics"] = ["role.pep"]
            entity_id = emit(_id("person", p.key), "Person", props)
            truth.mention(p.key, INVESTIGATION.name, "ftm", rel, entity_id, name)
            return entity_id

        def company(c: Company) -> str:
            name = names.company_variant(rng, c.base, c.legal_form, "ngo")
            props = {"name": [name], "jurisdiction": [c.country.lower()]}
            if rng.random() < 0.5:
                props["registrationNumber"] = [c.incorporation_number]
            entity_id = emit(_id("company", c.key), "Company", props)
            truth.mention(c.key, INVESTIGATION.name, "ftm", rel, entity_id, name)
            return entity_id

        def link(schema: str, props: dict[str, list[str]]) -> None:
            emit(_id(schema, *(v for values in props.values() for v in values)), schema, props)

        agencies: dict[str, str] = {}
        for s in cast.syndicates:
            boss = person(cast.people[s.boss])
            for member in s.members[1:]:
                link(
                    "Associate",
                    {
                        "person": [boss],
                        "associate": [person(cast.people[member])],
                        "relationship": ["business partner"],
                    },
                )
            for key in s.exporters + s.importers + s.shells[:1]:
                company(cast.companies[key])
            for official_key, relative_key in zip(s.officials, s.relatives, strict=True):
                official = cast.people[official_key]
                relative = cast.people[relative_key]
                official_id = person(official)
                link(
                    "Family",
                    {
                        "person": [official_id],
                        "relative": [person(relative)],
                        "relationship": [relative.relationship or "relative"],
                    },
                )
                agency = official.agency or "Public body"
                agency_id = agencies.setdefault(
                    agency,
                    emit(
                        _id("body", agency),
                        "PublicBody",
                        {"name": [agency], "jurisdiction": [official.country.lower()]},
                    ),
                )
                link(
                    "Employment",
                    {"employee": [official_id], "employer": [agency_id], "role": [official.position or "official"]},
                )
                if rng.random() < 0.5:
                    link(
                        "Associate", {"person": [boss], "associate": [official_id], "relationship": ["meets regularly"]}
                    )
        # Noise: PEPs the NGO tracks who are not linked to anything.
        for p in [p for p in cast.people.values() if p.pep and p.syndicate is None][: max(3, len(cast.syndicates))]:
            person(p)
    return [path]
