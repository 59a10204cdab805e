"""Fuzzy name search with facets: misspelt, transliterated and reordered names find their entity;
facets count distinct entities over the matches; and nothing of a hidden dataset shows, in hits,
counts, facets or ordering."""

from __future__ import annotations

import pytest

from chainlight.model.markings import Marking
from chainlight.search import build, query, text
from chainlight.search.reader import SearchIndex, Snapshot
from chainlight.settings import Settings
from tests.search import world

MARKINGS = {name: marking for name, (_, marking, _, _) in world.FILES.items()}


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = world.load(tmp_path_factory.mktemp("pool"))
    world.build_index(settings)
    return settings


@pytest.fixture(scope="module")
def snap(pool: Settings) -> Snapshot:
    return SearchIndex(build.index_path(pool.home)).snapshot()


NO_FILTERS = query.Filters()


def run(snap: Snapshot, organisation: str, q: str, filters: query.Filters = NO_FILTERS,
        **kwargs: int) -> query.Page:
    visible = {d: MARKINGS[d] for d in world.VISIBLE[organisation]}
    return query.search(snap.index, snap.con, visible, q, filters, **kwargs)


def ids(page: query.Page) -> list[str]:
    return [h.entity_id for h in page.hits]


@pytest.mark.parametrize(
    ("q", "entity_id"),
    [
        ("Muhammed Hassan Abdallah", "p-muhammed"),  # exact
        ("Muhamed Hasan Abdalah", "p-muhammed"),  # misspelt: letters dropped
        ("Mohammed Hassan Abdalla", "p-muhammed"),  # another spelling
        ("Мухаммед Хассан Абдаллах", "p-muhammed"),  # Cyrillic: transliterated
        ("abdallah muhammed", "p-muhammed"),  # reordered, part of the name
        ("SUNRISE TRADNG", "c-sunrise"),  # capitals and a typo
        ("KE-4471", "c-sunrise"),  # an identifier
        ("msku1234567", "s-1"),  # a bill of lading number, in other case
        ("Wanjiru Kamau", "p-wanjiru"),
    ],
)
def test_names_are_found_loosely(snap: Snapshot, q: str, entity_id: str) -> None:
    page = run(snap, "customs-ke", q)
    assert ids(page)[0] == entity_id
    assert page.hits[0].score is not None and page.hits[0].score >= query.MIN_SCORE


def test_an_exact_name_outranks_a_misspelt_one() -> None:
    key = text.normalise("Sunrise Trading")
    assert text.name_score(key, "Sunrise Trading") > text.name_score(key, "Sunrise Tradng Co")
    assert text.name_score(key, "Sunrise Trading") == 1.0


def test_unrelated_names_do_not_match(snap: Snapshot) -> None:
    assert run(snap, "customs-ke", "Zhang Wei Holdings").total == 0
    assert run(snap, "customs-ke", "xq").total == 0


def test_hits_merge_an_entitys_records_and_name_the_visible_datasets(snap: Snapshot) -> None:
    page = run(snap, "customs-ke", "sunrise trading")
    assert ids(page)[:2] == ["c-sunrise", "ngo-sunrise"] or ids(page)[:2] == ["ngo-sunrise", "c-sunrise"]
    hit = next(h for h in page.hits if h.entity_id == "c-sunrise")
    assert hit.datasets == ["ke-customs"]
    assert hit.caption == "Sunrise Trading Co., Ltd"
    assert hit.marking is Marking.GREEN
    assert page.marking is Marking.AMBER  # the strictest of the page's hits (ngo-reports)


def test_facets_count_distinct_entities_over_the_matches(snap: Snapshot) -> None:
    page = run(snap, "customs-ke", "sunrise")
    assert page.total == 2
    assert dict(page.facets["schema"]) == {"Company": 2}
    assert dict(page.facets["country"]) == {"ke": 2}
    assert dict(page.facets["dataset"]) == {"ke-customs": 1, "ngo-reports": 1}
    assert dict(page.facets["marking"]) == {"GREEN": 1, "AMBER": 1}


def test_filters_narrow_the_matches_and_the_counts(snap: Snapshot) -> None:
    page = run(snap, "customs-ke", "sunrise", query.Filters(dataset="ngo-reports"))
    assert ids(page) == ["ngo-sunrise"]
    assert dict(page.facets["dataset"]) == {"ngo-reports": 1}
    assert ids(run(snap, "customs-ke", "sunrise", query.Filters(marking="GREEN"))) == ["c-sunrise"]
    assert ids(run(snap, "customs-ke", "", query.Filters(country="ug"))) == ["p-informant"]
    assert ids(run(snap, "customs-ke", "", query.Filters(schema="Shipment"))) == ["s-1"]
    assert run(snap, "customs-ke", "sunrise", query.Filters(schema="Person")).total == 0


def test_browsing_lists_every_visible_entity_by_caption_a_page_at_a_time(snap: Snapshot) -> None:
    everything = run(snap, "ngo-x", "", limit=100)
    assert set(ids(everything)) == {"c-sunrise", "p-muhammed", "own-1", "s-1", "c-pacific-h", "c-pacific-i",
                                    "ngo-sunrise", "p-wanjiru"}
    assert everything.total == len(everything.hits)
    first, second = run(snap, "ngo-x", "", limit=3), run(snap, "ngo-x", "", offset=3, limit=3)
    assert ids(first) + ids(second) == ids(everything)[:6]
    captions = [h.caption.lower() for h in everything.hits if h.caption != h.entity_id]
    assert captions == sorted(captions)


@pytest.mark.parametrize("organisation", ["customs-ke", "ngo-x", "outsider"])
def test_a_name_only_a_hidden_dataset_holds_finds_nothing(snap: Snapshot, organisation: str) -> None:
    for q in ("TZSECRETWORD", "Kilimanjaro Exports", "Pacific Bridge Group", "Sunrise Holdings"):
        page = run(snap, organisation, q)
        assert "c-hidden" not in ids(page) and "fiu-pacific" not in ids(page)
        for hit in page.hits:
            assert "TZSECRETWORD" not in " ".join(hit.names)
            assert "tz-fiu" not in hit.datasets
        assert "tz-fiu" not in dict(page.facets["dataset"])
        assert "RED" not in dict(page.facets["marking"]) or organisation == "customs-ke"


def test_a_hidden_record_of_a_visible_entity_adds_nothing(snap: Snapshot) -> None:
    # c-sunrise also has a record in tz-fiu named with the secret and a country of its own (ae).
    page = run(snap, "customs-ke", "sunrise")
    hit = next(h for h in page.hits if h.entity_id == "c-sunrise")
    assert hit.countries == ["ke"] and hit.datasets == ["ke-customs"]
    assert "ae" not in dict(page.facets["country"])
    assert run(snap, "customs-ke", "", query.Filters(country="ae")).total == 0
    # The FIU sees its own record too.
    fiu = run(snap, "fiu-tz", "sunrise")
    assert next(h for h in fiu.hits if h.entity_id == "c-sunrise").datasets == ["ke-customs", "tz-fiu"]


def test_counts_are_the_same_whatever_hidden_datasets_hold(pool: Settings, snap: Snapshot) -> None:
    """The outsider's answers equal those of an index built without any dataset it cannot see."""
    for q in ("sunrise", "pacific bridge", "", "muhammed"):
        page = run(snap, "outsider", q)
        assert page.total == len({h.entity_id for h in page.hits})
        assert all(h.datasets == ["ke-customs"] for h in page.hits)
        assert dict(page.facets["dataset"]) == ({"ke-customs": page.total} if page.total else {})


def test_a_filter_naming_a_hidden_dataset_reads_like_an_unknown_one(snap: Snapshot) -> None:
    hidden = run(snap, "customs-ke", "", query.Filters(dataset="tz-fiu"))
    unknown = run(snap, "customs-ke", "", query.Filters(dataset="no-such-dataset"))
    assert hidden.total == unknown.total == 0
    assert hidden.facets == unknown.facets


def test_common_trigrams_are_sampled_and_the_top_rescored(snap: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query, "MAX_POSTINGS", 4)
    monkeypatch.setattr(query, "MIN_GRAMS", 2)
    page = run(snap, "customs-ke", "Muhamed Hasan Abdalah")
    assert page.approximate
    assert ids(page)[0] == "p-muhammed"
    exact = text.name_score(text.normalise("Muhamed Hasan Abdalah"), "Muhammed Hassan Abdallah")
    assert page.hits[0].score == pytest.approx(exact, abs=1e-4)


def test_a_misspelling_keeps_enough_spread_trigrams_to_match() -> None:
    key, codes, positions = text.query_grams("mwanaisha odhiambo")
    assert key == "mwanaisha odhiambo"
    assert len(codes) == len(positions) == len(set(codes))
    assert text.match_form("mukhammed") == "muhamed"
