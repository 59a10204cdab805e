"""A small pool for rule tests: the graph tests' CLEAR registry, the FIU's RED payments and
the NGO's AMBER investigation (shipments, seizures, an official and his sister), resolved,
with the FIU's same-entity judgements. Readers: ``fiu`` sees all three, ``customs`` the
registry and the NGO's data, ``public`` the registry alone."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from chainlight.rules.model import Fixtures, LoadedRule, Rule
from chainlight.settings import Settings
from tests.graph.conftest import load_pool


def load_rules_pool(settings: Settings) -> None:
    """The graph tests' pool (ingested, resolved, judged); rules need no graph."""
    load_pool(settings)


@pytest.fixture(scope="session")
def rules_pool_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ingested and resolved once; each test gets a copy it may change."""
    home = tmp_path_factory.mktemp("rules-pool") / "home"
    load_rules_pool(Settings.load(home, f"sqlite:///{home / 'chainlight.db'}").ensure())
    return home


@pytest.fixture
def rules_pool(rules_pool_template: Path, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(rules_pool_template, home)
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")


def make_rule(**fields: Any) -> LoadedRule:
    """A rule built in the test (not from the library), with placeholder fixtures."""
    base: dict[str, Any] = {
        "title": "A test rule", "severity": "high", "flags": "Payment", "rationale": "For tests.",
        "references": [{"title": "Test"}], "category": "money",
    }
    rule = Rule.model_validate({**base, **fields})
    fixtures = Fixtures.model_validate({"rule": rule.id, "cases": [
        {"name": "f", "expect": "fires", "subjects": ["x"]}, {"name": "q", "expect": "quiet"}]})
    return LoadedRule(rule, Path(f"{rule.id}.yaml"), fixtures)


#: Payments to an official, or to an official's family (RED payments + AMBER family ties).
OFFICIAL_PAYMENTS = dict(
    id="money.test-official-payments",
    inputs=["payments", "parties"],
    optional_inputs=["relations"],
    query="""
        WITH officials AS (SELECT id, datasets FROM parties WHERE is_official),
        close AS (
            SELECT id AS official, id AS person, datasets FROM officials
            UNION ALL
            SELECT o.id, CASE WHEN r.source = o.id THEN r.target ELSE r.source END, merge_lists(o.datasets, r.datasets)
            FROM officials o JOIN relations r ON r.kind = 'family' AND o.id IN (r.source, r.target)
        )
        SELECT p.id AS subject, list_distinct([p.payer, p.beneficiary]) AS entities,
               list_distinct(flatten([[p.id], list(c.official)])) AS evidence,
               merge_lists(p.datasets, flatten(list(c.datasets))) AS datasets,
               'Payment of ' || p.amount || ' to an official or a relative' AS reason, p.amount AS amount
        FROM payments p JOIN close c ON c.person = p.beneficiary
        GROUP BY p.id, p.payer, p.beneficiary, p.datasets, p.amount
    """,
    details=["amount"],
)

#: Shipments that were later seized (AMBER NGO data only).
SEIZED_SHIPMENTS = dict(
    id="shipment.test-seized",
    category="shipments",
    severity="medium",
    flags="Shipment",
    inputs=["shipments", "seizures"],
    query="""
        SELECT s.id AS subject, without_nulls([s.shipper, s.consignee]) AS entities, [s.id, z.id] AS evidence,
               merge_lists(s.datasets, z.datasets) AS datasets, 'Seized on ' || z.date AS reason
        FROM shipments s JOIN seizures z ON z.shipment = s.id
    """,
)
