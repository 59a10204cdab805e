"""The shapes of the risk pages' JSON twins (``/risk.json``, ``/risk/heatmap.json``,
``/risk/ports/{code}.json``, ``/risk/ports/{code}/register.json``, ``/risk/countries.json``).

Scores come from :func:`chainlight.risk.scoring.score_ports` over the viewer's visible datasets
(without a purpose, those marked RED or AMBER+STRICT are held back); every score carries the
datasets it rests on and their strictest marking. A port's contributions sum to its residual
score, as the scorer stores it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from chainlight.web.graph_payloads import Marking as MarkingName
from chainlight.web.graph_payloads import Provenance

Variant = Literal["inherent", "residual"]
Band = Literal["low", "medium", "high", "critical"]


class HeldBack(BaseModel):
    """What a purpose would add: the viewer's RED and AMBER+STRICT datasets, left out without one."""

    held_back: int = Field(
        default=0,
        description="Visible datasets marked RED or AMBER+STRICT left out of the scores because no purpose was "
                    "given (?purpose= or the X-Chainlight-Purpose header); nothing of them is in any figure.",
    )
    held_back_marking: MarkingName | None = Field(
        default=None, description="The strictest marking of the datasets held back (null: none was)."
    )
    purpose: str | None = Field(default=None, description="The purpose given, which the access log keeps.")


class RiskTerm(BaseModel):
    """One factor's part in a score: raw value, normalised value (0..1), effective weight and points."""

    factor: str
    group: Literal["likelihood", "impact", "controls"]
    label: str
    raw: Any = Field(description="The value as measured (a count, a flag, a status, an index).")
    normalised: float | None = Field(description="0..1, 1 = riskiest (controls: the status's credit).")
    weight: float = Field(description="Effective weight, rescaled over the factors with data.")
    points: float = Field(description="Likelihood and control terms: points of the residual score; impact and "
                                      "control terms: their share of impact and control effectiveness.")
    missing: bool
    note: str | None


class RiskPortScore(Provenance):
    """A port's score in the viewer's view (datasets: the evidence it rests on; none = reference facts only)."""

    rank: int = Field(description="Rank by residual risk under the model used (1 = riskiest).")
    default_rank: int = Field(description="Rank under the default model (the same unless weights were changed).")
    rank_change: int = Field(description="default_rank - rank: how many places the changed weights moved it up.")
    port_id: str
    code: str | None = Field(description="UN/LOCODE or IATA code.")
    name: str
    kind: str
    country: str | None = Field(description="ISO 3166 alpha-2, lower case.")
    region: str | None = Field(description="World Port Index region.")
    harbour_size: str | None = Field(description="World Port Index harbour size: L, M, S or V.")
    latitude: float | None
    longitude: float | None
    residual: float = Field(description="Residual risk 0..100: inherent x (1 - mitigation x controls).")
    inherent: float = Field(description="Inherent risk 0..100: 100 x likelihood x impact.")
    likelihood: float
    impact: float
    control_effectiveness: float
    likelihood_class: int = Field(ge=1, le=5)
    impact_class: int = Field(ge=1, le=5)
    residual_likelihood_class: int = Field(ge=1, le=5)
    band: Band = Field(description="Band of residual likelihood class x impact class (as in a register).")
    incidents: int = Field(description="Incidents reported in the scoring window, at least: the viewer's own "
                                       "exactly, other organisations' by the low end of their band of k.")
    incidents_text: str = Field(default="", description="As shown: '12', '40-44', '3 + [c]' ([c]: under k).")
    incidents_hidden: bool = Field(default=False, description="Whether other organisations' count is hidden.")
    previous_residual: float | None
    trend: float | None = Field(description="residual - previous_residual.")
    missing: list[str] = Field(description="Factors without data: their weight went to the others.")
    top: list[RiskTerm] = Field(description="The largest positive contributions (up to three).")
    contributions: list[RiskTerm] | None = Field(
        default=None, description="Every contribution: they sum to the residual score."
    )


class RiskWeight(BaseModel):
    key: str = Field(description="The weight's key, as the form's w.KEY parameter takes it.")
    label: str
    value: float = Field(description="The weight used.")
    default: float = Field(description="The model's own weight.")


class RiskFilters(BaseModel):
    region: str | None
    country: str | None
    size: str | None
    evidence: bool
    likelihood: int | None
    impact: int | None
    variant: Variant
    limit: int
    offset: int


class RiskMapPort(BaseModel):
    """A port on the map: those with evidence and the riskiest of the rest."""

    port_id: str
    code: str | None
    name: str
    latitude: float
    longitude: float
    rank: int
    residual: float
    band: Band
    harbour_size: str | None
    kind: str
    evidence: bool
    marking: MarkingName


class RiskBenchmark(HeldBack, Provenance):
    """The port integrity benchmark: ports ranked by residual risk, one page of them, and the map's points."""

    as_of: str | None = Field(description="Evidence is read up to this date.")
    previous_as_of: str | None = Field(description="The trend compares with the score as of this date.")
    model: str = Field(description="The model used, with the changed weights.")
    weights: list[RiskWeight]
    changed: dict[str, float] = Field(description="Weights that differ from the model's (the form's w.KEY).")
    caps: dict[str, float] = Field(description="Normalisation caps, taken over the viewer's view.")
    filters: RiskFilters
    regions: list[str] = Field(description="Regions a filter may name.")
    total: int = Field(description="Ports scored.")
    with_evidence: int = Field(description="Ports whose score rests on evidence beyond the reference facts.")
    matching: int = Field(description="Ports passing the filters.")
    next_offset: int | None
    ports: list[RiskPortScore] = Field(description="One page of the matching ports, by rank.")
    map: list[RiskMapPort] = Field(description="Matching ports with evidence, and the riskiest others.")


class RiskHeatCell(BaseModel):
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    ports: int
    band: Band
    url: str = Field(description="The benchmark listing this cell's ports.")


class RiskHeatmap(HeldBack, Provenance):
    """Ports per likelihood class x impact class (5 x 5), inherent or residual likelihood."""

    variant: Variant
    filters: RiskFilters
    rows: list[list[RiskHeatCell]] = Field(description="Likelihood 5 (first row) to 1; impact 1 to 5 in each.")
    total: int
    model: str


class RiskFacts(BaseModel):
    """World Port Index facts (and the platform's list of transit hubs)."""

    region: str | None
    harbour_size: str | None
    port_security: str | None
    first_port_of_entry: str | None
    free_trade_zone: bool | None
    transit_hub: bool | None


class RiskPeerGroup(BaseModel):
    kind: str
    key: str
    ports: int
    with_evidence: int
    rank: int | None
    median_residual: float | None
    worst: str | None
    mean_trend: float | None


class RiskGap(BaseModel):
    """A catalogue control not in place at the port."""

    control: str
    label: str
    framework: str
    status: str = Field(description="The port's latest status, or 'not assessed'.")
    peers_assessed: int = Field(description="Regional peers with evidence that assessed the control.")
    peers_in_place: int
    peer_share: float | None = Field(description="Share of those with it in place (null: none assessed it).")


class RiskAlertRef(Provenance):
    alert_id: str
    title: str
    rule_id: str
    score: float
    url: str


class RiskRegisterRef(BaseModel):
    organisation: str
    title: str
    marking: MarkingName
    rows: int
    worst_band: Band | None
    url: str


class RiskIncidentLine(BaseModel):
    key: str
    label: str
    count: int | None = Field(description="Null: hidden (k-anonymity).")
    display: str


class RiskIncidents(BaseModel):
    """Incidents at the port by stage, actor, item and consequence; other organisations' counts under k
    are hidden (and any that would reveal one); never one incident."""

    k: int
    by: dict[str, list[RiskIncidentLine]]
    total: str


class RiskPortProfile(HeldBack, Provenance):
    """One port: facts, score and its full explanation, trend, peers, gaps, evidence tied to it, registers."""

    score: RiskPortScore
    impact_terms: list[RiskTerm] = Field(description="They sum to impact.")
    control_terms: list[RiskTerm] = Field(description="They sum to control effectiveness.")
    facts: RiskFacts
    model: str
    as_of: str | None
    previous_as_of: str | None
    peers: list[RiskPeerGroup]
    gaps: list[RiskGap]
    incidents: RiskIncidents | None = Field(description="Null: no breakdown available.")
    missed_seizures: int = Field(description="Seizures later along a route that passed this port undetected.")
    alerts: list[RiskAlertRef] = Field(description="Red-flag alerts tied to the port the viewer may see.")
    registers: list[RiskRegisterRef] = Field(description="Registers of this port the viewer may read.")
    register_url: str


class RegisterControl(BaseModel):
    control: str
    status: str
    note: str | None


class RegisterAction(BaseModel):
    id: int | None
    description: str
    owner: str
    due: str | None
    status: str
    closed: str | None


class RegisterReview(BaseModel):
    kind: str
    date: str
    reviewer: str
    likelihood: int
    impact: int
    score: int
    band: Band
    note: str | None


class RegisterRow(BaseModel):
    """One cell of the register: a process stage x an actor type."""

    stage: str
    actor: str
    stage_label: str
    actor_label: str
    owner: str | None
    likelihood: int
    impact: int
    inherent: int
    inherent_band: Band
    factors: list[str]
    notes: str | None
    residual_likelihood: int
    residual_impact: int
    residual: int
    residual_band: Band
    controls: list[RegisterControl]
    actions: list[RegisterAction]
    reviews: list[RegisterReview]
    incidents: int | None = Field(description="Drafts: the incidents the likelihood was suggested from.")


class Register(BaseModel):
    """A register (WCO guide) as the viewer may read it; ``draft`` when seeded from evidence, not yet saved."""

    id: int | None
    port_id: str
    port: dict[str, str] = Field(description="Reference facts of the location.")
    organisation: str
    title: str
    marking: MarkingName
    sharing_group: str | None
    evidence_datasets: list[str]
    created_by: str | None
    created_at: str | None
    updated_at: str | None
    draft: bool
    notes: list[str]
    rows: list[RegisterRow] = Field(description="Ranked by residual, then inherent risk.")


class RegisterHeatCell(BaseModel):
    likelihood: int
    impact: int
    band: Band
    rows: list[str] = Field(description="The rows in the cell, as stage/actor.")


class RiskRegisterPage(HeldBack):
    """A port's register: the viewer's own (or a draft seeded from the evidence it may see), or another
    organisation's it may read, with its heat maps, exports and the registers of others."""

    risk_register: Register
    heatmaps: dict[Variant, list[list[RegisterHeatCell]]] = Field(
        description="Likelihood 5 (first row) to 1; impact 1 to 5 in each."
    )
    others: list[RiskRegisterRef] = Field(description="Other registers of this port the viewer may read.")
    may_edit: bool = Field(description="Whether the viewer may change this register (its organisation, analyst).")
    csv_url: str
    pdf_url: str


class RiskMet(BaseModel):
    field: str
    op: str
    threshold: float
    value: float
    approximate: bool = Field(default=False, description="A banded count (other organisations' incidents): "
                                                            "the value is its band's middle.")


class RiskIndexValue(BaseModel):
    index: str
    label: str
    dataset: str
    country: str
    year: int
    value: float
    riskiness: float


class RiskCountryEvidence(BaseModel):
    ports: int
    scored_ports: int
    mean_residual: float | None
    max_residual: float | None
    incidents: float = Field(description="Another organisation's count under k is coarsened to k / 2.")
    missed_seizures: float
    seizures: float
    alerts: float
    datasets: list[str]


class RiskCountryTier(Provenance):
    country: str
    tier: str
    label: str
    rule: str | None
    because: str
    met: list[RiskMet] = Field(description="The comparisons that placed the country, with its values.")
    undecided: list[str] = Field(description="Rules that could not be decided for want of data.")
    gaps: list[str] = Field(description="Facts the country lacks.")
    indices: list[RiskIndexValue]
    evidence: RiskCountryEvidence | None


class RiskCountries(HeldBack, Provenance):
    """Country accountability tiers from the criteria, the loaded indices and the platform's evidence."""

    scheme: str
    criteria: str
    countries: list[RiskCountryTier]
