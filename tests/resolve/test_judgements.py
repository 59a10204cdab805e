"""Judgements override the model, apply transitively, survive re-runs and can be undone;
runs are incremental and restartable. Each test takes its own copy of the pool."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.resolve import engine, matching, service
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalError


@pytest.fixture
def copy(pool: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")


def ids(settings: Settings, organisation: str = "fiu") -> dict[str, str]:
    return pipeline.cluster_ids(settings, organisation)


def judge(settings: Settings, a: str, b: str, verdict: str | None, *, undo: bool = False) -> None:
    pipeline.judge(settings, a, b, verdict, author="tester", organisation="fiu", undo=undo)


def test_different_overrides_the_model_and_undo_restores_it(copy: Settings) -> None:
    before = ids(copy)
    assert before["reg-sunrise"] == before["fiu-sunrise"]
    judge(copy, "reg-sunrise", "fiu-sunrise", "different")
    after = ids(copy)
    assert after["reg-sunrise"] != after["fiu-sunrise"]
    pipeline.resolve(copy)  # survives a re-run
    assert ids(copy)["reg-sunrise"] != ids(copy)["fiu-sunrise"]
    judge(copy, "reg-sunrise", "fiu-sunrise", None, undo=True)
    restored = ids(copy)
    assert restored["reg-sunrise"] == restored["fiu-sunrise"] == before["reg-sunrise"]  # the same id again


def test_same_overrides_the_model_and_applies_transitively(copy: Settings) -> None:
    assert ids(copy)["reg-blue"] != ids(copy)["reg-golden"]
    judge(copy, "reg-blue", "reg-golden", "same")  # an analyst knows better than the model
    now = ids(copy)
    # reg-golden was already one with cus-golden (customs is AMBER: only its owner sees it)
    customs_view = pipeline.cluster_ids(copy, "customs")
    assert now["reg-blue"] == now["reg-golden"]
    assert customs_view["reg-blue"] == customs_view["reg-golden"] == customs_view["cus-golden"]


def test_different_applies_transitively_inside_a_cluster(copy: Settings) -> None:
    judge(copy, "reg-hung", "ngo-hung", "same")
    cluster = ids(copy)
    assert cluster["fiu-hung"] == cluster["ngo-hung"]  # via reg-hung
    judge(copy, "fiu-hung", "ngo-hung", "different")
    split = ids(copy)
    assert split["fiu-hung"] != split["ngo-hung"]
    assert split["reg-hung"] == split["ngo-hung"]  # the judged-same pair holds
    assert split["reg-hung"] != split["fiu-hung"]


def test_unsure_keeps_the_model_and_sends_the_pair_to_the_end_of_the_queue(copy: Settings) -> None:
    first = pipeline.review(copy, "registry")
    judge(copy, "reg-hung", "ngo-hung", "unsure")
    queue = pipeline.review(copy, "registry")
    entry = next(c for c in queue if {c.left, c.right} == {"reg-hung", "ngo-hung"})
    assert entry.unsure and queue[-1] is entry
    assert len(queue) == len(first)
    judge(copy, "reg-hung", "ngo-hung", "same")
    assert all({c.left, c.right} != {"reg-hung", "ngo-hung"} for c in pipeline.review(copy, "registry"))


def test_judging_needs_sight_of_both_entities(copy: Settings) -> None:
    with pytest.raises(service.NotVisible):
        pipeline.judge(copy, "reg-sunrise", "fiu-sunrise", "same", author="x", organisation="ngo")
    with pytest.raises(OperationalError, match="unknown verdict"):
        judge(copy, "reg-blue", "reg-golden", "maybe")
    with pytest.raises(OperationalError, match="no judgement"):
        judge(copy, "reg-blue", "reg-golden", None, undo=True)


def test_a_new_dataset_is_resolved_incrementally_and_ids_stay_stable(copy: Settings, tmp_path: Path) -> None:
    before = ids(copy)
    late = tmp_path / "late.ftm.json"
    late.write_text(
        json.dumps(
            {
                "id": "late-sunrise",
                "schema": "Company",
                "properties": {"name": ["Sunrise Trading Ltd"], "country": ["ke"], "registrationNumber": ["KE 120455"]},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    pipeline.ingest(copy, "ftm", [late], dataset="late", marking=Marking.GREEN, owner="ngo")
    report = pipeline.resolve(copy)
    by_group = {g.group: g for g in report.groups}
    assert by_group["organisation"].fresh == 1 and not by_group["organisation"].trained
    assert by_group["person"].fresh == 0 and by_group["person"].pairs_scored == 0
    after = ids(copy)
    assert after["late-sunrise"] == after["reg-sunrise"] == before["reg-sunrise"]
    again = pipeline.resolve(copy)
    assert all(g.fresh == 0 and g.pairs_scored == 0 for g in again.groups)


def test_a_failed_run_leaves_the_last_good_state_and_can_simply_run_again(
    copy: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = ids(copy)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(matching, "score", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.resolve(copy, full=True)
    monkeypatch.undo()
    with EvidenceStore(copy.evidence_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM er_links") > 0  # rolled back, not half-deleted
    assert ids(copy) == before
    report = pipeline.resolve(copy, full=True)
    assert all(g.trained for g in report.groups)
    assert ids(copy)["reg-sunrise"] == before["reg-sunrise"]


def test_resolution_questions_before_any_run_get_a_clear_answer(settings: Settings) -> None:
    with pytest.raises(engine.ResolutionNotRun):
        pipeline.resolve(settings)


def test_the_threshold_of_a_run_holds_for_later_judgements_and_views(copy: Settings) -> None:
    with EvidenceStore(copy.evidence_path, read_only=True) as store:
        (link,) = service.explain(store, "reg-ivanov", "ngo-ivanov", None)
    assert 0.7 <= link.probability < 1.0
    pipeline.resolve(copy, threshold=(link.probability + 1.0) / 2)
    assert ids(copy)["reg-ivanov"] != ids(copy)["ngo-ivanov"]
    judge(copy, "reg-blue", "reg-golden", "same")  # rebuilding clusters keeps the stricter threshold
    assert ids(copy)["reg-ivanov"] != ids(copy)["ngo-ivanov"]
    with EvidenceStore(copy.evidence_path, read_only=True) as store:
        stored = {e: c for e, c in store.fetchall("SELECT entity_id, canonical_id FROM er_clusters")}
    assert stored["reg-ivanov"] != stored["ngo-ivanov"]
    pipeline.resolve(copy, threshold=0.7)
    assert ids(copy)["reg-ivanov"] == ids(copy)["ngo-ivanov"]


def test_the_review_queue_names_entities_only_from_visible_records(copy: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ftm.json"
    secret.write_text(
        json.dumps({"id": "ngo-hung", "schema": "Person", "properties": {"name": ["AAA SECRET ALIAS"]}}) + "\n",
        encoding="utf-8",
    )
    pipeline.ingest(copy, "ftm", [secret], dataset="secret", marking=Marking.RED, owner="fiu")
    pipeline.resolve(copy)
    seen_by_registry = pipeline.review(copy, "registry")
    assert any("ngo-hung" in (c.left, c.right) for c in seen_by_registry)
    assert all("SECRET" not in f"{c.left_name} {c.right_name}" for c in seen_by_registry)
