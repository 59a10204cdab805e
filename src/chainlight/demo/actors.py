"""The cast of the synthetic world: traders, forwarders, shells, officials and their
relatives, banks, accounts and vessels, and the syndicates that hide among them.

Actors are the real-world things the truth file talks about; every source then writes them
its own way (see :mod:`chainlight.demo.names`). Actor keys (``person-000042``) exist only in
the truth file, never in the generated sources.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, TypeVar

from chainlight.demo import names
from chainlight.demo.identifiers import IBAN_LAYOUT, account_number, iban, imo_number

SOURCE_COUNTRIES: Final = ("KE", "TZ", "UG", "MZ", "ZA", "NG", "CD", "CG", "CM", "ZM", "ZW")
TRANSIT_COUNTRIES: Final = ("MY", "SG", "HK", "TH", "AE", "TR", "VN", "LA", "KH")
DESTINATION_COUNTRIES: Final = ("CN", "VN", "HK")
SECRECY_JURISDICTIONS: Final = ("SC", "VG", "PA", "AE")

OFFICIAL_POSTS: Final = (
    ("customs", "Senior Customs Officer, Kenya Revenue Authority", "Kenya Revenue Authority"),
    ("customs", "Customs Verification Officer, Mombasa", "Kenya Revenue Authority"),
    ("port", "Terminal Operations Manager, Kenya Ports Authority", "Kenya Ports Authority"),
    ("port", "Harbour Master, Dar es Salaam", "Tanzania Ports Authority"),
    ("cites", "CITES Permit Officer, Kenya Wildlife Service", "Kenya Wildlife Service"),
    ("cites", "Director, CITES Management Authority", "Wildlife Division, Tanzania"),
)
RELATIONSHIPS: Final = ("spouse", "brother", "sister", "son", "daughter", "cousin", "brother-in-law")
BANKS: Final = (
    ("Equity Bank", "EQBLKENA", "KE"),
    ("KCB Bank Kenya", "KCBLKENX", "KE"),
    ("CRDB Bank", "CORUTZTZ", "TZ"),
    ("Emirates NBD", "EBILAEAD", "AE"),
    ("Ziraat Bankasi", "TCZBTR2A", "TR"),
    ("Millennium bim", "BIMOMZMX", "MZ"),
    ("Bank of China (Hong Kong)", "BKCHHKHH", "HK"),
    ("Vietcombank", "BFTVVNVX", "VN"),
    ("Maybank", "MBBEMYKL", "MY"),
    ("First Caribbean International Bank", "FCIBVGVG", "VG"),
    ("Mauritius Commercial Bank Seychelles", "MCBLSCSC", "SC"),
    ("Stanbic IBTC", "SBICNGLX", "NG"),
    ("Industrial and Commercial Bank of China", "ICBKCNBJ", "CN"),
    ("Standard Bank", "SBZAZAJJ", "ZA"),
)
CURRENCY_OF: Final = {
    "KE": "KES",
    "TZ": "TZS",
    "AE": "AED",
    "TR": "TRY",
    "MZ": "MZN",
    "HK": "HKD",
    "VN": "VND",
    "MY": "MYR",
    "VG": "USD",
    "SC": "SCR",
    "NG": "NGN",
    "CN": "CNY",
    "ZA": "ZAR",
}

T = TypeVar("T")


@dataclass(slots=True)
class Account:
    bank: str
    swift: str
    country: str
    number: str
    iban: str | None
    currency: str


@dataclass(slots=True)
class Person:
    key: str
    name: names.PersonName
    country: str
    birthdate: str
    id_number: str
    role: str
    account: Account
    position: str | None = None
    agency: str | None = None
    pep: bool = False
    relative_of: str | None = None
    relationship: str | None = None
    syndicate: str | None = None


@dataclass(slots=True)
class Company:
    key: str
    base: str
    legal_form: str
    country: str
    kind: str
    incorporation_number: str
    incorporation_date: str
    address: str
    account: Account
    owners: list[tuple[str, float]] = field(default_factory=list)
    syndicate: str | None = None

    @property
    def legal_name(self) -> str:
        return f"{self.base} {names.SUFFIXES[self.legal_form][0]}"


@dataclass(slots=True)
class Vessel:
    key: str
    name: str
    imo: str
    flag: str


@dataclass(slots=True)
class Syndicate:
    key: str
    boss: str
    members: list[str]
    exporters: list[str]
    importers: list[str]
    shells: list[str]
    officials: list[str]
    relatives: list[str]
    home_port: str
    country: str


@dataclass(slots=True)
class Cast:
    people: dict[str, Person]
    companies: dict[str, Company]
    vessels: list[Vessel]
    syndicates: list[Syndicate]

    def of_kind(self, kind: str) -> list[Company]:
        return [c for c in self.companies.values() if c.kind == kind]


@dataclass(frozen=True, slots=True)
class CastSize:
    exporters: int
    importers: int
    forwarders: int
    breeders: int
    shells: int
    officials: int
    vessels: int
    syndicates: int


def _account(rng: random.Random, country: str) -> Account:
    banks = [b for b in BANKS if b[2] == country] or list(BANKS[:3])
    bank, swift, bank_country = rng.choice(banks)
    currency = CURRENCY_OF.get(bank_country, "USD")
    if bank_country in IBAN_LAYOUT:
        value = iban(rng, bank_country)
        return Account(bank, swift, bank_country, value, value, currency)
    return Account(bank, swift, bank_country, account_number(rng), None, currency)


def _birthdate(rng: random.Random) -> str:
    return (date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 45))).isoformat()


def _id_number(rng: random.Random, country: str) -> str:
    return f"{country}{rng.randrange(10_000_000, 99_999_999)}"


class CastBuilder:
    """Builds actors with sequential keys so the same seed gives the same cast."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: dict[str, Person] = {}
        self.companies: dict[str, Company] = {}
        self._taken: set[tuple[str, str]] = set()

    def _unique(self, country: str, draw: Callable[[], T], text: Callable[[T], str]) -> T:
        """Draw a name nobody in the country has yet, so that the truth file holds no accidental
        homonyms; after a few tries (a pool exhausted at large scale) a repeat is accepted."""
        value = draw()
        for _ in range(24):
            if (country, text(value)) not in self._taken:
                break
            value = draw()
        self._taken.add((country, text(value)))
        return value

    def person(self, country: str, role: str, **extra: object) -> Person:
        key = f"person-{len(self.people) + 1:07d}"
        p = Person(
            key,
            self._unique(country, lambda: names.person_name(self.rng, country), lambda n: n.full),
            country,
            _birthdate(self.rng),
            _id_number(self.rng, country),
            role,
            _account(self.rng, country),
        )
        for name, value in extra.items():
            setattr(p, name, value)
        self.people[key] = p
        return p

    def related_name(self, country: str, of: names.PersonName) -> names.PersonName:
        """A name in the same family as ``of`` (a relative), not yet used in the country."""
        return self._unique(
            country,
            lambda: names.PersonName(names.person_name(self.rng, country).given, of.family, of.family_first),
            lambda n: n.full,
        )

    def company(self, country: str, kind: str, owners: list[tuple[str, float]] | None = None) -> Company:
        key = f"company-{len(self.companies) + 1:07d}"
        base, legal_form = self._unique(country, lambda: names.company_name(self.rng, country, kind), lambda n: n[0])
        year = self.rng.randrange(1995, 2024) if kind != "shell" else self.rng.randrange(2018, 2024)
        incorporated = date(year, self.rng.randrange(1, 13), self.rng.randrange(1, 29)).isoformat()
        c = Company(
            key,
            base,
            legal_form,
            country,
            kind,
            f"{country}-{self.rng.randrange(100_000, 9_999_999)}",
            incorporated,
            f"{self.rng.randrange(1, 400)} {self.rng.choice(names.COMPANY_WORDS)} Road",
            _account(self.rng, country),
            owners or [],
        )
        self.companies[key] = c
        return c


def build_cast(rng: random.Random, size: CastSize) -> Cast:
    """Legitimate traders first, then officials, then syndicates that borrow from both."""
    b = CastBuilder(rng)
    for kind, count, countries in (
        ("exporter", size.exporters, SOURCE_COUNTRIES + TRANSIT_COUNTRIES[:6]),
        ("importer", size.importers, DESTINATION_COUNTRIES + TRANSIT_COUNTRIES),
        ("forwarder", size.forwarders, SOURCE_COUNTRIES[:6] + TRANSIT_COUNTRIES[:5]),
        ("breeder", size.breeders, ("ZA", "MZ", "TZ", "MY", "TH", "VN")),
    ):
        for _ in range(count):
            country = rng.choice(countries)
            director = b.person(country, "director")
            b.company(country, kind, [(director.key, 100.0)])
    for _ in range(size.shells):
        nominee = b.person(rng.choice(("SC", "AE", "PA")), "nominee")
        b.company(rng.choice(SECRECY_JURISDICTIONS), "shell", [(nominee.key, 100.0)])
    officials = []
    for _ in range(size.officials):
        kind, position, agency = rng.choice(OFFICIAL_POSTS)
        country = "TZ" if "Tanzania" in agency else "KE"
        official = b.person(country, f"official-{kind}", position=position, agency=agency, pep=rng.random() < 0.4)
        officials.append(official)
    vessels = [
        Vessel(
            f"vessel-{i + 1:06d}",
            f"{rng.choice(names.COMPANY_WORDS).upper()} {rng.choice(('STAR', 'SPIRIT', 'EXPRESS', 'TRADER', 'GLORY'))}",
            imo_number(rng),
            rng.choice(("PA", "LR", "MH", "SG", "HK", "MT")),
        )
        for i in range(size.vessels)
    ]
    syndicates = [_syndicate(rng, b, i, officials) for i in range(size.syndicates)]
    return Cast(b.people, b.companies, vessels, syndicates)


HOME_PORTS: Final = (("KEMBA", "KE"), ("TZDAR", "TZ"), ("EBB", "UG"), ("NGLOS", "NG"), ("MZMPM", "MZ"))


def _syndicate(rng: random.Random, b: CastBuilder, index: int, officials: list[Person]) -> Syndicate:
    """A boss, lieutenants, front exporters and importers owned through a chain of shells,
    and officials paid through their relatives."""
    key = f"syndicate-{index + 1:04d}"
    home_port, country = HOME_PORTS[index % len(HOME_PORTS)]
    boss = b.person(country, "trafficker", syndicate=key)
    members = [boss] + [
        b.person(rng.choice((country, "VN", "CN")), "trafficker", syndicate=key) for _ in range(rng.randrange(2, 5))
    ]
    # Layered ownership: boss -> shell(SC/VG/PA) -> ... -> front companies.
    chain: list[Company] = []
    owner_key = boss.key
    for depth in range(rng.randrange(2, 4)):
        jurisdiction = SECRECY_JURISDICTIONS[(index + depth) % len(SECRECY_JURISDICTIONS)]
        shell = b.company(jurisdiction, "shell", [(owner_key, float(rng.choice((60, 75, 100))))])
        shell.syndicate = key
        chain.append(shell)
        owner_key = shell.key
    exporters = [b.company(country, "exporter", [(owner_key, 100.0)]) for _ in range(2)]
    importers = [b.company(rng.choice(DESTINATION_COUNTRIES), "importer", [(members[-1].key, 51.0), (owner_key, 49.0)])]
    for c in exporters + importers:
        c.syndicate = key
    eligible = [o for o in officials if o.relative_of is None and o.syndicate is None]
    bribed = rng.sample(eligible, k=min(2, len(eligible)))
    relatives = []
    for official in bribed:
        official.syndicate = key
        relative = b.person(
            official.country,
            "relative",
            relative_of=official.key,
            relationship=rng.choice(RELATIONSHIPS),
            syndicate=key,
        )
        relative.name = b.related_name(official.country, official.name)
        relatives.append(relative)
    return Syndicate(
        key,
        boss.key,
        [m.key for m in members],
        [c.key for c in exporters],
        [c.key for c in importers],
        [c.key for c in chain],
        [o.key for o in bribed],
        [r.key for r in relatives],
        home_port,
        country,
    )
