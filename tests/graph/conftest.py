"""A small pool for graph tests: a CLEAR registry (ownership chains, a cycle, a shared
address), the FIU's RED payments (a bribe flow through a relative) and an NGO's AMBER
investigation (family, associates, shipments, seizures linked by DNA), resolved, with the
same-entity judgements that tie the three sources together made by the FIU.

Readers: ``fiu`` sees everything (owner of the RED data, member of the task force);
``customs`` sees the registry and the NGO's data; ``public`` sees the registry alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from tests.conftest import FIXTURES

SOURCES = {
    # dataset: (file, owner, marking, sharing group)
    "registry": ("registry.ftm.json", "registry", Marking.CLEAR, None),
    "fiu": ("fiu.ftm.json", "fiu", Marking.RED, None),
    "ngo": ("ngo.ftm.json", "ngo", Marking.AMBER, "taskforce"),
}
SAME = [
    ("reg-front", "fiu-front"),
    ("reg-front", "ngo-front"),
    ("fiu-official", "ngo-official"),
    ("fiu-relative", "ngo-relative"),
    ("reg-boss", "ngo-boss"),
]


def load_pool(settings: Settings) -> None:
    """Ingest the three sources, resolve, and judge the cross-source identities."""
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group("taskforce", ["ngo", "customs", "fiu"])
    finally:
        operational.dispose()
    for dataset, (file, owner, marking, group) in SOURCES.items():
        pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / file], dataset=dataset, marking=marking, owner=owner,
                        sharing_group=group)
    pipeline.resolve(settings)
    for left, right in SAME:
        pipeline.judge(settings, left, right, "same", author="analyst", organisation="fiu")


def load_graph_pool(settings: Settings) -> None:
    """The pool, with its graph built."""
    load_pool(settings)
    pipeline.graph_build(settings)


@pytest.fixture(scope="module")
def graph_pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp: Path = tmp_path_factory.mktemp("graph")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    load_graph_pool(settings)
    return settings
