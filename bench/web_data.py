"""A pool of any size for the web benchmark: people and companies with realistic names, their
ownerships, directorships, shipments and payments, in four datasets of four organisations, with
resolution links and alerts written as ``chainlight resolve`` and ``chainlight rules run`` would
leave them.

Names come from the demo's pools (:mod:`chainlight.demo.names`): a person is two given names and
a family name of one tradition, a company a founder's family name (half of them), a word and a
trade, so names share tokens as real ones do and a common name has hundreds of holders.
Statements are generated with numpy and inserted with pyarrow straight into a fresh evidence
store; no reader, resolver or rule runs.

Datasets (owner, marking): ``registry`` (registry, CLEAR), ``customs`` (customs-ke, AMBER,
shared with the taskforce group), ``fiu`` (fiu, RED), ``ngo`` (ngo, AMBER+STRICT, shared with
the taskforce group). The taskforce group is customs-ke and ngo, so customs-ke sees every dataset
but ``fiu``. Shares of all entities: people 35%, companies 25%, ownerships 15%, directorships 8%,
shipments 7%, payments 10%. Ten per cent of the people are known to the NGO as well, under their
own ids and with a name spelt a little differently, linked to the registry's record at p = 0.92;
five per cent are in the FIU's data too, linked likewise (a link the benchmark's reader cannot
see). One per cent of the companies have an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from chainlight.demo import names
from chainlight.model.markings import Marking
from chainlight.resolve import clusters, matching, records
from chainlight.rules.engine import ALERT_TABLES
from chainlight.store.evidence import EvidenceStore

REGISTRY, CUSTOMS, FIU, NGO = "registry", "customs", "fiu", "ngo"
#: dataset: (owner organisation, marking, sharing group)
DATASETS: dict[str, tuple[str, Marking, str | None]] = {
    REGISTRY: ("registry", Marking.CLEAR, None),
    CUSTOMS: ("customs-ke", Marking.AMBER, "taskforce"),
    FIU: ("fiu", Marking.RED, None),
    NGO: ("ngo", Marking.AMBER_STRICT, "taskforce"),
}
GROUP_MEMBERS = {"taskforce": ["customs-ke", "ngo"]}
VIEWER = "customs-ke"
SEEN = datetime(2026, 1, 1)
FIRST_DAY = (date(2015, 1, 1) - date(1970, 1, 1)).days
COUNTRIES = ("ke", "tz", "ug", "mz", "za", "ng", "cd", "cn", "vn", "hk", "my", "sg", "th", "ae", "tr", "sc", "vg", "pa")
SUFFIXES = ("Ltd", "Limited", "Co., Ltd", "LLC", "S.A.", "(Pty) Ltd", "Sdn Bhd", "SARL", "Holdings")
CHUNK = 500_000


def _pools() -> tuple[list[str], list[str], list[int], list[int]]:
    """Given and family names of every tradition, and where each tradition's slice starts and ends."""
    given: list[str] = []
    family: list[str] = []
    g_bounds = [0]
    f_bounds = [0]
    for g, f, _ in names.POOLS.values():
        given.extend(g)
        family.extend(f)
        g_bounds.append(len(given))
        f_bounds.append(len(family))
    return given, family, g_bounds, f_bounds


@dataclass(slots=True)
class World:
    """What was generated, for the benchmark to draw its requests from."""

    entities: int = 0
    statements: int = 0
    by_schema: dict[str, int] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)  # sample of (visible) person ids
    companies: list[str] = field(default_factory=list)
    person_names: list[str] = field(default_factory=list)  # their names, for queries
    company_names: list[str] = field(default_factory=list)


class Generator:
    def __init__(self, store: EvidenceStore, entities: int, seed: int) -> None:
        self.store = store
        self.rng = np.random.default_rng(seed)
        self.n = entities
        self.counter = 0
        self.world = World()
        self.given, self.family, self.g_bounds, self.f_bounds = _pools()

    # -- helpers -----------------------------------------------------------------------------

    def put(self, entity: pa.Array, schema: str, prop: str, prop_type: str, value: pa.Array, dataset: str) -> None:
        for lo in range(0, len(entity), CHUNK):
            e, v = entity.slice(lo, CHUNK), value.slice(lo, CHUNK)
            batch = pa.table({
                "n": pa.array(np.arange(self.counter, self.counter + len(e), dtype=np.int64)),
                "entity_id": e, "value": v,
            })
            con = self.store.con
            con.register("bench_statements", batch)
            con.execute(
                "INSERT INTO statements SELECT sha1(? || '.' || entity_id || '.' || ? || '.' || value), entity_id, "
                "NULL, ?, ?, ?, value, NULL, NULL, ?, false, ?, ?, 'bench:' || n FROM bench_statements "
                "WHERE value IS NOT NULL",
                [dataset, prop, schema, prop, prop_type, dataset, SEEN, SEEN],
            )
            con.unregister("bench_statements")
            self.counter += len(e)
            self.world.statements += len(e)

    def ids(self, prefix: str, count: int, start: int = 0) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pc.cast(pa.array(np.arange(start, start + count)), pa.string()), "")

    def entity(self, ids: pa.Array, schema: str, dataset: str) -> None:
        self.put(ids, schema, "id", "id", ids, dataset)

    def pick(self, values: list[str] | tuple[str, ...], k: int) -> pa.Array:
        return pc.take(pa.array(values), pa.array(self.rng.integers(0, len(values), k)))

    def dates(self, k: int) -> pa.Array:
        days = self.rng.integers(FIRST_DAY, FIRST_DAY + 10 * 365, k).astype(np.int32)
        return pa.array(days, pa.int32()).cast(pa.date32()).cast(pa.string())

    def person_names(self, k: int) -> pa.Array:
        """Two given names and a family name of one tradition each."""
        tradition = self.rng.integers(0, len(self.g_bounds) - 1, k)
        g_lo, g_hi = np.array(self.g_bounds[:-1])[tradition], np.array(self.g_bounds[1:])[tradition]
        f_lo, f_hi = np.array(self.f_bounds[:-1])[tradition], np.array(self.f_bounds[1:])[tradition]
        a = g_lo + (self.rng.random(k) * (g_hi - g_lo)).astype(np.int64)
        b = g_lo + (self.rng.random(k) * (g_hi - g_lo)).astype(np.int64)
        f = f_lo + (self.rng.random(k) * (f_hi - f_lo)).astype(np.int64)
        given = pa.array(self.given)
        return pc.binary_join_element_wise(
            pc.take(given, pa.array(a)), pc.take(given, pa.array(b)), pc.take(pa.array(self.family), pa.array(f)), " "
        )

    def variants(self, values: pa.Array) -> pa.Array:
        """The same names as another source writes them: one letter dropped, or upper case."""
        out = []
        for i, text in enumerate(values.to_pylist()):
            if i % 2 and len(text) > 6:
                cut = int(self.rng.integers(1, len(text) - 1))
                out.append(text[:cut] + text[cut + 1 :])
            else:
                out.append(names.ascii_fold(text).upper())
        return pa.array(out)

    def company_names(self, k: int) -> pa.Array:
        trades = sorted({t for ts in names.COMPANY_TRADES.values() for t in ts})
        word = self.pick(names.COMPANY_WORDS, k)
        trade = self.pick(trades, k)
        suffix = self.pick(SUFFIXES, k)
        founder = self.pick(self.family, k)
        has_founder = pa.array(self.rng.random(k) < 0.5)
        base = pc.binary_join_element_wise(word, trade, suffix, " ")
        return pc.if_else(has_founder, pc.binary_join_element_wise(founder, base, " "), base)

    def take(self, ids: pa.Array, positions: npt.NDArray[np.int64]) -> pa.Array:
        return pc.take(ids, pa.array(positions))

    # -- steps -------------------------------------------------------------------------------

    def generate(self, progress: Callable[[str], None]) -> World:
        n = self.n
        people, companies = int(n * 0.35), int(n * 0.25)
        owners, directors = int(n * 0.15), int(n * 0.08)
        shipments, payments = int(n * 0.07), int(n * 0.10)
        rng = self.rng
        w = self.world

        progress("people")
        in_ngo_only = rng.random(people) < 0.1
        p_ids = self.ids("p-", people)
        p_names = self.person_names(people)
        for mask, dataset in ((~in_ngo_only, REGISTRY), (in_ngo_only, NGO)):
            where = pa.array(np.flatnonzero(mask))
            ids = pc.take(p_ids, where)
            self.entity(ids, "Person", dataset)
            self.put(ids, "Person", "name", "name", pc.take(p_names, where), dataset)
            self.put(ids, "Person", "nationality", "country", self.pick(COUNTRIES, len(ids)), dataset)
            self.put(ids, "Person", "birthDate", "date", self.dates(len(ids)), dataset)
        # Known to the NGO (10%) and to the FIU (5%) under ids of their own, spelt differently.
        registry_people = np.flatnonzero(~in_ngo_only)
        dup_ngo = np.sort(rng.choice(registry_people, len(registry_people) // 10, replace=False))
        dup_fiu = np.sort(rng.choice(registry_people, len(registry_people) // 20, replace=False))
        for dup, prefix, dataset in ((dup_ngo, "np-", NGO), (dup_fiu, "fp-", FIU)):
            ids = pc.binary_join_element_wise(prefix, pc.cast(pa.array(dup), pa.string()), "")
            self.entity(ids, "Person", dataset)
            self.put(ids, "Person", "name", "name", self.variants(self.take(p_names, dup)), dataset)
            self.put(ids, "Person", "nationality", "country", self.pick(COUNTRIES, len(ids)), dataset)
        w.by_schema["Person"] = people + len(dup_ngo) + len(dup_fiu)

        progress("companies")
        c_ids = self.ids("c-", companies)
        c_names = self.company_names(companies)
        self.entity(c_ids, "Company", REGISTRY)
        self.put(c_ids, "Company", "name", "name", c_names, REGISTRY)
        self.put(c_ids, "Company", "jurisdiction", "country", self.pick(COUNTRIES, companies), REGISTRY)
        reg = pc.binary_join_element_wise("RC", pc.cast(pa.array(rng.integers(10**7, 10**8, companies)),
                                                         pa.string()), "")
        self.put(c_ids, "Company", "registrationNumber", "identifier", reg, REGISTRY)
        self.put(c_ids, "Company", "incorporationDate", "date", self.dates(companies), REGISTRY)
        declared = np.sort(rng.choice(companies, companies // 5, replace=False))  # in customs filings too
        ids = self.take(c_ids, declared)
        self.entity(ids, "Company", CUSTOMS)
        self.put(ids, "Company", "name", "name", self.take(c_names, declared), CUSTOMS)
        self.put(ids, "Company", "country", "country", self.pick(COUNTRIES, len(ids)), CUSTOMS)
        w.by_schema["Company"] = companies

        def anyone(k: int) -> pa.Array:
            is_company = rng.random(k) < 0.5
            p = self.take(p_ids, rng.integers(0, people, k))
            c = self.take(c_ids, rng.integers(0, companies, k))
            return pc.if_else(pa.array(is_company), c, p)

        progress("ownerships and directorships")
        for schema, prefix, (a, b), count, extra in (
            ("Ownership", "own-", ("owner", "asset"), owners, "percentage"),
            ("Directorship", "dir-", ("director", "organization"), directors, None),
        ):
            ids = self.ids(prefix, count)
            self.entity(ids, schema, REGISTRY)
            source = anyone(count) if schema == "Ownership" else self.take(p_ids, rng.integers(0, people, count))
            self.put(ids, schema, a, "entity", source, REGISTRY)
            self.put(ids, schema, b, "entity", self.take(c_ids, rng.integers(0, companies, count)), REGISTRY)
            self.put(ids, schema, "startDate", "date", self.dates(count), REGISTRY)
            if extra:
                self.put(ids, schema, extra, "string", pc.cast(pa.array(rng.integers(1, 101, count)), pa.string()),
                         REGISTRY)
            w.by_schema[schema] = count

        progress("shipments")
        ids = self.ids("s-", shipments)
        self.entity(ids, "Shipment", CUSTOMS)
        self.put(ids, "Shipment", "transportDocumentNumber", "identifier",
                 pc.binary_join_element_wise("BL", pc.cast(pa.array(np.arange(shipments)), pa.string()), ""), CUSTOMS)
        for prop in ("shipper", "consignee"):
            self.put(ids, "Shipment", prop, "entity", self.take(c_ids, rng.integers(0, companies, shipments)),
                     CUSTOMS)
        self.put(ids, "Shipment", "departureDate", "date", self.dates(shipments), CUSTOMS)
        w.by_schema["Shipment"] = shipments

        progress("payments")
        ids = self.ids("pay-", payments)
        self.entity(ids, "Payment", FIU)
        self.put(ids, "Payment", "payer", "entity", anyone(payments), FIU)
        self.put(ids, "Payment", "beneficiary", "entity", anyone(payments), FIU)
        self.put(ids, "Payment", "amount", "number",
                 pa.array(np.round(rng.lognormal(8.5, 1.6, payments), 2)).cast(pa.string()), FIU)
        self.put(ids, "Payment", "date", "date", self.dates(payments), FIU)
        w.by_schema["Payment"] = payments
        w.entities = sum(w.by_schema.values())

        progress("resolution links and clusters")
        self.resolution(p_ids, dup_ngo, dup_fiu)
        progress("alerts")
        self.alerts(c_ids, companies)

        sample = rng.choice(registry_people, min(20_000, len(registry_people)), replace=False)
        w.people = self.take(p_ids, sample).to_pylist()
        w.person_names = self.take(p_names, sample).to_pylist()
        sample = rng.choice(companies, min(20_000, companies), replace=False)
        w.companies = self.take(c_ids, sample).to_pylist()
        w.company_names = self.take(c_names, sample).to_pylist()
        return w

    def resolution(self, p_ids: pa.Array, dup_ngo: npt.NDArray[np.int64], dup_fiu: npt.NDArray[np.int64]) -> None:
        """Records for every person and company, links for the duplicates, and the global clusters."""
        con = self.store.con
        records.ensure_tables(self.store)
        matching.ensure_tables(self.store)
        clusters.ensure_tables(self.store)
        con.execute(
            "INSERT INTO er_records SELECT row_number() OVER (ORDER BY entity_id, dataset), entity_id, dataset, "
            "CASE WHEN schema = 'Person' THEN 'person' ELSE 'organisation' END, schema, NULL, '', 'bench' "
            "FROM (SELECT DISTINCT entity_id, dataset, schema FROM statements "
            "WHERE prop = 'id' AND schema IN ('Person', 'Company'))"
        )
        pairs = pa.table({
            "left_entity": pc.take(p_ids, pa.array(np.concatenate([dup_ngo, dup_fiu]))),
            "right_entity": pa.array([f"np-{i}" for i in dup_ngo.tolist()] + [f"fp-{i}" for i in dup_fiu.tolist()]),
        })
        con.register("bench_pairs", pairs)
        con.execute(
            "INSERT INTO er_links SELECT a.record_id, b.record_id, 'person', 3.5, 0.92, '[]', 'bench' "
            "FROM bench_pairs p JOIN er_records a ON a.entity_id = p.left_entity "
            "JOIN er_records b ON b.entity_id = p.right_entity"
        )
        con.unregister("bench_pairs")
        # Clusters: the registry person with its NGO and FIU records; everyone else alone.
        canonical = {}
        in_ngo, in_fiu = set(dup_ngo.tolist()), set(dup_fiu.tolist())
        for i in sorted(in_ngo | in_fiu):
            members = [f"p-{i}"] + ([f"np-{i}"] if i in in_ngo else []) + ([f"fp-{i}"] if i in in_fiu else [])
            cid = clusters.mint(members)
            for m in members:
                canonical[m] = cid
        table = pa.table({"entity_id": list(canonical), "canonical_id": list(canonical.values())})
        con.register("bench_clusters", table)
        con.execute(
            "INSERT INTO er_clusters SELECT r.entity_id, coalesce(c.canonical_id, r.entity_id), any_value(r.grp) "
            "FROM er_records r LEFT JOIN bench_clusters c USING (entity_id) GROUP BY r.entity_id, c.canonical_id"
        )
        con.unregister("bench_clusters")
        clusters.save_threshold(self.store, clusters.DEFAULT_THRESHOLD)

    def alerts(self, c_ids: pa.Array, companies: int) -> None:
        for ddl in ALERT_TABLES:
            self.store.con.execute(ddl)
        chosen = np.sort(self.rng.choice(companies, max(1, companies // 100), replace=False))
        subjects = self.take(c_ids, chosen)
        table = pa.table({
            "subject": subjects,
            "hidden": pa.array(self.rng.random(len(chosen)) < 0.3),
            "score": pa.array(np.round(self.rng.uniform(0.3, 0.99, len(chosen)), 3)),
        })
        con = self.store.con
        con.register("bench_alerts", table)
        con.execute(
            "INSERT INTO alerts SELECT 'al-' || sha1(subject)[:16], 'ownership.secrecy-chain', "
            "'Company behind a secrecy chain', 'ownership', 'high', score, 'Company', subject, [subject], [subject], "
            "CASE WHEN hidden THEN ['fiu', 'registry'] ELSE ['registry'] END, 'owned through a chain of shells', "
            "'{}', ?, ?, 'bench' FROM bench_alerts",
            [SEEN, SEEN],
        )
        con.unregister("bench_alerts")


def generate(path: Path, entities: int, seed: int, progress: Callable[[str], None]) -> World:
    """A fresh evidence store at ``path`` holding about ``entities`` entities."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    with EvidenceStore(path) as store:
        store.con.execute("SET enable_progress_bar = false")
        world = Generator(store, entities, seed).generate(progress)
        store.con.execute("CHECKPOINT")
    return world
