"""The port integrity benchmark: how a port compares with its peers, and where it falls short.

Peers are the ports of the same World Port Index region, the same harbour size (airports with
airports) and the same country. A port's standing in each group is its rank by residual risk
among the group's ports that have evidence (a score resting on reference facts alone says
little, so those ports are counted but not ranked against). Gaps are the catalogue controls not
in place at the port, each with the share of its regional peers that have it in place: good
practice is every control in place, and a gap most peers have closed is the first to close.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from chainlight.risk.catalogue import Catalogue
from chainlight.risk.scoring import PortScore, Scorecard

GOOD_PRACTICE = "in-place"


@dataclass(frozen=True, slots=True)
class PeerGroup:
    kind: str  # region, size or country
    key: str
    ports: int  # every port of the group
    with_evidence: int  # those whose score rests on evidence beyond the reference facts
    rank: int | None  # the port's rank among those with evidence (1 = riskiest); None without evidence
    median_residual: float | None
    worst: str | None  # code of the riskiest port with evidence
    mean_trend: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "ports": self.ports, "with_evidence": self.with_evidence,
                "rank": self.rank, "median_residual": self.median_residual, "worst": self.worst,
                "mean_trend": self.mean_trend}


@dataclass(frozen=True, slots=True)
class Gap:
    control: str
    label: str
    framework: str
    status: str  # the port's latest status, or "not assessed"
    peers_assessed: int
    peers_in_place: int

    @property
    def peer_share(self) -> float | None:
        return None if not self.peers_assessed else round(self.peers_in_place / self.peers_assessed, 4)

    def as_dict(self) -> dict[str, Any]:
        return {"control": self.control, "label": self.label, "framework": self.framework, "status": self.status,
                "good_practice": GOOD_PRACTICE, "peers_assessed": self.peers_assessed,
                "peers_in_place": self.peers_in_place, "peer_share": self.peer_share}


@dataclass(frozen=True, slots=True)
class PortBenchmark:
    port: PortScore
    peers: list[PeerGroup]
    gaps: list[Gap]
    controls_in_place: int
    controls_total: int

    def as_dict(self) -> dict[str, Any]:
        return {"port_id": self.port.port_id, "code": self.port.code, "rank": self.port.rank,
                "residual": self.port.residual, "trend": self.port.trend,
                "peers": [p.as_dict() for p in self.peers], "gaps": [g.as_dict() for g in self.gaps],
                "controls_in_place": self.controls_in_place, "controls_total": self.controls_total}


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """One region (or size class) in the benchmark overview."""

    key: str
    ports: int
    with_evidence: int
    median_residual: float | None
    max_residual: float | None
    worst: str | None
    mean_trend: float | None
    controls_in_place_share: float | None  # over assessed ports' catalogue controls

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "ports": self.ports, "with_evidence": self.with_evidence,
                "median_residual": self.median_residual, "max_residual": self.max_residual, "worst": self.worst,
                "mean_trend": self.mean_trend, "controls_in_place_share": self.controls_in_place_share}


def size_class(port: PortScore) -> str:
    return "airport" if port.kind == "airport" else (port.harbour_size or "unknown")


def _key(port: PortScore, kind: str) -> str:
    if kind == "region":
        return port.region or "unknown"
    if kind == "country":
        return port.country or "unknown"
    return size_class(port)


def _evidenced(ports: list[PortScore]) -> list[PortScore]:
    return [p for p in ports if p.has_evidence]


def _trend(ports: list[PortScore]) -> float | None:
    trends = [p.trend for p in ports if p.trend is not None]
    return round(statistics.fmean(trends), 4) if trends else None


def peer_group(card: Scorecard, port: PortScore, kind: str) -> PeerGroup:
    key = _key(port, kind)
    members = [p for p in card.ports if _key(p, kind) == key]  # card.ports is ranked: so is members
    evidenced = _evidenced(members)
    rank = next((n for n, p in enumerate(evidenced, start=1) if p.port_id == port.port_id), None)
    return PeerGroup(
        kind=kind, key=key, ports=len(members), with_evidence=len(evidenced), rank=rank,
        median_residual=round(statistics.median(p.residual for p in evidenced), 4) if evidenced else None,
        worst=(evidenced[0].code or evidenced[0].port_id) if evidenced else None, mean_trend=_trend(evidenced),
    )


def _statuses(port: PortScore) -> dict[str, str]:
    return {t.factor: str(t.raw) for t in port.control_terms}


def benchmark_port(card: Scorecard, port: PortScore) -> PortBenchmark:
    """The port against its region, size class and country, and its gaps against good practice."""
    catalogue = Catalogue.load()
    peers = [peer_group(card, port, kind) for kind in ("region", "size", "country")]
    region = _key(port, "region")
    regional = [_statuses(p) for p in card.ports
                if p.port_id != port.port_id and _key(p, "region") == region and p.has_evidence]
    own = _statuses(port)
    gaps = []
    for key, control in catalogue.controls.items():
        status = own.get(key, "not assessed")
        if status == GOOD_PRACTICE:
            continue
        assessed = [s[key] for s in regional if s.get(key, "not assessed") != "not assessed"]
        gaps.append(Gap(key, control.label, control.framework, status, len(assessed),
                        sum(s == GOOD_PRACTICE for s in assessed)))
    # The gaps most peers have closed first, then the catalogue's order.
    order = {k: n for n, k in enumerate(catalogue.controls)}
    gaps.sort(key=lambda g: (-(g.peer_share or 0.0), order[g.control]))
    in_place = sum(1 for s in own.values() if s == GOOD_PRACTICE)
    return PortBenchmark(port, peers, gaps, in_place, len(catalogue.controls))


def summary(card: Scorecard, kind: str = "region") -> list[GroupSummary]:
    """Every region (or size class, or country) with its ports, spread of scores, trend and controls."""
    groups: dict[str, list[PortScore]] = {}
    for port in card.ports:
        groups.setdefault(_key(port, kind), []).append(port)
    out = []
    for key, members in groups.items():
        evidenced = _evidenced(members)
        assessed = [_statuses(p) for p in evidenced]
        assessed = [s for s in assessed if any(v != "not assessed" for v in s.values())]
        cells = [v for s in assessed for v in s.values()]
        out.append(GroupSummary(
            key=key, ports=len(members), with_evidence=len(evidenced),
            median_residual=round(statistics.median(p.residual for p in evidenced), 4) if evidenced else None,
            max_residual=evidenced[0].residual if evidenced else None,
            worst=(evidenced[0].code or evidenced[0].port_id) if evidenced else None,
            mean_trend=_trend(evidenced),
            controls_in_place_share=round(sum(v == GOOD_PRACTICE for v in cells) / len(cells), 4) if cells else None,
        ))
    out.sort(key=lambda g: (-(g.max_residual or 0.0), g.key))
    return out
