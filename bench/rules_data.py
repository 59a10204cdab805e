"""A rule-engine world at any scale, written straight into a fresh evidence store by DuckDB SQL.

Every table is made by ``range()`` and hashing, one ``INSERT ... SELECT`` per entity kind and
chunk; no Python loop runs per row. What is written:

- ``cites_trade``: ``trade_rows`` Trade Database records (``unep-wcmc``), codes as the ingest
  stores them (term ``TUS``, unit ``KIL`` or NULL, upper-case ISO-2 countries): exporter- and
  importer-reported rows that share a permit id about a third of the time, real taxa
  (``chainlight.demo.taxa`` and the ingest benchmark's list) and a long tail of species in
  their genera, and one exporter-reported row per world permit carrying its ``randomId``.
- FtM statements (the ``statements`` table, as readers write them: ids unique, dates
  ``YYYY-MM-DD``, countries lower case, entity references with prop_type ``entity``):

  ======================  =====================================  ===========================
  dataset                 entities                               count (scale of shipments M)
  ======================  =====================================  ===========================
  ``reference-ports``     Port (every reference seaport/airport)  ~9,900
  ``bo-registry``         Company, Person, Ownership,            C = M/4, M/4, ~1.1 C, C/2
                          Directorship
  ``ngo-investigation``   officials' positions and topics,       M/500 officials, 20 bodies,
                          PublicBody, Family, Associate,         ~M/80 + M/200 + M/200 ties
                          Employment
  ``customs-ke``          Shipment                               M
  ``cites-permits``       Permit, PermitEndorsement              ~M + re-exports, ~M
  ``ngo-seizures``        Seizure                                M/500
  ``fiu-goaml``           Payment                                P
  ======================  =====================================  ===========================

- ``er_clusters`` (unless ``resolution=False``): every party and port with its cluster; about
  one company in ten and one person in twenty merged with a neighbour, as resolution would.

The background is consistent (a shipment's permit names its taxon, term, parties, countries
and a validity covering its departure; the endorsement is the shipped quantity; trade payments
follow shipments), and a few red flags of each kind the rule library looks for are planted
(counts in :func:`generate`'s result): permits reused on a second consignment, over-endorsed
permits, stolen and cancelled permits used, expired permits, shipments whose taxon differs
from their permit's, re-export certificates exceeding the import, cover-goods shipments later
seized, layered ownership through secrecy jurisdictions, formation-agent addresses shared by
many companies, bribes paid to officials' relatives, layering chains, cash structuring,
reused and captive-bred-laundering Trade Database rows, and Appendix I commercial wild trade.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from chainlight.demo import routes
from chainlight.demo.actors import OFFICIAL_POSTS, RELATIONSHIPS
from chainlight.demo.names import COMPANY_TRADES, COMPANY_WORDS, POOLS
from chainlight.demo.taxa import TAXA
from chainlight.reference import ports as ref_ports
from chainlight.reference.hs import WILDLIFE_HS_CODES
from chainlight.store.evidence import EvidenceStore

SEEN = "TIMESTAMP '2026-01-15 10:00:00'"
CHUNK = 250_000  # entities per INSERT

SOURCE = ("ke", "tz", "ug", "mz", "za", "ng", "cd", "cg", "cm", "zm", "zw")
MARKET = ("cn", "vn", "hk", "my", "sg", "th", "ae", "tr", "la", "kh")
SECRECY = ("vg", "sc", "pa")
#: Company k is registered in COMPANY_COUNTRIES[k % 24]: exporters, importers, shells.
COMPANY_COUNTRIES = SOURCE + MARKET + SECRECY
NC = len(COMPANY_COUNTRIES)
SUFFIX = {"za": "(Pty) Ltd", "my": "Sdn. Bhd.", "pa": "S.A.", "mz": "S.A.", "cd": "SARL", "cg": "SARL",
          "cm": "SARL", "ae": "LLC", "vn": "Co., Ltd", "cn": "Co., Ltd"}
STREETS = ("Moi Avenue", "Harbour Road", "Nyerere Road", "Kenyatta Avenue", "Samora Machel Avenue", "Marine Drive",
           "Nathan Road", "Des Voeux Road", "Jalan Ampang", "Orchard Road", "Sukhumvit Road", "Sheikh Zayed Road",
           "Istiklal Caddesi", "Le Loi Street", "Nanjing Road", "Victoria Road", "Wickhams Cay", "Calle 50",
           "Independence Avenue", "Uhuru Highway", "Ali Hassan Mwinyi Road", "Julius Nyerere Avenue",
           "Commissioner Street", "Broad Street", "Boulevard du 30 Juin", "Avenue de Gaulle", "Cairo Road",
           "Second Street", "Jinnah Avenue", "Lumumba Street", "Market Street", "Station Road", "Church Street",
           "Airport Road", "Industrial Area Road", "Port Road", "Dock Road", "Hill Street", "Garden Avenue",
           "Coast Road")
EPITHETS = ("africanus", "minor", "major", "gracilis", "niger", "viridis", "indicus", "robustus", "elegans",
            "cristatus", "maculatus", "pardalis", "ornatus", "rufus", "albus", "fasciatus", "granulatus",
            "nobilis", "sinensis", "orientalis", "occidentalis", "montanus", "palustris", "aquaticus", "fuscus",
            "flavus", "striatus", "punctatus", "longicaudus", "brevis", "magnus", "pygmaeus", "regalis",
            "spinosus", "tuberculatus", "variegatus", "marmoratus", "lineatus", "giganteus", "kirkii")
#: (appendix, taxon, class, order, family, genus, [(term, unit)]) from the ingest benchmark's list.
EXTRA_TAXA = (
    ("II", "Manis spp.", "Mammalia", "Pholidota", "Manidae", "Manis", [("SCA", "KIL")]),
    ("II", "Python reticulatus", "Reptilia", "Serpentes", "Pythonidae", "Python", [("SKI", ""), ("LIV", "")]),
    ("II", "Alligator mississippiensis", "Reptilia", "Crocodylia", "Alligatoridae", "Alligator",
     [("LPS", ""), ("SKI", "")]),
    ("II", "Dalbergia cochinchinensis", "Magnoliopsida", "Fabales", "Leguminosae", "Dalbergia", [("TIM", "CUM")]),
    ("II", "Anguilla anguilla", "Actinopteri", "Anguilliformes", "Anguillidae", "Anguilla", [("LIV", "KIL")]),
    ("II", "Acipenser gueldenstaedtii", "Actinopteri", "Acipenseriformes", "Acipenseridae", "Acipenser",
     [("CAV", "KIL")]),
    ("II", "Macaca fascicularis", "Mammalia", "Primates", "Cercopithecidae", "Macaca", [("LIV", "")]),
    ("II", "Scleractinia spp.", "Anthozoa", "Scleractinia", "", "", [("COR", "KIL"), ("LIV", "")]),
    ("II", "Orchidaceae spp.", "Liliopsida", "Orchidales", "Orchidaceae", "", [("LIV", "")]),
    ("III", "Pterocarpus santalinus", "Magnoliopsida", "Fabales", "Leguminosae", "Pterocarpus", [("LOG", "CUM")]),
    ("II", "Ara ararauna", "Aves", "Psittaciformes", "Psittacidae", "Ara", [("LIV", "")]),
    ("I", "Panthera tigris", "Mammalia", "Carnivora", "Felidae", "Panthera", [("SKI", ""), ("BON", "KIL")]),
    ("II", "Cuora amboinensis", "Reptilia", "Testudines", "Geoemydidae", "Cuora", [("LIV", "")]),
)
EXTRA_AIRPORTS = {"CG": ("BZV",), "KH": ("PNH",)}  # airports the demo's routes do not list
TRADE_COUNTRIES = ("US", "CN", "HK", "VN", "ZA", "NG", "CM", "ID", "SG", "MY", "TH", "JP", "DE", "FR", "GB", "IT",
                   "AE", "CD", "KE", "TZ", "MZ", "BR", "MX", "CA", "AU", "CH", "NL", "BE", "LA", "MG", "KR", "TR",
                   "ES", "KH", "UG", "ZW", "ZM", "NA", "BW", "PE", "CO", "AR", "IN", "PK", "RU", "XX")
PURPOSES = ("T", "T", "T", "T", "T", "P", "H", "S", "Z", "Q", "B", "E")
COVER_GOODS = (("080440", "avocados"), ("080132", "cashew nuts"), ("090240", "black tea"), ("970300", "handicrafts"),
               ("720449", "scrap metal"), ("120740", "sesame seeds"))
CONCEALMENT = ("false container wall", "inside timber logs", "frozen fish", "checked-in luggage", "tea sacks",
               "plastic pellets", "mixed with cashew nuts")
CURRENCIES = ("USD", "USD", "USD", "USD", "USD", "USD", "EUR", "HKD", "CNY", "AED")
CARRIER_PREFIX = ("MEDU", "MSCU", "MAEU", "CMAU", "COSU", "ONEY", "HLCU", "EGLV")
FORMATION_ADDRESSES = ("Suite {g}, Formation House, Victoria, Mahe", "Trident Chambers {g}, Wickhams Cay, Road Town",
                       "Plaza {g}, Calle 53 Este, Obarrio, Panama City")


PLANT_CLASSES = ("Magnoliopsida", "Liliopsida", "")
ANIMAL_SOURCES = ("W", "W", "W", "W", "C", "C", "F", "R", "I", "O", "U")
PLANT_SOURCES = ("W", "W", "W", "A", "A", "I", "O", "U")


def hs_code_for(term: str, ranks: dict[str, str], fallback: str) -> str:
    """The HS code a careful declarant uses for ``term`` of a taxon with ``ranks``: an entry naming
    one of its ranks and the term, else its usual heading (``fallback``), else an entry for any
    animal with the term."""
    def names_taxon(hs: object) -> bool:
        return any(ranks.get(rank) == name for rank, name in getattr(hs, "taxa", ()))

    specific = [hs.code for hs in WILDLIFE_HS_CODES if term in hs.terms and names_taxon(hs)]
    if specific:
        return max(specific, key=len)
    usual = [hs for hs in WILDLIFE_HS_CODES if hs.code == fallback]
    if not usual or names_taxon(usual[0]) or term in usual[0].terms:
        return fallback
    generic = [hs.code for hs in WILDLIFE_HS_CODES if term in hs.terms and not hs.taxa]
    return max(generic, key=len) if generic else fallback


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


MACROS = (
    # hashing: h(i, salt) is a UBIGINT; u(i, salt) uniform in [0, 1); pick(list, i, salt) one element
    "CREATE OR REPLACE TEMP MACRO h(i, salt) AS hash(i, salt)",
    "CREATE OR REPLACE TEMP MACRO u(i, salt) AS (hash(i, salt) % 1000003) / 1000003.0",
    "CREATE OR REPLACE TEMP MACRO pick(xs, i, salt) AS xs[1 + CAST(hash(i, salt) % len(xs) AS BIGINT)]",
    "CREATE OR REPLACE TEMP MACRO eid(kind, k) AS md5(kind || ':' || CAST(k AS VARCHAR))",
    "CREATE OR REPLACE TEMP MACRO company(k) AS md5('company:' || CAST(k AS VARCHAR))",
    "CREATE OR REPLACE TEMP MACRO person(k) AS md5('person:' || CAST(k AS VARCHAR))",
    "CREATE OR REPLACE TEMP MACRO account(id) AS md5('account:' || id)",
    "CREATE OR REPLACE TEMP MACRO permit_of(k) AS md5('permit:' || CAST(k AS VARCHAR))",
    "CREATE OR REPLACE TEMP MACRO random_id(k) AS substr(md5('rid:' || CAST(k AS VARCHAR)), 1, 10)",
    "CREATE OR REPLACE TEMP MACRO ymd(d) AS strftime(d, '%Y-%m-%d')",
    "CREATE OR REPLACE TEMP MACRO num(x) AS printf('%.2f', x)",
)


class Generator:
    """Writes one world into ``store``; ``say`` reports each step."""

    def __init__(self, store: EvidenceStore, trade_rows: int, shipments: int, payments: int, *,
                 resolution: bool = True, say: Callable[[str], None] = lambda _: None) -> None:
        self.store = store
        self.con = store.con
        self.n_trade = trade_rows
        self.m = max(100, shipments)
        self.p = max(100, payments)
        self.resolution = resolution
        self.say = say
        self.c = max(NC * 20, self.m // 4)  # companies
        self.cpc = self.c // NC  # companies per country
        self.c = self.cpc * NC
        self.people = max(400, self.m // 4)
        self.officials = max(10, self.m // 500)
        self.bodies = 20
        self.syndicates = max(3, self.m // 10_000)
        self.planted: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    # -- plumbing -----------------------------------------------------------------------------------

    def sql(self, text: str, params: list[Any] | None = None) -> None:
        self.con.execute(text, params or [])

    def count(self, text: str) -> int:
        return int(self.con.execute(text).fetchall()[0][0])

    def emit(self, schema: str, dataset: str, source: str, entity: str, origin: str,
             props: list[tuple[str, str, str]], *, rows: int | None = None, chunk_var: str = "i") -> None:
        """Statements of ``schema`` entities from ``source`` (a SELECT): one per non-NULL value of
        ``props`` (prop, prop_type, SQL expression over the source's columns), plus the ``id``
        statement. With ``rows``, ``source`` is run in chunks over ``{lo}``/``{hi}`` bounds."""
        items = [("id", "id", "_eid"), *props]
        structs = ", ".join(
            f"{{'p': '{p}', 't': '{t}', 'v': CAST(({e}) AS VARCHAR), 'k': {n}}}" for n, (p, t, e) in enumerate(items)
        )
        template = f"""
            INSERT INTO statements
            SELECT md5(_eid || '|' || x.p || '|' || CAST(x.k AS VARCHAR) || '|{dataset}') AS id, _eid AS entity_id,
                   NULL AS canonical_id, '{schema}' AS schema, x.p AS prop, x.t AS prop_type, x.v AS value,
                   NULL AS lang, NULL AS original_value, '{dataset}' AS dataset, FALSE AS external,
                   {SEEN} AS first_seen, {SEEN} AS last_seen, _origin AS origin
            FROM (
                SELECT _eid, _origin, unnest([{structs}]) AS x
                FROM (SELECT *, {entity} AS _eid, {origin} AS _origin FROM ({source}) src) e
            ) WHERE x.v IS NOT NULL
        """
        if rows is None:
            self.sql(template)
            return
        for lo in range(0, rows, CHUNK):
            self.sql(template.replace("{lo}", str(lo)).replace("{hi}", str(min(rows, lo + CHUNK))))

    def step(self, name: str, fn: Callable[[], None]) -> None:
        self.say(name)
        start = time.perf_counter()
        fn()
        self.seconds[name] = time.perf_counter() - start

    # -- the world ----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        con = self.con
        con.execute("SET preserve_insertion_order = false")
        for macro in MACROS:
            con.execute(macro)
        self.reference_tables()
        for name, fn in (
            ("ports", self.ports),
            ("companies", self.companies),
            ("people, officials and public bodies", self.people_and_officials),
            ("ownerships and directorships", self.ownerships),
            ("family, associates, employment", self.relations),
            ("shipments", self.shipments),
            ("permits and re-export certificates", self.permits),
            ("endorsements", self.endorsements),
            ("seizures", self.seizures),
            ("payments", self.payments),
            ("CITES trade rows", self.trade),
        ):
            self.step(name, fn)
        if self.resolution:
            self.step("er_clusters", self.clusters)
        self.step("checkpoint", lambda: con.execute("CHECKPOINT"))
        con.execute("SET preserve_insertion_order = true")
        counts = dict(con.execute(
            "SELECT schema, count(DISTINCT entity_id) FROM statements WHERE prop = 'id' GROUP BY 1 ORDER BY 1"
        ).fetchall())
        return {
            "statements": self.count("SELECT count(*) FROM statements"),
            "trade_rows": self.count("SELECT count(*) FROM cites_trade"),
            "entities": counts,
            "clusters": self.count("SELECT count(*) FROM er_clusters") if self.resolution else 0,
            "planted": self.planted,
            "step_seconds": self.seconds,
        }

    def reference_tables(self) -> None:
        """Small lookup tables on the connection: taxa, routes, names."""
        con = self.con
        legal = [t for t in TAXA if t.appendix != "I"]
        rows = []
        for n, t in enumerate(legal):
            ranks = {"class": t.klass, "order": t.order, "family": t.family, "genus": t.genus, "taxon": t.name}
            hs = [hs_code_for(term, ranks, t.hs_code) for term, _ in t.terms]
            rows.append(f"({n}, '{t.name}', '{t.appendix}', {sql_list([x for x, _ in t.terms])}, "
                        f"{sql_list([y for _, y in t.terms])}, {sql_list(hs)}, '{t.goods}', "
                        f"{str(t.hard_to_breed).lower()}, {str(t.klass in PLANT_CLASSES).lower()})")
        con.execute("CREATE OR REPLACE TEMP TABLE _legal AS SELECT * FROM (VALUES " + ", ".join(rows)
                    + ") v(tx, taxon, appendix, terms, units, hs_codes, goods, hard, plant)")
        trafficked = [t for t in TAXA if t.trafficked]
        con.execute("CREATE OR REPLACE TEMP TABLE _trafficked AS SELECT * FROM (VALUES " + ", ".join(
            f"({n}, '{t.name}', '{t.terms[0][0]}', '{t.goods}')" for n, t in enumerate(trafficked)
        ) + ") v(tx, taxon, term, goods)")
        # Trade taxa: the real ones, then a long tail of species in their genera.
        real = [(t.appendix, t.name, t.klass, t.order, t.family, t.genus, list(t.terms), t.hard_to_breed)
                for t in TAXA] + [(*x, False) for x in EXTRA_TAXA]
        rows = []
        for n, (app, name, klass, order, family, genus, terms, hard) in enumerate(real):
            rows.append((n, app, name, klass, order, family, genus, [a for a, _ in terms], [b for _, b in terms], hard,
                         True))
        tail = len(rows)
        real_names = {r[1] for r in real}
        genera: dict[str, tuple[Any, ...]] = {}
        for r in real:
            if r[5] and not any(x[1] == f"{r[5]} spp." for x in real):  # no species beside a "Genus spp." line
                genera.setdefault(r[5], r)
        for app, _name, klass, order, family, genus, terms, _hard in genera.values():
            for epithet in EPITHETS:
                if f"{genus} {epithet}" not in real_names:
                    rows.append((len(rows), "II" if app == "I" else app, f"{genus} {epithet}", klass, order, family,
                                 genus, [a for a, _ in terms], [b for _, b in terms], False, False))
        cols = list(zip(*rows, strict=True))
        table = pa.table({
            "tx": pa.array(range(len(rows)), pa.int64()), "appendix": cols[1], "taxon": cols[2], "class": cols[3],
            "order": cols[4], "family": cols[5], "genus": cols[6], "terms": cols[7], "units": cols[8],
            "hard": cols[9], "real": cols[10],
        })
        con.register("_arrow_taxa", table)
        con.execute("CREATE OR REPLACE TEMP TABLE _taxa AS SELECT * FROM _arrow_taxa")
        con.unregister("_arrow_taxa")
        self.n_real_taxa = tail
        self.n_taxa = len(rows)
        # Routes: for each origin (index into SOURCE), market (index into MARKET) and mode.
        route_rows = []
        for o, src in enumerate(SOURCE):
            for d, dst in enumerate(MARKET):
                for mode in ("sea", "air"):
                    load = self._ports(src.upper(), mode) or self._ports(routes.GATEWAY.get(src.upper(), ""), mode)
                    disch = self._ports(dst.upper(), mode)
                    actual = mode
                    if not load or not disch:
                        actual = "air" if mode == "sea" else "sea"
                        load = self._ports(src.upper(), actual) or self._ports(
                            routes.GATEWAY.get(src.upper(), ""), actual)
                        disch = self._ports(dst.upper(), actual)
                    hubs = routes.SEA_TRANSIT if actual == "sea" else routes.AIR_TRANSIT
                    transit = [p for c in hubs if c != dst.upper() for p in self._ports(c, actual)]
                    assert load and disch and transit, (src, dst, mode)
                    route_rows.append((o, d, mode, actual, load, transit, disch))
        cols = list(zip(*route_rows, strict=True))
        con.register("_arrow_routes", pa.table({"o": cols[0], "d": cols[1], "mode": cols[2], "actual": cols[3],
                                                "loading": cols[4], "transit": cols[5], "discharge": cols[6]}))
        con.execute("CREATE OR REPLACE TEMP TABLE _routes AS SELECT * FROM _arrow_routes")
        con.unregister("_arrow_routes")
        first = sorted({n for pool in POOLS.values() for n in pool[0]})
        last = sorted({n for pool in POOLS.values() for n in pool[1]})
        self.first_names, self.last_names = sql_list(first), sql_list(last)

    @staticmethod
    def _ports(country: str, mode: str) -> list[str]:
        codes = (routes.SEAPORTS if mode == "sea" else {**routes.AIRPORTS, **EXTRA_AIRPORTS}).get(country, ())
        out = []
        for code in codes:
            info = ref_ports.lookup(code)
            if info is not None:
                out.append(info.entity_id)
        return out

    # -- reference ports ------------------------------------------------------------------------------

    def ports(self) -> None:
        infos = [*ref_ports.all_ports(), *ref_ports.all_airports()]
        table = pa.table({
            "pid": [p.entity_id for p in infos], "name": [p.name for p in infos],
            "country": [p.country.lower() if p.country else None for p in infos],
            "kind": [p.kind for p in infos], "unlocode": [p.unlocode for p in infos], "iata": [p.iata for p in infos],
            "n": list(range(len(infos))),
        })
        self.con.register("_arrow_ports", table)
        self.con.execute("CREATE OR REPLACE TEMP TABLE _ports AS SELECT * FROM _arrow_ports")
        self.con.unregister("_arrow_ports")
        origin = "'chainlight:reference/ports:' || (n + 1)"
        self.emit("Port", "reference-ports", "SELECT * FROM _ports", "pid", origin, [
            ("name", "name", "name"), ("country", "country", "country"), ("portType", "string", "kind"),
            ("unLocode", "identifier", "unlocode"), ("iataCode", "identifier", "iata"),
        ])

    # -- parties --------------------------------------------------------------------------------------

    def companies(self) -> None:
        countries, cpc = sql_list(COMPANY_COUNTRIES), self.cpc
        suffix = "CASE " + " ".join(f"WHEN cc = '{c}' THEN '{s}'" for c, s in SUFFIX.items()) + " ELSE 'Limited' END"
        trades = {"exporter": sql_list(COMPANY_TRADES["exporter"] + COMPANY_TRADES["forwarder"]),
                  "importer": sql_list(COMPANY_TRADES["importer"]), "shell": sql_list(COMPANY_TRADES["shell"])}
        words = sql_list(COMPANY_WORDS)
        streets = sql_list(STREETS)
        # Planted: groups of 30 shells at one formation agent's address (the second half of the
        # secrecy-jurisdiction companies), and shells incorporated in the last two years.
        per = min(max(1, self.c // 15000), max(1, cpc // 2 // 30 - 1))  # groups per secrecy jurisdiction
        self.planted["shared_address_groups"] = per * len(SECRECY)
        self.planted["shared_address_companies"] = per * len(SECRECY) * 30
        formation = sql_list(FORMATION_ADDRESSES)
        shared = f"(cc IN {tuple(SECRECY)} AND r >= {cpc // 2} AND r < {cpc // 2} + {per} * 30)"
        source = f"""
            SELECT i AS k, {countries}[1 + i % {NC}] AS cc, i // {NC} AS r, i % {NC} AS ci
            FROM range({{lo}}, {{hi}}) t(i)
        """
        role = f"CASE WHEN ci < {len(SOURCE)} THEN 'exporter' WHEN ci < {len(SOURCE) + len(MARKET)} " \
               "THEN 'importer' ELSE 'shell' END"
        name = (f"pick({words}, k, 'w1') || CASE WHEN h(k, 'w2') % 3 = 0 THEN ' ' || pick({words}, k, 'w3') ELSE '' END"
                f" || ' ' || CASE {role} WHEN 'exporter' THEN pick({trades['exporter']}, k, 't') "
                f"WHEN 'importer' THEN pick({trades['importer']}, k, 't') ELSE pick({trades['shell']}, k, 't') END"
                f" || ' ' || {suffix}")
        address = (f"CASE WHEN {shared} THEN replace({formation}[1 + ci - {len(SOURCE) + len(MARKET)}], '{{g}}', "
                   f"CAST((r - {cpc // 2}) // 30 + 1 AS VARCHAR)) "
                   f"ELSE CAST(1 + r % 997 AS VARCHAR) || ' ' || {streets}[1 + (r // 997 + ci) % {len(STREETS)}]"
                   f" || ', ' || upper(cc) END")
        incorporated = (f"CASE WHEN ci >= {len(SOURCE) + len(MARKET)} AND h(k, 'new') % 10 = 0 "
                        "THEN DATE '2022-01-01' + CAST(h(k, 'inc') % 700 AS INTEGER) "
                        "ELSE DATE '1985-01-01' + CAST(h(k, 'inc') % 11900 AS INTEGER) END")
        self.emit("Company", "bo-registry", source, "company(k)", "'bo-registry/bods_' || lpad(CAST(k // 20000 + 1 AS "
                  "VARCHAR), 3, '0') || '.json:' || CAST(k % 20000 + 1 AS VARCHAR)", [
                      ("name", "name", name), ("jurisdiction", "country", "cc"), ("country", "country", "cc"),
                      ("incorporationDate", "date", f"ymd({incorporated})"), ("address", "address", address),
                      ("registrationNumber", "identifier", "upper(cc) || '-' || CAST(1000000 + k AS VARCHAR)"),
                  ], rows=self.c)

    def people_and_officials(self) -> None:
        countries = sql_list(SOURCE + MARKET)
        source = f"SELECT i AS k, {countries}[1 + CAST(h(i, 'nat') % {len(SOURCE) + len(MARKET)} AS BIGINT)] AS cc " \
                 "FROM range({lo}, {hi}) t(i)"
        # Officials (k < officials) and their relatives (officials <= k < 2 officials) share a family name.
        last = f"CASE WHEN k < {2 * self.officials} THEN pick({self.last_names}, k % {self.officials}, 'last') " \
               f"ELSE pick({self.last_names}, k, 'last') END"
        self.emit("Person", "bo-registry", source, "person(k)", "'bo-registry/bods_p' || CAST(k // 20000 + 1 AS "
                  "VARCHAR) || '.json:' || CAST(k % 20000 + 1 AS VARCHAR)", [
                      ("name", "name", f"pick({self.first_names}, k, 'first') || ' ' || {last}"),
                      ("nationality", "country", "cc"),
                      ("birthDate", "date", "ymd(DATE '1945-01-01' + CAST(h(k, 'born') % 20000 AS INTEGER))"),
                      ("address", "address", f"CASE WHEN h(k, 'addr') % 3 = 0 THEN CAST(1 + h(k, 'no') % 400 AS "
                       f"VARCHAR) || ' ' || pick({sql_list(STREETS)}, k, 'st') || ', ' || upper(cc) END"),
                  ], rows=self.people)
        posts = sql_list([p for _, p, _ in OFFICIAL_POSTS])
        # The NGO's file: officials with their position, 40% PEPs; the public bodies that employ them.
        self.emit("Person", "ngo-investigation", f"SELECT i AS k FROM range({self.officials}) t(i)", "person(k)",
                  "'ngo-investigation/investigation.ftm.jsonl:' || CAST(k + 1 AS VARCHAR)", [
                      ("position", "string", f"pick({posts}, k, 'post')"),
                      ("topics", "topic", "CASE WHEN h(k, 'pep') % 10 < 4 THEN 'role.pep' END"),
                  ])
        body_names = sorted({b for _, _, b in OFFICIAL_POSTS})
        bodies, n_bodies = sql_list(body_names), len(body_names)
        self.emit("PublicBody", "ngo-investigation", f"SELECT i AS k FROM range({self.bodies}) t(i)",
                  "eid('publicbody', k)", "'ngo-investigation/investigation.ftm.jsonl:b' || CAST(k + 1 AS VARCHAR)", [
                      ("name", "name", f"{bodies}[1 + k % {n_bodies}]"
                       " || CASE WHEN k >= 5 THEN ' ' || CAST(k // 5 + 1 AS VARCHAR) ELSE '' END"),
                      ("jurisdiction", "country", "CASE WHEN k % 2 = 0 THEN 'ke' ELSE 'tz' END"),
                  ])
        self.planted["officials"] = self.officials

    def ownerships(self) -> None:
        cpc, c, people, off = self.cpc, self.c, self.people, self.officials
        # Layered ownership: per syndicate a front exporter <- shell (vg) <- shell (sc) <- boss.
        s = self.syndicates
        self.sql(f"""CREATE OR REPLACE TEMP TABLE _syndicates AS
            SELECT j AS s,
                   (j % {len(SOURCE)}) + {NC} * ({cpc} - 1 - j // {len(SOURCE)}) AS front,
                   {COMPANY_COUNTRIES.index('vg')} + {NC} * ({cpc} - 1 - j) AS shell1,
                   {COMPANY_COUNTRIES.index('sc')} + {NC} * ({cpc} - 1 - j) AS shell2,
                   {len(SOURCE)} + (j % {len(MARKET)}) + {NC} * ({cpc} - 1 - j // {len(MARKET)}) AS importer,
                   {2 * off} + j AS boss
            FROM range({s}) t(j)""")
        self.planted["layered_ownership_chains"] = s
        # One ownership per company (a person, or for 1 in 20 an older company of the group); 1 in 5
        # has a second owner. Planted chains replace the first owner of their companies.
        source = f"""
            SELECT t.i AS k, coalesce(pl.owner, CASE WHEN t.i > 0 AND h(t.i, 'grp') % 20 = 0
                       THEN company(h(t.i, 'parent') % t.i)
                       ELSE person({2 * off + s} + h(t.i, 'owner') % {people - 2 * off - s}) END) AS owner,
                   pl.owner IS NOT NULL AS planted,
                   CASE WHEN pl.owner IS NULL AND h(t.i, 'two') % 5 = 0 THEN 50 ELSE 100 END AS pct
            FROM range({{lo}}, {{hi}}) t(i)
            LEFT JOIN (
                SELECT front AS k, company(shell1) AS owner FROM _syndicates
                UNION ALL SELECT shell1, company(shell2) FROM _syndicates
                UNION ALL SELECT shell2, person(boss) FROM _syndicates
            ) pl ON pl.k = t.i
        """
        props = [
            ("owner", "entity", "owner"), ("asset", "entity", "company(k)"), ("percentage", "string", "pct"),
            ("directOrIndirect", "string", "'direct'"), ("role", "string", "'Shareholding'"),
            ("startDate", "date", "ymd(DATE '1995-01-01' + CAST(h(k, 'since') % 10000 AS INTEGER))"),
        ]
        origin = "'bo-registry/bods_r' || CAST(k // 20000 + 1 AS VARCHAR) || '.json:' || CAST(k % 20000 + 1 AS VARCHAR)"
        self.emit("Ownership", "bo-registry", source, "eid('ownership', k)", origin, props, rows=c)
        second = f"SELECT i AS k, person({2 * off + s} + h(i, 'owner2') % {people - 2 * off - s}) AS owner, " \
                 "50 AS pct " \
                 f"FROM range({{lo}}, {{hi}}) t(i) WHERE h(i, 'two') % 5 = 0 AND i NOT IN " \
                 "(SELECT front FROM _syndicates UNION ALL SELECT shell1 FROM _syndicates " \
                 "UNION ALL SELECT shell2 FROM _syndicates)"
        self.emit("Ownership", "bo-registry", second, "eid('ownership2', k)", origin, props, rows=c)
        # The boss also declared as indirect owner of the front (BODS indirect interests).
        self.emit("Ownership", "bo-registry", "SELECT front AS k, boss FROM _syndicates", "eid('ownership-ind', k)",
                  "'bo-registry/bods_ind.json:' || CAST(k AS VARCHAR)", [
                      ("owner", "entity", "person(boss)"), ("asset", "entity", "company(k)"),
                      ("percentage", "string", "'100'"), ("directOrIndirect", "string", "'indirect'"),
                  ])
        # Directors: one for every other company.
        self.emit("Directorship", "bo-registry", "SELECT i AS k FROM range({lo}, {hi}) t(i) WHERE i % 2 = 0",
                  "eid('directorship', k)", origin.replace("bods_r", "bods_d"), [
                      ("director", "entity", f"person({2 * off} + h(k, 'dir') % {people - 2 * off})"),
                      ("organization", "entity", "company(k)"), ("role", "string", "'director'"),
                      ("startDate", "date", "ymd(DATE '1998-01-01' + CAST(h(k, 'dsince') % 9000 AS INTEGER))"),
                  ], rows=c)

    def relations(self) -> None:
        off, people = self.officials, self.people
        rel = sql_list(RELATIONSHIPS)
        origin = "'ngo-investigation/investigation.ftm.jsonl:' || kind || CAST(k AS VARCHAR)"
        # Every official has a relative (k + officials) who shares the family name.
        self.emit("Family", "ngo-investigation",
                  f"SELECT i AS k, 'f' AS kind, person(i) AS a, person(i + {off}) AS b FROM range({off}) t(i) "
                  f"UNION ALL SELECT i + {off}, 'f', person({2 * off} + h(i, 'fa') % {people - 2 * off}), "
                  f"person({2 * off} + h(i, 'fb') % {people - 2 * off}) FROM range({people // 100}) t(i)",
                  "eid('family', k)", origin, [
                      ("person", "entity", "a"), ("relative", "entity", "b"),
                      ("relationship", "string", f"pick({rel}, k, 'rel')"),
                  ])
        self.emit("Associate", "ngo-investigation",
                  f"SELECT i AS k, 'a' AS kind, person({2 * off} + h(i, 'aa') % {people - 2 * off}) AS a, "
                  f"person({2 * off} + h(i, 'ab') % {people - 2 * off}) AS b FROM range({people // 200}) t(i)",
                  "eid('associate', k)", origin, [
                      ("person", "entity", "a"), ("associate", "entity", "b"),
                      ("relationship", "string", "CASE WHEN k % 4 = 0 THEN 'meets regularly' ELSE 'business partner' "
                       "END"),
                  ])
        posts = sql_list([p for _, p, _ in OFFICIAL_POSTS])
        self.emit("Employment", "ngo-investigation",
                  f"SELECT i AS k, 'e' AS kind, person(i) AS a, eid('publicbody', i % {self.bodies}) AS b, "
                  f"pick({posts}, i, 'post') AS role FROM range({off}) t(i) "
                  f"UNION ALL SELECT i + {off}, 'e', person({2 * off} + h(i, 'ea') % {people - 2 * off}), "
                  f"company(h(i, 'eb') % {self.c}), 'manager' FROM range({people // 200}) t(i)",
                  "eid('employment', k)", origin, [
                      ("employee", "entity", "a"), ("employer", "entity", "b"), ("role", "string", "role"),
                  ])

    # -- shipments, permits, endorsements -------------------------------------------------------------

    def shipments(self) -> None:
        m, cpc = self.m, self.cpc
        nl = self.count("SELECT count(*) FROM _legal")
        ns, nm = len(SOURCE), len(MARKET)
        # Planted (by shipment number): reused permit (a second consignment of the same parties under
        # the previous shipment's permit, 20-50 days later), over-endorsed, expired, taxon differs from
        # the permit's, cover goods without a permit (later seized), stolen / cancelled permit used.
        flags = {
            "reused_permit": (997, 996), "over_endorsed": (2003, 1001), "expired_permit": (3001, 1500),
            "taxon_mismatch": (4001, 2001), "cover_goods": (2503, 1234), "stolen_permit_used": (5003, 17),
            "cancelled_permit_used": (7001, 3),
        }
        flag_sql = ", ".join(f"i > 0 AND i % {mod} = {rem} AS {name}" for name, (mod, rem) in flags.items())
        # The syndicates' fronts ship some of their consignments (1 in 40 shipments from a front's country).
        self.sql(f"""CREATE OR REPLACE TEMP TABLE _ship AS
            WITH f AS (SELECT i, {flag_sql} FROM range({m}) t(i)),
            b AS (SELECT f.*, CASE WHEN reused_permit THEN i - 1 ELSE i END AS b FROM f),
            x AS (
                SELECT b.*, CAST(h(b, 'o') % {ns} AS BIGINT) AS o, CAST(h(b, 'd') % {nm} AS BIGINT) AS d,
                       CASE WHEN h(b, 'mode') % 10 < 7 THEN 'sea' ELSE 'air' END AS mode,
                       CAST(h(b, 'tx') % {nl} AS BIGINT) AS tx,
                       CAST({cpc} * pow(u(b, 'shipper'), 2) AS BIGINT) AS rs,
                       CAST({cpc} * pow(u(b, 'consignee'), 2) AS BIGINT) AS rc,
                       DATE '2019-01-01' + CAST(h(b, 'dep') % 1800 AS INTEGER) AS dep0
                FROM b
            )
            SELECT x.i, x.b, x.reused_permit, x.over_endorsed, x.expired_permit, x.taxon_mismatch, x.cover_goods,
                   x.stolen_permit_used, x.cancelled_permit_used, x.o, x.d, r.actual AS mode,
                   x.o + {NC} * least(x.rs, {cpc} - 1) AS shipper_k,
                   {ns} + x.d + {NC} * least(x.rc, {cpc} - 1) AS consignee_k,
                   CASE WHEN h(x.b, 'notify') % 10 < 3 THEN {ns} + x.d + {NC} * CAST(h(x.b, 'nr') % {cpc} AS BIGINT)
                   END AS notify_k,
                   x.o + {NC} * ((h(x.b, 'fw') % 20) * {cpc} // 20 + 1) AS forwarder_k,
                   {ns} + CAST(h(x.b, 'carrier') % {nm} AS BIGINT) AS carrier_k,
                   CASE WHEN r.actual = 'sea' THEN eid('vessel', h(x.b, 'vessel') % 400) END AS vessel,
                   r.loading[1 + CAST(h(x.b, 'pol') % len(r.loading) AS BIGINT)] AS pol,
                   r.transit[1 + CAST(h(x.b, 't1') % len(r.transit) AS BIGINT)] AS transit1,
                   CASE WHEN h(x.b, 'two') % 3 = 0 THEN r.transit[1 + CAST(h(x.b, 't2') % len(r.transit) AS BIGINT)]
                   END AS transit2,
                   r.discharge[1 + CAST(h(x.b, 'pod') % len(r.discharge) AS BIGINT)] AS pod,
                   x.dep0,
                   CASE WHEN x.reused_permit THEN x.dep0 + 20 + CAST(h(x.i, 'later') % 30 AS INTEGER)
                        WHEN x.expired_permit THEN x.dep0 + 200 + CAST(h(x.i, 'late') % 60 AS INTEGER)
                        ELSE x.dep0 END AS dep,
                   t.taxon AS permit_taxon, t.appendix,
                   CASE WHEN x.taxon_mismatch THEN t2.taxon ELSE t.taxon END AS taxon,
                   t.terms[1 + CAST(h(x.b, 'term') % len(t.terms) AS BIGINT)] AS term,
                   t.hs_codes[1 + CAST(h(x.b, 'term') % len(t.terms) AS BIGINT)] AS hs_code,
                   nullif(t.units[1 + CAST(h(x.b, 'term') % len(t.units) AS BIGINT)], '') AS unit,
                   t.goods, t.hard, t.plant,
                   CAST(10 + h(x.b, 'qty') % 490 AS DOUBLE) AS permit_qty
            FROM x
            JOIN _routes r ON r.o = x.o AND r.d = x.d AND r.mode = x.mode
            JOIN _legal t ON t.tx = x.tx
            JOIN _legal t2 ON t2.tx = (x.tx + 1) % {nl}""")
        self.sql(f"""CREATE OR REPLACE TEMP TABLE _ship AS
            SELECT *,
                   CASE WHEN over_endorsed THEN round(permit_qty * 1.25)
                        WHEN h(b, 'part') % 4 = 0 THEN round(permit_qty * (0.8 + u(b, 'share') * 0.2))
                        ELSE permit_qty END AS qty,
                   round(permit_qty * (20 + u(b, 'price') * 180), 2) AS value,
                   {sql_list(SOURCE)}[1 + o] AS origin, {sql_list(MARKET)}[1 + d] AS dest,
                   CASE WHEN NOT cover_goods THEN b END AS permit_k
            FROM _ship""")
        for name in flags:
            self.planted[name] = self.count(f"SELECT count(*) FROM _ship WHERE {name}")
        cover = sql_list([g for _, g in COVER_GOODS])
        cover_hs = sql_list([c for c, _ in COVER_GOODS])
        prefix = sql_list(CARRIER_PREFIX)
        self.emit("Shipment", "customs-ke", "SELECT * FROM _ship WHERE i >= {lo} AND i < {hi}", "eid('shipment', i)",
                  "'customs-ke/bills_of_lading.csv:' || CAST(i + 2 AS VARCHAR)", [
                      ("transportDocumentNumber", "identifier",
                       f"CASE WHEN mode = 'sea' THEN pick({prefix}, carrier_k, 'pre') || lpad(CAST(i AS VARCHAR), 8, "
                       "'0') ELSE '176-' || lpad(CAST(i AS VARCHAR), 8, '0') END"),
                      ("transportDocumentType", "string",
                       "CASE WHEN mode = 'sea' THEN 'bill-of-lading' ELSE 'air-waybill' END"),
                      ("transportMode", "string", "mode"),
                      ("shipper", "entity", "company(shipper_k)"), ("consignee", "entity", "company(consignee_k)"),
                      ("notifyParty", "entity", "company(notify_k)"), ("forwarder", "entity", "company(forwarder_k)"),
                      ("carrier", "entity", "company(carrier_k)"), ("vessel", "entity", "vessel"),
                      ("portOfLoading", "entity", "pol"), ("transitPort", "entity", "transit1"),
                      ("transitPort", "entity", "CASE WHEN transit2 <> transit1 THEN transit2 END"),
                      ("portOfDischarge", "entity", "pod"),
                      ("departureDate", "date", "ymd(dep)"),
                      ("arrivalDate", "date", "ymd(dep + CASE WHEN mode = 'sea' THEN 12 + CAST(h(i, 'voy') % 30 AS "
                       "INTEGER) ELSE 1 + CAST(h(i, 'fl') % 3 AS INTEGER) END)"),
                      ("originCountry", "country", "origin"), ("destinationCountry", "country", "dest"),
                      ("goodsDescription", "text",
                       f"CASE WHEN cover_goods THEN pick({cover}, i, 'cover') ELSE goods END"),
                      ("hsCode", "identifier", f"CASE WHEN cover_goods THEN pick({cover_hs}, i, 'cover') ELSE hs_code "
                       "END"),
                      ("taxon", "string", "CASE WHEN NOT cover_goods THEN taxon END"),
                      ("term", "string", "CASE WHEN NOT cover_goods THEN term END"),
                      ("quantity", "number", "CAST(CAST(qty AS BIGINT) AS VARCHAR)"),
                      ("unit", "string", "CASE WHEN NOT cover_goods THEN unit END"),
                      ("declaredValue", "number", "num(value)"), ("currency", "string", "'USD'"),
                      ("permit", "entity", "permit_of(permit_k)"),
                  ], rows=m)

    def permits(self) -> None:
        m = self.m
        # Export permits: one per shipment (a reused shipment's own number is never issued); the
        # permit covers the shipment's parties, goods and a 180-day validity around its nominal date.
        status = ("CASE WHEN stolen_permit_used THEN 'stolen' WHEN cancelled_permit_used THEN 'cancelled' "
                  "ELSE 'valid' END")
        source = "SELECT *, dep0 - 5 - CAST(h(i, 'issue') % 50 AS INTEGER) AS issued FROM _ship " \
                 "WHERE i >= {lo} AND i < {hi} AND NOT reused_permit AND NOT cover_goods"
        props = [
            ("permitNumber", "identifier",
             "strftime(issued, '%y') || upper(origin) || lpad(CAST(i AS VARCHAR), 7, '0')"),
            ("permitType", "string", "'export'"), ("issuingCountry", "country", "origin"),
            ("holder", "entity", "company(shipper_k)"), ("counterpart", "entity", "company(consignee_k)"),
            ("exportCountry", "country", "origin"), ("importCountry", "country", "dest"),
            ("originCountry", "country", "origin"),
            ("issueDate", "date", "ymd(issued)"), ("expiryDate", "date", "ymd(issued + 180)"),
            ("taxon", "string", "permit_taxon"), ("appendix", "string", "appendix"), ("term", "string", "term"),
            ("quantity", "number", "CAST(CAST(permit_qty AS BIGINT) AS VARCHAR)"), ("unit", "string", "unit"),
            ("purposeCode", "string", "'T'"),
            ("sourceCode", "string", "CASE WHEN NOT hard AND h(i, 'src') % 4 = 0 THEN CASE WHEN plant THEN 'A' "
             "ELSE 'C' END ELSE 'W' END"),
            ("permitStatus", "string", status), ("randomId", "identifier", "random_id(i)"),
        ]
        self.emit("Permit", "cites-permits", source, "permit_of(i)", "'cites-permits/permits.csv:' || CAST(i + 2 AS "
                  "VARCHAR)", props, rows=m)
        # Re-export certificates: a transit-country importer re-exports what it imported under an
        # export permit, in two lots. Planted: three lots that add up to 1.5 times the import.
        n = max(10, m // 2000)
        planted = max(3, n // 10)
        self.planted["reexport_exceeds_import"] = planted
        self.sql(f"""CREATE OR REPLACE TEMP TABLE _reexport AS
            SELECT row_number() OVER () - 1 AS k, s.*, lot, CASE WHEN o.j < {planted} THEN 0.5 ELSE 0.45 END AS share
            FROM (SELECT j, (j * 7919 + 11) % {m} AS si FROM range({n}) t(j)) o
            JOIN _ship s ON s.i = o.si AND NOT s.reused_permit AND NOT s.cover_goods
            CROSS JOIN range(3) l(lot)
            WHERE lot < CASE WHEN o.j < {planted} THEN 3 ELSE 2 END""")
        self.emit("Permit", "cites-permits", "SELECT * FROM _reexport", "eid('reexport', k)",
                  "'cites-permits/permits.csv:r' || CAST(k + 1 AS VARCHAR)", [
                      ("permitNumber", "identifier", "strftime(dep0 + 60, '%y') || upper(dest) || 'R' || "
                       "lpad(CAST(k AS VARCHAR), 6, '0')"),
                      ("permitType", "string", "'re-export'"), ("issuingCountry", "country", "dest"),
                      ("holder", "entity", "company(consignee_k)"),
                      ("counterpart", "entity", f"company({len(SOURCE)} + (d + 1) % {len(MARKET)} + {NC} * lot)"),
                      ("exportCountry", "country", "dest"),
                      ("importCountry", "country", f"{sql_list(MARKET)}[1 + (d + 1) % {len(MARKET)}]"),
                      ("originCountry", "country", "origin"),
                      ("issueDate", "date", "ymd(dep0 + CAST(60 + 10 * lot AS INTEGER))"),
                      ("expiryDate", "date", "ymd(dep0 + 240)"),
                      ("taxon", "string", "permit_taxon"), ("appendix", "string", "appendix"),
                      ("term", "string", "term"),
                      ("quantity", "number", "CAST(CAST(round(permit_qty * share) AS BIGINT) AS VARCHAR)"),
                      ("unit", "string", "unit"), ("purposeCode", "string", "'T'"), ("sourceCode", "string", "'W'"),
                      ("originalPermit", "entity", "permit_of(i)"), ("permitStatus", "string", "'valid'"),
                      ("randomId", "identifier", "random_id('r' || CAST(k AS VARCHAR))"),
                  ])

    def endorsements(self) -> None:
        self.emit("PermitEndorsement", "cites-permits",
                  "SELECT * FROM _ship WHERE i >= {lo} AND i < {hi} AND permit_k IS NOT NULL", "eid('endorsement', i)",
                  "'cites-permits/endorsements.csv:' || CAST(i + 2 AS VARCHAR)", [
                      ("permit", "entity", "permit_of(permit_k)"), ("shipment", "entity", "eid('shipment', i)"),
                      ("date", "date", "ymd(dep)"), ("port", "entity", "pol"),
                      ("actualQuantity", "number", "CAST(CAST(qty AS BIGINT) AS VARCHAR)"), ("unit", "string", "unit"),
                  ], rows=self.m)

    def seizures(self) -> None:
        z = max(20, self.m // 500)
        nt = self.count("SELECT count(*) FROM _trafficked")
        conceal = sql_list(CONCEALMENT)
        # Half the cover-goods shipments are seized (naming the shipment and its parties); the rest
        # are seizures at the same ports of goods nobody declared.
        self.sql("""CREATE OR REPLACE TEMP TABLE _seizure AS
            SELECT row_number() OVER (ORDER BY i) - 1 AS k, i AS si, dep + 12 + CAST(h(i, 'sz') % 20 AS INTEGER) AS day,
                   pod, dest, origin, transit1, shipper_k, consignee_k
            FROM _ship WHERE cover_goods AND i % 2 = 0""")
        seized = self.count("SELECT count(*) FROM _seizure")
        self.planted["seized_cover_shipments"] = seized
        self.emit("Seizure", "ngo-seizures", f"""
            WITH z AS (
                SELECT k, si, day, pod, dest, origin, transit1, shipper_k, consignee_k FROM _seizure
                UNION ALL
                SELECT {seized} + j, NULL, DATE '2019-01-01' + CAST(h(j, 'zd') % 1800 AS INTEGER), s.pod, s.dest,
                       s.origin, s.transit1, NULL, NULL
                FROM range({max(0, z - seized)}) t(j) JOIN _ship s ON s.i = h(j, 'zs') % {self.m}
            )
            SELECT z.*, tr.taxon, tr.term, p.country AS transit_country
            FROM z JOIN _trafficked tr ON tr.tx = h(z.k, 'ztx') % {nt} LEFT JOIN _ports p ON p.pid = z.transit1""",
                  "eid('seizure', k)", "'ngo-seizures/seizures.csv:' || CAST(k + 2 AS VARCHAR)", [
                      ("date", "date", "ymd(day)"), ("port", "entity", "pod"), ("country", "country", "dest"),
                      ("taxon", "string", "taxon"), ("term", "string", "term"),
                      ("quantity", "number", "CAST(5 + h(k, 'zq') % 300 AS VARCHAR)"),
                      ("weight", "number", "printf('%.1f', 10 + u(k, 'zw') * 3000)"),
                      ("shipment", "entity", "CASE WHEN si IS NOT NULL THEN eid('shipment', si) END"),
                      ("suspects", "entity", "company(shipper_k)"), ("suspects", "entity", "company(consignee_k)"),
                      ("originCountry", "country", "origin"), ("transitCountry", "country", "transit_country"),
                      ("destinationCountry", "country", "dest"),
                      ("concealment", "text", f"pick({conceal}, k, 'conceal')"),
                      ("caseNumber", "identifier", "'CR-' || CAST(k % 999 + 1 AS VARCHAR) || '/' || "
                       "strftime(day, '%Y')"),
                  ])

    # -- payments -------------------------------------------------------------------------------------

    def payments(self) -> None:
        off, m = self.officials, self.m
        # Planted first: bribes to officials' relatives (three consultancy fees from a syndicate shell
        # each, for 3 officials in 10), layering chains (importer -> shell -> shell -> front exporter
        # within days), cash structuring (five deposits just under 10,000 within a week).
        self.sql(f"""CREATE OR REPLACE TEMP TABLE _planted_pay AS
            WITH bribed AS (SELECT o FROM range({off}) t(o) WHERE h(o, 'bribed') % 10 < 3),
            bribes AS (
                SELECT 'bribe' AS kind, company(s.shell1) AS payer, person(b.o + {off}) AS beneficiary,
                       round(4000 + u(b.o * 3 + n, 'br') * 16000, 2) AS amount,
                       DATE '2019-03-01' + CAST(h(b.o, 'bd') % 1500 AS INTEGER) + CAST(n * 31 AS INTEGER) AS day,
                       'Consultancy fees' AS purpose, 'A' AS mode
                FROM bribed b CROSS JOIN range(3) n(n)
                JOIN _syndicates s ON s.s = b.o % {self.syndicates}
            ),
            chains AS (SELECT j, j % {self.syndicates} AS s FROM range({max(5, self.p // 5000)}) t(j)),
            layering AS (
                SELECT 'layering', company(CASE n WHEN 0 THEN y.importer WHEN 1 THEN y.shell2 ELSE y.shell1 END),
                       company(CASE n WHEN 0 THEN y.shell2 WHEN 1 THEN y.shell1 ELSE y.front END),
                       round((150000 + u(c.j, 'lay') * 300000) * (1 - 0.02 * n), 2),
                       DATE '2019-02-01' + CAST(h(c.j, 'ld') % 1700 AS INTEGER) + CAST(n * (1 + h(c.j, 'gap') % 3)
                           AS INTEGER),
                       'Payment for goods, invoice ' || CAST(10000 + h(c.j, 'inv') % 90000 AS VARCHAR), 'A'
                FROM chains c JOIN _syndicates y ON y.s = c.s, range(3) n(n)
            ),
            structuring AS (
                SELECT 'structuring', person({2 * off} + h(j, 'cash') % {self.people - 2 * off}),
                       company(h(j, 'cashco') % {self.c}), round(9000 + u(j * 5 + n, 'cs') * 990, 2),
                       DATE '2019-01-10' + CAST(h(j, 'cd') % 1700 AS INTEGER) + CAST(n AS INTEGER),
                       'Cash deposit', 'K'
                FROM range({max(5, self.p // 10000)}) t(j), range(5) n(n)
            )
            SELECT * FROM bribes UNION ALL SELECT * FROM layering UNION ALL SELECT * FROM structuring""")
        for kind, n in self.con.execute("SELECT kind, count(*) FROM _planted_pay GROUP BY 1").fetchall():
            self.planted[f"payments_{kind}"] = int(n)
        planted = self.count("SELECT count(*) FROM _planted_pay")
        currencies = sql_list(CURRENCIES)
        # Background: importers pay exporters for shipments (9 in 10), exporters pay forwarders.
        source = f"""
            SELECT p.k, p.kind, p.payer, p.beneficiary, p.amount, p.day, p.purpose, p.mode
            FROM (SELECT row_number() OVER () - 1 AS k, * FROM _planted_pay) p WHERE p.k >= {{lo}} AND p.k < {{hi}}
            UNION ALL
            SELECT t.k, 'trade', company(CASE WHEN h(t.k, 'svc') % 10 = 0 THEN s.shipper_k ELSE s.consignee_k END),
                   company(CASE WHEN h(t.k, 'svc') % 10 = 0 THEN s.forwarder_k ELSE s.shipper_k END),
                   CASE WHEN h(t.k, 'svc') % 10 = 0 THEN round(300 + u(t.k, 'fee') * 4000, 2)
                        ELSE round(s.value * (0.3 + 0.7 * (h(t.k, 'inst') % 2)), 2) END,
                   s.dep + CAST(h(t.k, 'pd') % 60 AS INTEGER) - 20,
                   CASE WHEN h(t.k, 'svc') % 10 = 0 THEN 'Freight and clearing charges'
                        ELSE 'Payment for goods, invoice ' || CAST(10000 + h(t.k, 'inv') % 90000 AS VARCHAR) END,
                   pick(['A', 'A', 'A', 'A', 'A', 'A', 'B', 'C'], t.k, 'tm')
            FROM range(greatest({planted}, {{lo}}), {{hi}}) t(k) JOIN _ship s ON s.i = h(t.k, 'ship') % {m}
        """
        self.emit("Payment", "fiu-goaml", source, "eid('payment', k)",
                  "'fiu-goaml/str_' || lpad(CAST(k // 25 + 1 AS VARCHAR), 6, '0') || '.xml:' || CAST(k % 25 + 1 AS "
                  "VARCHAR)", [
                      ("transactionNumber", "string", "'TX' || lpad(CAST(k + 1 AS VARCHAR), 10, '0')"),
                      ("payer", "entity", "payer"), ("beneficiary", "entity", "beneficiary"),
                      ("payerAccount", "entity", "account(payer)"),
                      ("beneficiaryAccount", "entity", "account(beneficiary)"),
                      ("amount", "number", "num(amount)"),
                      ("currency", "string", f"CASE WHEN kind = 'trade' THEN pick({currencies}, k, 'cur') ELSE 'USD' "
                       "END"),
                      ("date", "date", "ymd(day)"), ("purpose", "text", "purpose"), ("programme", "string", "mode"),
                  ], rows=self.p)

    # -- CITES Trade Database rows ------------------------------------------------------------------------

    def trade(self) -> None:
        n = self.n_trade
        linked = min(self.m, n // 5)
        # One exporter-reported row per world permit, with its randomId.
        self.sql(f"""
            INSERT INTO cites_trade
            SELECT 'unep-wcmc', CAST(i + 1 AS VARCHAR), CAST(year(dep0) AS SMALLINT), s.appendix, permit_taxon,
                   t.class, t."order", nullif(t.family, ''), nullif(t.genus, ''), s.term, permit_qty, s.unit,
                   upper(dest), upper(origin), NULL, 'T',
                   CASE WHEN NOT s.hard AND h(i, 'src') % 4 = 0 THEN CASE WHEN s.plant THEN 'A' ELSE 'C' END
                        ELSE 'W' END, 'E', NULL, random_id(i), NULL,
                   'unep-wcmc/trade_db_' || lpad(CAST(i // 500000 + 1 AS VARCHAR), 3, '0') || '.csv:'
                       || CAST(i % 500000 + 2 AS VARCHAR)
            FROM _ship s JOIN _taxa t ON t.taxon = s.permit_taxon AND t.real
            WHERE NOT reused_permit AND NOT cover_goods AND i < {linked}""")
        start = self.count("SELECT count(*) FROM cites_trade")
        background = n - start
        # Background: exporter- and importer-reported rows; an importer row repeats the exporter row
        # before it (same taxon, countries, permits; quantity often differs) a third of the time.
        # Planted: export permit ids on rows of several years; hard-to-breed species declared
        # captive-bred by one exporter; Appendix I wild specimens for commercial purposes.
        nt, nr = self.n_taxa, self.n_real_taxa
        countries, nc = sql_list(TRADE_COUNTRIES), len(TRADE_COUNTRIES)
        reuse_every, launder_every, app1_every = 20011, 10007, 30011
        self.planted["trade_permit_reused_rows"] = background // reuse_every
        self.planted["trade_captive_laundering_rows"] = background // launder_every
        self.planted["trade_appendix_i_commercial_rows"] = background // app1_every
        hard = "(SELECT list(tx ORDER BY tx) FROM _taxa WHERE hard)"
        end = linked + background
        for lo in range(linked, end, 2_000_000):
            hi = min(end, lo + 2_000_000)
            self.sql(f"""
                INSERT INTO cites_trade
                WITH g AS (
                    SELECT i, h(i // 2, 'pair') % 3 = 0 AS paired,
                           CASE WHEN i % 2 = 1 AND h(i // 2, 'pair') % 3 = 0 THEN i - 1 ELSE i END AS b,
                           i % {reuse_every} = 7 AS reuse, i % {launder_every} = 5 AS launder,
                           i % {app1_every} = 11 AS app1
                    FROM range({lo}, {hi}) t(i)
                ),
                x AS (
                    SELECT g.*, h(b, 'row') AS hb,
                           CASE WHEN launder THEN {hard}[1 + CAST(h(i, 'ht') % len({hard}) AS BIGINT)]
                                WHEN u(b, 'tail') < 0.7 THEN CAST(h(b, 'tx') % {nr} AS BIGINT)
                                ELSE CAST({nr} + h(b, 'tx') % {nt - nr} AS BIGINT) END AS tx
                    FROM g
                )
                SELECT 'unep-wcmc', CAST(i + 1 AS VARCHAR),
                       CAST(CASE WHEN reuse THEN 2010 + h(i, 'ry') % 14 ELSE 2000 + (hb >> 8) % 24 END AS SMALLINT),
                       CASE WHEN app1 THEN 'I' ELSE t.appendix END, t.taxon, nullif(t.class, ''), t."order",
                       nullif(t.family, ''), nullif(t.genus, ''),
                       t.terms[1 + CAST((hb >> 12) % len(t.terms) AS BIGINT)],
                       CASE WHEN b <> i AND h(i, 'disagree') % 10 < 7 THEN round((1 + (hb >> 16) % 2000) * (0.5 + u(i,
                           'q'))) ELSE CAST(1 + (hb >> 16) % 2000 AS DOUBLE) END,
                       nullif(t.units[1 + CAST((hb >> 12) % len(t.units) AS BIGINT)], ''),
                       {countries}[1 + CAST((hb >> 24) % {nc} AS BIGINT)],
                       CASE WHEN launder THEN 'GH' ELSE {countries}[1 + CAST(((hb >> 24) % {nc} + 1 + (hb >> 30) %
                           ({nc} - 1)) % {nc} AS BIGINT)] END,
                       CASE WHEN (hb >> 36) % 5 = 0 THEN {countries}[1 + CAST((hb >> 38) % {nc} AS BIGINT)] END,
                       CASE WHEN app1 THEN 'T' WHEN t.appendix = 'I' THEN pick(['H', 'S', 'Z', 'P', 'Q', 'B', 'E'], b,
                           'pur') ELSE {sql_list(PURPOSES)}[1 + CAST((hb >> 44) % {len(PURPOSES)} AS BIGINT)] END,
                       CASE WHEN launder THEN pick(['C', 'C', 'D', 'F', 'R'], i, 'ls') WHEN app1 THEN 'W'
                            WHEN t.hard THEN pick(['W', 'W', 'W', 'O', 'I'], b, 'hs')
                            WHEN coalesce(t.class, '') IN {PLANT_CLASSES}
                            THEN {sql_list(PLANT_SOURCES)}[1 + CAST((hb >> 48) % {len(PLANT_SOURCES)} AS BIGINT)]
                            ELSE {sql_list(ANIMAL_SOURCES)}[1 + CAST((hb >> 48) % {len(ANIMAL_SOURCES)} AS BIGINT)] END,
                       CASE WHEN b <> i THEN 'I' WHEN paired THEN 'E' WHEN (hb >> 52) % 2 = 0 THEN 'E' ELSE 'I' END,
                       CASE WHEN (hb >> 53) % 3 = 0 THEN substr(md5('i' || CAST(b AS VARCHAR)), 1, 10) END,
                       CASE WHEN reuse THEN substr(md5('reused' || CAST(i // {reuse_every * 4} AS VARCHAR)), 1, 10)
                            WHEN (hb >> 55) % 3 > 0 THEN substr(md5('e' || CAST(b AS VARCHAR)), 1, 10) END,
                       CASE WHEN (hb >> 57) % 8 = 0 THEN substr(md5('o' || CAST(b AS VARCHAR)), 1, 10) END,
                       'unep-wcmc/trade_db_' || lpad(CAST(i // 500000 + 1 AS VARCHAR), 3, '0') || '.csv:'
                           || CAST(i % 500000 + 2 AS VARCHAR)
                FROM x JOIN _taxa t USING (tx)""")

    # -- resolution -------------------------------------------------------------------------------------

    def clusters(self) -> None:
        self.sql("CREATE TABLE IF NOT EXISTS er_clusters (entity_id VARCHAR, canonical_id VARCHAR, grp VARCHAR)")
        # Companies r and r + 1 of a country merged when r % 10 = 0 (duplicates across registers);
        # people k and k + 1 when k % 20 = 10 and both are ordinary people.
        self.sql(f"""
            INSERT INTO er_clusters
            SELECT company(k), CASE WHEN (k // {NC}) % 10 IN (0, 1) AND (k // {NC}) + 1 < {self.cpc}
                       THEN 'nk-' || substr(md5('cluster:' || CAST(k % {NC} AS VARCHAR) || ':'
                           || CAST((k // {NC}) // 10 AS VARCHAR)), 1, 24)
                       ELSE company(k) END, 'organisation'
            FROM range({self.c}) t(k)
            UNION ALL
            SELECT person(k), CASE WHEN k >= {2 * self.officials} AND k % 20 IN (10, 11)
                       THEN 'nk-' || substr(md5('pcluster:' || CAST(k // 20 AS VARCHAR)), 1, 24)
                       ELSE person(k) END, 'person'
            FROM range({self.people}) t(k)
            UNION ALL
            SELECT eid('publicbody', k), eid('publicbody', k), 'organisation' FROM range({self.bodies}) t(k)
            UNION ALL
            SELECT pid, pid, 'port' FROM _ports""")


def generate(path: Path, trade_rows: int, shipments: int, payments: int, *, resolution: bool = True,
             threads: int | None = None, memory_limit: str | None = None,
             say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Write a fresh store at ``path`` (replacing one there) and return what it holds."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    start = time.perf_counter()
    with EvidenceStore(path) as store:
        store.con.execute("SET enable_progress_bar = false")
        if threads:
            store.con.execute(f"SET threads = {threads}")
        if memory_limit:
            store.con.execute(f"SET memory_limit = '{memory_limit}'")
        result = Generator(store, trade_rows, shipments, payments, resolution=resolution, say=say).run()
    result["seconds"] = time.perf_counter() - start
    result["file_bytes"] = path.stat().st_size
    return result
