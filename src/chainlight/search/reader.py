"""Reading the serving index from many threads (and processes) at once.

Each thread keeps its own read-only SQLite connection (``mode=ro``, memory-mapped), so fifty
concurrent requests do not queue on one lock; SQLite readers never block each other. The
per-record and per-key arrays that search scans are read once per process into numpy and
shared by every thread.

``chainlight index`` replaces the file with ``os.replace``. A connection already open keeps
reading the file it opened (POSIX keeps the old inode alive), so a request in flight finishes
on the old index; the next request sees a new inode, loads the new arrays and reopens its
connection. Every snapshot checks that its connection and its arrays come from the same build.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from chainlight.search.build import FORMAT

#: Bytes of the index each connection may memory-map (the OS shares the pages between them).
MMAP_BYTES = 8 << 30


class PostingCache:
    """The posting lists a process read last, up to a number of bytes: a common trigram's list
    (tens of thousands of keys) is wanted by query after query, and copying it out of SQLite
    again each time costs more than the search itself. Lists are keyed by (trigram, dataset)
    and belong to one build (each :class:`Loaded` has its own cache)."""

    def __init__(self, limit: int = 128 << 20) -> None:
        self.limit = limit
        self.size = 0
        self._lists: OrderedDict[tuple[int, int], npt.NDArray[np.int32]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, gram: int, dataset: int) -> npt.NDArray[np.int32] | None:
        with self._lock:
            found = self._lists.get((gram, dataset))
            if found is not None:
                self._lists.move_to_end((gram, dataset))
            return found

    def put(self, gram: int, dataset: int, keys: npt.NDArray[np.int32]) -> None:
        if keys.nbytes > self.limit // 8:
            return
        with self._lock:
            if (gram, dataset) in self._lists:
                return
            self._lists[(gram, dataset)] = keys
            self.size += keys.nbytes
            while self.size > self.limit:
                _, old = self._lists.popitem(last=False)
                self.size -= old.nbytes


class IndexMissing(LookupError):
    """There is no index yet (or one of another format): run ``chainlight index``."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One build of the index, as this process holds it in memory."""

    identity: tuple[int, int, int]
    build_id: str
    built_at: str
    evidence_mtime_ns: int
    #: Dataset name -> the number of its records that everyone who may see the dataset reads.
    datasets: dict[str, int]
    #: Dataset name -> the number of its owner-only records (read by the owner organisation alone).
    owner_only: dict[str, int]
    schemata: tuple[str, ...]
    countries: tuple[str, ...]
    threshold: float | None
    has_alerts: bool
    key_record: npt.NDArray[np.int32]
    key_name: npt.NDArray[np.int16]
    key_size: npt.NDArray[np.int16]
    record_dataset: npt.NDArray[np.int16]
    record_schema: npt.NDArray[np.int16]
    record_entity: npt.NDArray[np.int32]
    record_country_ptr: npt.NDArray[np.int32]
    record_country: npt.NDArray[np.int16]
    by_caption: npt.NDArray[np.int32]
    caption_rank: npt.NDArray[np.int32]
    postings: PostingCache

    @property
    def records(self) -> int:
        return len(self.record_dataset)

    @property
    def has_resolution(self) -> bool:
        return self.threshold is not None

    @property
    def dataset_numbers(self) -> int:
        """How many dataset numbers there are (each dataset has two: see :meth:`numbers`)."""
        return len(self.datasets) + len(self.owner_only)

    def numbers(self, visible: Iterable[str], owned: Collection[str]) -> dict[int, str]:
        """The dataset numbers a reader reads, with their dataset names: the shared records of
        every visible dataset, and the owner-only records (incident reports,
        :data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`) of the visible datasets it owns."""
        out: dict[int, str] = {}
        for name in visible:
            number = self.datasets.get(name)
            if number is None:
                continue
            out[number] = name
            if name in owned and name in self.owner_only:
                out[self.owner_only[name]] = name
        return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one request reads: the arrays and a connection to the same build."""

    index: Loaded
    con: sqlite3.Connection


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=True)
    con.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    con.execute("PRAGMA query_only = ON")
    return con


def _load(con: sqlite3.Connection, identity: tuple[int, int, int]) -> Loaded:
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != str(FORMAT):
        raise IndexMissing("the search index is of another version: run 'chainlight index'")
    rows = con.execute("SELECT id, name, owner_only FROM datasets").fetchall()
    arrays: dict[str, Any] = {
        name: np.frombuffer(data, dtype=np.dtype(dtype))
        for name, dtype, data in con.execute("SELECT name, dtype, data FROM arrays")
    }
    return Loaded(
        identity=identity,
        build_id=meta.get("build_id", ""),
        built_at=meta["built_at"],
        evidence_mtime_ns=int(meta.get("evidence_mtime_ns", "0")),
        datasets={name: i for i, name, only in rows if not only},
        owner_only={name: i for i, name, only in rows if only},
        schemata=tuple(orjson.loads(meta["schemata"])),
        countries=tuple(orjson.loads(meta["countries"])),
        threshold=float(meta["threshold"]) if "threshold" in meta else None,
        has_alerts="alerts" in meta,
        postings=PostingCache(),
        **arrays,
    )


class SearchIndex:
    """The index file of one installation, opened lazily and followed across rebuilds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._local = threading.local()

    def exists(self) -> bool:
        return self.path.is_file()

    def _current(self, identity: tuple[int, int, int]) -> Loaded:
        with self._lock:
            loaded = self._loaded
            if loaded is not None and loaded.identity == identity:
                return loaded
            con = _connect(self.path)
            try:
                loaded = _load(con, identity)
            finally:
                con.close()
            self._loaded = loaded
            return loaded

    def snapshot(self) -> Snapshot:
        """The index as it is now, with this thread's connection to it.

        Raises :class:`IndexMissing` before the first ``chainlight index``.
        """
        for _ in range(3):
            identity = _identity(self.path)
            if identity is None:
                raise IndexMissing("the search index has not been built yet: run 'chainlight index'")
            loaded = self._loaded
            if loaded is None or loaded.identity != identity:
                try:
                    loaded = self._current(identity)
                except sqlite3.Error as exc:
                    raise IndexMissing(f"the search index cannot be read: {exc}") from exc
            held: tuple[str, sqlite3.Connection] | None = getattr(self._local, "held", None)
            if held is not None and held[0] == loaded.build_id:
                return Snapshot(loaded, held[1])
            if held is not None:
                held[1].close()
                self._local.held = None
            con = _connect(self.path)
            found = con.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
            if found is not None and found[0] == loaded.build_id:
                self._local.held = (loaded.build_id, con)
                return Snapshot(loaded, con)
            con.close()  # replaced between the stat and the open: look again
        raise IndexMissing("the search index is being replaced too often to be read; try again")
