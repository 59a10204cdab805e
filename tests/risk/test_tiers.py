"""Country tiers: ordered rules from a criteria file, explained by the values that met them,
undecided where data is missing, not assessed without an index, need-to-know on every input."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from chainlight.model.markings import Marking
from chainlight.pipeline import open_operational
from chainlight.risk import tiers
from chainlight.risk.indices import Columns, IndexSpec, load_index
from chainlight.risk.tiers import CountryEvidence, Criteria, CriteriaError, evaluate, parse_condition
from chainlight.rules.alerts import Reader
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "risk"


def _reader(settings: Settings, organisation: str) -> Reader:
    operational = open_operational(settings)
    try:
        return Reader.of(operational.dataset_access(), organisation)
    finally:
        operational.dispose()


@pytest.fixture
def world(settings: Settings) -> Settings:
    """Two indices (CPI: dk de br ng vn; Basel AML: ng br dk vn), ports in five countries,
    incidents at a Brazilian and a Kenyan port (GREEN, ngo), seizures missed at a Nigerian port
    (RED, fiu)."""
    load_index(settings, FIXTURES / "cpi.csv",
               IndexSpec("cpi", "ti-cpi", "CPI", 0, 100, False, "TI CPI 2024", "CC BY-ND 4.0"),
               marking=Marking.CLEAR, owner="ti")
    load_index(settings, FIXTURES / "aml.csv", IndexSpec("basel-aml", "basel", "Basel AML", 0, 10, True),
               marking=Marking.GREEN, owner="basel", columns=Columns(country="iso2", value="aml_score",
                                                                       fixed_year=2024))
    operational = open_operational(settings)
    try:
        operational.ensure_dataset("ngo", owner="ngo", marking=Marking.GREEN)
        operational.ensure_dataset("fiu", owner="fiu", marking=Marking.RED)
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        store.con.execute("""CREATE TABLE risk_ports AS SELECT * FROM (VALUES
            ('port-BRSSZ', 'br', true), ('port-NGLOS', 'ng', true), ('port-DKCPH', 'dk', true),
            ('port-KEMBA', 'ke', true), ('port-VNSGN', 'vn', true), ('airport-xyz', 'dk', false)
            ) t(port_id, country, listed)""")
        # The other risk tables, empty: a port known only from evidence (airport-xyz) counts for
        # no one here.
        store.con.execute("""CREATE TABLE risk_assessments (dataset VARCHAR, port_id VARCHAR)""")
        store.con.execute("""CREATE TABLE risk_route_exposure (port_id VARCHAR, entity_id VARCHAR, kind VARCHAR,
                                                               datasets VARCHAR[])""")
        store.con.execute("""CREATE TABLE risk_alert_ports (alert_id VARCHAR, port_id VARCHAR, rule_id VARCHAR,
                                                            score DOUBLE, datasets VARCHAR[])""")
        store.con.execute("""CREATE TABLE risk_incidents AS SELECT * FROM (VALUES
            ('ngo', 'port-BRSSZ', 'release', 'customs', 'cash', 'delay', 'paid', DATE '2024-03-01', 12, 500.0),
            ('ngo', 'port-KEMBA', 'release', 'customs', 'cash', 'delay', 'refused', DATE '2024-03-01', 4, NULL)
            ) t(dataset, port_id, stage, actor, item, consequence, outcome, month, incidents, cash_amount)""")
        store.con.execute("""CREATE TABLE risk_missed_seizures AS SELECT * FROM (VALUES
            ('port-NGLOS', 'seizure-1', 'shipment-1', DATE '2024-01-02', ['fiu']),
            ('port-NGLOS', 'seizure-2', 'shipment-2', DATE '2024-02-02', ['fiu']),
            ('port-NGLOS', 'seizure-3', 'shipment-3', DATE '2024-03-02', ['fiu', 'ngo'])
            ) t(port_id, seizure_id, shipment_id, date, datasets)""")
    return settings


def _tiers(settings: Settings, organisation: str, criteria: Criteria | None = None) -> dict[str, tiers.CountryTier]:
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        report = tiers.country_tiers(store, _reader(settings, organisation), criteria)
    return {t.country: t for t in report.countries}


def test_shipped_criteria_place_countries_and_explain_why(world: Settings) -> None:
    placed = _tiers(world, "fiu")
    assert {c: t.tier for c, t in placed.items()} == {
        "ng": "tier-3", "br": "tier-2-watch", "vn": "tier-2", "dk": "tier-1", "de": "tier-1", "ke": "not-assessed",
    }
    nigeria = placed["ng"]
    assert nigeria.rule == "failing-controls-high-risk" and nigeria.label == "Tier 3"
    assert [str(m) for m in nigeria.met] == ["indices.mean = 0.73 >= 0.65", "evidence.missed_seizures = 3 >= 3"]
    assert nigeria.datasets == ("basel", "fiu", "ngo", "ti-cpi") and nigeria.marking is Marking.RED
    # The NGO's 12 reports reach the FIU as the band 10-14, counted as its middle: "~", not "=".
    assert [str(m) for m in placed["br"].met] == ["evidence.incidents ~ 12 >= 10"]
    assert placed["br"].met[0].as_dict()["approximate"]
    # No port scores were handed in: the port-score rule is undecided, and says so.
    assert placed["vn"].rule == "otherwise" and placed["vn"].undecided == ("riskiest-port",)
    assert placed["vn"].gaps == ("evidence.max_residual",)
    assert placed["de"].gaps == ("evidence.max_residual", "index.basel-aml")
    kenya = placed["ke"]
    assert kenya.rule is None and kenya.because == "insufficient data: assessed only when indices.count >= 1"
    assert kenya.gaps == ("index.basel-aml", "index.cpi")
    # The NGO's 4 reports are under k = 5 for the FIU: counted as k / 2 and flagged, never shown.
    assert kenya.evidence is not None and (kenya.evidence.incidents, kenya.evidence.incidents_hidden) == (2.5, True)
    own = _tiers(world, "ngo")["ke"].evidence
    assert own is not None and (own.incidents, own.incidents_hidden) == (4, False)
    assert [str(m) for m in _tiers(world, "ngo")["br"].met] == ["evidence.incidents = 12 >= 10"]  # its own: exact
    assert list(placed) == ["ng", "br", "vn", "de", "dk", "ke"]  # worst tier first, not assessed last


def test_red_evidence_of_another_organisation_is_not_used(world: Settings) -> None:
    placed = _tiers(world, "ngo")
    nigeria = placed["ng"]
    assert (nigeria.tier, nigeria.rule) == ("tier-2-watch", "high-risk-indices")
    assert nigeria.evidence is not None and nigeria.evidence.missed_seizures == 0
    assert "fiu" not in nigeria.datasets and nigeria.marking is Marking.GREEN


def test_port_scores_fill_the_residual_fields(world: Settings) -> None:
    @dataclass
    class Port:
        port_id: str
        country: str | None
        residual: float
        datasets: list[str]

    ports = [Port("port-VNSGN", None, 64.0, ["ngo"]), Port("port-VNSGN-2", "vn", 20.0, [])]
    with EvidenceStore(world.evidence_path, read_only=True) as store:
        reader = _reader(world, "ngo")
        evidence = tiers.country_evidence(store, reader, ports=ports)
        report = tiers.country_tiers(store, reader, ports=ports)
    assert (evidence["vn"].scored_ports, evidence["vn"].mean_residual, evidence["vn"].max_residual) == (2, 42.0, 64.0)
    vietnam = next(t for t in report.countries if t.country == "vn")
    assert (vietnam.tier, vietnam.rule, vietnam.undecided) == ("tier-2-watch", "riskiest-port", ())
    assert report.marking is Marking.GREEN and "fiu" not in report.datasets


def test_changing_the_criteria_moves_a_country_and_rule_order_decides(world: Settings, tmp_path: Path) -> None:
    shipped = Criteria.load()
    two_indices = parse_condition({"all": ["indices.max < 0.4", "indices.count >= 2"]}, "when")
    stricter = replace(shipped, rules=tuple(replace(r, when=two_indices) if r.id == "low-risk" else r
                                            for r in shipped.rules))
    assert _tiers(world, "fiu", shipped)["de"].tier == "tier-1"
    assert _tiers(world, "fiu", stricter)["de"].tier == "tier-2"  # one index is no longer enough for Tier 1
    home_copy = world.home / "risk" / "tiers.yaml"
    home_copy.parent.mkdir(parents=True, exist_ok=True)
    home_copy.write_text("""
scheme: two rules
tiers: {watch: {label: Watch}, fine: {label: Fine}}
rules:
  - {id: first, tier: fine, because: listed first, when: "raw.cpi >= 70"}
  - {id: second, tier: watch, because: listed second, when: "index.cpi < 0.5"}
""", encoding="utf-8")
    criteria = Criteria.load(home=world.home)
    assert criteria.source == str(home_copy)
    placed = _tiers(world, "ngo", criteria)
    assert (placed["de"].tier, placed["de"].rule) == ("fine", "first")  # both rules hold: the first wins
    assert [str(m) for m in placed["de"].met] == ["raw.cpi = 75 >= 70"]
    assert placed["br"].tier == "not-assessed" and placed["br"].because == "no rule matched"
    home_copy.write_text(home_copy.read_text().replace("first, tier: fine", "first, tier: watch"), encoding="utf-8")
    assert _tiers(world, "ngo", Criteria.load(home=world.home))["de"].tier == "watch"
    explicit = tmp_path / "other.yaml"
    explicit.write_text("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: all, tier: a, because: always}]\n")
    assert Criteria.load(explicit, home=world.home).source == str(explicit)


def test_three_valued_conditions() -> None:
    facts = {"index.cpi": 0.8, "evidence.incidents": 2.0}
    cond = parse_condition({"any": ["index.cpi >= 0.7", "index.oci >= 0.7"]}, "when")
    assert evaluate(cond, facts).value is True
    cond = parse_condition({"all": ["index.cpi >= 0.7", "index.oci >= 0.7"]}, "when")
    outcome = evaluate(cond, facts)
    assert outcome.value is None and outcome.missing == {"index.oci"}
    cond = parse_condition({"all": ["evidence.incidents > 5", "index.oci >= 0.7"]}, "when")
    assert evaluate(cond, facts).value is False  # one false part settles an all
    cond = parse_condition({"any": ["evidence.incidents > 5", {"field": "index.oci", "op": "<", "value": 1}]}, "w")
    assert evaluate(cond, facts).value is None
    assert evaluate(parse_condition("evidence.incidents != 2", "w"), facts).value is False


@pytest.mark.parametrize(("text", "message"), [
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, when: 'index.cpi => 1'}]",
     "f.yaml: rule 'r1': when: 'index.cpi => 1' is not 'FIELD OP NUMBER'"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, when: 'evidence.bribes > 1'}]",
     "f.yaml: rule 'r1': when: unknown field 'evidence.bribes'"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: b, because: b}]",
     "f.yaml: rule 'r1': unknown tier 'b'; use one of a"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b}, {id: r1, tier: a, because: c}]",
     "f.yaml: rule 'r1': a second rule with this id"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, when: {all: ['index.x > 1', "
     "{any: [{field: index.y, op: '>', value: yes}]}]}}]",
     "f.yaml: rule 'r1': when.all[1].any[0]: value must be a number, not True"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, when: 'os.system > 1'}]",
     "unknown field 'os.system'"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, unless: x}]",
     "f.yaml: rules.0.unless: Extra inputs are not permitted"),
    ("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b}]\nassess_when: 'indices.sum > 1'",
     "f.yaml: assess_when: unknown field 'indices.sum'"),
    ("scheme: [", "f.yaml: not valid YAML"),
])
def test_criteria_errors_name_the_file_and_rule(text: str, message: str) -> None:
    with pytest.raises(CriteriaError) as caught:
        Criteria.parse(text, "f.yaml")
    assert message in str(caught.value)


def test_a_missing_criteria_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="no such criteria file"):
        Criteria.load(tmp_path / "nope.yaml")


def test_evidence_facts_skip_what_is_unknown() -> None:
    facts = CountryEvidence(ports=2, incidents=1).facts()
    assert facts["evidence.incidents"] == 1 and "evidence.max_residual" not in facts
