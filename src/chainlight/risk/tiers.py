"""Country accountability tiers, in the spirit of the US TIP Report's tiers and the FATF lists.

A tier is a judgement, so Chainlight makes it from criteria anyone can read and change rather
than from a hidden formula. The criteria (``config/tiers.yaml``, documented there; a user's copy
at ``$CHAINLIGHT_HOME/risk/tiers.yaml`` or ``--criteria FILE`` replaces it) are ordered rules:
the first whose condition holds gives the country its tier. A condition compares one *fact*
about the country with a number (``index.cpi >= 0.7``, ``evidence.missed_seizures >= 3``), and
conditions combine with ``all`` and ``any``. Nothing in the file is executed: a tiny evaluator
reads field, operator and number, so a criteria file cannot run code.

Facts come from the country indices the reader may see (:mod:`chainlight.risk.indices`,
rescaled to riskiness 0..1) and from the platform's evidence about the country's ports. A
fact that is missing makes its condition *undecided*, never true: a rule that could only have
matched with the missing data is reported as such, and a country that fails the criteria's
``assess_when`` condition is "not assessed" rather than placed on a guess.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chainlight.model.markings import Marking
from chainlight.risk.evidence import VISIBLE_PORT
from chainlight.risk.indices import INDEX_NAME, CountryRisk, IndexValue, ReaderView, risk_values, specs
from chainlight.risk.model import RiskModel
from chainlight.risk.scoring import shared_band
from chainlight.store.evidence import EvidenceStore

NOT_ASSESSED = "not-assessed"


class CriteriaError(ValueError):
    """A tiers criteria file is missing, malformed or names an unknown field."""


# --- facts -------------------------------------------------------------------------------------


class ScoredPort(Protocol):
    """What tiers need of a port score (:class:`chainlight.risk.scoring.PortScore` is one)."""

    @property
    def port_id(self) -> str: ...

    @property
    def country(self) -> str | None: ...

    @property
    def residual(self) -> float: ...

    @property
    def datasets(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class CountryEvidence:
    """What the platform's evidence says about one country's ports, as one reader sees it.

    ``ports``: ports of the country in the reference data and the evidence; ``scored_ports``,
    ``mean_residual`` and ``max_residual``: the port scores handed in (None without them);
    ``incidents``: corruption incidents reported at its ports; ``missed_seizures``: seizures made
    later on a route that passed one of its ports undetected; ``seizures``: seizures made at its
    ports (enforcement effort); ``alerts``: red-flag alerts tied to its ports.
    """

    ports: int = 0
    scored_ports: int = 0
    mean_residual: float | None = None
    max_residual: float | None = None
    incidents: float = 0  # own reports exactly; other organisations' as the middle of their band of k
    missed_seizures: int = 0
    seizures: int = 0
    alerts: int = 0
    datasets: tuple[str, ...] = ()
    incidents_hidden: bool = False  # other organisations' reports rounded to a band of k (or hidden under k)

    def facts(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("datasets", "incidents_hidden") and value is not None:
                out[f"evidence.{f.name}"] = float(value)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (list(self.datasets) if f.name == "datasets" else getattr(self, f.name)) for f in fields(self)}


EVIDENCE_FIELDS = frozenset(f"evidence.{f.name}" for f in fields(CountryEvidence)
                            if f.name not in ("datasets", "incidents_hidden"))
AGGREGATES = frozenset({"indices.count", "indices.mean", "indices.max", "indices.min"})


def _tables(store: EvidenceStore) -> set[str]:
    return {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}


def country_evidence(
    store: EvidenceStore,
    reader: ReaderView,
    *,
    ports: Iterable[ScoredPort] | None = None,
    dismissed: Iterable[str] = (),
) -> dict[str, CountryEvidence]:
    """country -> what the evidence ``reader`` may see says about its ports. Reads the tables
    ``chainlight risk build`` writes (none yet: no evidence); ``ports`` are the port scores
    (:func:`chainlight.risk.scoring.score_ports`) when the caller has them; alerts in
    ``dismissed`` do not count."""
    tables = _tables(store)
    if "risk_ports" not in tables:
        return {}
    visible = list(reader.datasets)
    counts: dict[str, dict[str, int]] = {}
    datasets: dict[str, set[str]] = {}

    def gather(name: str, sql: str, params: dict[str, Any]) -> None:
        for country, n, used in store.con.execute(sql, params).fetchall():
            counts.setdefault(country, {})[name] = int(n)
            datasets.setdefault(country, set()).update(used or [])

    gather("ports", f"""SELECT country, count(*), []::VARCHAR[] FROM risk_ports
                        WHERE country IS NOT NULL AND {VISIBLE_PORT} GROUP BY 1""", {"v": visible})
    hidden: set[str] = set()
    coarse: dict[str, float] = {}
    if "risk_incidents" in tables:
        # As in port scores: the reader's own reports count exactly, other organisations' as the
        # middle of their band of k (under k: k / 2), so no small count leaks.
        access = getattr(reader, "access", {})
        organisation = getattr(reader, "organisation", None)
        own = sorted(d for d in visible if getattr(access.get(d), "owner", None) == organisation)
        k = RiskModel.load().k_anonymity
        rows = store.con.execute(
            """SELECT p.country, sum(i.incidents) FILTER (WHERE i.dataset = ANY($own)),
                      sum(i.incidents) FILTER (WHERE NOT i.dataset = ANY($own)), list(DISTINCT i.dataset)
               FROM risk_incidents i JOIN risk_ports p USING (port_id)
               WHERE p.country IS NOT NULL AND i.dataset = ANY($v) GROUP BY 1""",
            {"v": visible, "own": own},
        ).fetchall()
        for country, mine, shared in ((r[0], int(r[1] or 0), int(r[2] or 0)) for r in rows):
            band = shared_band(shared, k)
            coarse[country] = mine + band.value
            if not band.exact:
                hidden.add(country)
        for row in rows:
            datasets.setdefault(row[0], set()).update(row[3] or [])
    if "risk_missed_seizures" in tables:
        gather("missed_seizures", """SELECT p.country, count(DISTINCT m.seizure_id), flatten(list(m.datasets))
                                     FROM risk_missed_seizures m JOIN risk_ports p USING (port_id)
                                     WHERE p.country IS NOT NULL AND list_has_all($v, m.datasets) GROUP BY 1""",
               {"v": visible})
    if "risk_route_exposure" in tables:
        gather("seizures", """SELECT p.country, count(DISTINCT r.entity_id), flatten(list(r.datasets))
                              FROM risk_route_exposure r JOIN risk_ports p USING (port_id)
                              WHERE r.kind = 'seizure' AND p.country IS NOT NULL AND list_has_all($v, r.datasets)
                              GROUP BY 1""", {"v": visible})
    if "risk_alert_ports" in tables:
        gather("alerts", """SELECT p.country, count(DISTINCT a.alert_id), flatten(list(a.datasets))
                            FROM risk_alert_ports a JOIN risk_ports p USING (port_id)
                            WHERE p.country IS NOT NULL AND list_has_all($v, a.datasets)
                              AND NOT list_contains($d, a.alert_id) GROUP BY 1""",
               {"v": visible, "d": sorted(set(dismissed))})
    residuals: dict[str, list[float]] = {}
    if ports is not None:
        countries = dict(store.fetchall("SELECT port_id, country FROM risk_ports"))
        for port in ports:
            country = port.country or countries.get(port.port_id)
            if country:
                residuals.setdefault(country.lower(), []).append(float(port.residual))
                datasets.setdefault(country.lower(), set()).update(port.datasets)
    result = {}
    for country in sorted(set(counts) | set(residuals) | set(coarse)):
        c = counts.get(country, {})
        scores = residuals.get(country, [])
        result[country] = CountryEvidence(
            ports=c.get("ports", 0), scored_ports=len(scores),
            mean_residual=sum(scores) / len(scores) if scores else None, max_residual=max(scores, default=None),
            incidents=coarse.get(country, 0), missed_seizures=c.get("missed_seizures", 0),
            seizures=c.get("seizures", 0), alerts=c.get("alerts", 0),
            datasets=tuple(sorted(datasets.get(country, set()))), incidents_hidden=country in hidden,
        )
    return result


def country_facts(risk: CountryRisk | None, evidence: CountryEvidence | None) -> dict[str, float]:
    """Every fact a condition can name, for one country (a missing fact is absent)."""
    facts: dict[str, float] = {}
    values = risk.values if risk else ()
    for v in values:
        facts[f"index.{v.index}"] = v.riskiness
        facts[f"raw.{v.index}"] = v.value
    facts["indices.count"] = float(len(values))
    if values:
        riskiness = [v.riskiness for v in values]
        facts["indices.mean"] = sum(riskiness) / len(riskiness)
        facts["indices.max"] = max(riskiness)
        facts["indices.min"] = min(riskiness)
    facts.update((evidence or CountryEvidence()).facts())
    return facts


# --- criteria ----------------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}
_CONDITION = re.compile(r"^\s*([a-z][a-z0-9_.-]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$")


@dataclass(frozen=True, slots=True)
class Comparison:
    field: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class Group:
    mode: str  # all or any
    parts: tuple[Condition, ...]

    def __str__(self) -> str:
        return f"{self.mode}({', '.join(str(p) for p in self.parts)})"


Condition = Comparison | Group


def _check_field(name: str) -> str:
    if name in EVIDENCE_FIELDS or name in AGGREGATES:
        return name
    prefix, _, rest = name.partition(".")
    if prefix in ("index", "raw") and INDEX_NAME.match(rest):
        return name
    known = ", ".join(sorted(EVIDENCE_FIELDS | AGGREGATES))
    raise ValueError(f"unknown field {name!r}: use index.NAME, raw.NAME or one of {known}")


def parse_condition(raw: Any, where: str) -> Condition:
    """A condition from YAML: ``"FIELD OP NUMBER"``, ``{field, op, value}``, ``{all: [...]}`` or
    ``{any: [...]}``. ``where`` names the place in errors."""
    if isinstance(raw, str):
        match = _CONDITION.match(raw)
        if not match:
            raise ValueError(f"{where}: {raw!r} is not 'FIELD OP NUMBER' (OP one of {' '.join(_OPERATORS)})")
        try:
            return Comparison(_check_field(match[1]), match[2], float(match[3]))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if isinstance(raw, dict) and set(raw) == {"field", "op", "value"}:
        op, value = raw["op"], raw["value"]
        if op not in _OPERATORS:
            raise ValueError(f"{where}: unknown operator {op!r}; use one of {' '.join(_OPERATORS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{where}: value must be a number, not {value!r}")
        try:
            return Comparison(_check_field(str(raw["field"])), op, float(value))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("all", "any"):
        mode, parts = next(iter(raw.items()))
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"{where}.{mode}: expected a non-empty list of conditions")
        return Group(mode, tuple(parse_condition(p, f"{where}.{mode}[{i}]") for i, p in enumerate(parts)))
    raise ValueError(f"{where}: expected 'FIELD OP NUMBER', {{field, op, value}}, {{all: [...]}} or {{any: [...]}}")


@dataclass(frozen=True, slots=True)
class Met:
    """One comparison that held, with the country's value."""

    field: str
    op: str
    threshold: float
    value: float
    approximate: bool = False  # a banded count (other organisations' incidents): its band's middle

    def __str__(self) -> str:
        return f"{self.field} {'~' if self.approximate else '='} {self.value:.4g} {self.op} {self.threshold:g}"

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "threshold": self.threshold, "value": round(self.value, 6),
                "approximate": self.approximate}


@dataclass(frozen=True, slots=True)
class Outcome:
    """True, False or None (undecided: a fact it needs is missing)."""

    value: bool | None
    met: tuple[Met, ...] = ()
    missing: frozenset[str] = frozenset()


def evaluate(condition: Condition, facts: Mapping[str, float]) -> Outcome:
    """Three-valued: ``all`` is false when any part is false, ``any`` true when any part is true;
    otherwise a missing fact leaves the group undecided."""
    if isinstance(condition, Comparison):
        value = facts.get(condition.field)
        if value is None:
            return Outcome(None, missing=frozenset({condition.field}))
        held = _OPERATORS[condition.op](value, condition.threshold)
        return Outcome(held, (Met(condition.field, condition.op, condition.threshold, value),) if held else ())
    outcomes = [evaluate(part, facts) for part in condition.parts]
    missing = frozenset().union(*(o.missing for o in outcomes))
    decisive = condition.mode == "any"  # the value one part needs to settle the group
    if any(o.value is decisive for o in outcomes):
        # any: the parts that held explain it; all: a false group needs no explanation.
        return Outcome(decisive, tuple(m for o in outcomes if o.value for m in o.met) if decisive else ())
    if any(o.value is None for o in outcomes):
        return Outcome(None, missing=missing)
    return Outcome(not decisive, tuple(m for o in outcomes for m in o.met))


def fields_of(condition: Condition) -> set[str]:
    if isinstance(condition, Comparison):
        return {condition.field}
    return set().union(*(fields_of(p) for p in condition.parts))


class _TierFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    description: str = ""


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    tier: str
    because: str
    when: Any = None  # None: always


class _CriteriaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    scheme: str
    tiers: dict[str, _TierFile]
    assess_when: Any = None
    not_assessed: str = "Not assessed"
    rules: list[_RuleFile]

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only version 1 is known")
        return value


@dataclass(frozen=True, slots=True)
class Tier:
    key: str
    label: str
    description: str
    rank: int  # position in the file: 0 = best


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    tier: str
    because: str
    when: Condition | None


@dataclass(frozen=True, slots=True)
class Criteria:
    """Ordered tier rules (first match wins) and what a country needs to be assessed."""

    scheme: str
    tiers: dict[str, Tier]
    rules: tuple[Rule, ...]
    assess_when: Condition | None
    not_assessed: str
    source: str

    @classmethod
    def load(cls, path: Path | None = None, home: Path | None = None) -> Criteria:
        """``path``, else ``$CHAINLIGHT_HOME/risk/tiers.yaml`` when ``home`` has one, else the shipped criteria."""
        if path is None and home is not None and (home / "risk" / "tiers.yaml").is_file():
            path = home / "risk" / "tiers.yaml"
        if path is None:
            text = files("chainlight.risk").joinpath("config", "tiers.yaml").read_text(encoding="utf-8")
            return cls.parse(text, "config/tiers.yaml (shipped)")
        if not path.is_file():
            raise CriteriaError(f"{path}: no such criteria file")
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Criteria:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CriteriaError(f"{source}: not valid YAML: {exc}") from None
        try:
            spec = _CriteriaFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CriteriaError(f"{source}: {where}: {first['msg']}") from None
        tiers = {key: Tier(key, t.label, t.description, rank) for rank, (key, t) in enumerate(spec.tiers.items())}
        if NOT_ASSESSED in tiers:
            raise CriteriaError(f"{source}: tiers: {NOT_ASSESSED!r} is reserved for countries not assessed")
        try:
            assess = None if spec.assess_when is None else parse_condition(spec.assess_when, "assess_when")
        except ValueError as exc:
            raise CriteriaError(f"{source}: {exc}") from None
        rules, seen = [], set()
        for rule in spec.rules:
            if rule.id in seen:
                raise CriteriaError(f"{source}: rule {rule.id!r}: a second rule with this id")
            seen.add(rule.id)
            if rule.tier not in tiers:
                raise CriteriaError(f"{source}: rule {rule.id!r}: unknown tier {rule.tier!r}; use one of "
                                    f"{', '.join(tiers)}")
            try:
                when = None if rule.when is None else parse_condition(rule.when, "when")
            except ValueError as exc:
                raise CriteriaError(f"{source}: rule {rule.id!r}: {exc}") from None
            rules.append(Rule(rule.id, rule.tier, rule.because.strip(), when))
        if not rules:
            raise CriteriaError(f"{source}: rules: at least one rule is needed")
        return cls(spec.scheme, tiers, tuple(rules), assess, spec.not_assessed, source)

    def referenced_indices(self) -> set[str]:
        conditions = [r.when for r in self.rules if r.when] + ([self.assess_when] if self.assess_when else [])
        names = set().union(*(fields_of(c) for c in conditions)) if conditions else set()
        return {n.partition(".")[2] for n in names if n.startswith(("index.", "raw."))}


# --- tiers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountryTier:
    """A country's tier, the rule that placed it there with the values that met it, the rules
    that stayed undecided for want of data, and the data gaps."""

    country: str
    tier: str
    label: str
    rank: int  # the tier's position (best first); not assessed comes last
    rule: str | None
    because: str
    met: tuple[Met, ...]
    undecided: tuple[str, ...]
    gaps: tuple[str, ...]
    indices: tuple[IndexValue, ...]
    evidence: CountryEvidence | None
    datasets: tuple[str, ...]
    marking: Marking

    @property
    def assessed(self) -> bool:
        return self.tier != NOT_ASSESSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "country": self.country, "tier": self.tier, "label": self.label, "rule": self.rule,
            "because": self.because, "met": [m.as_dict() for m in self.met], "undecided": list(self.undecided),
            "gaps": list(self.gaps), "indices": [v.as_dict() for v in self.indices],
            "evidence": self.evidence.as_dict() if self.evidence else None, "datasets": list(self.datasets),
            "marking": self.marking.value,
        }


def assign(
    criteria: Criteria,
    country: str,
    risk: CountryRisk | None,
    evidence: CountryEvidence | None,
    *,
    known_indices: Iterable[str] = (),
    marking: Callable[[list[str]], Marking] | None = None,
) -> CountryTier:
    """Place one country: not assessed when ``assess_when`` does not hold, else the first rule
    whose condition holds. ``known_indices``: the indices the reader may see (gaps are those the
    country lacks); ``marking``: datasets -> their strictest marking (the reader's)."""
    facts = country_facts(risk, evidence)
    present = {v.index for v in (risk.values if risk else ())}
    gaps = {f"index.{n}" for n in (set(known_indices) | criteria.referenced_indices()) - present}
    datasets = tuple(sorted(set(risk.datasets if risk else []) | set(evidence.datasets if evidence else ())))
    strictest = marking(list(datasets)) if marking and datasets else Marking.CLEAR
    values = risk.values if risk else ()

    def result(tier: str, rule: str | None, because: str, met: tuple[Met, ...], undecided: list[str],
               missing: set[str]) -> CountryTier:
        entry = criteria.tiers.get(tier)
        label = entry.label if entry else criteria.not_assessed
        rank = entry.rank if entry else len(criteria.tiers)
        return CountryTier(country, tier, label, rank, rule, because, met, tuple(undecided),
                           tuple(sorted(gaps | missing)), values, evidence, datasets, strictest)

    if criteria.assess_when is not None:
        gate = evaluate(criteria.assess_when, facts)
        if gate.value is not True:
            because = f"insufficient data: assessed only when {criteria.assess_when}"
            return result(NOT_ASSESSED, None, because, (), [], set(gate.missing))
    undecided: list[str] = []
    missing: set[str] = set()
    for rule in criteria.rules:
        outcome = Outcome(True) if rule.when is None else evaluate(rule.when, facts)
        if outcome.value is True:
            met = outcome.met
            if evidence is not None and evidence.incidents_hidden:
                met = tuple(replace(m, approximate=True) if m.field == "evidence.incidents" else m for m in met)
            return result(rule.tier, rule.id, rule.because, met, undecided, missing)
        if outcome.value is None:
            undecided.append(rule.id)
            missing |= outcome.missing
    return result(NOT_ASSESSED, None, "no rule matched", (), undecided, missing)


@dataclass(frozen=True, slots=True)
class TierReport:
    """Every country's tier as one reader sees it; derived from the datasets it lists."""

    scheme: str
    criteria: str
    countries: list[CountryTier] = field(default_factory=list)
    datasets: tuple[str, ...] = ()
    marking: Marking = Marking.CLEAR

    def as_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "criteria": self.criteria, "datasets": list(self.datasets),
                "marking": self.marking.value, "countries": [c.as_dict() for c in self.countries]}


def country_tiers(
    store: EvidenceStore,
    reader: ReaderView,
    criteria: Criteria | None = None,
    *,
    ports: Iterable[ScoredPort] | None = None,
    dismissed: Iterable[str] = (),
    evidence: Mapping[str, CountryEvidence] | None = None,
) -> TierReport:
    """Tier every country with a visible index value or platform evidence about its ports
    (countries known only as the home of a reference port are left out: nothing speaks about
    them). ``evidence`` defaults to :func:`country_evidence` with ``ports`` (the reader's port
    scores, for the residual fields) and ``dismissed`` alerts. Sorted by tier (worst first),
    then country code."""
    criteria = criteria or Criteria.load()
    risk = risk_values(store, reader)
    if evidence is None:
        evidence = country_evidence(store, reader, ports=ports, dismissed=dismissed)
    known = {s.index for s in specs(store, reader)}
    spoken_of = {c for c, e in evidence.items() if e.datasets}
    tiers = [
        assign(criteria, country, risk.get(country), evidence.get(country), known_indices=known,
               marking=reader.marking)
        for country in sorted(set(risk) | spoken_of)
    ]
    tiers.sort(key=lambda t: (-t.rank if t.assessed else 1, t.country))
    datasets = tuple(sorted({d for t in tiers for d in t.datasets}))
    marking = reader.marking(list(datasets)) if datasets else Marking.CLEAR
    return TierReport(criteria.scheme, criteria.source, tiers, datasets, marking)
