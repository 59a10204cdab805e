"""Name pools and the ways one real name gets written differently by different sources.

Resolution is only worth measuring if the same person or company is spelled the way real
sources spell it: customs clerks type in capitals without diacritics, registries keep the
legal suffix in full, bank forms split given and family names, NGOs write the name in the
order a newspaper would. Each variant here is one such habit.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Final

#: (given names, family names, family-name-first) per naming tradition.
POOLS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]]] = {
    "swahili": (
        (
            "Juma",
            "Hassan",
            "Amani",
            "Baraka",
            "Faraji",
            "Mwanaisha",
            "Zawadi",
            "Rehema",
            "Salim",
            "Omari",
            "Neema",
            "Bakari",
            "Khamisi",
            "Halima",
            "Athumani",
            "Wanjiru",
            "Kamau",
            "Otieno",
            "Achieng",
            "Njeri",
        ),
        (
            "Mwangi",
            "Odhiambo",
            "Kiprono",
            "Mutua",
            "Ochieng",
            "Wambui",
            "Abdallah",
            "Mohamed",
            "Said",
            "Kombo",
            "Chande",
            "Nyerere",
            "Makame",
            "Shauri",
            "Kariuki",
            "Onyango",
            "Barasa",
            "Kilonzo",
            "Rashidi",
            "Mrisho",
        ),
        False,
    ),
    "west-african": (
        (
            "Chinedu",
            "Emeka",
            "Ngozi",
            "Oluwaseun",
            "Adebayo",
            "Kwame",
            "Abena",
            "Ifeoma",
            "Tunde",
            "Yaw",
            "Aminata",
            "Moussa",
            "Ibrahim",
            "Fatou",
            "Jean-Paul",
            "Serge",
            "Blessing",
            "Uchenna",
            "Kofi",
            "Mariam",
        ),
        (
            "Okafor",
            "Adeyemi",
            "Okonkwo",
            "Balogun",
            "Eze",
            "Mensah",
            "Nwosu",
            "Diallo",
            "Traore",
            "Kabila",
            "Mbeki",
            "Tshisekedi",
            "Onyeka",
            "Abubakar",
            "Ndiaye",
            "Kamara",
            "Mukendi",
            "Ilunga",
            "Nkemelu",
            "Etoo",
        ),
        False,
    ),
    "southern-african": (
        (
            "Thabo",
            "Sipho",
            "Lerato",
            "Nomvula",
            "Pieter",
            "Johan",
            "Themba",
            "Tendai",
            "Farai",
            "Chipo",
            "Armando",
            "Celso",
            "Esperanca",
            "Mandla",
            "Zanele",
            "Ruvimbo",
            "Kudzai",
            "Bongani",
            "Ana",
            "Fernando",
        ),
        (
            "Nkosi",
            "Dlamini",
            "Van der Merwe",
            "Botha",
            "Mokoena",
            "Moyo",
            "Ncube",
            "Chikwanha",
            "Machel",
            "Guebuza",
            "Sitoe",
            "Mabunda",
            "Mutasa",
            "Banda",
            "Phiri",
            "Mwale",
            "Zulu",
            "Khumalo",
            "Pretorius",
            "Langa",
        ),
        False,
    ),
    "vietnamese": (
        (
            "Văn Hùng",
            "Thị Lan",
            "Minh Tuấn",
            "Văn Nam",
            "Thị Hoa",
            "Quốc Bảo",
            "Đức Anh",
            "Thanh Hương",
            "Hữu Phước",
            "Văn Đức",
            "Thị Mai",
            "Công Vinh",
            "Ngọc Ánh",
            "Xuân Trường",
            "Hoàng Long",
        ),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"),
        True,
    ),
    "chinese": (
        (
            "Wei",
            "Jian",
            "Li Na",
            "Xiaoming",
            "Hong",
            "Jun",
            "Mei",
            "Guo Qiang",
            "Yan",
            "Zhiwei",
            "Hui",
            "Lei",
            "Xiu Ying",
            "Chun",
            "Bo",
        ),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Lin", "Tan", "Lim"),
        True,
    ),
    "malay-thai": (
        (
            "Ahmad",
            "Siti",
            "Mohd Faizal",
            "Nurul",
            "Azman",
            "Somchai",
            "Suda",
            "Boonmee",
            "Kittisak",
            "Anong",
            "Rizal",
            "Farah",
            "Hafiz",
            "Malee",
            "Prasert",
        ),
        (
            "bin Abdullah",
            "binti Hassan",
            "bin Ismail",
            "Rahman",
            "Wongsawat",
            "Srisuk",
            "Chaiyaporn",
            "Kongsiri",
            "bin Yusof",
            "Tan",
            "Sukhum",
            "Rattanakorn",
            "Ibrahim",
            "Osman",
            "Chan",
        ),
        False,
    ),
    "arabic-turkish": (
        (
            "Mohammed",
            "Ahmed",
            "Khalid",
            "Omar",
            "Fatima",
            "Yusuf",
            "Mehmet",
            "Ayse",
            "Emre",
            "Hamdan",
            "Rashid",
            "Leyla",
            "Murat",
            "Saeed",
            "Zeynep",
        ),
        (
            "Al Mansoori",
            "Al Hashimi",
            "Haddad",
            "Yilmaz",
            "Kaya",
            "Demir",
            "Al Falasi",
            "Celik",
            "Sahin",
            "Al Suwaidi",
            "Aydin",
            "Khoury",
            "Ozturk",
            "Al Nuaimi",
            "Arslan",
        ),
        False,
    ),
}

#: Which naming tradition a person from a country usually has.
TRADITION_OF: Final[dict[str, str]] = {
    "KE": "swahili",
    "TZ": "swahili",
    "UG": "swahili",
    "NG": "west-african",
    "CM": "west-african",
    "CD": "west-african",
    "CG": "west-african",
    "ZA": "southern-african",
    "MZ": "southern-african",
    "ZM": "southern-african",
    "ZW": "southern-african",
    "VN": "vietnamese",
    "LA": "vietnamese",
    "KH": "vietnamese",
    "CN": "chinese",
    "HK": "chinese",
    "SG": "chinese",
    "MY": "malay-thai",
    "TH": "malay-thai",
    "AE": "arabic-turkish",
    "TR": "arabic-turkish",
    "SC": "arabic-turkish",
    "VG": "chinese",
    "PA": "chinese",
}

COMPANY_WORDS: Final = (
    "Savanna",
    "Blue Ocean",
    "Golden Horn",
    "Eastern Star",
    "Pacific Bridge",
    "Kilimanjaro",
    "Zambezi",
    "Great Lakes",
    "Red Dragon",
    "Jade",
    "Lotus",
    "Mekong",
    "Coral Coast",
    "Baobab",
    "Sunrise",
    "Silver Sea",
    "Harmony",
    "Horizon",
    "Crescent",
    "Unity",
    "Meridian",
    "Tusker",
    "Victoria",
    "Rift Valley",
    "Pearl River",
    "Orient",
    "Sahara",
    "Equator",
    "Indigo",
    "Summit",
    "Evergreen",
    "Delta",
    "Atlas",
    "Phoenix",
    "Monsoon",
)
COMPANY_TRADES: Final = {
    "exporter": ("Exports", "Trading", "Agro Exports", "Handicrafts", "Curios", "Timber", "Marine Products"),
    "importer": ("Import & Export", "Trading", "Traditional Medicine", "Arts & Crafts", "Seafood", "Jewellery"),
    "forwarder": ("Logistics", "Freight", "Shipping Agency", "Clearing & Forwarding", "Cargo Services"),
    "shell": ("Holdings", "Investments", "Ventures", "Capital", "Global", "International"),
    "bank": ("Bank",),
    "breeder": ("Reptile Farm", "Wildlife Breeding", "Game Ranch", "Aviaries"),
}

#: Legal suffix variants: the registry's form first, then how others write it.
SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "ltd": ("Company Limited", "Co., Ltd", "LIMITED", "Ltd", "Co. Ltd.", "LTD"),
    "llc": ("LLC", "L.L.C.", "Limited Liability Company", "FZ-LLC"),
    "sa": ("S.A.", "SA", "Sociedad Anonima", "S.A"),
    "pty": ("(Pty) Ltd", "Pty Ltd", "PTY LIMITED", "Proprietary Limited"),
    "sdn": ("Sdn. Bhd.", "SDN BHD", "Sdn Bhd"),
    "sarl": ("SARL", "S.A.R.L.", "Sarl"),
}
SUFFIX_OF_COUNTRY: Final[dict[str, str]] = {
    "ZA": "pty",
    "MY": "sdn",
    "PA": "sa",
    "MZ": "sa",
    "CD": "sarl",
    "CG": "sarl",
    "CM": "sarl",
    "AE": "llc",
}


@dataclass(frozen=True, slots=True)
class PersonName:
    given: str
    family: str
    family_first: bool

    @property
    def full(self) -> str:
        return f"{self.family} {self.given}" if self.family_first else f"{self.given} {self.family}"


def person_name(rng: random.Random, country: str) -> PersonName:
    given, family, family_first = POOLS[TRADITION_OF.get(country, "swahili")]
    return PersonName(rng.choice(given), rng.choice(family), family_first)


def company_name(rng: random.Random, country: str, kind: str) -> tuple[str, str]:
    """A company's base name and its legal-form key (see :data:`SUFFIXES`)."""
    base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES[kind])}"
    return base, SUFFIX_OF_COUNTRY.get(country, "ltd")


def ascii_fold(text: str) -> str:
    """Drop diacritics the way a system without Unicode does (Nguyễn -> Nguyen, Đ -> D)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(rng: random.Random, text: str) -> str:
    """One keying error: a dropped, doubled or swapped letter inside a word."""
    positions = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not positions:
        return text
    i = rng.choice(positions)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def person_variant(rng: random.Random, name: PersonName, style: str) -> str:
    """How a given kind of source writes a person's name.

    ``registry`` keeps it as the person writes it; ``customs`` folds and capitalises;
    ``bank`` writes FAMILY, Given; ``ngo`` writes given name first (Hung Nguyen); ``noisy``
    adds one typo to the customs form.
    """
    if style == "registry":
        return name.full
    if style == "customs":
        return ascii_fold(name.full).upper()
    if style == "bank":
        return f"{ascii_fold(name.family).upper()}, {ascii_fold(name.given)}"
    if style == "ngo":
        given = name.given.split()[-1] if name.family_first else name.given
        return ascii_fold(f"{given} {name.family}")
    if style == "noisy":
        return typo(rng, ascii_fold(name.full).upper())
    raise ValueError(f"unknown name style {style!r}")


def company_variant(rng: random.Random, base: str, legal_form: str, style: str) -> str:
    """How a source writes a company name: the registry's suffix, another suffix, capitals, typo."""
    suffixes = SUFFIXES[legal_form]
    if style == "registry":
        return f"{base} {suffixes[0]}"
    if style == "customs":
        return f"{base} {rng.choice(suffixes[1:])}".upper()
    if style == "bank":
        return f"{base.upper()} {suffixes[min(2, len(suffixes) - 1)].upper()}"
    if style == "ngo":
        return base if rng.random() < 0.5 else f"{base} {rng.choice(suffixes)}"
    if style == "noisy":
        return typo(rng, f"{base} {rng.choice(suffixes)}".upper())
    raise ValueError(f"unknown name style {style!r}")
