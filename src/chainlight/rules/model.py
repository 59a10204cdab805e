"""Rules as data: the typed model of a rule file and of its fixtures, and the library loader.

A rule is one YAML file in ``chainlight/rules/library/<category>/<id>.yaml`` with its test
fixtures next to it in ``<id>.fixtures.yaml``. Its ``query`` is DuckDB SQL over the inputs it
names (:mod:`chainlight.rules.inputs`), the configuration tables it names (``cfg_<name>``,
:mod:`chainlight.rules.config`), the CITES code tables (``cites_*``) and ``ref_wildlife_hs``;
``$name`` placeholders take the rule's parameters. Every row the query returns is one alert
and must have these columns:

- ``subject`` (VARCHAR): the id of what is flagged (an entity id, or a trade record id);
  with the rule id it makes the alert's stable id, so one rule flags one subject once.
- ``entities`` (VARCHAR[]): the people and companies the alert is about (their risk scores
  combine the alerts that name them); may be empty.
- ``evidence`` (VARCHAR[]): ids of the entities and records the alert rests on.
- ``datasets`` (VARCHAR[]): every dataset the evidence came from; the alert inherits their
  markings, so take the union over every input row the alert used.
- ``reason`` (VARCHAR): one sentence saying why, in the analyst's words.
- optional ``score`` (DOUBLE, 0 to 1): overrides the rule's score for this alert.

Any further columns listed under ``details`` are kept with the alert as evidence figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chainlight.rules.inputs import INPUTS

CATEGORIES = ("cites-trade", "permits", "shipments", "money", "ownership")
SEVERITY_SCORES = {"low": 0.2, "medium": 0.4, "high": 0.6, "critical": 0.8}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)+$")
REQUIRED_COLUMNS = {"subject": "VARCHAR", "entities": "VARCHAR[]", "evidence": "VARCHAR[]",
                    "datasets": "VARCHAR[]", "reason": "VARCHAR"}


class RuleError(ValueError):
    """A rule file or fixture file is invalid, or a rule cannot run."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str | None = None


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float | int | str
    description: str


class Rule(BaseModel):
    """One red-flag rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id, ``<category-word>.<name>``; alert ids derive from it.")
    title: str
    category: Literal["cites-trade", "permits", "shipments", "money", "ownership"]
    severity: Literal["low", "medium", "high", "critical"]
    score: float | None = Field(default=None, ge=0, le=1, description="Default: from the severity.")
    flags: str = Field(description="What a subject is: an FtM schema (Permit, Shipment ...) or TradeRecord.")
    rationale: str
    references: list[Reference] = Field(min_length=1)
    inputs: list[str] = Field(min_length=1, description="Inputs the query reads; each must hold rows to run.")
    optional_inputs: list[str] = Field(default_factory=list, description="Inputs that may be empty.")
    config: list[str] = Field(default_factory=list, description="Configuration tables read (cfg_<name>).")
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    query: str
    details: list[str] = Field(default_factory=list, description="Extra output columns kept as evidence figures.")
    unambiguous: list[str] = Field(
        default_factory=list,
        description="Input columns (``input.column``) the rule's judgement rests on: when sources disagree on one "
        "entity's value the rule does not run rather than judge on one of them.",
    )
    truth: str | None = Field(default=None, description="The synthetic world's planted pattern kind it finds.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("rule ids are lower case words joined by '.' or '-', e.g. permit.reused")
        return value

    @field_validator("inputs", "optional_inputs")
    @classmethod
    def _inputs(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in INPUTS]
        if unknown:
            raise ValueError(f"unknown input(s) {', '.join(unknown)}; known: {', '.join(INPUTS)}")
        return value

    @field_validator("unambiguous")
    @classmethod
    def _unambiguous(cls, value: list[str]) -> list[str]:
        for item in value:
            name, _, column = item.partition(".")
            spec = INPUTS.get(name)
            col = next((c for c in spec.columns if c.name == column), None) if spec else None
            if col is None or col.prop is None or col.type.endswith("[]"):
                raise ValueError(f"{item!r} is not a single-valued input column read from a property")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        for name in self.parameters:
            if f"${name}" not in self.query:
                raise ValueError(f"parameter {name!r} is not used in the query (write ${name})")
        for used in set(re.findall(r"\$([a-z_][a-z0-9_]*)", self.query)):
            if used not in self.parameters:
                raise ValueError(f"the query uses ${used} but the rule declares no parameter {used!r}")
        return self

    @property
    def effective_score(self) -> float:
        return self.score if self.score is not None else SEVERITY_SCORES[self.severity]

    @property
    def all_inputs(self) -> list[str]:
        return [*self.inputs, *self.optional_inputs]


class FixtureCase(BaseModel):
    """Rows for the inputs, and which subjects must (and only they) be flagged."""

    model_config = ConfigDict(extra="forbid")
    name: str
    expect: Literal["fires", "quiet"]
    subjects: list[str] = Field(default_factory=list, description="For ``fires``: exactly the subjects flagged.")
    given: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    config: dict[str, list[dict[str, Any]]] = Field(default_factory=dict, description="Replaces a config table.")
    parameters: dict[str, float | int | str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _subjects(self) -> FixtureCase:
        if self.expect == "fires" and not self.subjects:
            raise ValueError("a 'fires' case lists the subjects it must flag")
        if self.expect == "quiet" and self.subjects:
            raise ValueError("a 'quiet' case flags nothing, so it lists no subjects")
        return self


class Fixtures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    cases: list[FixtureCase] = Field(min_length=2)

    @model_validator(mode="after")
    def _both(self) -> Fixtures:
        kinds = {c.expect for c in self.cases}
        if kinds != {"fires", "quiet"}:
            raise ValueError("fixtures need at least one 'fires' case and one 'quiet' case")
        return self


@dataclass(frozen=True, slots=True)
class LoadedRule:
    rule: Rule
    path: Path
    fixtures: Fixtures


def library_dir() -> Path:
    return Path(str(files("chainlight.rules") / "library"))


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc


def _errors(path: Path, exc: ValidationError) -> RuleError:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()]
    return RuleError(f"{path}: " + "; ".join(parts))


def load_rule(path: Path) -> LoadedRule:
    """One rule file and its fixtures, validated."""
    try:
        rule = Rule.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise _errors(path, exc) from None
    if path.stem != rule.id:
        raise RuleError(f"{path}: the file must be named after the rule id ({rule.id}.yaml)")
    if path.parent.name != rule.category:
        raise RuleError(f"{path}: a {rule.category} rule belongs in library/{rule.category}/")
    fixture_path = path.with_name(f"{rule.id}.fixtures.yaml")
    if not fixture_path.exists():
        raise RuleError(f"{path}: no fixtures beside it ({fixture_path.name})")
    try:
        fixtures = Fixtures.model_validate(_load_yaml(fixture_path))
    except ValidationError as exc:
        raise _errors(fixture_path, exc) from None
    if fixtures.rule != rule.id:
        raise RuleError(f"{fixture_path}: fixtures name rule {fixtures.rule!r}, not {rule.id!r}")
    return LoadedRule(rule, path, fixtures)


@cache
def library() -> dict[str, LoadedRule]:
    """Every shipped rule, by id, in category then id order."""
    rules: dict[str, LoadedRule] = {}
    for path in sorted(library_dir().glob("*/*.yaml")):
        if path.name.endswith(".fixtures.yaml"):
            continue
        loaded = load_rule(path)
        if loaded.rule.id in rules:
            raise RuleError(f"{path}: rule id {loaded.rule.id} is also used by {rules[loaded.rule.id].path}")
        rules[loaded.rule.id] = loaded
    return dict(sorted(rules.items(), key=lambda kv: (CATEGORIES.index(kv[1].rule.category), kv[0])))


def select(ids: list[str] | None) -> list[LoadedRule]:
    """The named rules (all when ``ids`` is empty); an unknown id is an error."""
    rules = library()
    if not ids:
        return list(rules.values())
    unknown = [i for i in ids if i not in rules]
    if unknown:
        raise RuleError(f"unknown rule(s) {', '.join(unknown)}; 'chainlight rules list' shows them")
    return [rules[i] for i in ids]
