"""Flows, seizure points and places over the datasets a reader may see (``chainlight.maps.flows``)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainlight import pipeline
from chainlight.maps import sources
from chainlight.maps.flows import Flow, MapFilter, MapFilterError, RouteMap, route_map
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES
from tests.maps.conftest import REGISTRATION, VISIBLE

MARKINGS = {name: marking for name, (_, marking, _) in REGISTRATION.items()}


@pytest.fixture(scope="module")
def store(map_world: Settings) -> Iterator[EvidenceStore]:
    with EvidenceStore(map_world.evidence_path, read_only=True) as opened:
        yield opened


def ask(store: EvidenceStore, reader: str, **filters: Any) -> RouteMap:
    visible = sorted(VISIBLE[reader])
    return route_map(store, visible, MARKINGS, MapFilter.parse(visible=visible, **filters))


def routes(found: RouteMap) -> dict[tuple[str, tuple[str, ...]], Flow]:
    return {(f.kind, tuple(f.stops)): f for f in found.flows}


KE_CN = ("trade", ("country:KE", "country:CN"))


@pytest.mark.parametrize(
    ("reader", "quantity", "records", "datasets", "marking"),
    [
        ("ngo-x", 15.0, 2, ["trade-green"], "GREEN"),
        ("customs-ke", 22.0, 3, ["trade-amber", "trade-green"], "AMBER"),
        ("wildlife-tz", 1022.0, 4, ["trade-amber", "trade-green", "trade-red"], "RED"),
    ],
)
def test_a_flow_counts_only_the_rows_its_reader_may_see(
    store: EvidenceStore, reader: str, quantity: float, records: int, datasets: list[str], marking: str
) -> None:
    flow = routes(ask(store, reader))[KE_CN]
    assert (flow.quantity, flow.records, flow.datasets, flow.marking) == (quantity, records, datasets, marking)
    assert (flow.first_year, flow.last_year, flow.unit) == (2019, 2020, None)
    assert flow.taxa == ["Loxodonta africana"]


def test_the_green_reader_sees_exactly_the_green_flows_and_totals(store: EvidenceStore) -> None:
    found = ask(store, "ngo-x")
    assert set(routes(found)) == {
        KE_CN,
        ("trade", ("country:ZA", "country:US")),
        ("shipments", ("port:port-kemba", "port:port-aejea", "port:port-hkhkg")),
        ("shipments", ("country:UG", "port:port-kemba", "port:port-omsll", "port:port-sgkep", "port:port-vnnha")),
        ("seizures", ("country:KE", "country:HK", "country:CN")),
    }
    assert (found.unit, found.unit_label, found.total_flows, found.records, found.quantity) == (
        None, "number of specimens", 5, 6, 15.0 + 3 + 50 + 8 + 20)
    assert [(u.unit, u.records) for u in found.units] == [(None, 6), ("KIL", 2)]
    assert (found.datasets, found.marking, found.first_year, found.last_year) == (
        ["shipments-green", "trade-green"], "GREEN", 2018, 2022)
    assert [p.place for p in found.seizures] == ["port:port-hkhkg"]
    assert {p.id for p in found.places} == {s for f in found.flows for s in f.stops} | {"port:port-hkhkg"}


def test_red_rows_add_nothing_anywhere_for_those_who_may_not_see_them(store: EvidenceStore) -> None:
    for reader in ("ngo-x", "customs-ke"):
        found = ask(store, reader)
        names = {p.id for p in found.places} | {s for f in found.flows for s in f.stops}
        assert not names & {"country:MZ", "country:LK", "port:port-lkcmb"}
        assert all("trade-red" not in f.datasets and "seizures-red" not in f.datasets for f in found.flows)
        assert all(f.marking != "RED" for f in found.flows) and found.marking != "RED"
        assert [p.place for p in found.seizures] == ["port:port-hkhkg"]
        # The RED dataset's transit through Colombo is not on the GREEN shipment's route.
        assert ("shipments", ("port:port-kemba", "port:port-aejea", "port:port-hkhkg")) in routes(found)
    owner = ask(store, "wildlife-tz")
    assert routes(owner)[("trade", ("country:MZ", "country:HK"))].quantity == 777.0
    ship = routes(owner)[("shipments", ("port:port-kemba", "port:port-aejea", "port:port-lkcmb", "port:port-hkhkg"))]
    assert (ship.datasets, ship.marking) == (["seizures-red", "shipments-green"], "RED")
    assert owner.records == 10 and owner.marking == "RED"
    red = next(p for p in owner.seizures if p.place == "port:port-lkcmb")
    assert (red.seizures, red.specimens, red.weight, red.marking) == (1, 99.0, 500.0, "RED")


def test_transits_are_visited_nearest_first_and_countries_beside_their_port_are_dropped(
    store: EvidenceStore,
) -> None:
    found = routes(ask(store, "ngo-x", kinds=["shipments"]))
    # Stored unordered (sorted: Keppel before Mina Raysut); Mina Raysut is nearer Mombasa. Kenya,
    # the country of origin, is where Mombasa lies, so the route starts at the port; Uganda is not.
    assert ("shipments", ("country:UG", "port:port-kemba", "port:port-omsll", "port:port-sgkep",
                          "port:port-vnnha")) in found
    assert ("shipments", ("port:port-kemba", "port:port-aejea", "port:port-hkhkg")) in found


def test_a_seizure_route_passes_where_the_goods_were_seized(store: EvidenceStore) -> None:
    red = routes(ask(store, "wildlife-tz", kinds=["seizures"]))
    assert ("seizures", ("country:MZ", "country:AE", "country:LK", "country:VN")) in red
    assert ("seizures", ("country:KE", "country:HK", "country:CN")) in red


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"taxon": "LOXODONTA"}, None),  # a genus: its species
        ({"taxon": " loxodonta   africana "}, None),
        ({"taxon": "Elephantidae"}, None),  # shipments and seizures found through the trade rows' taxonomy
        ({"taxon": "Felidae"}, {("trade", ("country:ZA", "country:US"))}),
        ({"term": "tusks", "kinds": ["trade"]}, {KE_CN}),
        ({"year_from": 2021}, {("seizures", ("country:KE", "country:HK", "country:CN")), ("shipments", (
            "country:UG", "port:port-kemba", "port:port-omsll", "port:port-sgkep", "port:port-vnnha"))}),
        ({"year_to": 2018}, {("trade", ("country:ZA", "country:US"))}),
        ({"source": "C"}, {("trade", ("country:ZA", "country:US"))}),
        ({"datasets": ["trade-green"], "reporter": "I"}, {KE_CN}),
        ({"kinds": ["seizures"]}, {("seizures", ("country:KE", "country:HK", "country:CN"))}),
    ],
)
def test_filters(
    store: EvidenceStore, filters: dict[str, Any], expected: set[tuple[str, tuple[str, ...]]] | None
) -> None:
    elephants = {KE_CN, ("seizures", ("country:KE", "country:HK", "country:CN")),
                 ("shipments", ("port:port-kemba", "port:port-aejea", "port:port-hkhkg")),
                 ("shipments", ("country:UG", "port:port-kemba", "port:port-omsll", "port:port-sgkep",
                                "port:port-vnnha"))}
    found = routes(ask(store, "ngo-x", **filters))
    assert set(found) == (elephants if expected is None else expected)


def test_the_reporter_decides_whose_rows_count(store: EvidenceStore) -> None:
    assert routes(ask(store, "ngo-x", kinds=["trade"], reporter="I"))[KE_CN].quantity == 5.0
    assert routes(ask(store, "ngo-x", kinds=["trade"], reporter="E"))[KE_CN].quantity == 10.0


def test_a_unit_shows_the_records_in_it_with_ports_placed_from_visible_statements(store: EvidenceStore) -> None:
    found = ask(store, "ngo-x", unit="kg")
    assert (found.unit, found.unit_label, found.records, found.quantity) == ("KIL", "Kilograms", 2, 140.0)
    assert set(routes(found)) == {
        ("trade", ("country:TZ", "country:KE", "country:VN")),
        ("shipments", ("port:port-lamu-test", "port:port-kemba")),
    }
    lamu = next(p for p in found.places if p.id == "port:port-lamu-test")
    assert (lamu.name, lamu.country, lamu.latitude, lamu.longitude, lamu.shipments) == (
        "Lamu Test Jetty", "KE", -2.27, 40.9, 1)
    mombasa = next(p for p in found.places if p.id == "port:port-kemba")
    assert (mombasa.name, mombasa.kind, mombasa.latitude) == ("Mombasa", "port", -4.06667)
    assert ask(store, "ngo-x", unit="number").records == 6
    assert ask(store, "ngo-x", unit="LTR").flows == []


def test_the_limit_keeps_the_largest_flows_and_the_totals(store: EvidenceStore) -> None:
    found = ask(store, "wildlife-tz", limit=2)
    assert [(f.kind, tuple(f.stops)) for f in found.flows] == [KE_CN, ("trade", ("country:MZ", "country:HK"))]
    assert (found.total_flows, found.records) == (7, 10)
    assert {p.id for p in found.places} >= {"country:KE", "country:CN", "country:MZ", "country:HK"}


def test_no_store_or_no_dataset_is_an_empty_map(store: EvidenceStore) -> None:
    for empty in (route_map(None, ["trade-green"], MARKINGS, MapFilter()), route_map(store, [], MARKINGS, MapFilter())):
        assert (empty.flows, empty.seizures, empty.places, empty.records, empty.total_flows) == ([], [], [], 0, 0)
        assert (empty.datasets, empty.marking, empty.unit) == ([], "CLEAR", None)


def test_a_dataset_filter_reads_only_the_datasets_it_is_given(store: EvidenceStore) -> None:
    """The web app narrows ``visible`` to the datasets that need no purpose after the filter was
    checked against all of the reader's: a filter left with none reads nothing, never everything."""
    everything = sorted(VISIBLE["wildlife-tz"])
    red_only = MapFilter.parse(visible=everything, datasets=["trade-red"])
    narrowed = route_map(store, ["shipments-green", "trade-amber", "trade-green"], MARKINGS, red_only)
    assert (narrowed.flows, narrowed.seizures, narrowed.places, narrowed.total_flows, narrowed.quantity) == (
        [], [], [], 0, 0.0)
    assert (narrowed.datasets, narrowed.marking) == ([], "CLEAR")
    both = MapFilter.parse(visible=everything, datasets=["trade-red", "trade-green"])
    green = route_map(store, ["trade-amber", "trade-green"], MARKINGS, both)
    assert green.datasets == ["trade-green"] and green.marking == "GREEN"
    assert green == route_map(store, ["trade-green"], MARKINGS, MapFilter.parse(visible=everything,
                                                                               datasets=["trade-green"]))


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"term": "wings"}, "There is no CITES term 'wings'."),
        ({"unit": "furlongs"}, "There is no CITES unit 'furlongs'."),
        ({"source": "Q"}, "There is no CITES source code 'Q'."),
        ({"kinds": ["rumours"]}, "There is no flow kind 'rumours': use trade, shipments or seizures."),
        ({"reporter": "X"}, "There is no reporter 'X': use all, E or I."),
        ({"year_from": 2020, "year_to": 2019}, "year_from is after year_to."),
        ({"datasets": ["no-such"]}, "There is no dataset named 'no-such'."),
    ],
)
def test_a_filter_naming_nothing_known_is_refused(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(MapFilterError) as caught:
        MapFilter.parse(visible=["trade-green"], **filters)
    assert str(caught.value) == message


def test_a_hidden_dataset_is_refused_in_the_words_of_a_missing_one() -> None:
    visible = sorted(VISIBLE["ngo-x"])
    with pytest.raises(MapFilterError) as hidden:
        MapFilter.parse(visible=visible, datasets=["trade-red"])
    with pytest.raises(MapFilterError) as missing:
        MapFilter.parse(visible=visible, datasets=["trade-xyz"])
    assert str(hidden.value).replace("trade-red", "X") == str(missing.value).replace("trade-xyz", "X")


def test_filters_are_read_as_codes() -> None:
    flt = MapFilter.parse(visible=["a"], term="tusks", unit="kg", source="w", taxon="  Manis  SPP. ",
                          kinds=["trade", "trade"])
    assert (flt.term, flt.unit, flt.source, flt.taxon, flt.kinds) == ("TUS", "KIL", "W", "manis spp.", ("trade",))
    assert MapFilter.parse(visible=["a"], unit="number").unit == ""
    assert MapFilter.parse(visible=["a"], unit=" ", term="", source="").unit is None


def test_the_comparative_tabulation_counts_the_chosen_partys_quantities(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    pipeline.ingest(settings, "cites-trade", [FIXTURES / "cites" / "comparative.csv"], dataset="comparative",
                    marking=Marking.CLEAR)
    with EvidenceStore(settings.evidence_path, read_only=True) as opened:
        def quantity(reporter: str) -> float:
            flt = MapFilter.parse(visible=["comparative"], taxon="Loxodonta africana", reporter=reporter)
            found = route_map(opened, ["comparative"], {"comparative": Marking.CLEAR}, flt)
            return routes(found)[("trade", ("country:ZA", "country:US"))].quantity

        # Importer reported 2 tusks, exporter 4: 'all' takes the larger of the two.
        assert (quantity("I"), quantity("E"), quantity("all")) == (2.0, 4.0, 4.0)


def test_stale_projections_give_the_same_answers_from_the_statements(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = {reader: dataclasses.asdict(ask(store, reader)) for reader in VISIBLE}
    monkeypatch.setattr(sources.projections, "current", lambda _: False)
    assert {reader: dataclasses.asdict(ask(store, reader)) for reader in VISIBLE} == fresh


def test_shipments_resolution_merged_are_still_counted_record_by_record(map_world: Settings, tmp_path: Path) -> None:
    """A merged row of the projections may rest on evidence the reader cannot see: it is
    pivoted again per entity, so the reader's counts are those of its own records."""
    copy = tmp_path / "evidence.duckdb"
    shutil.copy(map_world.evidence_path, copy)
    with EvidenceStore(copy, read_only=True) as before:
        expected = {reader: dataclasses.asdict(ask(before, reader)) for reader in VISIBLE}
    with EvidenceStore(copy) as writable:
        writable.con.execute("UPDATE statements SET canonical_id = 'ship-1' WHERE entity_id IN ('ship-1', 'ship-2')")
        writable.con.execute("CREATE TABLE er_clusters AS SELECT * FROM (VALUES ('ship-1', 'ship-1'), "
                             "('ship-2', 'ship-1')) t(entity_id, canonical_id)")
        projections.rebuild(writable)
        assert writable.scalar("SELECT count(*) FROM proj_shipment WHERE id = 'ship-1'") == 1
    with EvidenceStore(copy, read_only=True) as after:
        assert projections.current(after)
        assert {reader: dataclasses.asdict(ask(after, reader)) for reader in VISIBLE} == expected
