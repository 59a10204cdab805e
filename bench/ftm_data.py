"""FollowTheMoney JSON lines at any scale: companies, people and the ownerships between them,
shaped like an NGO's investigation export."""

from __future__ import annotations

from pathlib import Path

import orjson

COUNTRIES = ("vn", "cn", "ng", "ke", "tz", "za", "hk", "my", "sg", "th", "ae", "mz")


def write_ftm_jsonl(path: Path, statements: int) -> int:
    """Write entities carrying about ``statements`` property values to ``path``; return the
    number of entities. Each group of three entities (a company, a person, an ownership) holds
    ~13 values, so roughly ``statements / 13 * 3`` entities are written."""
    groups = max(1, statements // 13)
    with path.open("wb") as fh:
        for i in range(groups):
            country = COUNTRIES[i % len(COUNTRIES)]
            company = {
                "id": f"co-{i}", "schema": "Company",
                "properties": {
                    "name": [f"Golden Horn Trading {i} Ltd"], "jurisdiction": [country],
                    "registrationNumber": [f"RC{i:08d}"], "address": [f"{i % 900 + 1} Harbour Road, {country}"],
                },
            }
            person = {
                "id": f"p-{i}", "schema": "Person",
                "properties": {
                    "name": [f"Person Number {i}"], "nationality": [country],
                    "birthDate": [f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}"],
                },
            }
            ownership = {
                "id": f"own-{i}", "schema": "Ownership",
                "properties": {
                    "owner": [f"p-{i}"], "asset": [f"co-{i}"], "percentage": [str(10 + i % 90)],
                    "startDate": ["2019-01-01"],
                },
            }
            fh.write(orjson.dumps(company) + b"\n")
            fh.write(orjson.dumps(person) + b"\n")
            fh.write(orjson.dumps(ownership) + b"\n")
    return groups * 3
