"""Seizures, the genetic samples taken from them and the DNA matches between samples.

Planted: a syndicate ships the two tusks of one elephant in separate consignments from the
same port within about ten months (Wasser et al.); when both consignments are seized the
tusks match as the same individual, which links the seizures, their shipments and the
syndicate. Other seizures are background enforcement with no link.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from chainlight.demo import names, routes
from chainlight.demo.actors import SOURCE_COUNTRIES, TRANSIT_COUNTRIES, Cast, Syndicate
from chainlight.demo.shipments import DAYS, START
from chainlight.demo.sources import MATCH_COLUMNS, SAMPLE_COLUMNS, SEIZURE_COLUMNS, SEIZURES, CsvSource
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
            origin_countries=rng.choice(SOURCE_COUNTRIES),
            transit_countries=rng.choice(TRANSIT_COUNTRIES),
            destination_countries=rng.choice(("CN", "VN", "HK")),
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
) -> list[Path]:
    w = SeizureWriter(rng, cast, truth, out_dir)
    for syndicate in cast.syndicates:
        _syndicate_seizures(rng, w, syndicate, syndicate_shipments.get(syndicate.key, []))
    for _ in range(background):
        country = rng.choice(("KE", "TZ", "UG", "NG", "MZ", "VN", "MY", "HK", "TH"))
        codes = routes.SEAPORTS.get(country) or routes.AIRPORTS[country]
        when = START + timedelta(days=rng.randrange(DAYS))
        taxon = rng.choice(TRAFFICKED)
        seizure_id = w.seizure(when, rng.choice(codes), country, taxon, rng.choice(("sea", "air", "land", "mail")))
        if taxon.terms[0][0] in ("TUS", "SCA") and rng.random() < 0.5:
            w.sample(seizure_id, taxon, when, rng.choice(ORIGIN_AREAS))
    advance(background)
    return w.close()


def _syndicate_seizures(
    rng: random.Random, w: SeizureWriter, syndicate: Syndicate, shipments: list[tuple[str, str, str, date, Taxon]]
) -> None:
    """Seize pairs of the syndicate's consignments from one port within ~10 months and link them by DNA."""
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


def _country_of(code: str) -> str:
    for table in (routes.SEAPORTS, routes.AIRPORTS):
        for country, codes in table.items():
            if code in codes:
                return country
    return code[:2]
