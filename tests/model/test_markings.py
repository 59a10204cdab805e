import pytest

from chainlight.model.markings import (
    DatasetAccess,
    Marking,
    MarkingError,
    derived_visible,
    most_restrictive,
    visible_datasets,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AMBER+STRICT", Marking.AMBER_STRICT),
        ("tlp:amber+strict", Marking.AMBER_STRICT),
        ("amber-strict", Marking.AMBER_STRICT),
        ("TLP:RED", Marking.RED),
        ("white", Marking.CLEAR),
        (" green ", Marking.GREEN),
    ],
)
def test_parse(text: str, expected: Marking) -> None:
    assert Marking.parse(text) is expected


def test_parse_rejects_unknown() -> None:
    with pytest.raises(MarkingError, match="PURPLE"):
        Marking.parse("PURPLE")


def test_most_restrictive_wins() -> None:
    assert most_restrictive([Marking.GREEN, Marking.RED, Marking.AMBER]) is Marking.RED
    assert most_restrictive([Marking.AMBER, Marking.AMBER_STRICT]) is Marking.AMBER_STRICT
    assert most_restrictive([]) is Marking.CLEAR


def test_need_to_know() -> None:
    group = frozenset({"kra", "ngo"})
    public = DatasetAccess("trade", "unep", Marking.CLEAR)
    community = DatasetAccess("permits", "cites", Marking.GREEN)
    shared = DatasetAccess("manifests", "kra", Marking.AMBER, group)
    strict = DatasetAccess("investigation", "ngo", Marking.AMBER_STRICT, group)
    red = DatasetAccess("goaml", "fiu", Marking.RED, group)
    all_ = [public, community, shared, strict, red]
    assert visible_datasets(all_, "ngo") == {"trade", "permits", "manifests", "investigation"}
    assert visible_datasets(all_, "fiu") == {"trade", "permits", "goaml"}
    assert visible_datasets(all_, "stranger") == {"trade", "permits"}
    # RED stays with its owner even for members of its sharing group
    assert not red.visible_to("kra")


def test_derived_fact_needs_all_its_evidence() -> None:
    visible = frozenset({"trade", "permits"})
    assert derived_visible(["trade", "permits"], visible)
    assert not derived_visible(["trade", "goaml"], visible)
