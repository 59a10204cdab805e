"""The rule file model refuses what would make a rule misleading or untestable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from chainlight.rules.model import Fixtures, Rule, RuleError, load_rule

BASE: dict[str, Any] = {
    "id": "permit.example",
    "title": "An example",
    "category": "permits",
    "severity": "medium",
    "flags": "Permit",
    "rationale": "Why it matters.",
    "references": [{"title": "CITES Resolution Conf. 12.3"}],
    "inputs": ["permits"],
    "parameters": {"limit": {"value": 2, "description": "A limit."}},
    "query": "SELECT id AS subject, [] AS entities, [id] AS evidence, datasets, 'x' AS reason "
             "FROM permits WHERE quantity > $limit",
}
FIXTURES: dict[str, Any] = {
    "rule": "permit.example",
    "cases": [
        {"name": "fires", "expect": "fires", "subjects": ["p1"], "given": {"permits": [{"id": "p1", "quantity": 3}]}},
        {"name": "quiet", "expect": "quiet", "given": {"permits": [{"id": "p1", "quantity": 2}]}},
    ],
}


def test_a_valid_rule_gets_its_score_from_its_severity() -> None:
    rule = Rule.model_validate(BASE)
    assert rule.effective_score == 0.4
    assert Rule.model_validate({**BASE, "score": 0.55}).effective_score == 0.55


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Permit Example"}, "lower case"),
        ({"inputs": ["permits", "invoices"]}, "unknown input(s) invoices"),
        ({"parameters": {}}, "the query uses $limit but the rule declares no parameter"),
        ({"parameters": {"limit": {"value": 2, "description": "x"}, "other": {"value": 1, "description": "y"}}},
         "parameter 'other' is not used"),
        ({"references": []}, "at least 1"),
        ({"severity": "extreme"}, "severity"),
        ({"surprise": True}, "Extra inputs"),
    ],
)
def test_invalid_rules_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)")):
        Rule.model_validate({**BASE, **change})


def test_fixtures_need_a_firing_and_a_quiet_case_and_fires_lists_subjects() -> None:
    with pytest.raises(ValidationError, match="'fires' case and one 'quiet' case"):
        Fixtures.model_validate({**FIXTURES, "cases": [FIXTURES["cases"][0], FIXTURES["cases"][0]]})
    with pytest.raises(ValidationError, match="lists the subjects"):
        Fixtures.model_validate({**FIXTURES, "cases": [{"name": "f", "expect": "fires"}, FIXTURES["cases"][1]]})


def _write(folder: Path, rule: dict[str, Any], fixtures: dict[str, Any] | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rule['id']}.yaml"
    path.write_text(yaml.safe_dump(rule), encoding="utf-8")
    if fixtures is not None:
        (folder / f"{rule['id']}.fixtures.yaml").write_text(yaml.safe_dump(fixtures), encoding="utf-8")
    return path


def test_load_rule_checks_file_name_folder_and_fixtures(tmp_path: Path) -> None:
    loaded = load_rule(_write(tmp_path / "permits", BASE, FIXTURES))
    assert loaded.rule.id == "permit.example" and len(loaded.fixtures.cases) == 2
    with pytest.raises(RuleError, match="no fixtures beside it"):
        load_rule(_write(tmp_path / "nofix" / "permits", BASE, None))
    with pytest.raises(RuleError, match="belongs in library/permits"):
        load_rule(_write(tmp_path / "money", BASE, FIXTURES))
    with pytest.raises(RuleError, match="fixtures name rule"):
        load_rule(_write(tmp_path / "other" / "permits", BASE, {**FIXTURES, "rule": "permit.other"}))
    bad = tmp_path / "broken" / "permits"
    bad.mkdir(parents=True)
    (bad / "permit.example.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rule(bad / "permit.example.yaml")
