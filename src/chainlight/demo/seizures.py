"""Seizures, the genetic samples taken from them and the DNA matches between samples.

Planted: a syndicate ships the two tusks of one elephant in separate consignments from the
same port within about ten months (Wasser et al.); when both consignments are seized the
tusks match as the same individual, which links the seizures, their shipments and the
syndicate. Also planted: missed opportunities, syndicate consignments that passed the
corrupt hotspot ports undetected and were seized further down the route (at the port of
discharge, or at a transit port), which is how seizure data points at the ports that let
contraband through. Other seizures are background enforcement with no link.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from chainlight.demo import names, routes
from chainlight.demo.actors import SOURCE_COUNTRIES, TRANSIT_COUNTRIES, Cast, Syndicate
from chainlight.demo.shipments import DAYS, START
from chainlight.demo.sources import CUSTOMS, MATCH_COLUMNS, SAMPLE_COLUMNS, SEIZURE_COLUMNS, SEIZURES, CsvSource
from chainlight.demo.taxa import TRAFFICKED, Taxon
from chainlight.demo.truth import Truth
from chainlight.model.identity import dataset_key

LABORATORY = "Center for Conservation Biology, University of Washington"
ORIGIN_AREAS = (
    ("Selous-Niassa", "TZ", -10.5, 37.5),
    ("Tsavo", "KE", -2.98, 38.47),
    ("Gabon-Congo", "CG", 0.5, 14.0),
    ("Zambezi Valley", "ZM", -15.8, 29.3),
    ("Garamba", "CD", 4.2, 29.4),
)
CONCEALMENTS = (
    "false container wall",
    "inside timber logs",
    "mixed with cashew nuts",
    "tea sacks",
    "checked-in luggage",
    "plastic pellets",
    "frozen fish",
)
#: Missed opportunities are seized inside the port scores' three-year window (which ends with
#: the newest month of evidence, December 2023) and never after the incidents end, so they
#: do not move the window.
MISSED_FROM = date(2021, 3, 1)
MISSED_UNTIL = date(2023, 11, 30)


@dataclass(frozen=True, slots=True)
class Voyage:
    """A consignment's route as its bill of lading or air waybill declares it."""

    document: str
    mode: str
    loading: str
    transits: tuple[str, ...]
    discharge: str
    departure: date
    arrival: date
    origin: str
    destination: str


class SeizureWriter:
    def __init__(self, rng: random.Random, cast: Cast, truth: Truth, out_dir: Path) -> None:
        self.rng = rng
        self.cast = cast
        self.truth = truth
        self.out_dir = out_dir
        folder = out_dir / "ngo-seizures"
        folder.mkdir(parents=True, exist_ok=True)
        self.seizures = CsvSource(folder / "seizures.csv", SEIZURE_COLUMNS)
        self.samples = CsvSource(folder / "genetic_samples.csv", SAMPLE_COLUMNS)
        self.matches = CsvSource(folder / "genetic_matches.csv", MATCH_COLUMNS)
        self.count = 0
        self.sample_count = 0

    def seizure(
        self,
        when: date,
        port: str,
        country: str,
        taxon: Taxon,
        mode: str,
        document: str = "",
        suspects: list[str] | None = None,
        voyage: Voyage | None = None,
    ) -> str:
        rng = self.rng
        self.count += 1
        seizure_id = f"SZ-{when.year}-{self.count:06d}"
        term, unit = taxon.terms[0]
        quantity = rng.randrange(20, 600)
        people = [self.cast.people[k] for k in suspects or [] if k in self.cast.people]
        companies = [self.cast.companies[k] for k in suspects or [] if k in self.cast.companies]
        ids, written, countries, types = [], [], [], []
        for p in people:
            ident = f"NGO-P-{p.key.split('-')[1]}"
            name = names.person_variant(rng, p.name, "ngo")
            ids.append(ident)
            written.append(name)
            countries.append(p.country)
            types.append("person")
            self.truth.mention(
                p.key, SEIZURES.name, "csv", self._rel(), dataset_key(SEIZURES.name, "party", ident), name
            )
        for c in companies:
            ident = f"NGO-C-{c.key.split('-')[1]}"
            name = names.company_variant(rng, c.base, c.legal_form, "ngo")
            ids.append(ident)
            written.append(name)
            countries.append(c.country)
            types.append("company")
            self.truth.mention(
                c.key, SEIZURES.name, "csv", self._rel(), dataset_key(SEIZURES.name, "party", ident), name
            )
        self.seizures.write(
            seizure_id=seizure_id,
            case_number=f"CR-{rng.randrange(100, 999)}/{when.year}",
            date=when.isoformat(),
            port=port,
            place="",
            country=country,
            agency="Kenya Wildlife Service" if country == "KE" else f"Customs {country}",
            taxon=taxon.name,
            term=term,
            quantity=quantity,
            unit=unit,
            weight_kg=round(quantity * rng.uniform(0.5, 12), 1),
            concealment=rng.choice(CONCEALMENTS),
            transport_mode=mode,
            origin_countries=voyage.origin if voyage else rng.choice(SOURCE_COUNTRIES),
            transit_countries=(
                ";".join(dict.fromkeys(_country_of(t) for t in voyage.transits))
                if voyage
                else rng.choice(TRANSIT_COUNTRIES)
            ),
            destination_countries=voyage.destination if voyage else rng.choice(("CN", "VN", "HK")),
            document_number=document,
            suspect_ids=";".join(ids),
            suspect_names=";".join(written),
            suspect_countries=";".join(countries),
            suspect_types=";".join(types),
        )
        return seizure_id

    def sample(self, seizure_id: str, taxon: Taxon, when: date, area: tuple[str, str, float, float]) -> str:
        self.sample_count += 1
        sample_id = f"UW-{self.sample_count:07d}"
        self.samples.write(
            sample_id=sample_id,
            seizure_id=seizure_id,
            taxon=taxon.name,
            specimen="tusk" if taxon.terms[0][0] == "TUS" else taxon.terms[0][0].lower(),
            laboratory=LABORATORY,
            collection_date=(when + timedelta(days=self.rng.randrange(30, 200))).isoformat(),
            assigned_origin=area[0],
            assigned_origin_country=area[1],
            latitude=round(area[2] + self.rng.uniform(-1, 1), 3),
            longitude=round(area[3] + self.rng.uniform(-1, 1), 3),
        )
        return sample_id

    def _rel(self) -> str:
        return self.seizures.path.relative_to(self.out_dir).as_posix()

    def close(self) -> list[Path]:
        for out in (self.seizures, self.samples, self.matches):
            out.close()
        return [self.seizures.path, self.samples.path, self.matches.path]


def write_seizures(
    rng: random.Random,
    cast: Cast,
    truth: Truth,
    out_dir: Path,
    syndicate_shipments: dict[str, list[tuple[str, str, str, date, Taxon]]],
    background: int,
    advance: Callable[[int], None],
    *,
    hotspots: Sequence[str] = (),
    missed: int = 0,
) -> list[Path]:
    """Syndicate seizures linked by DNA, background seizures, then ``missed`` missed
    opportunities that passed ``hotspots`` (written last, so the others stay as they were)."""
    w = SeizureWriter(rng, cast, truth, out_dir)
    dna_seized: set[str] = set()
    for syndicate in cast.syndicates:
        dna_seized |= _syndicate_seizures(rng, w, syndicate, syndicate_shipments.get(syndicate.key, []))
    for _ in range(background):
        country = rng.choice(("KE", "TZ", "UG", "NG", "MZ", "VN", "MY", "HK", "TH"))
        codes = routes.SEAPORTS.get(country) or routes.AIRPORTS[country]
        when = START + timedelta(days=rng.randrange(DAYS))
        taxon = rng.choice(TRAFFICKED)
        seizure_id = w.seizure(when, rng.choice(codes), country, taxon, rng.choice(("sea", "air", "land", "mail")))
        if taxon.terms[0][0] in ("TUS", "SCA") and rng.random() < 0.5:
            w.sample(seizure_id, taxon, when, rng.choice(ORIGIN_AREAS))
    advance(background)
    if missed:
        _missed_opportunities(rng, w, cast, syndicate_shipments, hotspots, missed, dna_seized)
    return w.close()


def _syndicate_seizures(
    rng: random.Random, w: SeizureWriter, syndicate: Syndicate, shipments: list[tuple[str, str, str, date, Taxon]]
) -> set[str]:
    """Seize pairs of the syndicate's consignments from one port within ~10 months and link them
    by DNA; returns the documents of the consignments seized."""
    ordered = sorted(shipments, key=lambda s: (s[1], s[3], s[0]))
    pairs = []
    for a, b in pairwise(ordered):
        if a[1] == b[1] and 0 < (b[3] - a[3]).days <= 300:
            pairs.append((a, b))
    ivory = next(t for t in TRAFFICKED if t.terms[0][0] == "TUS")
    area = rng.choice(ORIGIN_AREAS)
    linked = []
    for a, b in pairs[:3]:
        suspects = [syndicate.members[0], syndicate.exporters[0]]
        seized = []
        for doc, port, mode, when, _ in (a, b):
            country = _country_of(port)
            seized.append(
                (
                    w.seizure(when + timedelta(days=rng.randrange(1, 20)), port, country, ivory, mode, doc, suspects),
                    when,
                )
            )
        sample_a = w.sample(seized[0][0], ivory, seized[0][1], area)
        sample_b = w.sample(seized[1][0], ivory, seized[1][1], area)
        w.matches.write(
            seizure_a=seized[0][0],
            seizure_b=seized[1][0],
            sample_a=sample_a,
            sample_b=sample_b,
            match_type="same-individual",
            likelihood_ratio=f"{rng.uniform(1e12, 9e15):.3e}",
            laboratory=LABORATORY,
            date=(seized[1][1] + timedelta(days=240)).isoformat(),
        )
        linked.append(
            {
                "seizures": [seized[0][0], seized[1][0]],
                "samples": [sample_a, sample_b],
                "shipments": [a[0], b[0]],
                "port": a[1],
            }
        )
    if linked:
        w.truth.pattern("dna_linked_seizures", syndicate=syndicate.key, links=linked)
    return {doc for link in linked for doc in link["shipments"]}


def read_voyages(out_dir: Path, documents: set[str]) -> dict[str, Voyage]:
    """The declared routes of ``documents``, read back from the customs bills of lading the
    flows wrote (the seizing agency works from the same document)."""
    voyages: dict[str, Voyage] = {}
    with (out_dir / CUSTOMS.name / "bills_of_lading.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["document_number"] not in documents:
                continue
            voyages[row["document_number"]] = Voyage(
                row["document_number"],
                row["transport_mode"],
                row["port_of_loading"],
                tuple(t for t in row["transit_ports"].split(";") if t),
                row["port_of_discharge"],
                date.fromisoformat(row["departure_date"]),
                date.fromisoformat(row["arrival_date"]),
                row["origin_country"],
                row["destination_country"],
            )
    return voyages


def _missed_opportunities(
    rng: random.Random,
    w: SeizureWriter,
    cast: Cast,
    syndicate_shipments: dict[str, list[tuple[str, str, str, date, Taxon]]],
    hotspots: Sequence[str],
    count: int,
    exclude: set[str],
) -> None:
    """Seize ``count`` syndicate consignments after they passed a hotspot port undetected.

    Hotspots take turns, so each is passed by some seized consignment when the routes allow.
    Most are seized at the port of discharge: the port of loading and every transit port
    missed them. One in three whose loading port is the hotspot is seized at its last transit
    port instead: only the loading port missed it (the order of transits is not recorded, so
    the risk evidence cannot tell which transits came before)."""
    shipments = {
        doc: (syndicate, taxon)
        for syndicate in cast.syndicates
        for doc, _, _, _, taxon in syndicate_shipments.get(syndicate.key, [])
        if doc not in exclude
    }
    voyages = read_voyages(w.out_dir, set(shipments))
    candidates = sorted(
        (v for v in voyages.values() if v.departure >= MISSED_FROM and v.arrival <= MISSED_UNTIL),
        key=lambda v: v.document,
    )
    hot = set(hotspots)
    taken: set[str] = set()
    used_syndicates: set[str] = set()
    for n in range(count):
        free = [v for v in candidates if v.document not in taken]
        hotspot = hotspots[n % len(hotspots)] if hotspots else ""
        pool = (
            [v for v in free if hotspot in (v.loading, *v.transits)]
            or [v for v in free if hot & {v.loading, *v.transits}]
            or free
        )
        fresh = [v for v in pool if shipments[v.document][0].key not in used_syndicates]
        if not pool:
            break
        voyage = rng.choice(fresh or pool)
        taken.add(voyage.document)
        syndicate, taxon = shipments[voyage.document]
        used_syndicates.add(syndicate.key)
        if voyage.transits and voyage.loading == hotspot and n % 3 == 2:
            port, missed = voyage.transits[-1], [voyage.loading]
            when = voyage.departure + timedelta(days=rng.randrange(1, max(2, (voyage.arrival - voyage.departure).days)))
        else:
            port, missed = voyage.discharge, [voyage.loading, *voyage.transits]
            when = voyage.arrival + timedelta(days=rng.randrange(0, 4))
        suspects = [syndicate.members[0], syndicate.exporters[0]]
        seizure_id = w.seizure(
            when, port, _country_of(port), taxon, voyage.mode, voyage.document, suspects, voyage=voyage
        )
        w.truth.pattern(
            "missed_opportunities",
            seizure=seizure_id,
            shipment=voyage.document,
            syndicate=syndicate.key,
            date=when.isoformat(),
            seized_at=port,
            ports_missed=missed,
            hotspots_missed=sorted(hot.intersection(missed)),
        )


def _country_of(code: str) -> str:
    for table in (routes.SEAPORTS, routes.AIRPORTS):
        for country, codes in table.items():
            if code in codes:
                return country
    return code[:2]
