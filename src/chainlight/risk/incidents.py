"""Corruption incident reports aggregated for one reader: by stage, actor, item demanded,
consequence of refusal, outcome, quarter and year, stage x actor, and the ports reporting most.

Incident reports are given in trust: a handful of reports of one demand at one port can point
at the ship that made them. So counts are split by who reported them:

- **own**: reports in datasets the reader's organisation owns. Shown exactly, always.
- **shared**: reports in datasets of other organisations the reader may see. Protected with
  k-anonymity (:mod:`chainlight.risk.kanon`, ``k`` from the risk model): a shared count under
  ``k`` is hidden, and so is any further count that would let a reader work it out from a total.

A cell shows ``own + shared``, or ``own + [c]`` when its shared part is hidden: adding the own
part to a protected total never lets a reader subtract their own reports to uncover anyone
else's. An organisation that owns every dataset in a view sees nothing hidden.

Views of the same reports must hide consistently, or one view's total uncovers another's
hidden cell. So every breakdown is one column of a protected port x category table whose port
totals are the same in each (the ports list is itself one of the views), the all-port stage x
actor table has those tables' margins as its own, and quarters are the only shared time cells:
a year or a trend window is shown only when every quarter in it is. One port's stage x actor
cells are never shared (only its stage and actor margins are): protecting a port x stage x actor
cube against all its margins at once is beyond what these tables can promise.

Only aggregates leave this module; it never returns an incident record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chainlight.risk.catalogue import Catalogue
from chainlight.risk.kanon import HIDDEN, GridKey, TwoWay, check_k, one_way, two_way
from chainlight.store.evidence import EvidenceStore

#: One-way breakdowns (each a column set of a port x category table), then the others.
DIMENSIONS = ("stage", "actor", "item", "consequence", "outcome", "quarter")
BREAKDOWNS = ("stage", "actor", "item", "consequence", "outcome", "quarter", "year", "stage-actor", "port")
UNKNOWN = "unknown"
#: Quarters in each window of the trend (4 = the last 12 months against the 12 before).
TREND_QUARTERS = 4


class IncidentError(ValueError):
    """A breakdown that cannot be made (unknown kind, no risk evidence, port without reports)."""


def check_breakdown(by: str) -> str:
    """``by`` itself when it names a breakdown, else :class:`IncidentError` saying which do."""
    if by == "month":
        raise IncidentError("shared incident counts are kept by quarter, not month (a month's few reports at one "
                            "port could point at a ship): use --by quarter")
    if by not in BREAKDOWNS:
        raise IncidentError(f"unknown breakdown {by!r}: use one of {', '.join(BREAKDOWNS)}")
    return by


@dataclass(frozen=True, slots=True)
class Count:
    """A count in a view: the reader's own reports, and other organisations' (None = hidden)."""

    own: int
    shared: int | None

    @property
    def suppressed(self) -> bool:
        return self.shared is None

    @property
    def count(self) -> int | None:
        return None if self.shared is None else self.own + self.shared

    def display(self) -> str:
        if self.shared is not None:
            return str(self.own + self.shared)
        return f"{self.own} + {HIDDEN}" if self.own else HIDDEN

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "own": self.own, "shared": self.shared, "suppressed": self.suppressed,
                "display": self.display()}


def _sum(counts: Iterable[Count]) -> Count:
    """Counts added up; hidden when any shared part is (a derived total shows no more than its parts)."""
    items = list(counts)
    own = sum(c.own for c in items)
    if any(c.shared is None for c in items):
        return Count(own, None)
    return Count(own, sum(c.shared or 0 for c in items))


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a breakdown: a category, its count and, for stage x actor, a count per column."""

    key: str
    label: str
    count: Count
    cells: tuple[Count, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, **self.count.as_dict()}
        if self.cells:
            data["cells"] = [c.as_dict() for c in self.cells]
        return data


@dataclass(frozen=True, slots=True)
class Trend:
    """Reports in the last :data:`TREND_QUARTERS` quarters to the newest in view, against the ones before."""

    recent_from: str
    recent_to: str
    previous_from: str
    previous_to: str
    recent: Count
    previous: Count

    @property
    def change(self) -> float | None:
        """Relative change (0.5 = half as many again); None when hidden or nothing to compare with."""
        now, before = self.recent.count, self.previous.count
        if now is None or before is None or before == 0:
            return None
        return now / before - 1

    def as_dict(self) -> dict[str, Any]:
        return {"recent": {"from": self.recent_from, "to": self.recent_to, **self.recent.as_dict()},
                "previous": {"from": self.previous_from, "to": self.previous_to, **self.previous.as_dict()},
                "change": self.change}


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Incident counts of one port (or all) by one category, as one reader may see them."""

    by: str
    port: str | None
    port_label: str | None
    k: int
    lines: list[Line]
    total: Count
    datasets: list[str]
    marking: str
    shared: bool
    as_of: str | None
    trend: Trend | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    column_totals: list[Count] = field(default_factory=list)
    #: For ``port``: ports with reports whose count is hidden (left out of the list).
    hidden_ports: int = 0

    @property
    def suppressed(self) -> bool:
        """Whether anything in the view is hidden."""
        every = [self.total, *(line.count for line in self.lines), *self.column_totals,
                 *(c for line in self.lines for c in line.cells)]
        return any(c.suppressed for c in every)

    def as_dict(self) -> dict[str, Any]:
        return {
            "by": self.by, "port": self.port, "port_label": self.port_label, "k_anonymity": self.k,
            "as_of": self.as_of, "total": self.total.as_dict(),
            "lines": [line.as_dict() for line in self.lines],
            "columns": [{"key": key, "label": label} for key, label in self.columns],
            "column_totals": [c.as_dict() for c in self.column_totals],
            "trend": self.trend.as_dict() if self.trend else None, "hidden_ports": self.hidden_ports,
            "shared": self.shared, "suppressed": self.suppressed, "datasets": self.datasets,
            "marking": self.marking,
        }


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    dataset: str
    port: str
    values: dict[str, str]
    n: int


def _quarter(month: date | None) -> str:
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}" if month is not None else UNKNOWN


def _quarter_index(key: str) -> int | None:
    if key == UNKNOWN:
        return None
    year, q = key.split("-Q")
    return int(year) * 4 + int(q) - 1


def _quarter_key(index: int) -> str:
    return f"{index // 4}-Q{index % 4 + 1}"


def _rows(store: EvidenceStore, visible: list[str]) -> tuple[list[_Row], date | None]:
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    if "risk_incidents" not in tables:
        raise IncidentError("no risk evidence yet: run 'chainlight risk build' (after ingesting incidents)")
    found = store.fetchall(
        """SELECT dataset, coalesce(port_id, 'unknown'), coalesce(stage, 'unknown'), coalesce(actor, 'unknown'),
                  coalesce(item, 'unknown'), coalesce(consequence, 'unknown'), coalesce(outcome, 'unknown'),
                  month, sum(incidents)
           FROM risk_incidents WHERE list_contains(?, dataset) GROUP BY ALL""",
        [visible],
    )
    rows = []
    newest: date | None = None
    for dataset, port, stage, actor, item, consequence, outcome, month, n in found:
        if month is not None and (newest is None or month > newest):
            newest = month
        rows.append(_Row(dataset, port, {"stage": stage, "actor": actor, "item": item, "consequence": consequence,
                                         "outcome": outcome, "quarter": _quarter(month)}, int(n)))
    return rows, newest


def _port_labels(store: EvidenceStore, ports: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ports))
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    labels = {p: p for p in wanted}
    if "risk_ports" in tables and wanted:
        for port_id, code, name in store.fetchall(
            "SELECT port_id, code, name FROM risk_ports WHERE list_contains(?, port_id)", [wanted]
        ):
            labels[port_id] = f"{name} ({code})" if code and name else (name or code or port_id)
    return labels


def port_key(value: str) -> str:
    """A port as the risk tables name it: a UN/LOCODE or IATA code, or a port id as it is."""
    from chainlight.model.identity import port_id

    clean = value.strip()
    if clean.casefold().startswith(("port-", "airport-")):
        return clean.casefold()
    return port_id(clean)


# -- protecting ------------------------------------------------------------------------------


class IncidentViews:
    """Every view of the incidents one reader may see, protected together (build once, read many)."""

    def __init__(self, store: EvidenceStore, reader: Any, k: int) -> None:
        self.k = check_k(k)
        self.reader = reader
        self.catalogue = Catalogue.load()
        visible: list[str] = list(reader.datasets)
        rows, newest = _rows(store, visible)
        self.as_of = newest.isoformat()[:7] if newest else None
        own_sets = {d for d in visible if reader.access[d].owner == reader.organisation}
        self.own_rows = [r for r in rows if r.dataset in own_sets]
        self.shared_rows = [r for r in rows if r.dataset not in own_sets]
        self.datasets_of: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            self.datasets_of[r.port].add(r.dataset)
            self.datasets_of[""].add(r.dataset)
        self.ports = sorted({r.port for r in rows})
        self.labels = _port_labels(store, self.ports)
        self._protect()

    # The port x category tables share their port totals and grand total: hide a total in one and
    # it is hidden in all, until no table hides one the others show.
    def _protect(self) -> None:
        shared_ports: dict[str, int] = defaultdict(int)
        for r in self.shared_rows:
            shared_ports[r.port] += r.n
        port_list = sorted(shared_ports)
        forced: set[str] = set()
        grand_forced = False
        while True:
            table = one_way({p: shared_ports[p] for p in port_list}, self.k, hide_total=grand_forced, forced=forced)
            hidden_ports = table.hidden()
            force: list[GridKey] = [(p, None) for p in hidden_ports]
            if table.total is None:
                force.append((None, None))
            frozen: list[GridKey] = [*((p, None) for p in port_list), (None, None)]
            grids = {dim: self._grid(dim, port_list, force, frozen) for dim in DIMENSIONS}
            extra = {r for g in grids.values() for r, v in g.row_totals.items() if v is None} - hidden_ports
            grand = any(g.total is None for g in grids.values()) and table.total is not None
            if not extra and not grand:
                break
            forced |= extra
            grand_forced = grand_forced or grand
        self.port_table = table
        self.grids = grids
        self.cross = self._cross_all()

    def _values(self, dim: str) -> list[str]:
        present = {r.values[dim] for r in [*self.own_rows, *self.shared_rows]}
        if dim in ("stage", "actor"):
            known = list(self.catalogue.stages if dim == "stage" else self.catalogue.actors)
            return known + sorted(present - set(known))
        if dim == "quarter":
            return sorted(present - {UNKNOWN}) + ([UNKNOWN] if UNKNOWN in present else [])
        return sorted(present)

    def _grid(self, dim: str, ports: list[str], forced: list[GridKey], frozen: list[GridKey]) -> TwoWay:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for r in self.shared_rows:
            counts[(r.port, r.values[dim])] += r.n
        return two_way(counts, self.k, rows=ports, cols=self._values(dim), forced=forced, frozen=frozen)

    def _cross_all(self) -> TwoWay:
        """All ports' stage x actor, its margins exactly the ones the stage and actor views show."""
        stages, actors = self._values("stage"), self._values("actor")
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for r in self.shared_rows:
            counts[(r.values["stage"], r.values["actor"])] += r.n
        by_stage, by_actor = self.grids["stage"], self.grids["actor"]
        forced: list[GridKey] = [(s, None) for s in stages if by_stage.col_totals.get(s, 0) is None]
        forced += [(None, a) for a in actors if by_actor.col_totals.get(a, 0) is None]
        if by_stage.total is None:
            forced.append((None, None))
        frozen: list[GridKey] = [*((s, None) for s in stages), *((None, a) for a in actors), (None, None)]
        table = two_way(counts, self.k, rows=stages, cols=actors, forced=forced, frozen=frozen)
        margins = {key for key in table.hidden() if key[0] is None or key[1] is None}
        if margins - set(forced):
            # Only hiding a margin the other views show would protect a cell: hide every cell instead.
            cells: dict[tuple[str, str], int | None] = dict.fromkeys(table.cells)
            table = TwoWay(table.k, table.rows, table.cols, cells,
                           {s: by_stage.col_totals.get(s, 0) for s in stages},
                           {a: by_actor.col_totals.get(a, 0) for a in actors}, by_stage.total)
        return table

    # -- views ---------------------------------------------------------------------------------

    def _own(self, dim: str, port: str | None) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.own_rows:
            if port is None or r.port == port:
                counts[r.values[dim] if dim != "port" else r.port] += r.n
        return counts

    def _shared(self, dim: str, port: str | None) -> tuple[dict[str, int | None], int | None]:
        grid = self.grids[dim]
        if port is None:
            return dict(grid.col_totals), grid.total
        if port not in grid.row_totals:  # no other organisation reported at this port
            return dict.fromkeys(grid.cols, 0), 0
        return {c: grid.cells[(port, c)] for c in grid.cols}, grid.row_totals[port]

    def _meta(self, port: str | None) -> tuple[list[str], str, bool]:
        datasets = sorted(self.datasets_of.get(port if port is not None else "", set()))
        marking = self.reader.marking(datasets).value
        own = {d for d in datasets if self.reader.access[d].owner == self.reader.organisation}
        return datasets, marking, bool(set(datasets) - own)

    def _label(self, dim: str, key: str) -> str:
        if dim == "stage":
            return self.catalogue.label("stages", key)
        if dim == "actor":
            return self.catalogue.label("actors", key)
        if dim == "port":
            return self.labels.get(key, key)
        return key

    def _check_port(self, port: str | None) -> str | None:
        if port is None:
            return None
        key = port_key(port)
        if key not in self.datasets_of:
            raise IncidentError(f"no incident reports at {port} in the datasets you may see")
        return key

    def breakdown(self, by: str, port: str | None = None) -> Breakdown:
        """Incidents at ``port`` (a code or port id; None = every port) by ``by`` (:data:`BREAKDOWNS`)."""
        check_breakdown(by)
        key = self._check_port(port)
        if by == "port":
            if key is not None:
                raise IncidentError("the ports breakdown covers every port: leave the port out")
            return self.top_ports(0)
        if by == "stage-actor":
            return self._stage_actor(key)
        if by == "year":
            return self._years(key)
        own = self._own(by, key)
        shared, shared_total = self._shared(by, key)
        keys = [c for c in self._values(by) if own.get(c, 0) or shared.get(c) != 0]
        lines = [Line(c, self._label(by, c), Count(own.get(c, 0), shared.get(c, 0))) for c in keys]
        total = Count(sum(own.values()), shared_total)
        return self._result(by, key, lines, total, trend=self._trend(key) if by == "quarter" else None)

    def _result(self, by: str, port: str | None, lines: list[Line], total: Count, **extra: Any) -> Breakdown:
        datasets, marking, shared = self._meta(port)
        return Breakdown(by=by, port=port, port_label=self.labels.get(port, port) if port else None, k=self.k,
                         lines=lines, total=total, datasets=datasets, marking=marking, shared=shared,
                         as_of=self.as_of, **extra)

    def _quarters(self, port: str | None) -> dict[str, Count]:
        own = self._own("quarter", port)
        shared, _ = self._shared("quarter", port)
        return {q: Count(own.get(q, 0), shared.get(q, 0)) for q in self._values("quarter")}

    def _years(self, port: str | None) -> Breakdown:
        by_year: dict[str, list[Count]] = defaultdict(list)
        for quarter, count in self._quarters(port).items():
            by_year[quarter[:4] if quarter != UNKNOWN else UNKNOWN].append(count)
        lines = [Line(y, y, _sum(counts)) for y, counts in by_year.items()]
        lines = [line for line in lines if line.count.own or line.count.shared != 0]
        own = self._own("quarter", port)
        _, shared_total = self._shared("quarter", port)
        return self._result("year", port, lines, Count(sum(own.values()), shared_total), trend=self._trend(port))

    def trend(self, port: str | None = None) -> Trend | None:
        """The last :data:`TREND_QUARTERS` quarters to the newest in view against the ones before."""
        return self._trend(self._check_port(port))

    def _trend(self, port: str | None) -> Trend | None:
        if self.as_of is None:
            return None
        newest = _quarter_index(_quarter(date.fromisoformat(self.as_of + "-01")))
        assert newest is not None
        quarters = self._quarters(port)
        zero = Count(0, 0)

        def window(last: int) -> Count:
            return _sum(quarters.get(_quarter_key(i), zero) for i in range(last - TREND_QUARTERS + 1, last + 1))

        before = newest - TREND_QUARTERS
        return Trend(_quarter_key(newest - TREND_QUARTERS + 1), _quarter_key(newest),
                     _quarter_key(before - TREND_QUARTERS + 1), _quarter_key(before), window(newest), window(before))

    def _stage_actor(self, port: str | None) -> Breakdown:
        stages, actors = self._values("stage"), self._values("actor")
        own: dict[tuple[str, str], int] = defaultdict(int)
        for r in self.own_rows:
            if port is None or r.port == port:
                own[(r.values["stage"], r.values["actor"])] += r.n
        stage_own, actor_own = self._own("stage", port), self._own("actor", port)
        stage_shared, total_shared = self._shared("stage", port)
        actor_shared, _ = self._shared("actor", port)
        if port is None:
            cell = self.cross.cells
        else:  # one port's cells are never shared, only its margins
            nobody = port not in self.grids["stage"].row_totals
            cell = {key: (0 if nobody else None) for key in self.cross.cells}
        keep_rows = [s for s in stages if stage_own.get(s, 0) or stage_shared.get(s) != 0]
        keep_cols = [a for a in actors if actor_own.get(a, 0) or actor_shared.get(a) != 0]
        lines = [Line(s, self._label("stage", s), Count(stage_own.get(s, 0), stage_shared.get(s, 0)),
                      tuple(Count(own.get((s, a), 0), cell.get((s, a), 0)) for a in keep_cols))
                 for s in keep_rows]
        columns = [(a, self._label("actor", a)) for a in keep_cols]
        column_totals = [Count(actor_own.get(a, 0), actor_shared.get(a, 0)) for a in keep_cols]
        return self._result("stage-actor", port, lines, Count(sum(stage_own.values()), total_shared),
                            columns=columns, column_totals=column_totals)

    def top_ports(self, limit: int = 20) -> Breakdown:
        """Ports by reports, most first (0 = all); ports whose count is hidden are left out and counted
        (unless the reader reported there too: then they show ``own + [c]``, ranked by ``own``)."""
        own = self._own("port", None)
        shared = self.port_table.cells
        counts = {p: Count(own.get(p, 0), shared.get(p, 0)) for p in self.ports}
        # A port whose shared count is hidden is listed only where the reader has reports there too.
        shown = sorted((p for p, c in counts.items() if c.count is not None or c.own),
                       key=lambda p: (-(counts[p].count or counts[p].own), p))
        hidden = [p for p, c in counts.items() if c.count is None and not c.own]
        lines = [Line(p, self._label("port", p), counts[p]) for p in (shown[:limit] if limit > 0 else shown)]
        total = Count(sum(own.values()), self.port_table.total)
        return self._result("port", None, lines, total, hidden_ports=len(hidden))

    def hidden_ports(self) -> frozenset[str]:
        """Port ids whose shared count the ports list hides (small, or hidden to protect a small one).

        Anything else that shows per-port counts of other organisations' reports (scores, tiers)
        must hide these too: a port hidden here as a complement counts ``k`` or more, and showing
        it elsewhere would let a reader subtract it from the grand total and uncover a small one.
        """
        return frozenset(self.port_table.hidden())

    def by_names(self, names: Sequence[str], port: str | None = None) -> dict[str, Breakdown]:
        """Several breakdowns of one port at once (a port profile page)."""
        return {name: self.breakdown(name, port) for name in names}


def incident_views(store: EvidenceStore, reader: Any, k: int) -> IncidentViews:
    """The incidents ``reader`` may see, protected with threshold ``k`` (``RiskModel.k_anonymity``)."""
    return IncidentViews(store, reader, k)


def breakdown(store: EvidenceStore, reader: Any, k: int, by: str = "stage", port: str | None = None) -> Breakdown:
    """One breakdown (see :meth:`IncidentViews.breakdown`)."""
    return IncidentViews(store, reader, k).breakdown(by, port)
