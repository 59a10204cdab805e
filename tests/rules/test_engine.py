"""Running rules over a real pool: alerts, stable ids, triage across re-runs, markings,
missing inputs, and rules that break the output contract."""

from __future__ import annotations

import time

import pytest

from chainlight import pipeline
from chainlight.rules import engine
from chainlight.rules.alerts import AlertError, entity_risk, evidence, get_alert, list_alerts, triage_alert
from chainlight.rules.model import RuleError
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalError
from tests.rules.conftest import OFFICIAL_PAYMENTS, SEIZED_SHIPMENTS, make_rule


def _run(settings: Settings, *rules: object, strict: bool = False) -> engine.RunReport:
    from chainlight.resolve import service

    operational = pipeline.open_operational(settings)
    verdicts = service.verdicts(operational)
    operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        clusters = service.canonical_ids(store, verdicts, store.dataset_names())
        return engine.run(store, list(rules), settings.home, strict=strict, clusters=clusters)  # type: ignore[arg-type]


def _subjects(settings: Settings, organisation: str) -> dict[str, str]:
    with pipeline.alerts_session(settings, organisation) as (store, operational, reader):
        alerts, total = list_alerts(store, operational, reader, limit=None)
    assert total == len(alerts)
    return {a.subject: a.marking for a in alerts}


def test_alerts_follow_resolution_and_inherit_the_markings_of_their_evidence(rules_pool: Settings) -> None:
    report = _run(rules_pool, make_rule(**OFFICIAL_PAYMENTS), make_rule(**SEIZED_SHIPMENTS))
    assert [(o.rule_id, o.status, o.alerts) for o in report.outcomes] == [
        ("money.test-official-payments", "ran", 3), ("shipment.test-seized", "ran", 2)]
    # The FIU sees every alert; the payments to the sister need the NGO's family tie, which
    # only counts because the FIU judged its two Halima Otienos to be one person.
    fiu = _subjects(rules_pool, "fiu")
    assert fiu == {"pay-front-relative": "RED", "pay-front-relative-2": "RED", "pay-relative-official": "RED",
                   "ship-1": "AMBER", "ship-2": "AMBER"}
    # Customs may read the NGO's AMBER data but not the FIU's RED payments: the RED alerts do not exist for it.
    assert _subjects(rules_pool, "customs") == {"ship-1": "AMBER", "ship-2": "AMBER"}
    assert _subjects(rules_pool, "public") == {}
    with EvidenceStore(rules_pool.evidence_path) as store:
        row = store.fetchall("SELECT datasets, details FROM alerts WHERE subject = 'pay-front-relative'")[0]
    assert row[0] == ["fiu", "ngo"] and row[1] == '{"amount":5000.0}'


def test_hidden_alerts_cannot_be_read_triaged_or_counted_in_risk(rules_pool: Settings) -> None:
    _run(rules_pool, make_rule(**OFFICIAL_PAYMENTS), make_rule(**SEIZED_SHIPMENTS))
    with pipeline.alerts_session(rules_pool, "fiu") as (store, operational, reader):
        red = next(a for a in list_alerts(store, operational, reader)[0] if a.subject == "pay-relative-official")
        items = evidence(store, reader, red)
    assert {i["dataset"] for i in items} == {"fiu", "ngo"}
    assert any(i["prop"] == "amount" and i["value"] == "4000" for i in items)
    with pipeline.alerts_session(rules_pool, "customs") as (store, operational, reader):
        with pytest.raises(AlertError, match="not visible to customs"):
            get_alert(store, operational, reader, red.alert_id)
        with pytest.raises(AlertError):
            triage_alert(store, operational, reader, red.alert_id, "dismissed", author="c", reason="probing")
        risks = entity_risk(store, operational, reader)
        assert all(r.marking != "RED" and "money.test-official-payments" not in r.rules for r in risks)
        assert list_alerts(store, operational, reader, entity=red.entities[0])[1] == 0


def test_ids_first_raised_and_triage_survive_a_rerun(rules_pool: Settings) -> None:
    rule = make_rule(**SEIZED_SHIPMENTS)
    _run(rules_pool, rule)
    with pipeline.alerts_session(rules_pool, "customs") as (store, operational, reader):
        first = {a.subject: a for a in list_alerts(store, operational, reader)[0]}
        with pytest.raises(OperationalError, match="needs a reason"):
            triage_alert(store, operational, reader, first["ship-1"].alert_id, "dismissed", author="ana")
        triage_alert(store, operational, reader, first["ship-1"].alert_id, "dismissed", author="ana",
                     reason="seized consignment already prosecuted")
        triage_alert(store, operational, reader, first["ship-2"].alert_id, "confirmed", author="ana")
    time.sleep(0.01)
    _run(rules_pool, rule)
    with pipeline.alerts_session(rules_pool, "customs") as (store, operational, reader):
        again = {a.subject: a for a in list_alerts(store, operational, reader)[0]}
        assert {s: a.alert_id for s, a in again.items()} == {s: a.alert_id for s, a in first.items()}
        assert again["ship-1"].first_raised == first["ship-1"].first_raised
        assert again["ship-1"].last_raised > first["ship-1"].last_raised
        assert (again["ship-1"].state, again["ship-1"].triage_reason) == (
            "dismissed", "seized consignment already prosecuted")
        assert again["ship-2"].state == "confirmed"
        assert [a.subject for a in list_alerts(store, operational, reader, state="new")[0]] == []
        shown = get_alert(store, operational, reader, again["ship-1"].alert_id)
        assert [h["state"] for h in shown.history] == ["dismissed"]
    # Triage is the deciding organisation's: the FIU still sees both as new.
    with pipeline.alerts_session(rules_pool, "fiu") as (store, operational, reader):
        assert {a.state for a in list_alerts(store, operational, reader, rule="shipment.test-seized")[0]} == {"new"}


def test_entity_risk_combines_rules_and_leaves_out_dismissed_alerts(rules_pool: Settings) -> None:
    payments = make_rule(**{**OFFICIAL_PAYMENTS, "severity": "high"})  # 0.6
    other = make_rule(**{**OFFICIAL_PAYMENTS, "id": "money.test-second-signal", "severity": "medium"})  # 0.4
    _run(rules_pool, payments, other)
    with pipeline.alerts_session(rules_pool, "fiu") as (store, operational, reader):
        sister = entity_risk(store, operational, reader, entity=_sister(store))
        assert len(sister) == 1 and sister[0].score == pytest.approx(1 - 0.4 * 0.6)
        assert sister[0].rules == ["money.test-official-payments", "money.test-second-signal"]
        # She is paid twice and pays the official once: three alerts from each rule.
        assert sister[0].alerts == 6 and sister[0].marking == "RED" and sister[0].name
        for alert in list_alerts(store, operational, reader, rule="money.test-second-signal")[0]:
            triage_alert(store, operational, reader, alert.alert_id, "dismissed", author="a", reason="duplicate")
        assert entity_risk(store, operational, reader, entity=_sister(store))[0].score == pytest.approx(0.6)


def _sister(store: EvidenceStore) -> str:
    return str(store.scalar("SELECT canonical_id FROM alert_clusters WHERE entity_id = 'fiu-relative'"))


def test_a_rule_without_its_inputs_is_skipped_or_refused(rules_pool: Settings) -> None:
    trade_rule = make_rule(
        id="trade.test-anything", category="cites-trade", flags="TradeRecord", inputs=["trade"],
        query="SELECT record_id AS subject, [] AS entities, [] AS evidence, datasets, 'x' AS reason FROM trade",
    )
    report = _run(rules_pool, trade_rule, make_rule(**SEIZED_SHIPMENTS))
    assert report.outcomes[0].status == "skipped"
    assert report.outcomes[0].message == "rule trade.test-anything cannot run: input 'trade' is empty"
    assert report.outcomes[1].alerts == 2
    with pytest.raises(RuleError, match="input 'trade' is empty"):
        _run(rules_pool, trade_rule, strict=True)


def test_rules_breaking_the_contract_fail_and_leave_earlier_alerts(rules_pool: Settings) -> None:
    _run(rules_pool, make_rule(**SEIZED_SHIPMENTS))
    no_reason = make_rule(**{**SEIZED_SHIPMENTS, "query": SEIZED_SHIPMENTS["query"].replace("AS reason", "AS why")})
    with pytest.raises(RuleError, match="returns no 'reason' column"):
        _run(rules_pool, no_reason)
    twice = make_rule(**{**SEIZED_SHIPMENTS, "query": "SELECT 's' AS subject, [] AS entities, [] AS evidence, "
                         "datasets, 'x' AS reason FROM shipments"})
    with pytest.raises(RuleError, match="flagged twice"):
        _run(rules_pool, twice)
    broken = make_rule(**{**SEIZED_SHIPMENTS, "query": "SELECT * FROM nowhere"})
    with pytest.raises(RuleError, match="the query failed"):
        _run(rules_pool, broken)
    assert set(_subjects(rules_pool, "customs")) == {"ship-1", "ship-2"}


def test_a_rule_resting_on_a_value_the_sources_disagree_on_does_not_run(rules_pool: Settings) -> None:
    # The registry and the FIU write the merged front company's name differently.
    names = make_rule(
        id="ownership.test-names", category="ownership", flags="Company", inputs=["parties"],
        unambiguous=["parties.name"],
        query="SELECT id AS subject, [id] AS entities, [id] AS evidence, datasets, name AS reason FROM parties",
    )
    report = _run(rules_pool, names, make_rule(**SEIZED_SHIPMENTS))
    assert report.outcomes[0].status == "skipped"
    message = report.outcomes[0].message or ""
    assert "parties.name is ambiguous for" in message and "TSAVO CURIOS EXPORTS LIMITED vs" in message
    assert report.outcomes[1].status == "ran"
    with pytest.raises(RuleError, match=r"parties\.name is ambiguous"):
        _run(rules_pool, names, strict=True)
    with pytest.raises(ValueError, match="not a single-valued input column"):
        make_rule(**{**SEIZED_SHIPMENTS, "unambiguous": ["shipments.transit_ports"]})
