"""The vocabulary risk maps are drawn in: process stages, actor types and controls.

Incident reports and assessments name stages, actors and controls in their own words; the
catalogue (``config/catalogue.yaml``, documented there) turns each spelling into one key so
that counts from different sources land in the same cell. A value it does not know is kept,
slugified, rather than forced into a wrong cell: a view can still show it as it was reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class CatalogueError(ValueError):
    """The catalogue file is malformed."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    synonyms: list[str] = Field(default_factory=list)


class _StageEntry(_Entry):
    impact: int = Field(ge=1, le=5)


class _ControlEntry(_Entry):
    framework: str
    stages: list[str] = Field(default_factory=list)


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stages: dict[str, _StageEntry]
    actors: dict[str, _Entry]
    controls: dict[str, _ControlEntry]


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    impact: int
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Actor:
    key: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Control:
    key: str
    label: str
    framework: str
    stages: tuple[str, ...]  # the stages it protects; empty = all
    synonyms: tuple[str, ...]

    def protects(self, stage: str) -> bool:
        return not self.stages or stage in self.stages


def slug(value: str) -> str:
    """``"Cargo  Clearance"`` -> ``cargo-clearance``: lower case, words joined by hyphens."""
    return "-".join(re.findall(r"[^\W_]+", value.casefold()))


@dataclass(frozen=True, slots=True)
class Catalogue:
    stages: dict[str, Stage]
    actors: dict[str, Actor]
    controls: dict[str, Control]
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> slugified spelling -> key

    def __post_init__(self) -> None:
        for kind in ("stages", "actors", "controls"):
            self.spellings[kind] = _synonyms(getattr(self, kind))

    @classmethod
    def load(cls) -> Catalogue:
        return _shipped()

    @classmethod
    def parse(cls, data: Any, source: str = "catalogue") -> Catalogue:
        try:
            parsed = _CatalogueFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CatalogueError(f"{source}: {where}: {first['msg']}") from None
        stages = {k: Stage(k, v.label, v.impact, tuple(v.synonyms)) for k, v in parsed.stages.items()}
        for key, entry in parsed.controls.items():
            unknown = [s for s in entry.stages if s not in stages]
            if unknown:
                raise CatalogueError(f"{source}: controls.{key}.stages: unknown stage {unknown[0]!r}")
        return cls(
            stages=stages,
            actors={k: Actor(k, v.label, tuple(v.synonyms)) for k, v in parsed.actors.items()},
            controls={k: Control(k, v.label, v.framework, tuple(v.stages), tuple(v.synonyms))
                      for k, v in parsed.controls.items()},
        )

    def stage_of(self, raw: str | None) -> str:
        return _lookup(self, "stages", raw)

    def actor_of(self, raw: str | None) -> str:
        return _lookup(self, "actors", raw)

    def control_of(self, raw: str | None) -> str:
        return _lookup(self, "controls", raw)

    def synonym_table(self, kind: str) -> dict[str, str]:
        """Every known spelling of a stage, actor or control (slugified) -> its key."""
        return self.spellings[kind]

    def label(self, kind: str, key: str) -> str:
        """A key's label, or the key itself when the catalogue does not know it."""
        entries: dict[str, Stage] | dict[str, Actor] | dict[str, Control] = getattr(self, kind)
        entry = entries.get(key)
        return entry.label if entry is not None else key


@cache
def _shipped() -> Catalogue:
    text = files("chainlight.risk").joinpath("config/catalogue.yaml").read_text(encoding="utf-8")
    return Catalogue.parse(yaml.safe_load(text), "catalogue.yaml")


def _synonyms(entries: dict[str, Stage] | dict[str, Actor] | dict[str, Control]) -> dict[str, str]:
    table: dict[str, str] = {}
    for key, entry in entries.items():
        table[slug(key)] = key
        table[slug(entry.label)] = key
        for synonym in entry.synonyms:
            table[slug(synonym)] = key
    return table


def _lookup(catalogue: Catalogue, kind: str, raw: str | None) -> str:
    key = slug(raw or "")
    if not key:
        return "unknown"
    return catalogue.spellings[kind].get(key, key)
