"""Featurising in worker processes (as big runs do) gives exactly what in-process featurising
gives, and never cuts a record's rows in two."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.resolve import records
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

FEATURES = (
    "SELECT r.entity_id, r.dataset, f.* EXCLUDE (record_id) "
    "FROM er_features_{0} f JOIN er_records r USING (record_id)"
)


def features(settings: Settings, group: str) -> list[tuple[object, ...]]:
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return sorted(store.fetchall(FEATURES.format(group)), key=repr)


def test_workers_featurise_exactly_as_the_parent_does(
    pool: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    copy = Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")
    monkeypatch.setattr(records, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(records, "WORKERS", 2)
    pipeline.resolve(copy, full=True)
    for group in ("person", "organisation"):
        serial, parallel = features(pool, group), features(copy, group)
        assert len(parallel) > 150
        assert parallel == serial


def test_chunks_never_cut_a_record() -> None:
    import pyarrow as pa

    ids = pa.chunked_array([[1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 5]])
    chunks = records._chunks(ids, 4)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(ids)
    values = ids.to_pylist()
    for (_, stop), (start, _) in pairwise(chunks):
        assert stop == start and values[start] != values[start - 1]
