"""The access log: who read or changed what, append-only and hash-chained.

Each entry carries the hash of the entry before it, and its own hash covers its sequence
number, time, fields and that previous hash. Editing, inserting or deleting any entry breaks
the chain from that point on, which :func:`verify` reports. (Removing entries from the end
leaves a shorter valid chain; :func:`verify` prints the head hash so that an operator can
keep it elsewhere, e.g. in a ticket or a daily e-mail, and compare.)

Entries are appended with optimistic concurrency, not a lock: a writer reads the head,
computes the next entries and inserts them under the next sequence numbers, which are the
primary key; when another process got there first the insert fails and the writer tries again
on the new head. That works alike on SQLite and PostgreSQL and never forks the chain. The
database itself refuses UPDATE and DELETE on the table (triggers, migration 0004).

The web app logs every read, so entries arrive at the rate of requests. :func:`record` uses
group commit: a request hands its entry to the process's writer thread and waits until the
transaction holding it has committed; the writer puts every entry waiting at that moment into
one transaction. A request still never answers before its entry is stored, but a hundred
concurrent requests cost one commit, not a hundred.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError

from chainlight.store.operational import AccessLogRow, OperationalError, OperationalStore

GENESIS = "0" * 64
ATTEMPTS = 50
BATCH = 500  # entries per transaction at most
WAIT_SECONDS = 60.0  # a request gives up waiting for its entry after this long (and fails)
IDLE_SECONDS = 10.0  # an idle writer checks this often whether its store still exists


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """What happened, before it is numbered, timed and chained."""

    user: str
    organisation: str
    action: str
    target: str
    marking: str | None = None
    purpose: str | None = None
    detail: str | None = None
    client: str | None = None


def entry_hash(prev_hash: str, seq: int, at: str, entry: AccessEntry) -> str:
    """The hash of one entry: SHA-256 over the previous hash and the entry's fields as JSON."""
    fields = [seq, at, entry.user, entry.organisation, entry.action, entry.target, entry.marking,
              entry.purpose, entry.detail, entry.client]
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _row_entry(row: AccessLogRow) -> AccessEntry:
    return AccessEntry(row.user, row.organisation, row.action, row.target, row.marking, row.purpose,
                       row.detail, row.client)


def append(store: OperationalStore, entry: AccessEntry) -> AccessLogRow:
    """Add ``entry`` at the head of the chain, in a transaction of its own, and return the row."""
    return append_many(store, [entry])[0]


def append_many(store: OperationalStore, entries: Sequence[AccessEntry]) -> list[AccessLogRow]:
    """Add ``entries``, in order, at the head of the chain in one transaction."""
    for _ in range(ATTEMPTS):
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        try:
            with store.session() as s:
                head = s.execute(
                    select(AccessLogRow.seq, AccessLogRow.hash).order_by(AccessLogRow.seq.desc()).limit(1)
                ).first()
                seq, prev = (head[0], head[1]) if head else (0, GENESIS)
                rows = []
                for entry in entries:
                    seq += 1
                    row = AccessLogRow(
                        seq=seq, at=at, user=entry.user, organisation=entry.organisation, action=entry.action,
                        target=entry.target, marking=entry.marking, purpose=entry.purpose, detail=entry.detail,
                        client=entry.client, prev_hash=prev, hash=entry_hash(prev, seq, at, entry),
                    )
                    prev = row.hash
                    rows.append(row)
                s.add_all(rows)
            return rows
        except (IntegrityError, SQLAlchemyOperationalError):
            continue  # another writer took these sequence numbers (or held the file): read the new head
    raise OperationalError("could not append to the access log: too much contention")


@dataclass(eq=False, slots=True)
class _Pending:
    entry: AccessEntry
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class _GroupWriter:
    """The one thread per store and process that commits waiting entries together."""

    def __init__(self, store: OperationalStore) -> None:
        self._store = weakref.ref(store)
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="access-log-writer", daemon=True)
        self._thread.start()

    def submit(self, entry: AccessEntry) -> None:
        pending = _Pending(entry)
        self._queue.put(pending)
        if not pending.done.wait(WAIT_SECONDS):
            raise OperationalError("the access log did not store the entry in time")
        if pending.error is not None:
            raise OperationalError(f"the access log could not store the entry: {pending.error}") from pending.error

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                if self._store() is None:  # the store is gone: so is this thread's work
                    return
                continue
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            store = self._store()
            try:
                if store is None:
                    raise OperationalError("the operational store was closed")
                append_many(store, [p.entry for p in batch])
            except BaseException as exc:  # every waiter learns of it; the thread keeps serving
                for pending in batch:
                    pending.error = exc
            for pending in batch:
                pending.done.set()


_writers: weakref.WeakKeyDictionary[OperationalStore, _GroupWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def record(store: OperationalStore, entry: AccessEntry) -> None:
    """Store ``entry`` (group commit with other threads' entries) and return once it is committed."""
    with _writers_lock:
        writer = _writers.get(store)
        if writer is None:
            writer = _writers[store] = _GroupWriter(store)
    writer.submit(entry)


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking the whole chain."""

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def rows(store: OperationalStore, *, batch: int = 5000) -> Iterator[AccessLogRow]:
    """Every entry in sequence order, read a batch at a time."""
    after = 0
    while True:
        with store.session() as s:
            page = list(s.scalars(
                select(AccessLogRow).where(AccessLogRow.seq > after).order_by(AccessLogRow.seq).limit(batch)
            ).all())
        if not page:
            return
        yield from page
        after = page[-1].seq


def verify(store: OperationalStore, *, limit_problems: int = 20) -> Verification:
    """Recompute the chain; list where it breaks (at most ``limit_problems`` places)."""
    problems: list[str] = []
    prev, expected, count = GENESIS, 1, 0
    for row in rows(store):
        count += 1
        if row.seq != expected:
            problems.append(f"entry {expected}: missing (the next entry is {row.seq}); entries were deleted")
        if row.prev_hash != prev:
            problems.append(f"entry {row.seq}: does not follow the entry before it (previous hash differs)")
        if entry_hash(row.prev_hash, row.seq, row.at, _row_entry(row)) != row.hash:
            problems.append(f"entry {row.seq}: its content does not match its hash; it was edited")
        prev, expected = row.hash, row.seq + 1
        if len(problems) >= limit_problems:
            problems.append("more problems not listed")
            break
    return Verification(entries=count, head=prev, problems=problems)


def recent(
    store: OperationalStore, *, organisation: str | None = None, limit: int = 100, before: int | None = None,
    action: str | None = None, user: str | None = None,
) -> list[AccessLogRow]:
    """The latest entries, newest first; ``organisation`` limits them to what that organisation's users did."""
    query = select(AccessLogRow).order_by(AccessLogRow.seq.desc()).limit(limit)
    if organisation is not None:
        query = query.where(AccessLogRow.organisation == organisation)
    if before is not None:
        query = query.where(AccessLogRow.seq < before)
    if action:
        query = query.where(AccessLogRow.action == action)
    if user:
        query = query.where(AccessLogRow.user == user)
    with store.session() as s:
        return list(s.scalars(query).all())
