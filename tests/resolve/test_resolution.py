"""Resolution end to end on the fixture pool: blocking recall on tricky variants, strong
evidence merging, explanations, markings on links and merges, the review queue."""

from __future__ import annotations

from collections import defaultdict

import pytest

from chainlight import pipeline
from chainlight.resolve import service
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

# Every planted duplicate pair, with the trick it tests. Each must at least be a candidate.
PLANTED = [
    ("reg-sunrise", "cus-sunrise", "legal form Co., Ltd vs Company Limited"),
    ("reg-sunrise", "fiu-sunrise", "LIMITED, registration number written with and without a dash"),
    ("reg-hung", "fiu-hung", "LAST, First order and diacritics"),
    ("reg-hung", "ngo-hung", "dropped middle name, no date of birth"),
    ("reg-phiri", "ngo-phiri", "PHIRI, Mandla"),
    ("reg-ivanov", "ngo-ivanov", "Cyrillic against Latin"),
    ("reg-golden", "cus-golden", "typo HRON and Sdn. Bhd."),
    ("cus-star", "ngo-star", "IMO number with and without its prefix"),
]


def clusters_of(ids: dict[str, str]) -> list[set[str]]:
    by: dict[str, set[str]] = defaultdict(set)
    for entity, cid in ids.items():
        by[cid].add(entity)
    return [members for members in by.values() if len(members) > 1]


def together(ids: dict[str, str], *entities: str) -> bool:
    return len({ids[e] for e in entities}) == 1


@pytest.mark.parametrize(("left", "right", "trick"), PLANTED)
def test_blocking_finds_every_planted_variant(pool: Settings, left: str, right: str, trick: str) -> None:
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        links = service.explain(store, left, right, None)
    assert links, f"{left} and {right} were never compared ({trick})"


def test_strong_evidence_merges_and_different_companies_stay_apart(pool: Settings) -> None:
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        ids = service.canonical_ids(store, [], None)
    assert together(ids, "reg-sunrise", "fiu-sunrise")  # shared registration number
    assert together(ids, "reg-hung", "fiu-hung")  # name and date of birth
    assert together(ids, "reg-ivanov", "ngo-ivanov")
    assert together(ids, "reg-golden", "cus-golden")
    assert together(ids, "cus-star", "ngo-star")  # shared IMO number
    assert not together(ids, "reg-blue", "cus-blue-agro")
    assert ids["reg-blue"] == "reg-blue"  # a singleton keeps its own id
    merged = together(ids, "reg-sunrise", "fiu-sunrise")
    assert merged and ids["reg-sunrise"].startswith("nk-")
    background = [c for c in clusters_of(ids) if any(e.startswith("bg-") for e in c)]
    assert background == [], "unrelated background entities were merged"


def test_links_are_explained_feature_by_feature(pool: Settings) -> None:
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        (link,) = service.explain(store, "reg-sunrise", "fiu-sunrise", None)
    by_feature = {f["feature"]: f for f in link.features}
    assert by_feature["ids"]["level"] == "an identifier shared"
    assert by_feature["ids"]["weight"] > 10  # strong evidence
    assert by_feature["name"]["level"] == "exact"
    assert by_feature["incorporation_date"]["level"] == "missing"
    assert by_feature["incorporation_date"]["weight"] == 0
    total = sum(f["weight"] for f in link.features)
    assert link.weight > total - 20  # the match weight is the prior plus the features' weights
    assert link.datasets == ["fiu", "registry"]


def test_a_link_carries_both_datasets_and_is_hidden_unless_both_are_visible(pool: Settings) -> None:
    # ngo sees registry, ngo and background (GREEN/CLEAR), not customs (AMBER) or fiu (RED).
    visible = pipeline.visible_datasets(pool, "ngo")
    assert "fiu" not in visible and "customs" not in visible
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        with pytest.raises(service.NotVisible):
            service.explain(store, "reg-sunrise", "fiu-sunrise", visible)
        for link in service.matches(store, "reg-sunrise", visible):
            assert set(link.datasets) <= set(visible)
    ids = pipeline.cluster_ids(pool, "ngo")
    assert not any(e.startswith(("fiu-", "cus-")) for e in ids)
    assert ids["reg-sunrise"] == "reg-sunrise"  # its only merge rests on the RED dataset
    # the RED owner sees the merge its data supports
    fiu_ids = pipeline.cluster_ids(pool, "fiu")
    assert together(fiu_ids, "reg-sunrise", "fiu-sunrise")


def test_a_partial_view_never_reuses_an_id_minted_from_invisible_members(pool: Settings) -> None:
    everything = pipeline.cluster_ids(pool, "registry")  # registry sees GREEN/CLEAR only
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        global_ids = service.canonical_ids(store, [], None)
    ivanov = everything["reg-ivanov"]
    assert ivanov == global_ids["reg-ivanov"]  # the whole cluster is visible: same id
    for entity, cid in everything.items():
        if cid.startswith("nk-") and cid in set(global_ids.values()):
            members = {e for e, c in global_ids.items() if c == cid}
            assert members <= set(everything), f"{entity}: global id shown for a cluster seen only in part"


def test_review_queue_offers_the_uncertain_pair_most_valuable_first(pool: Settings) -> None:
    queue = pipeline.review(pool, "registry", limit=10)
    assert queue, "the dropped-middle-name pair should wait for review"
    pairs = [{c.left, c.right} for c in queue]
    assert {"ngo-hung", "reg-hung"} in pairs
    assert all(0.3 <= c.probability < 0.85 for c in queue)
    values = [c.value for c in queue]
    assert values == sorted(values, reverse=True)
    for c in queue:  # the registry may not see the RED or AMBER sides
        assert not ({c.left, c.right} & {"fiu-hung", "fiu-sunrise", "cus-sunrise"})


def test_review_value_prefers_uncertain_and_far_reaching_pairs() -> None:
    assert service.review_value(0.5, (1, 1), 2) > service.review_value(0.9, (1, 1), 2)
    assert service.review_value(0.5, (10, 5), 2) > service.review_value(0.5, (1, 1), 2)
    assert service.review_value(0.5, (1, 1), 2) > service.review_value(0.5, (1, 1), 1)
    assert service.review_value(1.0, (10, 10), 2) == 0
