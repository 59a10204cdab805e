"""Build the serving index: one SQLite file that search and entity profiles read alone.

What goes in, per (entity, dataset) *record* (so that need-to-know can be applied per dataset
at read time, as on every other read path):

- ``datasets``: two numbers per dataset, one for its records that everyone who may see the
  dataset reads and one for its owner-only records (:data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`,
  e.g. incident reports), which only the owner organisation reads one by one. Records, postings
  and facets are all keyed by these numbers, so a reader who does not own the dataset simply
  never reads the second one: the rule costs nothing at query time and, as for a hidden
  dataset, changes no result, count or order that reader sees;
- ``records``: schema, caption, display names, countries, first and last seen, and every
  statement of the record (id, property, type, value, first/last seen, origin) as one JSON
  array, found by entity id (not compressed: zlib's set-up per record cost more than the rest
  of the record's work, for a third of the space);
- ``postings``: for each trigram and dataset, the sorted numbers of the names (*keys*) holding
  it, as one int32 array per row; together with the per-key arrays in ``arrays`` this is what
  fuzzy name search scans (:mod:`chainlight.search.query`);
- ``refs``: which records name an entity in an entity-typed property (incoming relations);
- the resolution needed to rebuild any reader's clusters locally: model links at or above the
  threshold between records, the connected component (over every link) each linked entity
  belongs to, unique identifiers of linked records and the global canonical ids;
- the alerts the rules raised and the entities they name.

The file is written under a temporary name beside the target and moved into place with
``os.replace`` only when complete, so a reader sees the old index or the new one, never half
of one, and a crash leaves the old index untouched. ``meta`` records the state of the evidence
store it was built from (:func:`source_state`), so staleness can be detected
(:func:`is_current`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from chainlight.model.ftm import model
from chainlight.model.markings import OWNER_ONLY_SCHEMATA
from chainlight.search import text
from chainlight.store.evidence import EvidenceStore

#: Bump when the file's layout changes: an index of another version counts as missing.
FORMAT = 4
INDEX_FILE = "search.sqlite"
#: At most this many names (keys) per record go into the name index.
MAX_KEYS = 16
#: Properties of type name that are not the entity's own names.
NOT_OWN_NAMES = frozenset({"namesMentioned"})
BATCH = 20_000

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_progress(_label: str, _total: int | None) -> Callable[[int], None]:
    return lambda _n: None


class IndexBuildError(RuntimeError):
    """The index could not be built."""


DDL = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE datasets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_only INTEGER NOT NULL, "
    "UNIQUE (name, owner_only))",
    """CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL,
        dataset INTEGER NOT NULL,
        schema TEXT NOT NULL,
        caption TEXT NOT NULL,
        names TEXT NOT NULL,
        countries TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        statements TEXT NOT NULL
    )""",
    "CREATE TABLE arrays (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE postings (gram INTEGER NOT NULL, dataset INTEGER NOT NULL, n INTEGER NOT NULL, keys BLOB NOT NULL)",
    "CREATE TABLE refs (target TEXT NOT NULL, record INTEGER NOT NULL, prop TEXT NOT NULL)",
    # Resolution, for rebuilding a reader's cluster around one entity (chainlight.search.profile).
    "CREATE TABLE er_component (entity_id TEXT PRIMARY KEY, component INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE er_members (component INTEGER NOT NULL, entity_id TEXT NOT NULL, dataset TEXT NOT NULL, "
    "grp TEXT NOT NULL)",
    "CREATE TABLE er_edges (component INTEGER NOT NULL, left_id TEXT NOT NULL, right_id TEXT NOT NULL, "
    "left_dataset TEXT NOT NULL, right_dataset TEXT NOT NULL, probability REAL NOT NULL)",
    "CREATE TABLE er_uids (entity_id TEXT NOT NULL, dataset TEXT NOT NULL, value TEXT NOT NULL)",
    "CREATE TABLE er_canonical (entity_id TEXT PRIMARY KEY, canonical_id TEXT NOT NULL, size INTEGER NOT NULL) "
    "WITHOUT ROWID",
    "CREATE TABLE er_groups (entity_id TEXT NOT NULL, dataset TEXT NOT NULL, grp TEXT NOT NULL)",
    """CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, title TEXT NOT NULL, category TEXT NOT NULL,
        severity TEXT NOT NULL, score REAL NOT NULL, subject TEXT NOT NULL, datasets TEXT NOT NULL,
        reason TEXT NOT NULL, first_raised TEXT NOT NULL, last_raised TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE TABLE alert_entities (entity_id TEXT NOT NULL, alert_id TEXT NOT NULL)",
)
INDEXES = (
    "CREATE INDEX records_entity ON records (entity_id)",
    "CREATE UNIQUE INDEX postings_key ON postings (gram, dataset, n)",
    "CREATE INDEX refs_target ON refs (target)",
    "CREATE INDEX er_members_component ON er_members (component)",
    "CREATE INDEX er_edges_component ON er_edges (component)",
    "CREATE INDEX er_uids_entity ON er_uids (entity_id)",
    "CREATE INDEX er_canonical_id ON er_canonical (canonical_id)",
    "CREATE INDEX er_groups_entity ON er_groups (entity_id)",
    "CREATE INDEX alert_entities_entity ON alert_entities (entity_id)",
)


def index_path(home: Path) -> Path:
    """Where the index of the installation in ``home`` lives."""
    return home / INDEX_FILE


# -- the state of the evidence store an index was built from --------------------------------


def _tables(store: EvidenceStore) -> set[str]:
    return {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}


def source_state(store: EvidenceStore) -> dict[str, Any]:
    """A signature of everything the index copies: statements, links, clusters, alerts. Statements
    are only ever added (an added one moves the count or the latest ``last_seen``); clusters and
    alerts are replaced whole, so they are hashed."""
    tables = _tables(store)
    count, latest = store.fetchall("SELECT count(*), CAST(max(last_seen) AS VARCHAR) FROM statements")[0]
    state: dict[str, Any] = {"statements": [int(count), str(latest)]}
    if {"er_records", "er_links", "er_clusters"} <= tables:
        from chainlight.resolve import clusters

        state["links"] = [int(store.scalar("SELECT count(*) FROM er_links")), clusters.stored_threshold(store)]
        state["clusters"] = [
            int(x or 0) for x in store.fetchall(
                "SELECT count(*), bit_xor(hash(entity_id || ':' || canonical_id)) FROM er_clusters"
            )[0]
        ]
    if "alerts" in tables:
        state["alerts"] = [
            str(x) for x in store.fetchall(
                "SELECT count(*), bit_xor(hash(alert_id)), max(last_raised) FROM alerts"
            )[0]
        ]
    return state


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What an index file says about itself."""

    path: Path
    built_at: str
    state: dict[str, Any]
    records: int
    keys: int
    entities: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "built_at": self.built_at, "records": self.records, "keys": self.keys,
                "entities": self.entities, "seconds": round(self.seconds, 2), "state": self.state}


def read_info(path: Path) -> IndexInfo | None:
    """The index's own description, or None when there is none (or of another format)."""
    if not path.is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if meta.get("format") != str(FORMAT):
        return None
    return IndexInfo(
        path=path, built_at=meta["built_at"], state=orjson.loads(meta["state"]), records=int(meta["records"]),
        keys=int(meta["keys"]), entities=int(meta["entities"]), seconds=float(meta["seconds"]),
    )


def evidence_mtime_ns(path: Path) -> int:
    """When the evidence store (or its write-ahead log) was last written: a cheap hint, for the
    web app, that the index may be older than the data."""
    times = [0]
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):
            times.append(candidate.stat().st_mtime_ns)
    return max(times)


def is_current(store: EvidenceStore, path: Path) -> bool:
    """Whether the index at ``path`` was built from the evidence store as it is now."""
    info = read_info(path)
    return info is not None and info.state == source_state(store)


# -- building ---------------------------------------------------------------------------------


def _caption(schema_name: str, values: dict[str, list[str]], entity_id: str) -> str:
    schema = model.get(schema_name)
    for prop in schema.caption if schema is not None else ():
        found = values.get(prop)
        if found:
            return min(found, key=lambda v: (len(v), v))
    return entity_id


def _key_props(schema_name: str) -> frozenset[str]:
    schema = model.get(schema_name)
    return frozenset(schema.caption) if schema is not None else frozenset()


class _Keys:
    """The name index as it grows: one entry per key (normalised name), its trigrams as postings.

    Trigrams are cut with numpy a batch of keys at a time (all keys joined with a NUL between
    them, read as code points), not in Python one character at a time: the same codes as
    :func:`chainlight.search.text.gram_code` gives, a tenth of the time.
    """

    def __init__(self) -> None:
        self.key_record = array("i")
        self.key_name = array("h")  # which of its record's names (``records.names``) the key is
        self.key_size = array("h")
        self.post_gram: list[npt.NDArray[np.int64]] = []
        self.post_key: list[npt.NDArray[np.int32]] = []
        self.pending: list[str] = []

    def add(self, record: int, name: int, key: str) -> None:
        self.key_record.append(record)
        self.key_name.append(name)
        self.pending.append(text.match_form(key))

    def flush(self) -> None:
        if not self.pending:
            return
        first = len(self.key_record) - len(self.pending)
        joined = "\0".join(f" {form} " for form in self.pending)
        points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        self.pending = []
        codes = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
        gap = points == 0
        whole = ~(gap[:-2] | gap[1:-1] | gap[2:])  # windows inside one key
        keys = np.cumsum(gap)[:-2][whole] + first
        codes = codes[whole]
        order = np.lexsort((codes, keys))
        keys, codes = keys[order], codes[order]
        fresh = np.ones(len(keys), dtype=bool)
        fresh[1:] = (keys[1:] != keys[:-1]) | (codes[1:] != codes[:-1])
        keys, codes = keys[fresh], codes[fresh]
        sizes = np.bincount(keys - first, minlength=len(self.key_record) - first)
        self.key_size.extend(np.minimum(sizes, 32_767).astype(np.int16).tolist())
        self.post_gram.append(codes)
        self.post_key.append(keys.astype(np.int32))


class _Records:
    """Per-record arrays that search reads from memory (schema, dataset, entity, countries)."""

    def __init__(self) -> None:
        self.dataset = array("h")
        self.schema = array("h")
        self.entity = array("i")
        self.caption: list[str] = []
        self.country_ptr = array("i", [0])
        self.country = array("h")
        self.schemata: dict[str, int] = {}
        self.countries: dict[str, int] = {}
        self.last_entity: str | None = None

    def add(self, entity_id: str, dataset: int, schema: str, sort_key: str, countries: list[str]) -> None:
        if entity_id != self.last_entity:  # records come sorted by entity id: a new entity
            self.last_entity = entity_id
            self.entity.append(self.entity[-1] + 1 if len(self.entity) else 0)
        else:
            self.entity.append(self.entity[-1])
        self.dataset.append(dataset)
        self.schema.append(self.schemata.setdefault(schema, len(self.schemata)))
        self.caption.append(sort_key)
        for c in countries:
            self.country.append(self.countries.setdefault(c, len(self.countries)))
        self.country_ptr.append(len(self.country))


# Statement timestamps are cast, not formatted (strftime per statement doubled the query's time),
# and a record's statements are left in any order: the profile sorts what it shows.
RECORDS_SQL = """
    SELECT entity_id, dataset,
           coalesce(max(schema) FILTER (WHERE prop = 'id'), max(schema)) AS schema,
           CAST(min(first_seen) AS VARCHAR) AS first_seen,
           CAST(max(last_seen) AS VARCHAR) AS last_seen,
           CAST(to_json(list([id, prop, prop_type, value, lang, original_value, CAST(first_seen AS VARCHAR),
                              CAST(last_seen AS VARCHAR), origin, CAST(external AS VARCHAR)])
                        FILTER (WHERE prop <> 'id')) AS VARCHAR) AS statements
    FROM statements
    GROUP BY entity_id, dataset
    ORDER BY entity_id, dataset
"""

# Positions in one statement of a record's blob (RECORDS_SQL's list).
S_ID, S_PROP, S_TYPE, S_VALUE, S_LANG, S_ORIGINAL, S_FIRST, S_LAST, S_ORIGIN, S_EXTERNAL = range(10)


def _insert_records(
    store: EvidenceStore, con: sqlite3.Connection, datasets: dict[str, int], owner_only: dict[str, int],
    progress: Progress,
) -> tuple[_Keys, _Records, int]:
    total = int(store.scalar("SELECT count(*) FROM (SELECT DISTINCT entity_id, dataset FROM statements)"))
    advance = progress("reading records", total)
    keys = _Keys()
    recs = _Records()
    store.con.execute("SET enable_progress_bar = false")  # ours is on the console
    result = store.con.execute(RECORDS_SQL)
    number = 0
    normalised: dict[str, str] = {}  # names recur (common names, a caption among the names)

    def normal(name: str) -> str:
        found = normalised.get(name)
        if found is None:
            if len(normalised) > 1_000_000:
                normalised.clear()
            found = normalised[name] = text.normalise(name)
        return found

    while True:
        rows = result.fetchmany(BATCH)
        if not rows:
            break
        out = []
        refs = []
        for entity_id, dataset, schema, first_seen, last_seen, blob in rows:
            statements = orjson.loads(blob) if blob else []
            values: dict[str, list[str]] = {}
            names: list[str] = []
            countries: list[str] = []
            key_props = _key_props(schema)
            for s in statements:
                prop, kind, value = s[S_PROP], s[S_TYPE], s[S_VALUE]
                values.setdefault(prop, []).append(value)
                if kind == "country":
                    if value not in countries:
                        countries.append(value)
                elif kind == "entity":
                    refs.append((value, number, prop))
                if (kind in ("name", "identifier") and prop not in NOT_OWN_NAMES) or prop in key_props:
                    names.append(value)
            caption = _caption(schema, values, entity_id)
            shown = list(dict.fromkeys(n for n in [caption, *names] if n != entity_id))[:MAX_KEYS]
            seen: set[str] = set()
            for position, name in enumerate(shown):
                key = normal(name)
                if key and key not in seen:
                    seen.add(key)
                    keys.add(number, position, key)
            ds = owner_only[dataset] if schema in OWNER_ONLY_SCHEMATA else datasets[dataset]
            recs.add(entity_id, ds, schema, normal(caption) or caption.lower(), countries)
            out.append((
                number, entity_id, ds, schema, caption, orjson.dumps(shown).decode(), orjson.dumps(countries).decode(),
                first_seen, last_seen, blob or "[]",
            ))
            number += 1
        con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", out)
        con.executemany("INSERT INTO refs VALUES (?, ?, ?)", refs)
        keys.flush()
        advance(len(rows))
    return keys, recs, number


def _put_array(con: sqlite3.Connection, name: str, values: npt.NDArray[Any]) -> None:
    data = np.ascontiguousarray(values)
    con.execute("INSERT INTO arrays VALUES (?, ?, ?)", [name, data.dtype.str, data.tobytes()])


def _insert_postings(con: sqlite3.Connection, keys: _Keys, recs: _Records, progress: Progress) -> None:
    grams = np.concatenate(keys.post_gram) if keys.post_gram else np.zeros(0, dtype=np.int64)
    key_ids = np.concatenate(keys.post_key) if keys.post_key else np.zeros(0, dtype=np.int32)
    key_record = np.frombuffer(keys.key_record, dtype=np.int32)
    record_dataset = np.frombuffer(recs.dataset, dtype=np.int16)
    dataset = record_dataset[key_record[key_ids]] if len(key_ids) else np.zeros(0, dtype=np.int16)
    order = np.lexsort((key_ids, dataset, grams))
    grams, dataset, key_ids = grams[order], dataset[order], key_ids[order]
    if len(grams):
        change = np.flatnonzero((grams[1:] != grams[:-1]) | (dataset[1:] != dataset[:-1])) + 1
    else:
        change = np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], change]) if len(grams) else change
    ends = np.concatenate([change, [len(grams)]]) if len(grams) else change
    advance = progress("writing the name index", len(starts))
    rows = []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        rows.append((int(grams[lo]), int(dataset[lo]), hi - lo, key_ids[lo:hi].tobytes()))
        if len(rows) >= BATCH:
            con.executemany("INSERT INTO postings VALUES (?, ?, ?, ?)", rows)
            advance(len(rows))
            rows = []
    con.executemany("INSERT INTO postings VALUES (?, ?, ?, ?)", rows)
    advance(len(rows))
    _put_array(con, "key_record", key_record)
    _put_array(con, "key_name", np.frombuffer(keys.key_name, dtype=np.int16))
    _put_array(con, "key_size", np.frombuffer(keys.key_size, dtype=np.int16))


def _insert_arrays(con: sqlite3.Connection, recs: _Records) -> None:
    _put_array(con, "record_dataset", np.frombuffer(recs.dataset, dtype=np.int16))
    _put_array(con, "record_schema", np.frombuffer(recs.schema, dtype=np.int16))
    _put_array(con, "record_entity", np.frombuffer(recs.entity, dtype=np.int32))
    _put_array(con, "record_country_ptr", np.frombuffer(recs.country_ptr, dtype=np.int32))
    _put_array(con, "record_country", np.frombuffer(recs.country, dtype=np.int16))
    # Records in the order of their normalised captions (then entity id, as records are numbered):
    # browsing without a query lists entities in this order.
    by_caption = np.array(sorted(range(len(recs.caption)), key=recs.caption.__getitem__), dtype=np.int32)
    _put_array(con, "by_caption", by_caption)
    rank = np.empty(len(by_caption), dtype=np.int32)
    rank[by_caption] = np.arange(len(by_caption), dtype=np.int32)
    _put_array(con, "caption_rank", rank)
    _put_meta(con, "schemata", orjson.dumps(list(recs.schemata)).decode())
    _put_meta(con, "countries", orjson.dumps(list(recs.countries)).decode())


def _put_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def _insert_resolution(store: EvidenceStore, con: sqlite3.Connection, progress: Progress) -> None:
    """Links at or above the threshold, their components, and what rebuilding a view needs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from chainlight.resolve import clusters
    from chainlight.resolve.groups import GROUPS, UNIQUE_ID_GROUPS

    tables = _tables(store)
    if not {"er_records", "er_links", "er_clusters"} <= tables:
        return
    advance = progress("copying resolution", 4)
    threshold = clusters.stored_threshold(store)
    _put_meta(con, "threshold", repr(threshold))
    links = store.fetchall(
        """SELECT a.entity_id, b.entity_id, a.dataset, b.dataset, max(k.match_probability)
        FROM er_links k JOIN er_records a ON a.record_id = k.left_id JOIN er_records b ON b.record_id = k.right_id
        WHERE k.match_probability >= ? GROUP BY 1, 2, 3, 4""",
        [threshold],
    )
    ids: dict[str, int] = {}
    for a, b, *_ in links:
        ids.setdefault(a, len(ids))
        ids.setdefault(b, len(ids))
    component: dict[str, int] = {}
    if links:
        rows = np.fromiter((ids[a] for a, *_ in links), dtype=np.int64, count=len(links))
        cols = np.fromiter((ids[b] for _, b, *_ in links), dtype=np.int64, count=len(links))
        matrix = coo_matrix((np.ones(len(links), dtype=np.int8), (rows, cols)), shape=(len(ids), len(ids)))
        _, labels = connected_components(matrix, directed=False)
        component = {e: int(labels[i]) for e, i in ids.items()}
    con.executemany("INSERT INTO er_component VALUES (?, ?)", sorted(component.items()))
    con.executemany(
        "INSERT INTO er_edges VALUES (?, ?, ?, ?, ?, ?)",
        [(component[a], a, b, da, db, float(p)) for a, b, da, db, p in links],
    )
    advance(1)
    groups = store.fetchall("SELECT DISTINCT entity_id, dataset, grp FROM er_records")
    con.executemany("INSERT INTO er_groups VALUES (?, ?, ?)", groups)
    con.executemany(
        "INSERT INTO er_members VALUES (?, ?, ?, ?)",
        [(component[e], e, d, g) for e, d, g in groups if e in component],
    )
    advance(1)
    sources = [
        f"SELECT record_id, unnest(unique_ids) AS u FROM {GROUPS[g].table}"
        for g in UNIQUE_ID_GROUPS
        if GROUPS[g].table in tables
    ]
    if sources:
        uids = store.fetchall(
            f"""WITH ends AS (
                SELECT k.left_id, k.right_id FROM er_links k WHERE k.match_probability >= ?),
            linked AS (SELECT left_id AS record_id FROM ends UNION SELECT right_id FROM ends)
            SELECT DISTINCT r.entity_id, r.dataset, f.u FROM ({" UNION ALL ".join(sources)}) f
            SEMI JOIN linked USING (record_id) JOIN er_records r USING (record_id)""",
            [threshold],
        )
        con.executemany("INSERT INTO er_uids VALUES (?, ?, ?)", uids)
    advance(1)
    con.executemany(
        "INSERT INTO er_canonical VALUES (?, ?, ?)",
        store.fetchall(
            "SELECT entity_id, canonical_id, count(*) OVER (PARTITION BY canonical_id) FROM er_clusters "
            "ORDER BY entity_id"
        ),
    )
    advance(1)


def _insert_alerts(store: EvidenceStore, con: sqlite3.Connection, progress: Progress) -> None:
    if "alerts" not in _tables(store):
        return
    _put_meta(con, "alerts", "1")
    rows = store.fetchall(
        "SELECT alert_id, rule_id, title, category, severity, score, subject, entities, datasets, reason, "
        "CAST(first_raised AS VARCHAR), CAST(last_raised AS VARCHAR) FROM alerts"
    )
    advance = progress("copying alerts", len(rows))
    con.executemany(
        "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], orjson.dumps(sorted(r[8])).decode(), r[9], r[10], r[11])
         for r in rows],
    )
    named = {(e, r[0]) for r in rows for e in [r[6], *r[7]] if e}
    con.executemany("INSERT INTO alert_entities VALUES (?, ?)", sorted(named))
    advance(len(rows))


@contextlib.contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A fresh file beside ``path``, removed again unless it was moved into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
        leftover.unlink(missing_ok=True)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def build(store: EvidenceStore, path: Path, *, progress: Progress | None = None) -> IndexInfo:
    """Build the index of ``store`` at ``path``, replacing any index there atomically."""
    progress = progress or _no_progress
    started = time.perf_counter()
    state = source_state(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _temporary(path) as tmp:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Nothing needs a journal or a sync while the file is private: it is synced once at
            # the end, before it replaces the old one.
            con.execute("PRAGMA journal_mode = OFF")
            con.execute("PRAGMA synchronous = OFF")
            con.execute("PRAGMA cache_size = -262144")
            con.execute("BEGIN")
            for ddl in DDL:
                con.execute(ddl)
            names = [r[0] for r in store.fetchall("SELECT DISTINCT dataset FROM statements ORDER BY 1")]
            datasets = {name: i for i, name in enumerate(names)}
            owner_only = {name: len(names) + i for i, name in enumerate(names)}
            con.executemany("INSERT INTO datasets VALUES (?, ?, 0)", [(i, n) for n, i in datasets.items()])
            con.executemany("INSERT INTO datasets VALUES (?, ?, 1)", [(i, n) for n, i in owner_only.items()])
            keys, recs, records = _insert_records(store, con, datasets, owner_only, progress)
            _insert_postings(con, keys, recs, progress)
            _insert_arrays(con, recs)
            _insert_resolution(store, con, progress)
            _insert_alerts(store, con, progress)
            advance = progress("indexing", len(INDEXES))
            for ddl in INDEXES:
                con.execute(ddl)
                advance(1)
            seconds = time.perf_counter() - started
            built_at = datetime.now(UTC).isoformat(timespec="seconds")
            entities = int(recs.entity[-1]) + 1 if len(recs.entity) else 0
            for key, value in {
                "format": str(FORMAT), "build_id": uuid.uuid4().hex, "built_at": built_at,
                "evidence_mtime_ns": str(evidence_mtime_ns(store.path)), "state": orjson.dumps(state).decode(),
                "records": str(records), "keys": str(len(keys.key_record)), "entities": str(entities),
                "seconds": f"{seconds:.3f}",
            }.items():
                _put_meta(con, key, value)
            con.execute("COMMIT")
            con.execute("ANALYZE")
        finally:
            con.close()
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    info = read_info(path)
    if info is None:
        raise IndexBuildError(f"the index at {path} could not be read back")
    return info
