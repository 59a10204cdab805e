"""The access log is append-only and hash-chained: any edit, insertion or deletion shows."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.access_log import GENESIS, AccessEntry
from chainlight.store.operational import OperationalError, OperationalStore


def fill(store: OperationalStore, n: int) -> None:
    for i in range(n):
        access_log.append(store, AccessEntry(f"u{i}@x.example", "customs", "entity.read", f"e-{i}",
                                             marking="RED", purpose=f"case {i}"))


@pytest.fixture
def log(settings: Settings) -> OperationalStore:
    store = OperationalStore(settings.database_url)
    store.migrate()
    return store


def db_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def test_an_untouched_chain_verifies(log: OperationalStore) -> None:
    assert access_log.verify(log).head == GENESIS
    fill(log, 5)
    result = access_log.verify(log)
    assert result.ok and result.entries == 5
    rows = list(access_log.rows(log))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS and all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert result.head == rows[-1].hash


def test_the_database_refuses_updates_and_deletes(log: OperationalStore) -> None:
    fill(log, 2)
    for statement in ("UPDATE access_log SET target = 'x' WHERE seq = 1", "DELETE FROM access_log WHERE seq = 2"):
        with pytest.raises(Exception, match="append-only"), log.engine.begin() as connection:
            connection.execute(text(statement))
    assert access_log.verify(log).ok


def test_verify_finds_edits_deletions_and_insertions_made_behind_its_back(
    log: OperationalStore, settings: Settings
) -> None:
    fill(log, 6)
    raw = sqlite3.connect(db_file(settings))
    raw.execute("DROP TRIGGER access_log_no_update")
    raw.execute("DROP TRIGGER access_log_no_delete")
    raw.execute("UPDATE access_log SET purpose = 'nothing to see' WHERE seq = 2")
    raw.execute("DELETE FROM access_log WHERE seq = 4")
    raw.commit()
    problems = access_log.verify(log).problems
    assert any(p.startswith("entry 2:") and "edited" in p for p in problems)
    assert any(p.startswith("entry 4:") and "deleted" in p for p in problems)
    assert any(p.startswith("entry 5:") and "does not follow" in p for p in problems)
    raw.close()


def test_a_rehashed_forgery_still_breaks_the_next_link(log: OperationalStore, settings: Settings) -> None:
    fill(log, 3)
    first = next(access_log.rows(log))
    forged = AccessEntry(first.user, first.organisation, first.action, "someone-else", first.marking,
                         first.purpose, first.detail, first.client)
    new_hash = access_log.entry_hash(first.prev_hash, 1, first.at, forged)
    raw = sqlite3.connect(db_file(settings))
    raw.execute("DROP TRIGGER access_log_no_update")
    raw.execute("UPDATE access_log SET target = 'someone-else', hash = ? WHERE seq = 1", (new_hash,))
    raw.commit()
    raw.close()
    assert access_log.verify(log).problems == ["entry 2: does not follow the entry before it (previous hash differs)"]


def test_concurrent_writers_never_fork_the_chain(log: OperationalStore) -> None:
    def write(worker: int) -> None:
        for i in range(15):
            access_log.append(log, AccessEntry(f"w{worker}", "org", "search", f"q{i}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = access_log.verify(log)
    assert result.ok and result.entries == 60


def test_recent_entries_are_filtered_by_organisation(log: OperationalStore) -> None:
    fill(log, 3)
    access_log.append(log, AccessEntry("n@ngo.example", "ngo", "search", "pangolin"))
    assert [e.target for e in access_log.recent(log, organisation="ngo")] == ["pangolin"]
    assert [e.seq for e in access_log.recent(log, organisation="customs", limit=2)] == [3, 2]
    assert [e.seq for e in access_log.recent(log, before=3)] == [2, 1]


def test_group_commit_stores_every_entry_before_returning(log: OperationalStore) -> None:
    def read(worker: int) -> None:
        for i in range(25):
            access_log.record(log, AccessEntry(f"w{worker}", "org", "entity.read", f"e-{worker}-{i}"))

    threads = [threading.Thread(target=read, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = access_log.verify(log)
    assert result.ok and result.entries == 200
    stamps = {row.at for row in access_log.rows(log)}
    assert len(stamps) < 200  # entries that waited together were committed together
    access_log.record(log, AccessEntry("late", "org", "search", "after the rush"))
    assert access_log.recent(log, limit=1)[0].target == "after the rush"


def test_a_failed_commit_is_reported_to_the_waiting_request(log: OperationalStore) -> None:
    with log.engine.begin() as connection:
        connection.execute(text("DROP TABLE access_log"))
    with pytest.raises(OperationalError, match="could not store the entry"):
        access_log.record(log, AccessEntry("u", "org", "search", "lost?"))
