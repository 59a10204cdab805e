"""Corruption risk registers, after the WCO Guide to Corruption Risk Mapping (2015).

A register belongs to one organisation and maps one location (a seaport, an airport or a
border post) as rows of process stage x actor type. Each row carries the inherent risk
(likelihood and impact, 1-5, with the factors behind them), the controls that bear on it and
their status, the residual risk left after them, the actions planned, and a review history
that is only ever appended to: WCO's *initial* risk, the *estimated* risk once planned controls
are in, and the *monitored* risk after they are implemented.

A register is an organisation's working document: marked TLP:AMBER unless its owner says
otherwise, and read under the same need-to-know rule as a dataset
(:meth:`chainlight.model.markings.DatasetAccess.visible_to`). A register drawn from evidence
keeps the datasets it was drawn from; its marking is never below theirs, and another
organisation sees it only when it may also read every one of them.

A newcomer gets a register at once: :func:`seed_register` drafts one from the incidents and
integrity assessments the reader may see (the DuckDB tables that ``chainlight risk build``
writes), and :func:`save_register` keeps the draft. The thresholds it uses are the module's
constants below; docs/risk.md explains them.

Functions the CLI and the web pages call (all take the reading organisation and answer only
what it may see; only the owner organisation may change a register):

- :func:`resolve_port`, :func:`get_register`, :func:`list_registers`, :func:`seed_register`
- :func:`save_register`, :func:`create_register`, :func:`set_sharing`, :func:`delete_register`
- :func:`set_row`, :func:`set_control`, :func:`add_action`, :func:`set_action_status`, :func:`add_review`
- :func:`heatmap`, :func:`band`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from chainlight.model.identity import port_id as code_to_port_id
from chainlight.model.markings import DatasetAccess, Marking, most_restrictive, visible_datasets
from chainlight.reference.ports import PortInfo, all_airports, all_ports, lookup
from chainlight.risk.catalogue import Catalogue, slug
from chainlight.risk.model import RiskModel
from chainlight.risk.scoring import Band, shared_band
from chainlight.store.operational import Base, OperationalError, OperationalStore, Organisation, SharingGroup

if TYPE_CHECKING:
    from chainlight.rules.alerts import Reader
    from chainlight.store.evidence import EvidenceStore

CONTROL_STATUSES = ("in-place", "partial", "absent", "planned", "unknown")
ACTION_STATUSES = ("open", "done", "dropped")
REVIEW_KINDS = ("initial", "estimated", "monitored")
DEFAULT_MARKING = Marking.AMBER

#: Rating bands of a risk score L x I (1-25), highest first: (lowest score in the band, band).
#: A 5 x 5 matrix can only produce 1-6, 8-10, 12, 15, 16, 20 and 25.
BANDS = ((20, "critical"), (10, "high"), (5, "medium"), (1, "low"))

#: Evidence seeding. Incidents counted in a cell over the last EVIDENCE_WINDOW_MONTHS months of
#: the reader's evidence (up to the newest month of any incident it may see, not the wall clock,
#: as the scoring model's ``as_of: latest``) give the inherent likelihood:
#: (at least this many incidents, likelihood class), highest first.
#: 1 = rare is left to cells without any report: a reported demand is at least "unlikely".
EVIDENCE_WINDOW_MONTHS = 36
LIKELIHOOD_FROM_INCIDENTS = ((20, 5), (5, 4), (2, 3), (1, 2))
#: Impact for a stage the catalogue does not know (the catalogue gives the others).
DEFAULT_IMPACT = 3
#: Each control found in place that protects the stage lowers the suggested residual likelihood
#: by one class, but never below this floor (or the inherent likelihood, when that is lower):
#: a cell with reported demands stays at least "unlikely" whatever is in place. Partial,
#: planned or absent controls lower nothing; impact is left as it is (controls here act on
#: whether corruption happens, not on what it lets through).
RESIDUAL_LIKELIHOOD_FLOOR = 2


class RegisterError(OperationalError):
    """A register request was refused (unknown port, not visible, not the owner, bad value)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def band(score: int) -> str:
    """The rating band (low, medium, high, critical) of a risk score L x I."""
    for lowest, name in BANDS:
        if score >= lowest:
            return name
    return "low"


def likelihood_from_incidents(count: int) -> int:
    """The inherent likelihood class (2-5) a cell's incident count suggests; 1 without any."""
    for lowest, level in LIKELIHOOD_FROM_INCIDENTS:
        if count >= lowest:
            return level
    return 1


def suggested_residual(likelihood: int, in_place: int) -> int:
    """Residual likelihood after ``in_place`` controls in place (see RESIDUAL_LIKELIHOOD_FLOOR)."""
    return max(likelihood - in_place, min(likelihood, RESIDUAL_LIKELIHOOD_FLOOR))


# --- the stored form ---------------------------------------------------------------------------


class RiskRegister(Base):
    __tablename__ = "risk_registers"
    __table_args__ = (UniqueConstraint("owner_id", "port_id", name="uq_risk_registers_owner_port"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    port_id: Mapped[str] = mapped_column(String(256), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(256))
    marking: Mapped[str] = mapped_column(String(16))
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_groups.id"), nullable=True)
    evidence_datasets: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of dataset names
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    owner: Mapped[Organisation] = relationship()
    sharing_group: Mapped[SharingGroup | None] = relationship()
    rows: Mapped[list[RiskRegisterRow]] = relationship(
        back_populates="register", cascade="all, delete-orphan",
        order_by=lambda: (RiskRegisterRow.stage, RiskRegisterRow.actor),
    )

    def datasets(self) -> list[str]:
        found: list[str] = json.loads(self.evidence_datasets or "[]")
        return found


class RiskRegisterRow(Base):
    __tablename__ = "risk_register_rows"
    __table_args__ = (UniqueConstraint("register_id", "stage", "actor", name="uq_risk_register_rows_cell"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("risk_registers.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(256), nullable=True)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    factors: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    residual_likelihood: Mapped[int | None] = mapped_column(Integer, nullable=True)
    residual_impact: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    register: Mapped[RiskRegister] = relationship(back_populates="rows")
    controls: Mapped[list[RiskRegisterControl]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: RiskRegisterControl.control)
    actions: Mapped[list[RiskRegisterAction]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: RiskRegisterAction.id)
    reviews: Mapped[list[RiskRegisterReview]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: (RiskRegisterReview.reviewed_on, RiskRegisterReview.id))


class RiskRegisterControl(Base):
    __tablename__ = "risk_register_controls"
    __table_args__ = (UniqueConstraint("row_id", "control", name="uq_risk_register_controls_control"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("risk_register_rows.id", ondelete="CASCADE"))
    control: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RiskRegisterAction(Base):
    __tablename__ = "risk_register_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("risk_register_rows.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(256))
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)


class RiskRegisterReview(Base):
    """One review of a row. Never updated (a database trigger refuses it): the history."""

    __tablename__ = "risk_register_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("risk_register_rows.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(256))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)


# --- what callers get ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Port:
    """The location a register maps, with the reference facts a report shows."""

    port_id: str
    code: str | None = None
    name: str | None = None
    kind: str | None = None
    country: str | None = None
    info: PortInfo | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code or self.port_id})" if self.name else self.port_id

    def facts(self) -> dict[str, str]:
        """Reference facts worth printing (absent ones left out)."""
        info = self.info
        found = {"port id": self.port_id, "code": self.code, "name": self.name, "kind": self.kind,
                 "country": self.country}
        if info is not None:
            found |= {"region": info.region, "harbour size": info.harbour_size, "port security": info.port_security,
                      "first port of entry": info.first_port_of_entry,
                      "position": f"{info.latitude:.4f}, {info.longitude:.4f}"
                      if info.latitude is not None and info.longitude is not None else None}
        return {k: v for k, v in found.items() if v}


@dataclass(frozen=True, slots=True)
class ControlEntry:
    control: str
    status: str
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"control": self.control, "status": self.status, "note": self.note}


@dataclass(frozen=True, slots=True)
class Action:
    id: int | None
    description: str
    owner: str
    due: date | None = None
    status: str = "open"
    closed: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "owner": self.owner,
                "due": _iso(self.due), "status": self.status, "closed": _iso(self.closed)}


@dataclass(frozen=True, slots=True)
class Review:
    kind: str
    on: date
    reviewer: str
    likelihood: int
    impact: int
    note: str | None = None

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "date": self.on.isoformat(), "reviewer": self.reviewer,
                "likelihood": self.likelihood, "impact": self.impact, "score": self.score,
                "band": band(self.score), "note": self.note}


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One cell of the register: a process stage x an actor type."""

    stage: str
    actor: str
    likelihood: int
    impact: int
    factors: tuple[str, ...] = ()
    notes: str | None = None
    owner: str | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    controls: tuple[ControlEntry, ...] = ()
    actions: tuple[Action, ...] = ()
    reviews: tuple[Review, ...] = ()
    incidents: int | None = None  # drafts: the incidents the likelihood was suggested from

    @property
    def inherent(self) -> int:
        return self.likelihood * self.impact

    @property
    def residual_l(self) -> int:
        """Residual likelihood; the inherent one while no residual is set (no control credited)."""
        return self.residual_likelihood if self.residual_likelihood is not None else self.likelihood

    @property
    def residual_i(self) -> int:
        return self.residual_impact if self.residual_impact is not None else self.impact

    @property
    def residual(self) -> int:
        return self.residual_l * self.residual_i

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage, "actor": self.actor, "owner": self.owner,
            "likelihood": self.likelihood, "impact": self.impact, "inherent": self.inherent,
            "inherent_band": band(self.inherent), "factors": list(self.factors), "notes": self.notes,
            "residual_likelihood": self.residual_l, "residual_impact": self.residual_i,
            "residual": self.residual, "residual_band": band(self.residual),
            "controls": [c.as_dict() for c in self.controls], "actions": [a.as_dict() for a in self.actions],
            "reviews": [r.as_dict() for r in self.reviews], "incidents": self.incidents,
        }


@dataclass(frozen=True, slots=True)
class Register:
    """A register as its reader may see it; ``draft`` when it was seeded and not yet saved."""

    port: Port
    organisation: str
    marking: Marking
    title: str
    rows: tuple[RegisterRow, ...] = ()
    sharing_group: str | None = None
    evidence_datasets: tuple[str, ...] = ()
    id: int | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    draft: bool = False
    notes: tuple[str, ...] = field(default=())  # drafts: how the evidence was read

    @property
    def port_id(self) -> str:
        return self.port.port_id

    def row(self, stage: str, actor: str) -> RegisterRow | None:
        return next((r for r in self.rows if r.stage == stage and r.actor == actor), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "port_id": self.port_id, "port": self.port.facts(), "organisation": self.organisation,
            "title": self.title, "marking": self.marking.value, "sharing_group": self.sharing_group,
            "evidence_datasets": list(self.evidence_datasets), "created_by": self.created_by,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at), "draft": self.draft,
            "bands": {name: lowest for lowest, name in BANDS}, "notes": list(self.notes),
            "rows": [r.as_dict() for r in self.rows],
        }


@dataclass(frozen=True, slots=True)
class HeatCell:
    """One cell of the 5 x 5 heat map: the rows whose likelihood and impact fall in it."""

    likelihood: int
    impact: int
    rows: tuple[RegisterRow, ...]

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def band(self) -> str:
        return band(self.score)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- ports ---------------------------------------------------------------------------------------

_PORT_ID = re.compile(r"^(port|airport|border)-[a-z0-9][a-z0-9-]*$")


@cache
def _by_entity_id() -> dict[str, PortInfo]:
    return {info.entity_id: info for info in (*all_ports(), *all_airports())}


def resolve_port(value: str) -> Port:
    """A port from a UN/LOCODE (``KEMBA``), an IATA code (``NBO``) or an entity id (``port-kemba``).

    An id the reference data does not know (a port named only by evidence, a border post) is
    accepted as it is; an unknown code is refused, so a typo does not start a new register.
    """
    text = value.strip()
    info = lookup(text) if len(text) in (3, 5) and "-" not in text else None
    if info is None:
        info = _by_entity_id().get(text.casefold())
    if info is not None:
        return Port(info.entity_id, info.code, info.name, info.kind, info.country, info)
    if _PORT_ID.match(text.casefold()):
        return Port(text.casefold())
    if len(text) in (3, 5) and text.isalnum():
        raise RegisterError(f"unknown port code {text!r}: not in the World Port Index or the airport list"
                            f" (give its id, e.g. {code_to_port_id(text)!r}, to map it anyway)")
    raise RegisterError(f"unknown port {value!r}: give a UN/LOCODE (KEMBA), an IATA code (NBO) or a port id")


# --- reading -------------------------------------------------------------------------------------


def _load() -> Any:
    return (select(RiskRegister)
            .options(selectinload(RiskRegister.owner), selectinload(RiskRegister.sharing_group)
                     .selectinload(SharingGroup.members),
                     selectinload(RiskRegister.rows).selectinload(RiskRegisterRow.controls),
                     selectinload(RiskRegister.rows).selectinload(RiskRegisterRow.actions),
                     selectinload(RiskRegister.rows).selectinload(RiskRegisterRow.reviews)))


def register_access(stored: RiskRegister) -> DatasetAccess:
    """The register as the need-to-know rule sees a dataset: owner, marking, sharing group."""
    group = stored.sharing_group
    recipients = frozenset(m.name for m in group.members) if group is not None else frozenset()
    return DatasetAccess(f"register-{stored.id}", stored.owner.name, Marking(stored.marking), recipients)


def _may_read(stored: RiskRegister, organisation: str, visible: frozenset[str]) -> bool:
    """The owner organisation always reads its register. Another reads it when the dataset rule
    lets it read the register *and* every dataset the register was drawn from."""
    if stored.owner.name == organisation:
        return True
    return register_access(stored).visible_to(organisation) and all(d in visible for d in stored.datasets())


def _visible(operational: OperationalStore, organisation: str) -> frozenset[str]:
    return visible_datasets(operational.dataset_access(), organisation)


def _to_register(stored: RiskRegister) -> Register:
    rows = tuple(
        RegisterRow(
            stage=r.stage, actor=r.actor, likelihood=r.likelihood, impact=r.impact,
            factors=tuple(json.loads(r.factors or "[]")), notes=r.notes, owner=r.owner,
            residual_likelihood=r.residual_likelihood, residual_impact=r.residual_impact,
            controls=tuple(ControlEntry(c.control, c.status, c.note) for c in r.controls),
            actions=tuple(Action(a.id, a.description, a.owner, a.due, a.status, a.closed) for a in r.actions),
            reviews=tuple(Review(v.kind, v.reviewed_on, v.reviewer, v.likelihood, v.impact, v.note)
                          for v in r.reviews),
        )
        for r in stored.rows
    )
    return Register(
        port=resolve_port(stored.port_id), organisation=stored.owner.name, marking=Marking(stored.marking),
        title=stored.title, rows=rows, sharing_group=stored.sharing_group.name if stored.sharing_group else None,
        evidence_datasets=tuple(stored.datasets()), id=stored.id, created_by=stored.created_by,
        created_at=stored.created_at, updated_at=stored.updated_at,
    )


def get_register(operational: OperationalStore, organisation: str, port: str, *,
                 owner: str | None = None) -> Register | None:
    """The register ``owner`` (default: the reader's own organisation) keeps for ``port``, or
    None when there is none or ``organisation`` may not read it (the same answer for both)."""
    port_id = resolve_port(port).port_id
    visible = _visible(operational, organisation)
    with operational.session() as s:
        stored = s.scalar(_load().join(RiskRegister.owner)
                          .where(RiskRegister.port_id == port_id, Organisation.name == (owner or organisation)))
        if stored is None or not _may_read(stored, organisation, visible):
            return None
        return _to_register(stored)


def list_registers(operational: OperationalStore, organisation: str, *, port: str | None = None) -> list[Register]:
    """Every register ``organisation`` may read (of one port when given), its own first."""
    visible = _visible(operational, organisation)
    with operational.session() as s:
        query = _load()
        if port is not None:
            query = query.where(RiskRegister.port_id == resolve_port(port).port_id)
        found = [_to_register(r) for r in s.scalars(query).all() if _may_read(r, organisation, visible)]
    return sorted(found, key=lambda r: (r.organisation != organisation, r.port_id, r.organisation))


# --- seeding from evidence -----------------------------------------------------------------------


def _has_table(store: EvidenceStore, name: str) -> bool:
    rows = store.fetchall("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name])
    return bool(rows and rows[0][0])


def seed_register(store: EvidenceStore, reader: Reader, port: str, catalogue: Catalogue | None = None, *,
                  today: date | None = None) -> Register:
    """A draft register for ``port`` drawn from the evidence ``reader`` may see.

    One row per (stage, actor) cell with incidents at the port in the last
    EVIDENCE_WINDOW_MONTHS months of the evidence: likelihood from the count
    (LIKELIHOOD_FROM_INCIDENTS), the stage's default impact, the items demanded and the
    consequences of refusal as factors; the latest assessed status of every catalogue control
    that protects the stage; a residual likelihood lowered by the controls in place
    (:func:`suggested_residual`); and an *initial* review to be recorded when it is saved.
    """
    catalogue = catalogue or Catalogue.load()
    where = resolve_port(port)
    visible = list(reader.datasets)
    on = today or date.today()
    notes: list[str] = []
    if not _has_table(store, "risk_incidents"):
        raise RegisterError("no risk evidence in the evidence store: run 'chainlight risk build' first")
    # The reader's own reports count exactly; other organisations' reports are a shared view and
    # are rounded to their band of k (under k: [c]), as in port scores (docs/risk.md), and an item
    # or consequence they name is shown only from k reports up.
    k = RiskModel.load().k_anonymity
    own = [d for d in visible if reader.access[d].owner == reader.organisation]
    cells = store.fetchall(
        f"""
        WITH seen AS (SELECT *, dataset = ANY($3) AS own FROM risk_incidents WHERE dataset = ANY($2)),
             v AS (SELECT * FROM seen WHERE port_id = $1),
             edge AS (SELECT max(month) - INTERVAL {EVIDENCE_WINDOW_MONTHS} MONTH AS since FROM seen),
             w AS (SELECT v.* FROM v, edge WHERE edge.since IS NULL OR v.month IS NULL OR v.month > edge.since)
        SELECT stage, actor, 'total' AS what, NULL AS value, own, sum(incidents)::BIGINT,
               list(DISTINCT dataset ORDER BY dataset), min(month), max(month)
        FROM w GROUP BY stage, actor, own
        UNION ALL
        SELECT stage, actor, 'item', item, own, sum(incidents)::BIGINT, NULL, NULL, NULL
        FROM w WHERE item IS NOT NULL GROUP BY stage, actor, item, own
        UNION ALL
        SELECT stage, actor, 'consequence', consequence, own, sum(incidents)::BIGINT, NULL, NULL, NULL
        FROM w WHERE consequence IS NOT NULL GROUP BY stage, actor, consequence, own
        """,
        [where.port_id, visible, own],
    )
    split: dict[tuple[str, str], list[Any]] = {}
    details_split: dict[tuple[str, str, str, str], list[int]] = {}
    for stage, actor, what, value, is_own, count, datasets, first, last in cells:
        if what == "total":
            entry_ = split.setdefault((stage, actor), [0, 0, set(), [], []])
            entry_[0 if is_own else 1] += int(count)
            entry_[2].update(datasets)
            entry_[3].extend([first] if first else [])
            entry_[4].extend([last] if last else [])
        else:
            parts = details_split.setdefault((stage, actor, what, str(value)), [0, 0])
            parts[0 if is_own else 1] += int(count)
    totals: dict[tuple[str, str], tuple[int, list[str], date | None, date | None]] = {}
    shown_count: dict[tuple[str, str], str] = {}
    for cell, (mine, theirs, datasets, firsts, lasts) in split.items():
        band = shared_band(theirs, k)
        totals[cell] = (mine + int(band.value), sorted(datasets), min(firsts, default=None), max(lasts, default=None))
        shown_count[cell] = _join_counts(mine, band)
    details: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    detail_text: dict[tuple[str, str, str, str], str] = {}
    for (stage, actor, what, value), (mine, theirs) in details_split.items():
        band = shared_band(theirs, k)
        if mine == 0 and theirs < k:
            continue  # an item only other organisations' few reports name is not shown
        details.setdefault((stage, actor, what), []).append((value, mine + int(band.value)))
        detail_text[(stage, actor, what, value)] = _join_counts(mine, band if theirs >= k else shared_band(0, k))
    latest = _latest_controls(store, where.port_id, visible, catalogue)
    used: set[str] = set()
    rows: list[RegisterRow] = []
    for (stage, actor), (count, datasets, first, last) in sorted(totals.items()):
        if count <= 0:
            continue
        used.update(datasets)
        likelihood = likelihood_from_incidents(count)
        entry = catalogue.stages.get(stage)
        impact = entry.impact if entry is not None else DEFAULT_IMPACT
        period = "" if not (first and last) else (
            f" in {first:%Y-%m}" if f"{first:%Y-%m}" == f"{last:%Y-%m}" else f" between {first:%Y-%m} and {last:%Y-%m}")
        shown = shown_count[(stage, actor)]
        factors = [f"{shown} incident{'' if shown == '1' else 's'} reported{period} ({', '.join(datasets)})"]
        for what, label in (("item", "demanded"), ("consequence", "refusal led to")):
            found = sorted(details.get((stage, actor, what), []), key=lambda x: (-x[1], x[0]))
            if found:
                factors.append(f"{label}: " + ", ".join(
                    f"{v} ({detail_text[(stage, actor, what, v)]})" for v, _ in found[:5]))
        factors.append(f"impact: the catalogue's default for {catalogue.label('stages', stage)}"
                       if entry is not None else f"impact: default {DEFAULT_IMPACT} (stage not in the catalogue)")
        controls = []
        for key, (status, note, dataset) in sorted(latest.items()):
            if catalogue.controls[key].protects(stage):
                controls.append(ControlEntry(key, status, note))
                used.add(dataset)
        in_place = sum(c.status == "in-place" for c in controls)
        residual = suggested_residual(likelihood, in_place)
        review = Review("initial", on, "", likelihood, impact, "seeded from evidence")
        rows.append(RegisterRow(stage=stage, actor=actor, likelihood=likelihood, impact=impact,
                                factors=tuple(factors), residual_likelihood=residual, residual_impact=impact,
                                controls=tuple(controls), reviews=(review,), incidents=count))
    if not rows:
        notes.append("no incidents at this port in the data you may see: add rows by hand")
    notes.append(f"likelihood from incidents in the last {EVIDENCE_WINDOW_MONTHS} months of the evidence: "
                 + ", ".join(f">= {n}: {lv}" for n, lv in LIKELIHOOD_FROM_INCIDENTS))
    notes.append(f"residual likelihood: one class lower per control in place, not below {RESIDUAL_LIKELIHOOD_FLOOR}")
    evidence = tuple(sorted(used))
    marking = most_restrictive([DEFAULT_MARKING, *(reader.access[d].marking for d in evidence)])
    return Register(port=where, organisation=reader.organisation, marking=marking,
                    title=f"Corruption risk register: {where.label}", rows=tuple(rows),
                    evidence_datasets=evidence, draft=True, notes=tuple(notes))


def _join_counts(own: int, shared: Band) -> str:
    """``12``, ``5-9``, ``3 + [c]``: own reports exactly, other organisations' as a band."""
    if shared.low == shared.high == 0:
        return str(own)
    return shared.text() if not own else f"{own} + {shared.text()}"


def _latest_controls(store: EvidenceStore, port_id: str, visible: list[str],
                     catalogue: Catalogue) -> dict[str, tuple[str, str, str]]:
    """Catalogue control -> (latest status, a note saying where it comes from, its dataset)."""
    if not _has_table(store, "risk_assessments"):
        return {}
    rows = store.fetchall(
        """SELECT control, status, date, dataset, assessment_id, evidence FROM risk_assessments
           WHERE port_id = ? AND dataset = ANY(?)
           ORDER BY control, date DESC NULLS LAST, assessment_id DESC""",
        [port_id, visible],
    )
    latest: dict[str, tuple[str, str, str]] = {}
    for control, status, on, dataset, assessment_id, evidence in rows:
        if control in latest or control not in catalogue.controls:
            continue
        status = status if status in CONTROL_STATUSES else "unknown"
        when = f" on {on:%Y-%m-%d}" if on else ""
        note = f"assessment {assessment_id}{when} ({dataset})" + (f": {evidence}" if evidence else "")
        latest[control] = (status, note, dataset)
    return latest


# --- writing -------------------------------------------------------------------------------------


def _check_level(value: int | None, what: str) -> None:
    if value is not None and not 1 <= value <= 5:
        raise RegisterError(f"{what} must be 1-5, not {value}")


def _evidence_marking(operational: OperationalStore, datasets: list[str] | tuple[str, ...]) -> Marking:
    """The strictest marking of the datasets a register was drawn from (RED for one unknown)."""
    markings = {a.name: a.marking for a in operational.dataset_access()}
    return most_restrictive(markings.get(d, Marking.RED) for d in datasets)


def _group(session: Session, name: str | None) -> SharingGroup | None:
    if name is None:
        return None
    group = session.scalar(select(SharingGroup).where(SharingGroup.name == name))
    if group is None:
        raise RegisterError(f"unknown sharing group {name!r}")
    return group


def _marking_for(operational: OperationalStore, wanted: Marking | None, datasets: tuple[str, ...]) -> Marking:
    floor = _evidence_marking(operational, datasets)
    if wanted is None:
        return most_restrictive([DEFAULT_MARKING, floor])
    if wanted.rank < floor.rank:
        raise RegisterError(f"the register is drawn from {floor.label} evidence: it cannot be marked {wanted.label}")
    return wanted


def save_register(operational: OperationalStore, draft: Register, *, author: str, marking: Marking | None = None,
                  sharing_group: str | None = None, title: str | None = None) -> Register:
    """Keep a draft (seeded or empty) as the register of ``draft.organisation`` for its port.

    Its marking defaults to TLP:AMBER, raised to the strictest of its evidence; a lower one is
    refused. Each row's reviews are recorded with ``author`` as reviewer, dated as drafted.
    """
    if not author.strip():
        raise RegisterError("a register needs an author")
    chosen = _marking_for(operational, marking, draft.evidence_datasets)
    operational.ensure_organisation(draft.organisation)
    with operational.session() as s:
        org = s.scalars(select(Organisation).where(Organisation.name == draft.organisation)).one()
        exists = s.scalar(select(RiskRegister.id).where(RiskRegister.owner_id == org.id,
                                                        RiskRegister.port_id == draft.port_id))
        if exists is not None:
            raise RegisterError(f"{draft.organisation} already keeps a register for {draft.port_id}")
        now = _now()
        stored = RiskRegister(port_id=draft.port_id, owner=org, title=title or draft.title, marking=chosen.value,
                              sharing_group=_group(s, sharing_group),
                              evidence_datasets=json.dumps(list(draft.evidence_datasets)),
                              created_by=author, created_at=now, updated_at=now)
        for row in draft.rows:
            _check_row(row)
            stored.rows.append(RiskRegisterRow(
                stage=row.stage, actor=row.actor, owner=row.owner, likelihood=row.likelihood, impact=row.impact,
                factors=json.dumps(list(row.factors)), notes=row.notes, residual_likelihood=row.residual_likelihood,
                residual_impact=row.residual_impact, created_at=now, updated_at=now,
                controls=[RiskRegisterControl(control=c.control, status=c.status, note=c.note) for c in row.controls],
                actions=[RiskRegisterAction(description=a.description, owner=a.owner, due=a.due, status=a.status,
                                            closed=a.closed, created_at=now) for a in row.actions],
                reviews=[RiskRegisterReview(kind=v.kind, reviewed_on=v.on, reviewer=v.reviewer or author,
                                            likelihood=v.likelihood, impact=v.impact, note=v.note, created_at=now)
                         for v in row.reviews],
            ))
        s.add(stored)
        s.flush()
        return _to_register(stored)


def _check_row(row: RegisterRow) -> None:
    for value, what in ((row.likelihood, "likelihood"), (row.impact, "impact"),
                        (row.residual_likelihood, "residual likelihood"), (row.residual_impact, "residual impact")):
        _check_level(value, what)
    for c in row.controls:
        if c.status not in CONTROL_STATUSES:
            raise RegisterError(f"unknown control status {c.status!r}: use one of {', '.join(CONTROL_STATUSES)}")


def create_register(operational: OperationalStore, organisation: str, port: str, *, author: str,
                    marking: Marking | None = None, sharing_group: str | None = None,
                    title: str | None = None) -> Register:
    """An empty register (rows added by hand) of ``organisation`` for ``port``."""
    where = resolve_port(port)
    draft = Register(port=where, organisation=organisation, marking=marking or DEFAULT_MARKING,
                     title=f"Corruption risk register: {where.label}", draft=True)
    return save_register(operational, draft, author=author, marking=marking, sharing_group=sharing_group,
                         title=title)


def _owned(s: Session, organisation: str, port: str) -> RiskRegister:
    """The register ``organisation`` keeps for ``port``, to change it."""
    port_id = resolve_port(port).port_id
    stored = s.scalar(_load().join(RiskRegister.owner)
                      .where(RiskRegister.port_id == port_id, Organisation.name == organisation))
    if stored is None:
        raise RegisterError(f"{organisation} keeps no register for {port_id}: create one first "
                            f"(chainlight risk register {port} --save)")
    return stored  # type: ignore[no-any-return]


def _cell(catalogue: Catalogue, stage: str, actor: str) -> tuple[str, str]:
    key_stage, key_actor = catalogue.stage_of(stage), catalogue.actor_of(actor)
    if key_stage == "unknown" or key_actor == "unknown":
        raise RegisterError("a row needs a stage and an actor")
    return key_stage, key_actor


def _row(stored: RiskRegister, stage: str, actor: str) -> RiskRegisterRow:
    for row in stored.rows:
        if row.stage == stage and row.actor == actor:
            return row
    raise RegisterError(f"the register has no row {stage} x {actor}: add it first (chainlight risk register-row)")


def set_sharing(operational: OperationalStore, organisation: str, port: str, *, marking: Marking,
                sharing_group: str | None = None) -> Register:
    """Change who may read the register (never below the marking of its evidence)."""
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        stored.marking = _marking_for(operational, marking, tuple(stored.datasets())).value
        stored.sharing_group = _group(s, sharing_group)
        stored.updated_at = _now()
        s.flush()
        return _to_register(stored)


def delete_register(operational: OperationalStore, organisation: str, port: str) -> None:
    """Remove the register with its rows and their history (the owner's decision alone)."""
    with operational.session() as s:
        s.delete(_owned(s, organisation, port))


def set_row(operational: OperationalStore, organisation: str, port: str, stage: str, actor: str, *, author: str,
            likelihood: int | None = None, impact: int | None = None, residual_likelihood: int | None = None,
            residual_impact: int | None = None, factors: list[str] | None = None, notes: str | None = None,
            owner: str | None = None, catalogue: Catalogue | None = None, today: date | None = None) -> Register:
    """Add a row or change its values (only those given). A new row needs a likelihood; its
    impact defaults to the stage's, and its *initial* review is recorded with ``author``."""
    catalogue = catalogue or Catalogue.load()
    stage, actor = _cell(catalogue, stage, actor)
    for value, what in ((likelihood, "likelihood"), (impact, "impact"),
                        (residual_likelihood, "residual likelihood"), (residual_impact, "residual impact")):
        _check_level(value, what)
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        now = _now()
        row = next((r for r in stored.rows if r.stage == stage and r.actor == actor), None)
        if row is None:
            if likelihood is None:
                raise RegisterError(f"a new row ({stage} x {actor}) needs a likelihood (1-5)")
            entry = catalogue.stages.get(stage)
            impact = impact or (entry.impact if entry is not None else DEFAULT_IMPACT)
            row = RiskRegisterRow(stage=stage, actor=actor, likelihood=likelihood, impact=impact, factors="[]",
                                  created_at=now, updated_at=now)
            row.reviews.append(RiskRegisterReview(kind="initial", reviewed_on=today or date.today(), reviewer=author,
                                                  likelihood=likelihood, impact=impact, note="row added",
                                                  created_at=now))
            stored.rows.append(row)
        if likelihood is not None:
            row.likelihood = likelihood
        if impact is not None:
            row.impact = impact
        if residual_likelihood is not None:
            row.residual_likelihood = residual_likelihood
        if residual_impact is not None:
            row.residual_impact = residual_impact
        if factors is not None:
            row.factors = json.dumps([f.strip() for f in factors if f.strip()])
        if notes is not None:
            row.notes = notes.strip() or None
        if owner is not None:
            row.owner = owner.strip() or None
        row.updated_at = stored.updated_at = now
        s.flush()
        return _to_register(stored)


def set_control(operational: OperationalStore, organisation: str, port: str, stage: str, actor: str,
                control: str, status: str, *, note: str | None = None,
                catalogue: Catalogue | None = None) -> Register:
    """Record a catalogue control's status on a row (replacing the one recorded before)."""
    catalogue = catalogue or Catalogue.load()
    stage, actor = _cell(catalogue, stage, actor)
    key = catalogue.control_of(control)
    if key not in catalogue.controls:
        raise RegisterError(f"unknown control {control!r}: see the catalogue (docs/risk.md)")
    if status not in CONTROL_STATUSES:
        raise RegisterError(f"unknown control status {status!r}: use one of {', '.join(CONTROL_STATUSES)}")
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        row = _row(stored, stage, actor)
        entry = next((c for c in row.controls if c.control == key), None)
        if entry is None:
            row.controls.append(RiskRegisterControl(control=key, status=status, note=note))
        else:
            entry.status, entry.note = status, note if note is not None else entry.note
        row.updated_at = stored.updated_at = _now()
        s.flush()
        return _to_register(stored)


def add_action(operational: OperationalStore, organisation: str, port: str, stage: str, actor: str,
               description: str, *, owner: str, due: date | None = None,
               catalogue: Catalogue | None = None) -> Action:
    """Plan an action on a row; it starts ``open``."""
    catalogue = catalogue or Catalogue.load()
    stage, actor = _cell(catalogue, stage, actor)
    if not description.strip() or not owner.strip():
        raise RegisterError("an action needs a description and an owner")
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        row = _row(stored, stage, actor)
        action = RiskRegisterAction(description=description.strip(), owner=owner.strip(), due=due, status="open",
                                    created_at=_now())
        row.actions.append(action)
        row.updated_at = stored.updated_at = _now()
        s.flush()
        return Action(action.id, action.description, action.owner, action.due, action.status, action.closed)


def set_action_status(operational: OperationalStore, organisation: str, port: str, action_id: int, status: str, *,
                      on: date | None = None) -> Action:
    """Close an action (``done`` or ``dropped``, dated ``on``, default today) or reopen it."""
    if status not in ACTION_STATUSES:
        raise RegisterError(f"unknown action status {status!r}: use one of {', '.join(ACTION_STATUSES)}")
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        action = next((a for r in stored.rows for a in r.actions if a.id == action_id), None)
        if action is None:
            raise RegisterError(f"the register has no action {action_id}")
        action.status = status
        action.closed = None if status == "open" else (on or date.today())
        stored.updated_at = _now()
        s.flush()
        return Action(action.id, action.description, action.owner, action.due, action.status, action.closed)


def add_review(operational: OperationalStore, organisation: str, port: str, kind: str, *, reviewer: str,
               stage: str | None = None, actor: str | None = None, likelihood: int | None = None,
               impact: int | None = None, note: str | None = None, on: date | None = None,
               catalogue: Catalogue | None = None) -> list[Review]:
    """Record a review of one row (``stage`` and ``actor``) or of every row.

    Values not given are the row's current ones: inherent for an *initial* review, residual for
    an *estimated* or *monitored* one. Values given become the row's current ones too (inherent
    for initial, residual otherwise), so the register shows what its latest review found.
    Earlier reviews are never changed.
    """
    if kind not in REVIEW_KINDS:
        raise RegisterError(f"unknown review kind {kind!r}: use one of {', '.join(REVIEW_KINDS)}")
    if not reviewer.strip():
        raise RegisterError("a review needs a reviewer")
    _check_level(likelihood, "likelihood")
    _check_level(impact, "impact")
    if (stage is None) != (actor is None):
        raise RegisterError("give both a stage and an actor, or neither to review every row")
    with operational.session() as s:
        stored = _owned(s, organisation, port)
        if stage is not None and actor is not None:
            rows = [_row(stored, *_cell(catalogue or Catalogue.load(), stage, actor))]
        else:
            rows = list(stored.rows)
            if not rows:
                raise RegisterError("the register has no rows to review")
        now, recorded = _now(), []
        for row in rows:
            if kind == "initial":
                row.likelihood = likelihood or row.likelihood
                row.impact = impact or row.impact
                values = (row.likelihood, row.impact)
            else:
                if likelihood is not None:
                    row.residual_likelihood = likelihood
                if impact is not None:
                    row.residual_impact = impact
                values = (row.residual_likelihood or row.likelihood, row.residual_impact or row.impact)
            review = RiskRegisterReview(kind=kind, reviewed_on=on or date.today(), reviewer=reviewer.strip(),
                                        likelihood=values[0], impact=values[1], note=note, created_at=now)
            row.reviews.append(review)
            row.updated_at = now
            recorded.append(Review(kind, review.reviewed_on, review.reviewer, values[0], values[1], note))
        stored.updated_at = now
        return recorded


# --- views ---------------------------------------------------------------------------------------


def heatmap(register: Register, *, residual: bool = True) -> list[list[HeatCell]]:
    """The 5 x 5 likelihood x impact grid of the register's rows (residual or inherent), as a
    page draws it: likelihood 5 (top) to 1, impact 1 (left) to 5."""
    def at(row: RegisterRow) -> tuple[int, int]:
        return (row.residual_l, row.residual_i) if residual else (row.likelihood, row.impact)

    return [[HeatCell(lv, im, tuple(r for r in register.rows if at(r) == (lv, im))) for im in range(1, 6)]
            for lv in range(5, 0, -1)]


def ranked_rows(register: Register) -> list[RegisterRow]:
    """Rows by residual score, then inherent score, highest first (the order reports list them)."""
    return sorted(register.rows, key=lambda r: (-r.residual, -r.inherent, r.stage, r.actor))


def with_reviewer(register: Register, reviewer: str) -> Register:
    """A draft whose pending reviews name ``reviewer`` (for showing a draft before it is saved)."""
    rows = tuple(replace(r, reviews=tuple(replace(v, reviewer=v.reviewer or reviewer) for v in r.reviews))
                 for r in register.rows)
    return replace(register, rows=rows)


def row_key(stage: str, actor: str) -> str:
    """``physical-inspection/customs``: how a row is named in exports and the CLI."""
    return f"{slug(stage)}/{slug(actor)}"
