"""Port corruption-risk scores: evidence in, a ranked list out, every point explained.

The formula (docs/risk.md; weights in ``config/model.yaml``):

    L = sum_i w_i x_i      likelihood factors, normalised to 0..1, weights rescaled over present factors
    I = sum_j v_j y_j      impact factors, likewise
    C = sum_k u_k s_k      control effectiveness: each catalogue control's credit for its latest status
    inherent = 100 L I,    residual = inherent (1 - m C)

A port's explanation lists one contribution per likelihood factor (``100 w_i x_i I``, they sum to
the inherent score) and one negative contribution per control (``-inherent m u_k s_k``), so the
contributions add up to the residual score exactly, as stored (each rounded to 4 decimals and the
score defined as their sum). Impact and control effectiveness come with their own terms, which
sum to I and C.

A reader's score uses only evidence it may read: every query filters by the reader's visible
datasets, and each port lists the datasets its score rests on and their strictest marking.
Normalisation caps (e.g. the 95th percentile of incident counts) are taken over the same view,
so the same data and model always give the same scores.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from chainlight.model.markings import Marking, most_restrictive
from chainlight.risk.catalogue import Catalogue
from chainlight.risk.evidence import VISIBLE_PORT, built
from chainlight.risk.model import Factor, RiskModel
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore

#: A rise in incidents is damped by this floor, so one report after one report is no surge.
TREND_FLOOR = 10


class RiskError(RuntimeError):
    """Scores cannot be computed (no risk evidence built yet)."""


@dataclass(slots=True)
class Term:
    """One factor's part in a score: its raw value, normalised value, weight and points."""

    factor: str
    group: str  # likelihood, impact or controls
    label: str
    raw: Any
    normalised: float | None
    weight: float  # effective weight, after rescaling over the factors present
    points: float
    missing: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "group": self.group, "label": self.label, "raw": self.raw,
                "normalised": None if self.normalised is None else round(self.normalised, 4),
                "weight": round(self.weight, 4), "points": self.points, "missing": self.missing, "note": self.note}


@dataclass(slots=True)
class PortScore:
    port_id: str
    code: str | None
    name: str
    kind: str
    country: str | None
    region: str | None
    harbour_size: str | None
    latitude: float | None
    longitude: float | None
    likelihood: float
    impact: float
    control_effectiveness: float
    inherent: float
    residual: float
    likelihood_class: int
    impact_class: int
    residual_likelihood_class: int
    missing: list[str]
    datasets: list[str]
    marking: str
    incidents: int = 0  # at least this many reports: own exactly, other organisations' by band's low end
    incidents_hidden: bool = False  # other organisations' reports here are rounded to a band or hidden
    incidents_text: str = "0"  # as shown: "12", "40-44", "3 + [c]"
    previous_residual: float | None = None
    rank: int = 0
    _table: _Table | None = field(default=None, repr=False, compare=False)
    _row: int = -1

    @property
    def contributions(self) -> list[Term]:
        """Likelihood factors' points and controls' (negative) points: they sum to ``residual``."""
        return self._table.contributions(self._row) if self._table else []

    @property
    def impact_terms(self) -> list[Term]:
        """Impact factors' weighted values: they sum to ``impact``."""
        return self._table.impact_terms(self._row) if self._table else []

    @property
    def control_terms(self) -> list[Term]:
        """Each catalogue control's latest status and share: they sum to ``control_effectiveness``."""
        return self._table.control_terms(self._row) if self._table else []

    @property
    def has_evidence(self) -> bool:
        """Whether anything beyond the reference facts informs the score."""
        return bool(self.datasets)

    @property
    def trend(self) -> float | None:
        return None if self.previous_residual is None else round(self.residual - self.previous_residual, 4)

    def as_dict(self, *, explain: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rank": self.rank, "port_id": self.port_id, "code": self.code, "name": self.name, "kind": self.kind,
            "country": self.country, "region": self.region, "harbour_size": self.harbour_size,
            "latitude": self.latitude, "longitude": self.longitude,
            "residual": self.residual, "inherent": self.inherent, "likelihood": round(self.likelihood, 4),
            "impact": round(self.impact, 4), "control_effectiveness": round(self.control_effectiveness, 4),
            "likelihood_class": self.likelihood_class, "impact_class": self.impact_class,
            "residual_likelihood_class": self.residual_likelihood_class, "incidents": self.incidents,
            "incidents_hidden": self.incidents_hidden, "incidents_text": self.incidents_text,
            "previous_residual": self.previous_residual, "trend": self.trend, "missing": self.missing,
            "datasets": self.datasets, "marking": self.marking,
        }
        if explain:
            out["contributions"] = [t.as_dict() for t in self.contributions]
            out["impact_terms"] = [t.as_dict() for t in self.impact_terms]
            out["control_terms"] = [t.as_dict() for t in self.control_terms]
        return out


@dataclass(slots=True)
class Scorecard:
    ports: list[PortScore]
    as_of: date | None
    previous_as_of: date | None
    model: str
    weights: dict[str, float]
    caps: dict[str, float]
    datasets: list[str]
    marking: str
    by_id: dict[str, PortScore] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {p.port_id: p for p in self.ports}

    def port(self, key: str) -> PortScore | None:
        """A port by entity id or code (UN/LOCODE or IATA, any case)."""
        found = self.by_id.get(key)
        if found is not None:
            return found
        wanted = "".join(key.split()).upper()
        return next((p for p in self.ports if p.code == wanted), None)

    def as_dict(self, *, limit: int | None = None, explain: bool = True) -> dict[str, Any]:
        ports = self.ports if limit is None else self.ports[:limit]
        return {"as_of": self.as_of.isoformat() if self.as_of else None,
                "previous_as_of": self.previous_as_of.isoformat() if self.previous_as_of else None,
                "model": self.model, "weights": self.weights, "caps": self.caps, "datasets": self.datasets,
                "marking": self.marking, "ports": [p.as_dict(explain=explain) for p in ports],
                "total": len(self.ports)}


def _months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s month, plus one: a window of whole months
    ending with ``day``'s month is ``(_months_before(day, n), day]`` in month starts."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(slots=True)
class _Raw:
    """Raw factor values for every port, as arrays in the order of ``ports``."""

    values: dict[str, list[Any]]
    datasets: list[set[str]]


@dataclass(frozen=True, slots=True)
class Band:
    """Other organisations' reports at a port, as a shared view may show them."""

    low: int
    high: int

    @property
    def exact(self) -> bool:
        return self.low == self.high

    @property
    def value(self) -> float:
        """What the score counts: the band's middle."""
        return (self.low + self.high) / 2

    def text(self) -> str:
        if self.exact:
            return str(self.low)
        return "[c]" if self.low == 1 else f"{self.low}-{self.high}"


def shared_band(count: int, k: int) -> Band:
    """``count`` reports from other organisations: 0 exactly; 1 to k - 1 hidden ([c]); else its band of k."""
    if count == 0 or k <= 1:
        return Band(count, count)
    if count < k:
        return Band(1, k - 1)
    low = count // k * k
    return Band(low, low + k - 1)


def _join(own: int, shared: Band) -> str:
    if shared.low == shared.high == 0:
        return str(own)
    return shared.text() if not own else f"{own} + {shared.text()}"


def _as_of(store: EvidenceStore, reader: Reader, model: RiskModel) -> date | None:
    setting = model.settings.as_of
    if isinstance(setting, date):
        return setting
    rows = store.fetchall(
        """SELECT max(m) FROM (
               SELECT max(month) AS m FROM risk_incidents WHERE dataset = ANY($v)
               UNION ALL SELECT max(date) FROM risk_missed_seizures WHERE list_has_all($v, datasets))""",
        {"v": reader.datasets},  # type: ignore[arg-type]
    )
    latest = rows[0][0]
    if latest is None:
        return None
    # The end of the newest month with evidence.
    following = _months_before(latest, -1)
    return following - timedelta(days=1)


def _query(store: EvidenceStore, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` with the named parameters it uses (DuckDB refuses unused ones)."""
    return store.con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def _counts(store: EvidenceStore, sql: str, params: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    return {r[0]: (int(r[1]), list(r[2])) for r in _query(store, sql, params)}


def _raw_values(
    store: EvidenceStore, reader: Reader, model: RiskModel, ports: list[tuple[Any, ...]], as_ofs: list[date | None],
    dismissed: set[str],
) -> list[_Raw]:
    """Raw factor values for every port at each date of ``as_ofs`` (now, and a trend period
    before): the dated evidence is read once for all of them, the undated once for both."""
    visible = reader.datasets
    n = len(ports)
    index = {p[0]: i for i, p in enumerate(ports)}
    fixed: dict[str, list[Any]] = defaultdict(lambda: [None] * n)
    fixed_sets: list[set[str]] = [set() for _ in range(n)]

    def put(values: dict[str, list[Any]], sets: list[set[str]], name: str,
            found: dict[str, tuple[Any, list[str]]], default: Any) -> None:
        column = values[name]
        for i in range(n):
            column[i] = default
        for port_id, (value, used) in found.items():
            row = index.get(port_id)
            if row is not None:
                column[row] = value
                if value:
                    sets[row].update(used)

    params: dict[str, Any] = {"v": visible}
    put(fixed, fixed_sets, "alerts", _counts(store, """
        SELECT port_id, count(DISTINCT alert_id), list_sort(list_distinct(flatten(list(datasets))))
        FROM risk_alert_ports WHERE list_has_all($v, datasets) AND NOT list_contains($dismissed, alert_id)
        GROUP BY port_id""", params | {"dismissed": sorted(dismissed)}), 0)
    put(fixed, fixed_sets, "trafficking-routes", _counts(store, """
        SELECT port_id, count(DISTINCT entity_id), list_sort(list_distinct(flatten(list(datasets))))
        FROM risk_route_exposure WHERE list_has_all($v, datasets) GROUP BY port_id""", params), 0)
    countries = _country_riskiness(store, reader)
    for i, port in enumerate(ports):
        found = countries.get(port[4]) if port[4] else None
        fixed["country"][i] = None if found is None else found[0]
        if found is not None:
            fixed_sets[i].update(found[1])
        fixed["free-trade-zone"][i] = bool(port[9])
        fixed["port-security"][i] = port[7]
        fixed["harbour-size"][i] = "airport" if port[2] == "airport" else port[6]
        fixed["first-port-of-entry"][i] = port[8]
        fixed["transit-hub"][i] = bool(port[10])

    # Reports from the reader's own datasets count exactly. Other organisations' reports are a
    # shared view: their count at a port is rounded to its band of k (5-9, 10-14, ...) and
    # counted as the band's middle, and 1 to k - 1 of them show as [c] and count as k / 2.
    # Otherwise a score, its normalised value or its trend would give a small count away,
    # directly or by subtraction from the k-anonymous incident views' totals.
    k = model.k_anonymity
    own = sorted(d for d in visible if reader.access[d].owner == reader.organisation)
    sums = []
    for j, as_of in enumerate(as_ofs):
        window = {
            f"as_of{j}": as_of,
            f"start{j}": _months_before(as_of, model.settings.window_months) if as_of else None,
            f"trend{j}": _months_before(as_of, model.settings.trend_months) if as_of else None,
            f"prior{j}": _months_before(as_of, 2 * model.settings.trend_months) if as_of else None,
        }
        params |= window
        in_window = f"($as_of{j} IS NULL OR (month > $start{j} AND month <= $as_of{j}))"
        recent_months = f"month > $trend{j} AND month <= $as_of{j}"
        prior_months = f"month > $prior{j} AND month <= $trend{j}"
        for condition in (in_window, recent_months, prior_months):
            sums.append(f"sum(n) FILTER (WHERE {condition} AND mine)")
            sums.append(f"sum(n) FILTER (WHERE {condition} AND NOT mine)")
    # Summed per port, dataset and month first (the build keeps that table: an eighth of the
    # cells at 1 M reports), so the filtered sums run over few rows.
    source = ("risk_incident_months" if _has_table(store, "risk_incident_months")
              else "(SELECT port_id, dataset, month, sum(incidents) AS incidents FROM risk_incidents GROUP BY ALL)")
    last = ", ".join(f"$as_of{j}" for j in range(len(as_ofs)))
    rows = _query(store, f"""
        WITH months AS (
            SELECT port_id, dataset, month, incidents AS n, dataset = ANY($own) AS mine FROM {source}
            WHERE dataset = ANY($v) AND (greatest({last}) IS NULL OR month IS NULL OR month <= greatest({last})))
        SELECT port_id, list_sort(list_distinct(list(dataset))), {", ".join(sums)}
        FROM months GROUP BY port_id""", params | {"own": own})
    seized = _query(store, f"""
        SELECT port_id, {", ".join(
            f"count(DISTINCT seizure_id) FILTER (WHERE $as_of{j} IS NULL OR date IS NULL "
            f"OR (date > $start{j} AND date <= $as_of{j}))" for j in range(len(as_ofs)))},
               list_sort(list_distinct(flatten(list(datasets))))
        FROM risk_missed_seizures WHERE list_has_all($v, datasets) GROUP BY port_id""", params)
    out = []
    for j in range(len(as_ofs)):
        values: dict[str, list[Any]] = defaultdict(lambda: [None] * n)
        sets: list[set[str]] = [set(found) for found in fixed_sets]
        found_window: dict[str, tuple[Any, list[str]]] = {}
        found_trend: dict[str, tuple[Any, list[str]]] = {}
        hidden: dict[str, tuple[Any, list[str]]] = {}
        shown: dict[str, tuple[Any, list[str]]] = {}
        text: dict[str, tuple[Any, list[str]]] = {}
        for row in rows:
            port_id, used = row[0], list(row[1])
            own_w, shared_w, own_r, shared_r, own_p, shared_p = (int(v or 0) for v in row[2 + 6 * j: 8 + 6 * j])
            theirs = shared_band(shared_w, k)
            found_window[port_id] = (own_w + theirs.value, used)
            hidden[port_id] = (not theirs.exact, [])
            shown[port_id] = (own_w + theirs.low, [])
            text[port_id] = (_join(own_w, theirs), [])
            recent = own_r + shared_band(shared_r, k).value
            before = own_p + shared_band(shared_p, k).value
            found_trend[port_id] = (max(0.0, (recent - before) / max(recent + before, TREND_FLOOR)), used)
        put(values, sets, "incidents", found_window, 0)
        put(values, sets, "incident-trend", found_trend, 0.0)
        put(values, sets, "incidents-hidden", hidden, False)
        put(values, sets, "incidents-shown", shown, 0)
        put(values, sets, "incidents-text", text, "0")
        put(values, sets, "missed-seizures", {r[0]: (int(r[1 + j]), list(r[-1])) for r in seized}, 0)
        out.append(_Raw(dict(fixed) | dict(values), sets))
    return out


def _has_table(store: EvidenceStore, name: str) -> bool:
    return bool(store.fetchall("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]))


def _country_riskiness(store: EvidenceStore, reader: Reader) -> dict[str, tuple[float, list[str]]]:
    """Each country's mean riskiness (0..1) over the loaded indices the reader may see (latest year each)."""
    from chainlight.risk import indices

    if not indices.has_tables(store):
        return {}
    return {country: (risk.value, risk.datasets) for country, risk in indices.risk_values(store, reader).items()}


def _cap(factor: Factor, raw: list[Any]) -> float:
    cap = factor.normalise.cap
    if isinstance(cap, int | float):
        return float(cap)
    positive = np.array([v for v in raw if v], dtype=float)
    if positive.size == 0:
        return 1.0
    if cap == "max":
        return float(positive.max())
    return float(np.percentile(positive, 95 if cap == "p95" else 99))


def _normalise(factor: Factor, values: list[Any], cap: float | None) -> np.ndarray:
    """Raw values as 0..1 (1 = riskiest); NaN where a value is missing."""
    rule = factor.normalise
    out = np.full(len(values), np.nan)
    if rule.method == "map":
        mapping = rule.values or {}
        for i, value in enumerate(values):
            if value is not None and str(value) in mapping:
                out[i] = mapping[str(value)]
        return out
    if rule.method == "boolean":
        for i, value in enumerate(values):
            if value is not None:
                out[i] = 1.0 if value else 0.0
        return out
    present = np.array([v is not None for v in values], dtype=bool)
    numbers = np.array([float(v) if v is not None else 0.0 for v in values], dtype=float)
    if rule.method == "log-cap":
        scaled = np.minimum(np.log1p(np.maximum(numbers, 0.0)) / math.log1p(max(cap or 1.0, 1e-9)), 1.0)
    elif rule.method == "linear":
        low, high = float(rule.min or 0.0), float(rule.max or 1.0)
        scaled = np.clip((numbers - low) / (high - low), 0.0, 1.0)
    else:  # index: already a riskiness in 0..1
        scaled = np.clip(numbers, 0.0, 1.0)
    out[present] = scaled[present]
    return out


@dataclass(slots=True)
class _Group:
    """One group of factors (likelihood or impact) for every port, as matrices (ports x factors)."""

    group: str
    names: list[str]
    labels: list[str]
    raw: list[list[Any]]  # per factor, per port
    normalised: np.ndarray  # NaN = missing
    weights: np.ndarray  # effective weights (0 where missing), rows sum to 1
    value: np.ndarray  # per port, in 0..1
    notes: dict[tuple[int, str], str]
    displays: dict[tuple[int, str], Any]  # a raw value shown otherwise (a suppressed count)

    @classmethod
    def compute(cls, group: str, factors: dict[str, Factor], raw: _Raw, caps: dict[str, float]) -> _Group:
        names = list(factors)
        n = len(raw.datasets)
        columns = []
        notes: dict[tuple[int, str], str] = {}
        displays: dict[tuple[int, str], Any] = {}
        for name, factor in factors.items():
            column = _normalise(factor, raw.values.get(name, [None] * n), caps.get(f"{group}.{name}"))
            if name == "trafficking-routes":
                # A known transit hub for wildlife trafficking is on the routes by definition.
                for i, hub in enumerate(raw.values["transit-hub"]):
                    if hub:
                        column[i] = 1.0
                        notes[(i, name)] = "known transit hub"
            if name == "incidents":
                for i, rounded in enumerate(raw.values.get("incidents-hidden", [])):
                    if rounded:
                        displays[(i, name)] = raw.values["incidents-text"][i]
                        notes[(i, name)] = ("other organisations' reports rounded to a band of k and counted as its "
                                            "middle ([c]: fewer than k)")
            if factor.missing == "zero":
                column = np.nan_to_num(column, nan=0.0)
            columns.append(column)
        normalised = np.column_stack(columns) if columns else np.zeros((n, 0))
        base = np.array([factors[k].weight for k in names], dtype=float)
        present = ~np.isnan(normalised)
        raw_weights = present * base
        totals = raw_weights.sum(axis=1, keepdims=True)
        weights = np.divide(raw_weights, totals, out=np.zeros_like(raw_weights), where=totals > 0)
        value = (weights * np.nan_to_num(normalised, nan=0.0)).sum(axis=1)
        return cls(group, names, [factors[k].label for k in names],
                   [raw.values.get(k, [None] * n) for k in names], normalised, weights, value, notes, displays)

    def missing(self, i: int) -> list[str]:
        return [f"{self.group}.{name}" for j, name in enumerate(self.names) if math.isnan(self.normalised[i, j])]

    def terms(self, i: int, points: np.ndarray) -> list[Term]:
        out = []
        for j, name in enumerate(self.names):
            x = self.normalised[i, j]
            missing = bool(math.isnan(x))
            out.append(Term(
                name, self.group, self.labels[j], self.displays.get((i, name), _plain(self.raw[j][i])),
                None if missing else float(x),
                float(self.weights[i, j]), float(points[i, j]), missing,
                "no data: its weight is shared among the other factors" if missing else self.notes.get((i, name)),
            ))
        return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _controls(
    store: EvidenceStore, reader: Reader, model: RiskModel, catalogue: Catalogue, as_ofs: list[date | None],
) -> list[Statuses]:
    """Per date of ``as_ofs``, per port: each control's latest visible status on that date (and
    its date), and the datasets behind them. The assessments are read once for every date."""
    latest = None if any(a is None for a in as_ofs) else max(a for a in as_ofs if a is not None)
    rows = store.con.execute(
        """SELECT port_id, control, status, date, dataset FROM risk_assessments
           WHERE dataset = ANY($v) AND ($as_of IS NULL OR date IS NULL OR date <= $as_of)
           ORDER BY port_id, control, date NULLS FIRST, status""",
        {"v": reader.datasets, "as_of": latest},
    ).fetchall()
    credit = model.settings.controls.status
    known = catalogue.controls
    result = []
    for as_of in as_ofs:
        out: Statuses = {}
        for port_id, control, status, day, dataset in rows:
            if control not in known or (as_of is not None and day is not None and day > as_of):
                continue
            statuses, sets = out.setdefault(port_id, ({}, set()))
            previous = statuses.get(control)
            # The latest assessment wins; on one day, the lower credit (the more cautious reading).
            if previous is None or previous[1] is None or (day is not None and day > previous[1]) or (
                day == previous[1] and credit.get(status, 0.0) < credit.get(previous[0], 0.0)
            ):
                statuses[control] = (status, day)
            sets.add(dataset)
        result.append(out)
    return result


@dataclass(slots=True)
class Gathered:
    """What a reader's view holds for scoring, read once: it depends on the reader, dismissed
    alerts and the model's windows and k, not on its weights, so a re-score with other weights
    (the web app's weight form) reuses it."""

    ports: list[tuple[Any, ...]]
    as_of: date | None
    previous_as_of: date | None
    raw: _Raw
    previous_raw: _Raw | None
    controls: Statuses
    previous_controls: Statuses | None
    key_model: tuple[Any, ...] = ()

    @staticmethod
    def key(model: RiskModel) -> tuple[Any, ...]:
        """The model settings gathering depends on (a cache key part)."""
        settings = model.settings
        return (str(settings.as_of), settings.window_months, settings.trend_months, settings.k_anonymity)


def gather(
    store: EvidenceStore, reader: Reader, model: RiskModel, *, dismissed: set[str] | None = None,
    with_previous: bool = True,
) -> Gathered:
    """Read the reader's view of the risk evidence (the SQL half of scoring)."""
    if not built(store):
        raise RiskError("no risk evidence yet: run 'chainlight risk build' (after ingest and 'chainlight rules run')")
    catalogue = Catalogue.load()
    # A port outside the World Port Index (an airport, a border post) exists for a reader only
    # when evidence it may see names it: otherwise a RED report would add a port to everyone's list.
    ports = store.con.execute(
        f"""SELECT port_id, code, kind, name, country, region, harbour_size, port_security, first_port_of_entry,
                   free_trade_zone, transit_hub, latitude, longitude FROM risk_ports
            WHERE {VISIBLE_PORT} ORDER BY port_id""",
        {"v": reader.datasets},
    ).fetchall()
    as_of = _as_of(store, reader, model)
    previous_as_of = None
    if with_previous and as_of is not None:
        previous_as_of = _months_before(as_of, model.settings.trend_months - 1) - timedelta(days=1)
    as_ofs = [as_of] if previous_as_of is None else [as_of, previous_as_of]
    raws = _raw_values(store, reader, model, ports, as_ofs, dismissed or set())
    controls = _controls(store, reader, model, catalogue, as_ofs)
    return Gathered(ports, as_of, previous_as_of, raws[0], raws[1] if len(raws) > 1 else None, controls[0],
                    controls[1] if len(controls) > 1 else None, Gathered.key(model))


def score_ports(
    store: EvidenceStore, reader: Reader, model: RiskModel | None = None, *, dismissed: set[str] | None = None,
    with_previous: bool = True,
) -> Scorecard:
    """Score every port the reader's view knows, ranked by residual risk (highest first)."""
    model = model or RiskModel.load()
    return score_gathered(gather(store, reader, model, dismissed=dismissed, with_previous=with_previous), reader,
                          model)


def score_gathered(gathered: Gathered, reader: Reader, model: RiskModel) -> Scorecard:
    """Score what :func:`gather` read with ``model``'s weights (the numpy half of scoring)."""
    if Gathered.key(model) != gathered.key_model:
        raise RiskError("the evidence was gathered for another model's windows or k: gather it again")
    catalogue = Catalogue.load()
    raw = gathered.raw
    caps = {
        f"{group}.{name}": _cap(factor, raw.values.get(name, []))
        for group in ("likelihood", "impact")
        for name, factor in getattr(model.settings, group).items()
        if factor.normalise.method == "log-cap"
    }
    table = _Table.compute(reader, model, catalogue, gathered.ports, raw, caps, gathered.controls)
    scores = table.port_scores()
    if gathered.previous_raw is not None and gathered.previous_controls is not None:
        # The same caps as now, so a change in score is a change in the port's evidence.
        before = _Table.compute(reader, model, catalogue, gathered.ports, gathered.previous_raw, caps,
                                gathered.previous_controls)
        for port, residual in zip(scores, before.residual.tolist(), strict=True):
            port.previous_residual = round(residual, 4)
    scores.sort(key=lambda p: (-p.residual, -p.inherent, p.port_id))
    for rank, port in enumerate(scores, start=1):
        port.rank = rank
    all_datasets = sorted(set().union(*(p.datasets for p in scores)) if scores else set())
    return Scorecard(
        ports=scores, as_of=gathered.as_of, previous_as_of=gathered.previous_as_of, model=model.source,
        weights=model.weights(), caps={k: round(v, 4) for k, v in caps.items()}, datasets=all_datasets,
        marking=reader.marking(all_datasets).value if all_datasets else Marking.CLEAR.value,
    )


Statuses = dict[str, tuple[dict[str, tuple[str, date | None]], set[str]]]


@dataclass(slots=True)
class _Table:
    """Every port's score as arrays; explanations are built from them only when asked for."""

    ports: list[tuple[Any, ...]]
    raw: _Raw
    likelihood: _Group
    impact: _Group
    likelihood_points: np.ndarray  # ports x likelihood factors, rounded: they sum to the inherent score
    control_keys: list[str]
    control_labels: list[str]
    control_weights: np.ndarray
    credits: np.ndarray  # ports x controls
    control_points: np.ndarray  # ports x controls, rounded, <= 0: with the above they sum to the residual
    statuses: list[dict[str, tuple[str, date | None]]]
    control_datasets: list[set[str]]
    inherent: np.ndarray
    residual: np.ndarray
    effectiveness: np.ndarray
    reader: Reader
    model: RiskModel

    @classmethod
    def compute(
        cls, reader: Reader, model: RiskModel, catalogue: Catalogue, ports: list[tuple[Any, ...]], raw: _Raw,
        caps: dict[str, float], controls: Statuses,
    ) -> _Table:
        settings = model.settings
        likelihood = _Group.compute("likelihood", settings.likelihood, raw, caps)
        impact = _Group.compute("impact", settings.impact, raw, caps)
        keys = list(catalogue.controls)
        weights = np.array([model.control_weight(k) for k in keys], dtype=float)
        weights = weights / (weights.sum() or 1.0)
        credit = settings.controls.status
        credits = np.zeros((len(ports), len(keys)))
        statuses: list[dict[str, tuple[str, date | None]]] = []
        control_datasets: list[set[str]] = []
        for i, port in enumerate(ports):
            found, sets = controls.get(port[0], ({}, set()))
            statuses.append(found)
            control_datasets.append(sets)
            for j, key in enumerate(keys):
                if key in found:
                    credits[i, j] = credit.get(found[key][0], 0.0)
        effectiveness = credits @ weights
        likelihood_points = np.round(
            100.0 * likelihood.weights * np.nan_to_num(likelihood.normalised, nan=0.0) * impact.value[:, None], 4)
        inherent_exact = 100.0 * likelihood.value * impact.value
        control_points = np.round(-inherent_exact[:, None] * settings.mitigation * weights[None, :] * credits, 4)
        control_points[control_points == 0] = 0.0  # no -0.0 in explanations
        inherent = np.round(likelihood_points.sum(axis=1), 4)
        residual = np.round(inherent + control_points.sum(axis=1), 4)
        return cls(ports, raw, likelihood, impact, likelihood_points, keys,
                   [catalogue.controls[k].label for k in keys], weights, credits, control_points, statuses,
                   control_datasets, inherent, residual, effectiveness, reader, model)

    def port_scores(self) -> list[PortScore]:
        model = self.model
        reduction = model.settings.mitigation
        out = []
        for i, port in enumerate(self.ports):
            sets = sorted(self.raw.datasets[i] | self.control_datasets[i])
            likelihood = float(self.likelihood.value[i])
            impact = float(self.impact.value[i])
            effectiveness = float(self.effectiveness[i])
            out.append(PortScore(
                port_id=port[0], code=port[1], kind=port[2], name=port[3], country=port[4], region=port[5],
                harbour_size=port[6], latitude=port[11], longitude=port[12], likelihood=likelihood, impact=impact,
                control_effectiveness=effectiveness, inherent=float(self.inherent[i]),
                residual=float(self.residual[i]), likelihood_class=model.level(likelihood),
                impact_class=model.level(impact),
                residual_likelihood_class=model.level(likelihood * (1 - reduction * effectiveness)),
                missing=self.likelihood.missing(i) + self.impact.missing(i), datasets=sets,
                marking=(self.reader.marking(sets) if sets else Marking.CLEAR).value,
                incidents=int(self.raw.values["incidents-shown"][i] or 0),
                incidents_hidden=bool(self.raw.values["incidents-hidden"][i]),
                incidents_text=str(self.raw.values["incidents-text"][i]), _table=self, _row=i,
            ))
        return out

    def contributions(self, i: int) -> list[Term]:
        terms = self.likelihood.terms(i, self.likelihood_points)
        for j, key in enumerate(self.control_keys):
            if self.control_points[i, j]:
                status, day = self.statuses[i][key]
                terms.append(Term(key, "controls", self.control_labels[j], status, float(self.credits[i, j]),
                                  float(self.control_weights[j]), float(self.control_points[i, j]),
                                  note=f"assessed {day.isoformat()}" if day else None))
        return terms

    def impact_terms(self, i: int) -> list[Term]:
        points = self.impact.weights * np.nan_to_num(self.impact.normalised, nan=0.0)
        return self.impact.terms(i, points)

    def control_terms(self, i: int) -> list[Term]:
        out = []
        for j, key in enumerate(self.control_keys):
            status, day = self.statuses[i].get(key, ("not assessed", None))
            out.append(Term(key, "controls", self.control_labels[j], status, float(self.credits[i, j]),
                            float(self.control_weights[j]), float(self.control_weights[j] * self.credits[i, j]),
                            note=f"assessed {day.isoformat()}" if day else None))
        return out


def strictest(scores: list[PortScore]) -> str:
    return most_restrictive(Marking(p.marking) for p in scores).value
