"""The port risk model: weights, normalisation and the missing-data policy, read from YAML.

The shipped model (``config/model.yaml``) documents every setting beside its value. A user's
copy (``--model FILE``, or ``$CHAINLIGHT_HOME/risk/model.yaml``) replaces it wholesale, and
``with_weights`` changes single weights for one scoring run (what the web app's weight form
does), so an analyst can see the ranking move without editing a file. A model that does not
validate is an error naming the file and the setting; scoring never runs on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chainlight.risk.catalogue import Catalogue

#: The factors the scorer knows how to measure, by group (docs/risk.md describes each).
LIKELIHOOD_FACTORS = (
    "incidents", "incident-trend", "missed-seizures", "alerts", "free-trade-zone", "port-security", "country",
)
IMPACT_FACTORS = ("harbour-size", "trafficking-routes", "first-port-of-entry")
Method = Literal["log-cap", "linear", "boolean", "map", "index"]


class RiskModelError(ValueError):
    """A risk model file is missing, malformed or names an unknown factor."""


class Normalise(BaseModel):
    """How a raw value becomes a 0..1 value (1 = riskiest)."""

    model_config = ConfigDict(extra="forbid")
    method: Method
    cap: float | Literal["p95", "p99", "max"] | None = None  # log-cap: a number or a percentile of ports with any
    min: float | None = None  # linear
    max: float | None = None  # linear
    values: dict[str, float] | None = None  # map

    @model_validator(mode="after")
    def _complete(self) -> Normalise:
        if self.method == "log-cap" and self.cap is None:
            raise ValueError("log-cap needs a cap (a number, p95, p99 or max)")
        if self.method == "linear" and (self.min is None or self.max is None or self.max <= self.min):
            raise ValueError("linear needs min < max")
        if self.method == "map" and not self.values:
            raise ValueError("map needs values")
        for value in (self.values or {}).values():
            if not 0 <= value <= 1:
                raise ValueError("map values must lie in 0..1")
        return self


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    weight: float = Field(ge=0)
    normalise: Normalise
    missing: Literal["skip", "zero"] = "skip"


class Controls(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: dict[str, float]
    weights: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _in_range(self) -> Controls:
        for name, value in self.status.items():
            if not 0 <= value <= 1:
                raise ValueError(f"status {name}: credit must lie in 0..1")
        for name, value in self.weights.items():
            if value < 0:
                raise ValueError(f"weight of {name} must not be negative")
        return self


class _ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    as_of: date | Literal["latest"] = "latest"
    window_months: int = Field(default=36, ge=1, le=240)
    trend_months: int = Field(default=12, ge=1, le=60)
    mitigation: float = Field(ge=0, le=1)
    likelihood: dict[str, Factor]
    impact: dict[str, Factor]
    controls: Controls
    classes: list[float] = Field(min_length=4, max_length=4)
    k_anonymity: int = Field(default=5, ge=1, le=100)

    @model_validator(mode="after")
    def _known(self) -> _ModelFile:
        for group, known in (("likelihood", LIKELIHOOD_FACTORS), ("impact", IMPACT_FACTORS)):
            factors: dict[str, Factor] = getattr(self, group)
            for name in factors:
                if name not in known:
                    raise ValueError(f"{group}.{name}: unknown factor (known: {', '.join(known)})")
            if not any(f.weight > 0 for f in factors.values()):
                raise ValueError(f"{group}: at least one factor needs a weight above 0")
        if self.classes != sorted(self.classes) or not all(0 < c < 1 for c in self.classes):
            raise ValueError("classes: four increasing bounds between 0 and 1")
        return self


@dataclass(frozen=True, slots=True)
class RiskModel:
    """A validated model and where it came from (shown with every score)."""

    settings: _ModelFile
    source: str

    @classmethod
    def load(cls, path: Path | None = None, home: Path | None = None) -> RiskModel:
        """``path``, else ``$CHAINLIGHT_HOME/risk/model.yaml`` when ``home`` has one, else the shipped model."""
        if path is None and home is not None and (home / "risk" / "model.yaml").is_file():
            path = home / "risk" / "model.yaml"
        if path is None:
            text = files("chainlight.risk").joinpath("config/model.yaml").read_text(encoding="utf-8")
            return cls.parse(yaml.safe_load(text), "model.yaml (shipped)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RiskModelError(f"{path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise RiskModelError(f"{path}: not valid YAML: {exc}") from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: Any, source: str) -> RiskModel:
        try:
            settings = _ModelFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top)"
            raise RiskModelError(f"{source}: {where}: {first['msg']}") from None
        catalogue = Catalogue.load()
        unknown = [c for c in settings.controls.weights if c not in catalogue.controls]
        if unknown:
            raise RiskModelError(f"{source}: controls.weights.{unknown[0]}: not a catalogue control")
        return cls(settings, source)

    def with_weights(self, weights: dict[str, float]) -> RiskModel:
        """This model with some weights changed: keys ``likelihood.NAME``, ``impact.NAME``,
        ``controls.NAME`` or ``mitigation``."""
        data = self.settings.model_dump(mode="json")
        changed = []
        for key, value in weights.items():
            group, _, name = key.partition(".")
            if key == "mitigation":
                data["mitigation"] = value
            elif group in ("likelihood", "impact") and name in data[group]:
                data[group][name]["weight"] = value
            elif group == "controls" and name in Catalogue.load().controls:
                data["controls"]["weights"][name] = value
            else:
                raise RiskModelError(f"unknown weight {key!r}")
            changed.append(f"{key}={value:g}")
        return RiskModel.parse(data, f"{self.source} with {', '.join(changed)}" if changed else self.source)

    @property
    def k_anonymity(self) -> int:
        return self.settings.k_anonymity

    @property
    def classes(self) -> list[float]:
        return list(self.settings.classes)

    def weights(self) -> dict[str, float]:
        """Every weight by its ``with_weights`` key (controls at their effective weight, default 1)."""
        out = {f"likelihood.{k}": f.weight for k, f in self.settings.likelihood.items()}
        out |= {f"impact.{k}": f.weight for k, f in self.settings.impact.items()}
        out |= {f"controls.{k}": self.control_weight(k) for k in Catalogue.load().controls}
        out["mitigation"] = self.settings.mitigation
        return out

    def control_weight(self, control: str) -> float:
        return self.settings.controls.weights.get(control, 1.0)

    def level(self, value: float) -> int:
        """The 1-5 class of a 0..1 value (the heat map's rows and columns)."""
        return 1 + sum(value > bound for bound in self.settings.classes)
