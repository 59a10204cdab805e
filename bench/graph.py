"""Network graph benchmarks (issue 4), each figure next to networkx measured in the same run.

    .venv/bin/python bench/graph.py [--nodes 1000000] [--edges 5000000] [--seed 4] [--queries 200]
                                    [--subset-edges 100000] [--work /tmp/bench-graph] [--json [PATH]]

Data: statements shaped like the synthetic world (40% people, 30% companies, 20% shipments, 10%
bank accounts; ownership chains up to five levels with a few cycles, account holders,
directorships, payments, family and associates, shipment parties, companies sharing addresses),
mostly inside circles of about 100 people and companies with a few hubs between them, are
generated with numpy and inserted with pyarrow straight into a fresh evidence store in four
datasets (bo-registry, customs-ke, fiu-goaml, ngo-investigation). No reader or demo generator
runs. Quick check: ``--nodes 100000 --edges 500000``.

Full scale (targets for 1 M nodes, 5 M edges on 2 cores):

1. build: ``graph.build.build(store)``, statements -> graph tables; then the per-reader load
   ``graph.view.load(store, visible, {}, markings)`` for a reader who sees all four datasets,
   with the adjacency arrays the searches use (target: the sum <= 60 s);
2. 2-hop neighbourhood ``queries.neighbourhood(view, v, 2)`` from random people and companies
   (target: p50 <= 50 ms);
3. shortest path ``queries.shortest_paths(view, a, b)`` between random people and companies
   (target: p50 <= 100 ms);
4. UBO of every owned entity: exhausting ``ownership.all_ultimate_owners(view)`` (target: <= 60 s);
5. Leiden: ``communities.partition(view, EdgeFilter(exclude=DEFAULT_EXCLUDE))`` (target: <= 120 s).

Baseline: a second world of about ``--subset-edges`` edges made by the same generator with the
same node/edge ratio (so its density is the full world's), built and loaded by our code; the
same measures run on its view and, with networkx, on the same edge list (a MultiDiGraph with
each edge's relation and share; its undirected MultiGraph for the walks). networkx has no
Leiden, so Louvain stands in. Results are printed with Rich; ``--json`` writes them (by default
to bench/out/graph-<time>.json).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import resource
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import igraph as ig
import networkx as nx
import numpy as np
import numpy.typing as npt
import psutil
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from chainlight.graph import build as graph_build
from chainlight.graph import communities, ownership, queries
from chainlight.graph.view import EdgeFilter, GraphView, load
from chainlight.model.markings import Marking
from chainlight.store.evidence import EvidenceStore

OUT = Path(__file__).resolve().parent / "out"
console = Console(width=150)

REGISTRY, CUSTOMS, FIU, NGO = "bo-registry", "customs-ke", "fiu-goaml", "ngo-investigation"
MARKINGS = {REGISTRY: Marking.CLEAR, CUSTOMS: Marking.AMBER, FIU: Marking.RED, NGO: Marking.AMBER_STRICT}
SEEN = datetime(2026, 1, 1)
CHUNK = 1_000_000
CIRCLE = 100
COUNTRIES = ("ke", "tz", "ug", "mz", "za", "ng", "cd", "cn", "vn", "hk", "my", "sg", "th", "ae", "tr", "sc", "vg", "pa")
CURRENCIES = ("USD", "EUR", "KES", "CNY", "VND", "AED", "HKD")
STREETS = ("Moi Avenue, Mombasa", "Harbour Road, Dar es Salaam", "Nathan Road, Kowloon", "Jalan Ampang, Kuala Lumpur",
           "Sheikh Zayed Road, Dubai", "Victoria Road, Mahe", "Wickhams Cay, Road Town")
PREFIXES = pa.array(["p-", "c-", "s-", "a-"])
FIRST_DAY = (date(2018, 1, 1) - date(1970, 1, 1)).days
TARGETS = {"build_load_s": 60.0, "hop2_p50_ms": 50.0, "path_p50_ms": 100.0, "ubo_s": 60.0, "leiden_s": 120.0}


def now() -> float:
    return time.perf_counter()


def peak_rss() -> int:
    """This process's peak resident set so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


# --- progress -----------------------------------------------------------------------------------


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def phase(progress: Progress, description: str) -> Iterator[Callable[[str], None]]:
    """A progress line for one timed phase (indeterminate, with its elapsed time); the callback
    it yields renames the line (for sub-steps). Logged when done."""
    task = progress.add_task(description, total=None)
    start = now()

    def say(step: str) -> None:
        progress.update(task, description=f"{description}: {step}")

    try:
        yield say
    finally:
        progress.update(task, total=1, completed=1, description=description)
        console.log(f"{description}: {now() - start:.2f} s (peak RSS {gib(peak_rss())})")


# --- data ---------------------------------------------------------------------------------------


class World:
    """Statements for one generated world, inserted into ``store.statements`` property by property.

    Nodes are numbered globally (people, then companies, shipments, accounts) and their ids carry
    a prefix for the kind (``p-12``, ``c-400012``); relationship entities are numbered per kind
    (``pay-7``). Every count scales with ``nodes``; payments fill the edges up to ``edges``.

    People and companies live in circles of about ``CIRCLE`` (a trade network, a syndicate, a
    family business): most payments, family ties, directorships, shipment parties and shared
    addresses stay inside one, the rest go anywhere, with a few hubs (an importer paid by
    thousands, a big forwarder) drawn with density falling as 1/sqrt(rank).
    """

    def __init__(self, store: EvidenceStore, nodes: int, edges: int, seed: int) -> None:
        self.store = store
        self.edges = edges
        self.rng = rng = np.random.default_rng(seed)
        people = int(nodes * 0.4)
        companies = int(nodes * 0.3)
        shipments = int(nodes * 0.2)
        self.bounds = np.array([0, people, people + companies, people + companies + shipments], dtype=np.int64)
        self.person = np.arange(0, people, dtype=np.int64)
        self.company = np.arange(people, people + companies, dtype=np.int64)
        self.shipment = np.arange(people + companies, people + companies + shipments, dtype=np.int64)
        self.account = np.arange(people + companies + shipments, nodes, dtype=np.int64)
        self.circles = max(1, (people + companies) // CIRCLE)
        self.person_order = rng.permutation(self.person)  # circle c: a slice of each order
        self.company_order = rng.permutation(self.company)
        self.company_circle = np.empty(companies, dtype=np.int64)
        self.company_circle[self.company_order - people] = np.arange(companies) * self.circles // max(1, companies)
        self.actor_rank = rng.permutation(np.concatenate([self.person, self.company]))  # hubs first
        self.company_rank = rng.permutation(self.company)
        self.statements = 0
        self.edge_count = 0
        self.counters: dict[str, int] = {}
        self.kinds: dict[str, int] = {}

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("people", self.people),
            ("companies and addresses", self.companies),
            ("bank accounts", self.accounts),
            ("shipments and their parties", self.shipments),
            ("ownership chains and account holders", self.ownerships),
            ("directorships, family, associates", self.ties),
            ("payments", self.payments),
        ]

    # -- helpers ---------------------------------------------------------------------------------

    def node_ids(self, nodes: npt.NDArray[np.int64]) -> pa.Array:
        kind = np.searchsorted(self.bounds, nodes, side="right") - 1
        prefix = pc.take(PREFIXES, pa.array(kind))
        return pc.binary_join_element_wise(prefix, pc.cast(pa.array(nodes), pa.string()), "")

    def texts(self, head: str, numbers: npt.NDArray[np.int64]) -> pa.Array:
        return pc.binary_join_element_wise(head, pc.cast(pa.array(numbers), pa.string()), "")

    def pick(self, values: tuple[str, ...], k: int) -> pa.Array:
        return pc.take(pa.array(values), pa.array(self.rng.integers(0, len(values), k)))

    def dates(self, k: int) -> pa.Array:
        days = self.rng.integers(FIRST_DAY, FIRST_DAY + 8 * 365, k).astype(np.int32)
        return pa.array(days, pa.int32()).cast(pa.date32()).cast(pa.string())

    def skewed(self, rank: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
        """``k`` draws from ``rank`` with density falling as 1/sqrt(position): a few hubs."""
        return rank[(self.rng.random(k) ** 2 * len(rank)).astype(np.int64)]

    def anyone(self, pool: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
        return pool[self.rng.integers(0, len(pool), k)]

    def member(self, order: npt.NDArray[np.int64], circle: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """A random member of each circle, from one kind's order (people or companies)."""
        at = ((circle + self.rng.random(len(circle))) * (len(order) / self.circles)).astype(np.int64)
        return order[np.minimum(at, len(order) - 1)]

    def actor(self, circle: npt.NDArray[np.int64], company_share: float) -> npt.NDArray[np.int64]:
        is_company = self.rng.random(len(circle)) < company_share
        return np.where(is_company, self.member(self.company_order, circle), self.member(self.person_order, circle))

    def circle(self, k: int) -> npt.NDArray[np.int64]:
        return self.rng.integers(0, self.circles, k)

    def local(self, k: int, share: float) -> npt.NDArray[np.bool_]:
        return self.rng.random(k) < share

    def put(self, entity: pa.Array, schema: str, prop: str, prop_type: str, value: pa.Array, dataset: str) -> None:
        batch = pa.table({
            "n": pa.array(np.arange(self.statements, self.statements + len(entity), dtype=np.int64)),
            "entity_id": entity,
            "value": value,
        })
        con = self.store.con
        con.register("bench_statements", batch)
        con.execute(
            "INSERT INTO statements SELECT 'st-' || n, entity_id, NULL, ?, ?, ?, value, NULL, NULL, ?, false, ?, ?, "
            "'bench' FROM bench_statements",
            [schema, prop, prop_type, dataset, SEEN, SEEN],
        )
        con.unregister("bench_statements")
        self.statements += len(entity)

    def nodes(self, nodes: npt.NDArray[np.int64], schema: str, dataset: str, caption: tuple[str, str, str]) -> None:
        ids = self.node_ids(nodes)
        self.put(ids, schema, "id", "id", ids, dataset)
        prop, prop_type, head = caption
        self.put(ids, schema, prop, prop_type, self.texts(head, nodes), dataset)

    def relationship(
        self,
        schema: str,
        prefix: str,
        ends: tuple[str, str],
        source: npt.NDArray[np.int64],
        target: npt.NDArray[np.int64],
        dataset: str,
        extra: dict[str, tuple[str, pa.Array]] | None = None,
    ) -> None:
        """One FtM relationship entity per (source, target): its id, both ends, its extra props."""
        n = len(source)
        first = self.counters.get(prefix, 0)
        self.counters[prefix] = first + n
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            ids = self.texts(prefix, np.arange(first + lo, first + hi, dtype=np.int64))
            self.put(ids, schema, "id", "id", ids, dataset)
            self.put(ids, schema, ends[0], "entity", self.node_ids(source[lo:hi]), dataset)
            self.put(ids, schema, ends[1], "entity", self.node_ids(target[lo:hi]), dataset)
            for prop, (prop_type, values) in (extra or {}).items():
                self.put(ids, schema, prop, prop_type, values.slice(lo, hi - lo), dataset)
        self.count_edges(schema, n)

    def count_edges(self, kind: str, n: int) -> None:
        self.edge_count += n
        self.kinds[kind] = self.kinds.get(kind, 0) + n

    def some(self, nodes: npt.NDArray[np.int64], share: float) -> npt.NDArray[np.int64]:
        return np.sort(self.rng.choice(nodes, int(len(nodes) * share), replace=False))

    # -- steps -----------------------------------------------------------------------------------

    def people(self) -> None:
        in_ngo = self.local(len(self.person), 0.15)
        self.nodes(self.person[~in_ngo], "Person", REGISTRY, ("name", "name", "Person "))
        self.nodes(self.person[in_ngo], "Person", NGO, ("name", "name", "Person "))
        also = self.some(self.person[~in_ngo], 0.1)  # known to the NGO as well
        self.put(self.node_ids(also), "Person", "name", "name", self.texts("Person ", also), NGO)

    def companies(self) -> None:
        self.nodes(self.company, "Company", REGISTRY, ("name", "name", "Company "))
        ids = self.node_ids(self.company)
        self.put(ids, "Company", "jurisdiction", "country", self.pick(COUNTRIES, len(ids)), REGISTRY)
        self.put(ids, "Company", "country", "country", self.pick(COUNTRIES, len(ids)), REGISTRY)
        also = self.some(self.company, 0.2)  # declared in customs filings too
        self.put(self.node_ids(also), "Company", "name", "name", self.texts("Company ", also), CUSTOMS)
        # Half the companies give an address; 2-20 companies, mostly of one circle, share each one.
        order = self.company_order
        addressed = order[np.sort(self.rng.choice(len(order), len(order) // 2, replace=False))]
        sizes = self.rng.integers(2, 21, len(addressed) // 2 + 2)
        group = np.repeat(np.arange(len(sizes)), sizes)[: len(addressed)]
        if len(group) > 1 and group[-1] != group[-2]:
            group[-1] = group[-2]  # no address of its own
        street = pc.take(pa.array(STREETS), pa.array(group % len(STREETS)))
        plot = pc.cast(pa.array(group // len(STREETS) + 1), pa.string())
        value = pc.binary_join_element_wise("Plot ", plot, ", ", street, "")
        self.put(self.node_ids(addressed), "Company", "address", "address", value, REGISTRY)
        self.count_edges("shares:address", len(addressed))

    def accounts(self) -> None:
        self.nodes(self.account, "BankAccount", FIU, ("name", "name", "Account "))

    def shipments(self) -> None:
        s = self.shipment
        self.nodes(s, "Shipment", CUSTOMS, ("transportDocumentNumber", "identifier", "BL"))
        ids = self.node_ids(s)
        circle = self.circle(len(s))  # shipper and consignee mostly trade inside one network
        forwarders = self.company_rank[: max(1, len(self.company_rank) // 50)]
        for prop, share in (("shipper", 1.0), ("consignee", 1.0), ("forwarder", 0.7)):
            chosen = np.flatnonzero(self.local(len(s), share))
            if prop == "forwarder":  # few forwarders, each with many shipments
                party = self.anyone(forwarders, len(chosen))
            else:
                party = np.where(self.local(len(chosen), 0.7), self.member(self.company_order, circle[chosen]),
                                 self.skewed(self.company_rank, len(chosen)))
            self.put(ids.take(pa.array(chosen)), "Shipment", prop, "entity", self.node_ids(party), CUSTOMS)
            self.count_edges(f"Shipment:{prop}", len(chosen))
        self.put(ids, "Shipment", "departureDate", "date", self.dates(len(s)), CUSTOMS)

    def ownerships(self) -> None:
        """Company ownership in shallow chains: a company of level L is owned by a company of level
        L-1 (level 0: by a person of its circle), 20% also by a person of its circle; a few rings
        of level-0 companies owning each other; every account held by a person or company (no
        share)."""
        rng = self.rng
        c = self.company
        circle = self.company_circle
        level = rng.choice(5, len(c), p=[0.5, 0.25, 0.13, 0.08, 0.04])
        owner = np.empty(len(c), dtype=np.int64)
        for lv in range(5):
            here = np.flatnonzero(level == lv)
            owner[here] = (self.member(self.person_order, circle[here]) if lv == 0
                           else self.anyone(c[level == lv - 1], len(here)))
        second = self.local(len(c), 0.2)
        pct = np.where(second, rng.integers(51, 91, len(c)),
                       np.where(self.local(len(c), 0.5), 100, rng.integers(25, 101, len(c))))
        tops = c[level == 0]
        rings = [rng.choice(tops, int(rng.integers(2, 4)), replace=False) for _ in range(max(1, len(c) // 20_000))]
        ring_src = np.concatenate([np.roll(r, 1) for r in rings])
        ring_tgt = np.concatenate(rings)
        source = np.concatenate([owner, self.member(self.person_order, circle[second]), ring_src])
        target = np.concatenate([c, c[second], ring_tgt])
        share = np.concatenate([pct, 100 - pct[second], np.full(len(ring_tgt), 10)])
        self.relationship("Ownership", "own-", ("owner", "asset"), source, target, REGISTRY,
                          {"percentage": ("string", pc.cast(pa.array(share), pa.string()))})
        k = len(self.account)
        holders = np.where(self.local(k, 0.4), self.anyone(self.person, k), self.anyone(c, k))
        self.relationship("Ownership", "own-", ("owner", "asset"), holders, self.account, FIU)

    def ties(self) -> None:
        p, c = self.person, self.company
        k = int(len(c) * 0.8)
        circle = self.circle(k)
        local = self.local(k, 0.8)
        director = np.where(local, self.member(self.person_order, circle), self.anyone(p, k))
        company = np.where(local, self.member(self.company_order, circle), self.anyone(c, k))
        self.relationship("Directorship", "dir-", ("director", "organization"), director, company, REGISTRY)
        for schema, prefix, other in (("Family", "fam-", "relative"), ("Associate", "asc-", "associate")):
            k = int(len(p) * 0.3)
            circle = self.circle(k)
            local = self.local(k, 0.9)
            a = self.member(self.person_order, circle)
            b = np.where(local, self.member(self.person_order, circle), self.anyone(p, k))
            keep = a != b
            self.relationship(schema, prefix, ("person", other), a[keep], b[keep], NGO)

    def payments(self) -> None:
        """Payments fill the edges: 75% inside a circle, the rest between anyone, hubs most often."""
        k = max(0, self.edges - self.edge_count)
        circle = self.circle(k)
        local = self.local(k, 0.75)
        payer = np.where(local, self.actor(circle, 0.6), self.skewed(self.actor_rank, k))
        beneficiary = np.where(local, self.actor(circle, 0.6), self.skewed(self.actor_rank, k))
        same = payer == beneficiary
        beneficiary[same] = self.anyone(self.actor_rank, int(same.sum()))
        amount = pa.array(np.round(self.rng.lognormal(8.5, 1.6, k), 2)).cast(pa.string())
        self.relationship("Payment", "pay-", ("payer", "beneficiary"), payer, beneficiary, FIU, {
            "amount": ("number", amount),
            "currency": ("string", self.pick(CURRENCIES, k)),
            "date": ("date", self.dates(k)),
        })


def generate(path: Path, nodes: int, edges: int, seed: int, progress: Progress, label: str) -> dict[str, Any]:
    if path.exists():
        path.unlink()
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        wal.unlink()
    start = now()
    with EvidenceStore(path) as store:
        store.con.execute("SET enable_progress_bar = false")
        world = World(store, nodes, edges, seed)
        steps = world.steps()
        task = progress.add_task(f"{label}: generating statements", total=len(steps))
        for name, step in steps:
            progress.update(task, description=f"{label}: generating {name} ({world.statements:,} statements so far)")
            step()
            progress.advance(task)
        progress.update(task, description=f"{label}: checkpoint")
        store.con.execute("CHECKPOINT")
        progress.update(task, description=f"{label}: generated {world.statements:,} statements")
    seconds = now() - start
    console.log(f"{label}: generated {world.statements:,} statements ({nodes:,} nodes, {world.edge_count:,} edges "
                f"planned) in {seconds:.1f} s")
    return {"seconds": seconds, "statements": world.statements, "planned_edges": world.edge_count,
            "planned_by_kind": world.kinds, "bytes": path.stat().st_size}


def build_and_load(path: Path, progress: Progress, label: str) -> tuple[GraphView, dict[str, Any]]:
    """Build the graph tables in a freshly opened store (a writer's ``chainlight graph build``),
    then, in a connection opened afresh, load the view of a reader who sees every dataset."""
    store = EvidenceStore(path)
    store.con.execute("SET enable_progress_bar = false")
    steps: list[tuple[str, float]] = []
    with phase(progress, f"{label}: build (statements -> graph tables)") as say:
        start = now()

        def step(name: str) -> None:
            steps.append((name, now()))
            say(name)

        report = graph_build.build(store, progress=step)
        build_s = now() - start
    marks = [("prepare", start), *steps, ("end", start + build_s)]
    step_s = {name: later - t for (name, t), (_, later) in itertools.pairwise(marks)}
    store.close()
    store = EvidenceStore(path)
    store.con.execute("SET enable_progress_bar = false")
    visible = sorted(MARKINGS)
    with phase(progress, f"{label}: load (per-reader view)"):
        start = now()
        view = load(store, visible, {}, dict(MARKINGS))
        queries.adjacency(view)  # the searches' compressed adjacency arrays, built once per view
        load_s = now() - start
    with phase(progress, f"{label}: igraph.Graph from the view's edge list"):
        edges = np.column_stack([view.source, view.target])
        start = now()
        g = ig.Graph(n=len(view.ids), directed=True)
        g.add_edges(edges)
        igraph_s = now() - start
        del g, edges
    relations = dict(zip(view.relations, np.bincount(view.relation, minlength=len(view.relations)).tolist(),
                         strict=True))
    table_edges = int(store.scalar("SELECT count(*) FROM graph_edges"))
    store.close()
    figures = {
        "build_seconds": build_s, "build_steps_seconds": step_s, "load_seconds": load_s,
        "build_load_seconds": build_s + load_s, "igraph_seconds": igraph_s,
        "graph_nodes": report.nodes, "graph_edges": table_edges,
        "view_nodes": len(view.ids), "view_edges": len(view.source), "view_relations": relations,
        "schemata": dict(zip(view.schemata, np.bincount(view.node_schema, minlength=len(view.schemata)).tolist(),
                             strict=True)),
        "rss_after_load": rss(),
    }
    console.log(f"{label}: view {figures['view_nodes']:,} nodes, {figures['view_edges']:,} edges "
                f"(graph_edges {table_edges:,})")
    return view, figures


# --- our measures -------------------------------------------------------------------------------


def actors(view: GraphView) -> npt.NDArray[np.int64]:
    return np.flatnonzero(np.isin(view.node_schema, view.schema_codes(["Person", "Company"]))).astype(np.int64)


def quantiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "max_ms": float(a.max()), "mean_ms": float(a.mean())}


def log_queries(what: str, d: dict[str, Any]) -> None:
    console.log(f"{what}: p50 {d['p50_ms']:.2f} ms, p95 {d['p95_ms']:.2f} ms")


def ours_neighbourhood(view: GraphView, starts: list[int], progress: Progress, label: str) -> dict[str, Any]:
    task = progress.add_task(f"{label}: 2-hop neighbourhoods", total=len(starts))
    ms, sizes, cut = [], [], 0
    for v in starts:
        start = now()
        distance, _, _, truncated = queries.neighbourhood(view, v, 2)
        ms.append((now() - start) * 1000)
        sizes.append(len(distance))
        cut += truncated
        progress.advance(task)
    result = {**quantiles(ms), "queries": len(starts), "mean_nodes": float(np.mean(sizes)), "truncated": cut}
    log_queries(f"{label}: 2-hop neighbourhoods", result)
    return result


def ours_paths(view: GraphView, pairs: list[tuple[int, int]], progress: Progress, label: str) -> dict[str, Any]:
    task = progress.add_task(f"{label}: shortest paths", total=len(pairs))
    ms, lengths = [], []
    for a, b in pairs:
        start = now()
        found = queries.shortest_paths(view, a, b)
        ms.append((now() - start) * 1000)
        if found and found[0]:
            lengths.append(len(found[0]))
        progress.advance(task)
    result = {**quantiles(ms), "queries": len(pairs), "connected": len(lengths),
              "mean_length": float(np.mean(lengths)) if lengths else None}
    log_queries(f"{label}: shortest paths", result)
    return result


def ownership_targets(view: GraphView) -> int:
    is_ownership = np.isin(view.relation, view.relation_codes(["Ownership"]))
    return len(np.unique(view.target[is_ownership]))


def ours_ubo(view: GraphView, progress: Progress, label: str) -> tuple[dict[str, Any], dict[int, dict[int, Any]]]:
    view.cache.pop("ownership", None)
    company = view.schema_codes(["Company"])
    task = progress.add_task(f"{label}: UBO of every owned entity", total=ownership_targets(view))
    found: dict[int, dict[int, Any]] = {}
    start = now()
    owned = companies = 0
    for target, owners in ownership.all_ultimate_owners(view):
        owned += 1
        companies += int(view.node_schema[target] in company)
        found[target] = owners
        if owned % 10_000 == 0:
            progress.update(task, completed=owned)
    seconds = now() - start
    progress.update(task, completed=owned)
    console.log(f"{label}: UBO of {owned:,} owned entities: {seconds:.2f} s (peak RSS {gib(peak_rss())})")
    return {"seconds": seconds, "owned": owned, "companies": companies,
            "owners": sum(len(o) for o in found.values())}, found


def ours_leiden(view: GraphView, progress: Progress, label: str) -> tuple[dict[str, Any], ig.Graph]:
    with phase(progress, f"{label}: Leiden communities"):
        start = now()
        undirected, membership = communities.partition(view, EdgeFilter(exclude=communities.DEFAULT_EXCLUDE))
        seconds = now() - start
    sizes = np.bincount(np.asarray(membership))
    quality = undirected.modularity(membership, weights="weight")
    return {"seconds": seconds, "communities": int((sizes > 0).sum()), "of_3_or_more": int((sizes >= 3).sum()),
            "largest": int(sizes.max()), "modularity": float(quality)}, undirected


def measure_ours(view: GraphView, queries_n: int, seed: int, progress: Progress, label: str) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    pool = actors(view)
    starts = rng.choice(pool, queries_n).tolist()
    pairs = [(int(a), int(b)) for a, b in rng.choice(pool, (queries_n, 2))]
    hop2 = ours_neighbourhood(view, starts, progress, label)
    paths = ours_paths(view, pairs, progress, label)
    ubo, _ = ours_ubo(view, progress, label)
    leiden, _ = ours_leiden(view, progress, label)
    return {"hop2": hop2, "paths": paths, "ubo": ubo, "leiden": leiden, "starts": starts, "pairs": pairs}


# --- networkx baseline --------------------------------------------------------------------------


def nx_graph(view: GraphView) -> nx.MultiDiGraph[int]:
    """The view's edges as a MultiDiGraph with the relation (and, for ownership, the share range
    as ours reads it: no share is [0, 1]) on each edge."""
    ownership_codes = set(view.relation_codes(["Ownership"]).tolist())
    relation = view.relation.tolist()
    lo = np.where(np.isnan(view.share_min), 0.0, np.clip(view.share_min, 0, 100) / 100).tolist()
    hi = np.where(np.isnan(view.share_max), 1.0, np.clip(view.share_max, 0, 100) / 100).tolist()
    names = view.relations
    g: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    g.add_nodes_from(range(len(view.ids)))
    g.add_edges_from(
        (s, t, {"relation": names[r], "lo": lo[i], "hi": max(lo[i], hi[i])} if r in ownership_codes
         else {"relation": names[r]})
        for i, (s, t, r) in enumerate(zip(view.source.tolist(), view.target.tolist(), relation, strict=True))
    )
    return g


def nx_ubo(g: nx.MultiDiGraph[int], max_depth: int = ownership.MAX_DEPTH) -> dict[int, dict[int, tuple[float, float]]]:
    """Plainly: for every owned node, walk up its ownership edges along simple paths, multiply the
    shares along each chain and add chains that end at the same ultimate owner."""
    owned = sorted({t for _, t, d in g.edges(data=True) if d["relation"] == "Ownership"})
    result: dict[int, dict[int, tuple[float, float]]] = {}
    for company in owned:
        shares: dict[int, tuple[float, float]] = {}

        def up(node: int, path: set[int], low: float, high: float, depth: int, into: dict[int, tuple[float, float]]
               ) -> None:
            owners = [(u, d) for u, _, d in g.in_edges(node, data=True) if d["relation"] == "Ownership"]
            if not owners or depth >= max_depth:
                if depth:
                    a, b = into.get(node, (0.0, 0.0))
                    into[node] = (a + low, b + high)
                return
            for u, d in owners:
                if u not in path:
                    up(u, path | {u}, low * d["lo"], high * d["hi"], depth + 1, into)

        up(company, {company}, 1.0, 1.0, 0, shares)
        result[company] = {o: (min(a, 1.0), min(b, 1.0)) for o, (a, b) in shares.items()}
    return result


def baseline(view: GraphView, ours: dict[str, Any], seed: int, progress: Progress) -> dict[str, Any]:
    label = "networkx"
    with phase(progress, f"{label}: MultiDiGraph from the edge list"):
        start = now()
        g = nx_graph(view)
        build_s = now() - start
    with phase(progress, f"{label}: undirected MultiGraph (not timed)"):
        u = g.to_undirected()
    task = progress.add_task(f"{label}: 2-hop neighbourhoods", total=len(ours["starts"]))
    ms, sizes = [], []
    for v in ours["starts"]:
        start = now()
        reached = nx.single_source_shortest_path_length(u, v, cutoff=2)
        ms.append((now() - start) * 1000)
        sizes.append(len(reached))
        progress.advance(task)
    hop2 = {**quantiles(ms), "mean_nodes": float(np.mean(sizes))}
    log_queries(f"{label}: 2-hop neighbourhoods", hop2)
    task = progress.add_task(f"{label}: shortest paths", total=len(ours["pairs"]))
    ms, lengths = [], []
    for a, b in ours["pairs"]:
        start = now()
        with suppress(nx.NetworkXNoPath):
            lengths.append(len(nx.shortest_path(u, a, b)) - 1)
        ms.append((now() - start) * 1000)
        progress.advance(task)
    paths = {**quantiles(ms), "connected": len(lengths), "mean_length": float(np.mean(lengths)) if lengths else None}
    log_queries(f"{label}: shortest paths", paths)
    with phase(progress, f"{label}: UBO (plain upward walk per owned node)"):
        start = now()
        theirs = nx_ubo(g)
        ubo_s = now() - start
    _, mine = ours_ubo(view, progress, "ours again, to compare results")
    mismatched = [t for t in set(theirs) | set(mine) if not same_owners(theirs.get(t, {}), mine.get(t, {}))]
    with phase(progress, f"{label}: Louvain communities (networkx has no Leiden)"):
        start = now()
        found = nx.community.louvain_communities(u, seed=seed)
        louvain_s = now() - start
    membership = np.zeros(len(view.ids), dtype=np.int64)
    for i, members in enumerate(found):
        membership[list(members)] = i
    _, undirected = ours_leiden(view, progress, "ours again, for the modularity of networkx's partition")
    counts = np.bincount(membership)
    return {
        "build_seconds": build_s,
        "hop2": hop2,
        "paths": paths,
        "ubo": {"seconds": ubo_s, "owned": len(theirs), "owners": sum(len(o) for o in theirs.values()),
                "mismatched_targets": len(mismatched), "mismatch_examples": [view.ids[t] for t in mismatched[:5]]},
        "louvain": {"seconds": louvain_s, "communities": len(found), "of_3_or_more": int((counts >= 3).sum()),
                    "largest": int(counts.max()),
                    "modularity": float(undirected.modularity(membership.tolist(), weights="weight"))},
    }


def same_owners(theirs: dict[int, tuple[float, float]], mine: dict[int, Any]) -> bool:
    if set(theirs) != set(mine):
        return False
    return all(abs(theirs[o][0] - mine[o].low) < 1e-9 and abs(theirs[o][1] - mine[o].high) < 1e-9 for o in mine)


# --- report -------------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "[green]met[/green]" if value <= target else "[red]missed[/red]"


def _s(x: float) -> str:
    return f"{x:.2f} s"


def _q(d: dict[str, Any]) -> str:
    return f"p50 {d['p50_ms']:.2f} ms\np95 {d['p95_ms']:.2f} ms"


def _hop2(d: dict[str, Any]) -> str:
    cut = f", {d['truncated']} cut" if "truncated" in d else " (no cut)"
    return f"{_q(d)}\n{d['mean_nodes']:.0f} nodes{cut}"


def _paths(d: dict[str, Any]) -> str:
    return f"{_q(d)}\n{d['connected']} connected, {d['mean_length'] or 0:.2f} hops"


def _ubo(d: dict[str, Any]) -> str:
    if "companies" in d:
        return f"{_s(d['seconds'])}\n{d['owned']:,} owned, {d['companies']:,} companies"
    return f"{_s(d['seconds'])} (plain walk)\n{d['owned']:,} owned, {d['mismatched_targets']} differ from ours"


def _communities(d: dict[str, Any]) -> str:
    return f"{_s(d['seconds'])}\n{d['communities']:,} ({d['of_3_or_more']:,}), Q {d['modularity']:.3f}"


def report(results: dict[str, Any]) -> None:
    full, sub, theirs = results["full"], results.get("subset"), results.get("networkx")
    fv, fo = full["view"], full["ours"]
    sv, so = (sub["view"], sub["ours"]) if sub else ({}, {})

    def cell(render: Callable[[Any], str], part: dict[str, Any], key: str, bold: bool = False) -> str:
        if key not in part:
            return "-"
        text = render(part[key])
        return f"[bold]{text}[/bold]" if bold else text

    size = f"{fv['view_nodes']:,} nodes / {fv['view_edges']:,} edges"
    sub_size = f"{sv['view_nodes']:,} nodes / {sv['view_edges']:,} edges" if sv else "-"
    m = results["machine"]
    table = Table(title=f"Network graph (issue 4): {m['cpus']} CPUs, DuckDB {m['duckdb']}, igraph {m['igraph']}, "
                        f"networkx {m['networkx']}", show_lines=True)
    for column in ("measure", f"ours, full scale\n{size}", "target", f"ours, subset\n{sub_size}",
                   f"networkx, subset\n{sub_size}"):
        table.add_column(column)
    nx_ = theirs or {}
    table.add_row("generate statements (not a target)",
                  f"{_s(full['generate']['seconds'])}\n{full['generate']['statements']:,} statements", "",
                  cell(lambda g: f"{_s(g['seconds'])}\n{g['statements']:,} statements", sub or {}, "generate"), "")
    table.add_row("build: statements -> graph tables", cell(_s, fv, "build_seconds"), "",
                  cell(_s, sv, "build_seconds"), "-")
    table.add_row("load: per-reader view (4 datasets visible)", cell(_s, fv, "load_seconds"), "",
                  cell(_s, sv, "load_seconds"), "-")
    table.add_row("build + load", cell(_s, fv, "build_load_seconds", True),
                  f"<= 60 s {verdict(fv['build_load_seconds'], TARGETS['build_load_s'])}",
                  cell(_s, sv, "build_load_seconds"), "-")
    table.add_row("graph object from the edge list\n(igraph / networkx MultiDiGraph with edge data)",
                  cell(_s, fv, "igraph_seconds"), "", cell(_s, sv, "igraph_seconds"), cell(_s, nx_, "build_seconds"))
    table.add_row(f"2-hop neighbourhood, {fo['hop2']['queries']} random people/companies\n"
                  "(mean nodes reached; ours cut at 500)",
                  cell(_hop2, fo, "hop2", True),
                  f"p50 <= 50 ms {verdict(fo['hop2']['p50_ms'], TARGETS['hop2_p50_ms'])}",
                  cell(_hop2, so, "hop2"), cell(_hop2, nx_, "hop2"))
    table.add_row(f"shortest path, {fo['paths']['queries']} random pairs\n(connected pairs, mean length)",
                  cell(_paths, fo, "paths", True),
                  f"p50 <= 100 ms {verdict(fo['paths']['p50_ms'], TARGETS['path_p50_ms'])}",
                  cell(_paths, so, "paths"), cell(_paths, nx_, "paths"))
    table.add_row("UBO of every owned entity\n(owned entities: companies and accounts)", cell(_ubo, fo, "ubo", True),
                  f"<= 60 s {verdict(fo['ubo']['seconds'], TARGETS['ubo_s'])}",
                  cell(_ubo, so, "ubo"), cell(_ubo, nx_, "ubo"))
    table.add_row("communities: Leiden (ours), Louvain (networkx)\n(communities, of 3+ members; modularity)",
                  cell(_communities, fo, "leiden", True),
                  f"<= 120 s {verdict(fo['leiden']['seconds'], TARGETS['leiden_s'])}",
                  cell(_communities, so, "leiden"), cell(lambda d: "Louvain " + _communities(d), nx_, "louvain"))
    table.add_row("peak RSS of this process", f"{gib(full['peak_rss'])} (after the full-scale measures)", "",
                  f"{gib(results['peak_rss'])} (end of run)", "")
    console.print(table)
    console.print(
        "Subset: a second world from the same generator with the full world's node/edge ratio, built and loaded "
        "by our code; networkx gets exactly that view's edge list (vertex numbers, relations, shares), and both "
        "sides answer the same start vertices and pairs. Ours cuts a neighbourhood at 500 nodes and does not "
        "expand hubs (> 1000 edges); networkx's cutoff=2 BFS does neither. networkx has no Leiden: Louvain "
        "(networkx.community.louvain_communities) stands in; the modularity of both partitions is computed by "
        "igraph on our weighted undirected graph."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes of the full-scale world")
    parser.add_argument("--edges", type=int, default=5_000_000, help="edges of the full-scale world (approximate)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200, help="neighbourhood and path queries per scale")
    parser.add_argument("--subset-edges", type=int, default=100_000, help="edges of the baseline world (0: none)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-graph"), help="where the stores go")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    parser.add_argument("--json", nargs="?", const="auto", metavar="PATH",
                        help="write the figures as JSON (default path: bench/out/graph-<time>.json)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Couldn't reach some vertices")
    machine = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
        "igraph": ig.__version__, "networkx": nx.__version__, "platform": platform.platform(),
        "memory": psutil.virtual_memory().total, "load_average": os.getloadavg(),
    }
    results: dict[str, Any] = {"machine": machine, "started": datetime.now(UTC).isoformat(), "args": {
        "nodes": args.nodes, "edges": args.edges, "seed": args.seed, "queries": args.queries,
        "subset_edges": args.subset_edges}}
    args.work.mkdir(parents=True, exist_ok=True)
    full_path = args.work / f"graph-{args.nodes}-{args.edges}-{args.seed}.duckdb"
    sub_path = args.work / f"graph-subset-{args.subset_edges}-{args.seed}.duckdb"
    with progress_bar() as progress:
        full: dict[str, Any] = {"generate": generate(full_path, args.nodes, args.edges, args.seed, progress, "full")}
        view, full["view"] = build_and_load(full_path, progress, "full")
        full["ours"] = measure_ours(view, args.queries, args.seed, progress, "full")
        full["peak_rss"] = peak_rss()
        results["full"] = full
        del view
        gc.collect()
        if args.subset_edges:
            sub_nodes = max(100, round(args.nodes * args.subset_edges / args.edges))
            sub: dict[str, Any] = {"generate": generate(sub_path, sub_nodes, args.subset_edges, args.seed + 1,
                                                        progress, "subset")}
            view, sub["view"] = build_and_load(sub_path, progress, "subset")
            sub["ours"] = measure_ours(view, args.queries, args.seed, progress, "subset")
            results["subset"] = sub
            results["networkx"] = baseline(view, sub["ours"], args.seed, progress)
    results["peak_rss"] = peak_rss()
    results["machine"]["load_average_after"] = os.getloadavg()
    if not args.keep:
        for path in (full_path, sub_path):
            for p in (path, path.with_name(path.name + ".wal")):
                p.unlink(missing_ok=True)
    report(results)
    if args.json:
        out = (OUT / f"graph-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json" if args.json == "auto"
               else Path(args.json))
        out.parent.mkdir(parents=True, exist_ok=True)
        for part in ("full", "subset"):
            for key in ("starts", "pairs"):
                results.get(part, {}).get("ours", {}).pop(key, None)
        out.write_text(json.dumps(results, indent=2, default=str))
        console.print(f"results written to {out}")


if __name__ == "__main__":
    main()
