"""Precision and recall of rules against the patterns planted in a synthetic world.

Each rule that names a planted pattern kind (``truth:`` in its file) is scored against the
``patterns`` of ``truth.json`` (see docs/synthetic-world.md). A planted case is a set of
acceptable subjects (a reused permit may be flagged as the permit entity or as its Trade
Database RandomID; a layered front company as any of its entity ids): recall is the share of
planted cases with at least one alert, precision the share of the rule's alerts whose subject
belongs to some planted case. Subjects are compared in the rule's own form: entity ids (mapped
to resolved clusters), ``trade:<dataset>:<record id>`` or ``trade-permit:<RandomID>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from chainlight.rules.model import library
from chainlight.store.evidence import EvidenceStore


@dataclass(frozen=True, slots=True)
class Score:
    rule_id: str
    truth: str
    planted: int
    alerts: int
    true_positives: int
    hit: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.hit / self.planted if self.planted else None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "truth": self.truth, "planted": self.planted, "alerts": self.alerts,
                "true_positives": self.true_positives, "hit": self.hit, "precision": self.precision,
                "recall": self.recall}


def _norm(subject: str) -> str:
    """``trade:<dataset>:<id>`` -> ``trade:<id>``: truth names records by id only."""
    if subject.startswith("trade:"):
        return "trade:" + subject.split(":", 2)[-1]
    return subject


class _Lookup:
    """Maps the truth's natural keys (permit numbers, documents, transaction numbers, actors)
    to the ids the store and the rules use."""

    def __init__(self, store: EvidenceStore, truth: dict[str, Any]) -> None:
        self.store = store
        tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
        self.clusters: dict[str, str] = {}
        if "alert_clusters" in tables:
            self.clusters = dict(store.fetchall("SELECT entity_id, canonical_id FROM alert_clusters"))
        self.by_value: dict[tuple[str, str, str], set[str]] = {}
        for schema, prop, value, entity in store.fetchall(
            "SELECT schema, prop, value, entity_id FROM statements WHERE (schema = 'Permit' AND prop = 'permitNumber')"
            " OR (schema = 'Shipment' AND prop = 'transportDocumentNumber')"
            " OR (schema = 'Payment' AND prop = 'transactionNumber')"
        ):
            self.by_value.setdefault((schema, prop, value), set()).add(self.canon(entity))
        self.actor_ids: dict[str, set[str]] = {}
        for mention in truth.get("mentions", []):
            self.actor_ids.setdefault(mention["actor"], set()).add(self.canon(mention["entity_id"]))

    def canon(self, entity_id: str) -> str:
        return self.clusters.get(entity_id, entity_id)

    def permits(self, number: str) -> set[str]:
        return self.by_value.get(("Permit", "permitNumber", number), set())

    def shipments(self, document: str) -> set[str]:
        return self.by_value.get(("Shipment", "transportDocumentNumber", document), set())

    def payments(self, number: str) -> set[str]:
        return self.by_value.get(("Payment", "transactionNumber", number), set())

    def actor(self, key: str) -> set[str]:
        return self.actor_ids.get(key, set())


def planted_cases(kind: str, entries: list[dict[str, Any]], look: _Lookup) -> list[set[str]]:
    """Each planted case of ``kind`` as the set of subjects that would count as finding it."""
    cases: list[set[str]] = []
    for e in entries:
        if kind == "reused_permit":
            cases.append(look.permits(e["permit_number"]) | {"trade-permit:" + e["random_id"]})
        elif kind in ("over_endorsed_permit", "stolen_permit_used"):
            ids = look.permits(e["permit_number"])
            if kind == "stolen_permit_used":
                ids |= {s for doc in e["shipments"] for s in look.shipments(doc)}
            cases.append(ids)
        elif kind == "reexport_exceeds_import":
            cases.append(look.permits(e["original_permit"]))
        elif kind == "captive_breeding_laundering":
            cases.extend({f"trade:{r}"} for r in e["record_ids"])
        elif kind in ("layering", "bribe_via_relative"):
            cases.extend(look.payments(t) for t in e["transactions"])
        elif kind == "layered_ownership":
            cases.append(look.actor(e["company"]))
        else:
            raise ValueError(f"no evaluation for planted pattern kind {kind!r}")
    return [c for c in cases if c]


def score_rule(rule_id: str, kind: str, cases: list[set[str]], subjects: Iterable[str]) -> Score:
    found = {_norm(s) for s in subjects}
    planted_union = set().union(*cases) if cases else set()
    true_positives = len(found & planted_union)
    hit = sum(1 for c in cases if c & found)
    return Score(rule_id, kind, len(cases), len(found), true_positives, hit)


def evaluate(store: EvidenceStore, truth_path: Path) -> list[Score]:
    """Score every rule with a ``truth`` kind that has alerts in the store (or planted cases)."""
    truth = orjson.loads(truth_path.read_bytes())
    patterns: dict[str, list[dict[str, Any]]] = truth.get("patterns", {})
    look = _Lookup(store, truth)
    alerts: dict[str, list[str]] = {}
    for rule_id, subject in store.fetchall("SELECT rule_id, subject FROM alerts"):
        alerts.setdefault(rule_id, []).append(subject)
    scores = []
    for rule_id, loaded in library().items():
        kind = loaded.rule.truth
        if kind is None:
            continue
        cases = [{_norm(s) for s in c} for c in planted_cases(kind, patterns.get(kind, []), look)]
        scores.append(score_rule(rule_id, kind, cases, alerts.get(rule_id, [])))
    return scores


def overall(scores: list[Score]) -> Score:
    """Micro-averaged over rules: every planted case and every alert counts once."""
    return Score("overall", "all", sum(s.planted for s in scores), sum(s.alerts for s in scores),
                 sum(s.true_positives for s in scores), sum(s.hit for s in scores))
