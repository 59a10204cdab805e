"""The shipped library: enough rules in every category, every rule passing its own
fixtures (a firing case and a quiet one), and docs/rules.md generated from it."""

from __future__ import annotations

import pytest

from chainlight.rules.docs import render
from chainlight.rules.fixtures import run_fixtures
from chainlight.rules.model import CATEGORIES, library
from tests.conftest import REPO

RULES = list(library())


def test_the_library_covers_every_category_with_at_least_25_rules() -> None:
    assert len(RULES) >= 25
    by_category = {c: [r for r in library().values() if r.rule.category == c] for c in CATEGORIES}
    assert all(len(members) >= 4 for members in by_category.values()), {c: len(m) for c, m in by_category.items()}


@pytest.mark.parametrize("rule_id", RULES)
def test_rule_passes_its_fixtures(rule_id: str) -> None:
    results = run_fixtures([library()[rule_id]])
    failures = [f"{r.case}: {r.message}" for r in results if not r.passed]
    assert not failures, failures
    assert {r.expect for r in results} == {"fires", "quiet"}


def test_every_rule_is_documented_with_references_and_a_reason() -> None:
    for loaded in library().values():
        rule = loaded.rule
        assert len(rule.rationale.split()) >= 20, f"{rule.id}: the rationale is too thin"
        assert rule.references and all(ref.title.strip() for ref in rule.references)
        assert "reason" in rule.query


def test_docs_rules_md_is_current() -> None:
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == render(), (
        "docs/rules.md is stale: run 'chainlight docs rules'"
    )
