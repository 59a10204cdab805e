"""A small pool for resolution tests: the hand-written sources in tests/fixtures/resolution,
each loaded with its own owner and marking, plus a seeded background of unrelated people and
companies (so that u probabilities are estimated on a population, as in a real pool)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.demo import names
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from tests.conftest import FIXTURES

SOURCES = {
    # dataset: (file, owner, marking)
    "registry": ("registry.ftm.json", "registry", Marking.GREEN),
    "customs": ("customs.ftm.json", "customs", Marking.AMBER),
    "fiu": ("fiu.ftm.json", "fiu", Marking.RED),
    "ngo": ("ngo.ftm.json", "ngo", Marking.GREEN),
}
COUNTRIES = ("ke", "tz", "za", "vn", "cn", "ae", "mz", "ng", "hk", "th")


def write_background(path: Path, people: int = 150, companies: int = 150, seed: int = 5) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    with path.open("w", encoding="utf-8") as out:
        for i in range(people + companies):
            country = rng.choice(COUNTRIES)
            if i < people:
                name = names.person_name(rng, country.upper()).full
                born = f"{rng.randrange(1950, 2000)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"
                props = {"name": [name], "nationality": [country], "birthDate": [born]}
                schema = "Person"
            else:
                base, _ = names.company_name(rng, country.upper(), rng.choice(sorted(names.COMPANY_TRADES)))
                name = f"{base} Limited"
                props = {"name": [name], "country": [country]}
                schema = "Company"
            if (name, country) in seen:
                continue
            seen.add((name, country))
            out.write(json.dumps({"id": f"bg-{i}", "schema": schema, "properties": props}) + "\n")


def load_pool(settings: Settings, tmp: Path) -> None:
    for dataset, (file, owner, marking) in SOURCES.items():
        path = FIXTURES / "resolution" / file
        pipeline.ingest(settings, "ftm", [path], dataset=dataset, marking=marking, owner=owner)
    background = tmp / "background.ftm.json"
    write_background(background)
    pipeline.ingest(settings, "ftm", [background], dataset="background", marking=Marking.CLEAR, owner="registry")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The pool, resolved once per module (tests that change it take their own copy)."""
    tmp = tmp_path_factory.mktemp("pool")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    load_pool(settings, tmp)
    pipeline.resolve(settings)
    return settings
