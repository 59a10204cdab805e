import pytest

from chainlight.model.markings import (
    OWNER_ONLY_SCHEMATA,
    DatasetAccess,
    Marking,
    MarkingError,
    derived_visible,
    most_restrictive,
    owned_datasets,
    readable_record,
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


def test_incident_reports_are_read_one_by_one_by_their_owner_only() -> None:
    access = {
        "macn-incidents": DatasetAccess("macn-incidents", "shipowners", Marking.GREEN),
        "registry": DatasetAccess("registry", "customs", Marking.GREEN),
        "secret": DatasetAccess("secret", "fiu", Marking.RED),
    }
    assert "Incident" in OWNER_ONLY_SCHEMATA
    # GREEN lets everyone see the dataset, but not read its incident reports one by one.
    assert readable_record("Incident", ["macn-incidents"], "shipowners", access)
    assert not readable_record("Incident", ["macn-incidents"], "customs", access)
    assert readable_record("Port", ["macn-incidents"], "customs", access)
    # Other schemata follow the dataset's marking alone.
    assert readable_record("Company", ["registry"], "shipowners", access)
    assert not readable_record("Company", ["secret"], "customs", access)
    # An incident resting on another organisation's dataset too, or on an unregistered one, is not readable.
    assert not readable_record("Incident", ["macn-incidents", "registry"], "shipowners", access)
    assert not readable_record("Incident", ["unregistered"], "shipowners", access)
    assert owned_datasets(access.values(), "customs") == {"registry"}
