"""The search index: what it copies, that it replaces itself atomically, that it knows when it is
stale, that readers follow a rebuild, and that a reader's cluster rebuilt from it is exactly the
one ``chainlight.resolve.service`` computes for the same datasets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from chainlight import pipeline
from chainlight.resolve import clusters, service
from chainlight.search import build, profile, text
from chainlight.search.reader import IndexMissing, SearchIndex
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.search import world


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = world.load(tmp_path_factory.mktemp("pool"))
    world.build_index(settings)
    return settings


@pytest.fixture
def fresh(tmp_path: Path) -> Settings:
    """A pool of its own, for tests that change the evidence store or the index."""
    settings = world.load(tmp_path)
    world.build_index(settings)
    return settings


def test_index_holds_one_record_per_entity_and_dataset(pool: Settings) -> None:
    path = build.index_path(pool.home)
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT r.entity_id, d.name, r.schema, r.caption FROM records r JOIN datasets d ON d.id = r.dataset"
        ).fetchall()
    expected = {(e["id"], name) for name, (_, _, _, lines) in world.FILES.items()
                for e in map(__import__("json").loads, lines)}
    assert {(e, d) for e, d, _, _ in rows} == expected
    captions = {(e, d): c for e, d, _, c in rows}
    assert captions[("c-sunrise", "ke-customs")] == "Sunrise Trading Co., Ltd"
    assert captions[("c-sunrise", "tz-fiu")] == "Sunrise TZSECRETWORD Holdings"
    assert captions[("own-1", "ke-customs")] == "own-1"  # an Ownership has no caption property
    info = build.read_info(path)
    assert info is not None
    assert info.records == len(expected)
    assert info.entities == len({e for e, _ in expected})


def test_refs_name_the_records_that_point_at_an_entity(pool: Settings) -> None:
    with sqlite3.connect(build.index_path(pool.home)) as con:
        refs = con.execute(
            "SELECT f.target, r.entity_id, d.name, f.prop FROM refs f JOIN records r ON r.id = f.record "
            "JOIN datasets d ON d.id = r.dataset ORDER BY 1, 2, 4"
        ).fetchall()
    assert ("c-sunrise", "own-1", "ke-customs", "asset") in refs
    assert ("c-sunrise", "pay-1", "tz-fiu", "beneficiary") in refs
    assert ("c-hidden", "s-1", "ke-customs", "consignee") in refs
    assert ("p-muhammed", "own-1", "ke-customs", "owner") in refs


def test_a_current_index_is_not_rebuilt_and_force_rebuilds_it(pool: Settings) -> None:
    info, built = pipeline.build_index(pool)
    assert not built
    again, built = pipeline.build_index(pool, force=True)
    assert built
    assert again.built_at >= info.built_at


def test_an_ingest_makes_the_index_stale(fresh: Settings, tmp_path: Path) -> None:
    path = build.index_path(fresh.home)
    with EvidenceStore(fresh.evidence_path, read_only=True) as store:
        assert build.is_current(store, path)
    extra = tmp_path / "more.jsonl"
    extra.write_text(world.entity("p-new", "Person", name="Neema Barasa") + "\n", encoding="utf-8")
    pipeline.ingest(fresh, "ftm", [extra], dataset="ke-customs", marking=world.FILES["ke-customs"][1],
                    owner="customs-ke", rebuild=False)
    with EvidenceStore(fresh.evidence_path, read_only=True) as store:
        assert not build.is_current(store, path)
    _, built = pipeline.build_index(fresh)
    assert built
    with EvidenceStore(fresh.evidence_path, read_only=True) as store:
        assert build.is_current(store, path)


def test_new_clusters_and_new_alerts_make_the_index_stale(fresh: Settings) -> None:
    path = build.index_path(fresh.home)
    with EvidenceStore(fresh.evidence_path) as store:
        world.write_links(store, world.LINKS[:1])
    with EvidenceStore(fresh.evidence_path, read_only=True) as store:
        assert not build.is_current(store, path)
    pipeline.build_index(fresh)
    with EvidenceStore(fresh.evidence_path) as store:
        world.write_alerts(store, world.ALERTS[:1])
    with EvidenceStore(fresh.evidence_path, read_only=True) as store:
        assert not build.is_current(store, path)


def test_a_failed_build_leaves_the_old_index_whole_and_no_temporary_file(
    fresh: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = build.index_path(fresh.home)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build, "_insert_alerts", crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.build_index(fresh, force=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in fresh.home.iterdir() if "search" in p.name) == [path.name]


def test_readers_follow_a_rebuild_and_keep_their_snapshot_meanwhile(fresh: Settings, tmp_path: Path) -> None:
    index = SearchIndex(build.index_path(fresh.home))
    old = index.snapshot()
    extra = tmp_path / "more.jsonl"
    extra.write_text(world.entity("p-new", "Person", name="Neema Barasa") + "\n", encoding="utf-8")
    pipeline.ingest(fresh, "ftm", [extra], dataset="ke-customs", marking=world.FILES["ke-customs"][1],
                    owner="customs-ke", rebuild=False)
    pipeline.build_index(fresh)
    # The snapshot taken before still reads the file it opened, consistently with its arrays.
    assert old.con.execute("SELECT count(*) FROM records WHERE entity_id = 'p-new'").fetchone() == (0,)
    new = index.snapshot()
    assert new.index.build_id != old.index.build_id
    assert new.con.execute("SELECT count(*) FROM records WHERE entity_id = 'p-new'").fetchone() == (1,)
    assert new.index.records == old.index.records + 1


def test_no_index_and_an_index_of_another_format_read_as_missing(fresh: Settings) -> None:
    path = build.index_path(fresh.home)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    with pytest.raises(IndexMissing):
        SearchIndex(path).snapshot()
    assert build.read_info(path) is None
    path.unlink()
    with pytest.raises(IndexMissing):
        SearchIndex(path).snapshot()


def _view_ids(settings: Settings, organisation: str, verdicts: list[clusters.Verdict]) -> dict[str, str]:
    visible = pipeline.visible_datasets(settings, organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return service.canonical_ids(store, verdicts, visible)


@pytest.mark.parametrize("organisation", sorted(world.VISIBLE))
def test_a_readers_cluster_is_the_one_resolution_gives_for_the_same_datasets(
    pool: Settings, organisation: str
) -> None:
    snap = SearchIndex(build.index_path(pool.home)).snapshot()
    expected = _view_ids(pool, organisation, [])
    visible = world.VISIBLE[organisation]
    for entity_id, canonical in expected.items():
        members, found = profile.view_cluster(snap.con, snap.index, entity_id, visible, [])
        assert found == canonical
        assert members == sorted(e for e, c in expected.items() if c == canonical)


def test_clusters_that_only_hidden_evidence_joins_stay_apart(pool: Settings) -> None:
    snap = SearchIndex(build.index_path(pool.home)).snapshot()
    # The two Pacific Bridge companies are linked only through the FIU's record.
    for organisation in ("customs-ke", "ngo-x", "outsider"):
        members, canonical = profile.view_cluster(
            snap.con, snap.index, "c-pacific-h", world.VISIBLE[organisation], []
        )
        assert (members, canonical) == (["c-pacific-h"], "c-pacific-h")
    members, canonical = profile.view_cluster(snap.con, snap.index, "c-pacific-h", world.VISIBLE["fiu-tz"], [])
    assert members == ["c-pacific-h", "c-pacific-i", "fiu-pacific"]
    assert canonical.startswith("nk-")


def test_judgements_apply_at_once_without_rebuilding_the_index(pool: Settings) -> None:
    snap = SearchIndex(build.index_path(pool.home)).snapshot()
    visible = world.VISIBLE["customs-ke"]
    apart = [clusters.Verdict("c-sunrise", "ngo-sunrise", "different")]
    assert profile.view_cluster(snap.con, snap.index, "c-sunrise", visible, apart)[0] == ["c-sunrise"]
    joined = [clusters.Verdict("c-baobab", "p-wanjiru", "same"), clusters.Verdict("c-pacific-h", "c-sunrise", "same")]
    members, canonical = profile.view_cluster(snap.con, snap.index, "c-pacific-h", visible, joined)
    assert members == ["c-pacific-h", "c-sunrise", "ngo-sunrise"]
    assert canonical == _view_ids(pool, "customs-ke", joined)["c-pacific-h"]


def test_trigrams_cut_in_bulk_are_those_a_query_is_cut_into() -> None:
    keys = build._Keys()
    names = ["muhammed hassan", "sunrise trading co ltd", "ke 4471", "a", "mwanaisha odhiambo kariuki"]
    for record, name in enumerate(names):
        keys.add(record, 0, name)
    keys.flush()
    grams = np.concatenate(keys.post_gram)
    owners = np.concatenate(keys.post_key)
    for number, name in enumerate(names):
        assert set(grams[owners == number].tolist()) == text.gram_codes(name)
        assert keys.key_size[number] == len(text.gram_codes(name))
        _, codes, _ = text.query_grams(name)
        assert set(codes) == text.gram_codes(name)


def test_a_cluster_larger_than_sqlites_parameter_limit_is_read_whole(tmp_path: Path) -> None:
    """33,000 records merged by a chain of links: more entity ids than SQLite accepts as
    parameters of one statement (32,766), all passed at once."""
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_dataset("big", owner="registry", marking=world.FILES["ke-customs"][1])
    finally:
        operational.dispose()
    n = 33_000
    with EvidenceStore(settings.evidence_path) as store:
        for prop, prop_type, value in (("id", "id", "'p-' || i"), ("name", "name", "'Person ' || i")):
            store.con.execute(
                f"INSERT INTO statements SELECT sha1('big.p-' || i || '.{prop}'), 'p-' || i, NULL, 'Person', "
                f"'{prop}', '{prop_type}', {value}, NULL, NULL, 'big', false, now()::TIMESTAMP, now()::TIMESTAMP, "
                f"'big.jsonl:' || i FROM range({n}) t(i)"
            )
        world.write_links(store, [])  # records and tables; the chain of links follows
        store.con.execute(
            "INSERT INTO er_links SELECT a.record_id, b.record_id, 'person', 3.0, 0.9, '[]', 'test' FROM range(?) t(i) "
            "JOIN er_records a ON a.entity_id = 'p-' || i JOIN er_records b ON b.entity_id = 'p-' || (i + 1)",
            [n - 1],
        )
    pipeline.build_index(settings)
    snap = SearchIndex(build.index_path(settings.home)).snapshot()
    members, canonical = profile.view_cluster(snap.con, snap.index, "p-7", {"big"}, [])
    assert len(members) == n and canonical == clusters.mint(members, ":view")
    found = profile.profile(snap.con, snap.index, "p-7", {"big": _Access("registry")}, [])
    assert len(found.members) == n
    assert len(next(p for p in found.properties if p.name == "name").values) == n


class _Access:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.marking = world.FILES["ke-customs"][1]
