"""Identifiers that carry their own check digits, generated valid so that validators pass
them and only the planted problems stand out."""

from __future__ import annotations

import random
import string
from typing import Final

#: IBAN length and BBAN layout (n digits, a capitals, c alphanumerics) for the countries in
#: the world that use IBAN; others (KE, CN, VN, ...) use plain domestic account numbers.
IBAN_LAYOUT: Final[dict[str, tuple[int, str]]] = {
    "AE": (23, "3n16n"),
    "TR": (26, "5n1n16c"),
    "MZ": (25, "21n"),
    "VG": (24, "4a16n"),
    "SC": (31, "4a2n2n16n3a"),
}


def imo_number(rng: random.Random) -> str:
    """Seven digits whose last is sum(d_i * (7 - i)) mod 10 over the first six (IMO Res. A.1078)."""
    digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(5)]
    check = sum(d * w for d, w in zip(digits, (7, 6, 5, 4, 3, 2), strict=True)) % 10
    return "".join(map(str, digits)) + str(check)


def imo_valid(number: str) -> bool:
    if len(number) != 7 or not number.isdigit():
        return False
    digits = [int(c) for c in number]
    return sum(d * w for d, w in zip(digits[:6], (7, 6, 5, 4, 3, 2), strict=True)) % 10 == digits[6]


def _bban(rng: random.Random, layout: str) -> str:
    out = []
    number = ""
    for ch in layout:
        if ch.isdigit():
            number += ch
            continue
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[ch]
        out.append("".join(rng.choice(alphabet) for _ in range(int(number))))
        number = ""
    return "".join(out)


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def iban(rng: random.Random, country: str) -> str:
    """An IBAN with ISO 13616 check digits: 98 - (BBAN + country + 00 as a number) mod 97."""
    length, layout = IBAN_LAYOUT[country]
    bban = _bban(rng, layout)
    check = 98 - _mod97(bban + country + "00")
    value = f"{country}{check:02d}{bban}"
    if len(value) != length:
        raise AssertionError(f"IBAN layout for {country} gives {len(value)} characters, not {length}")
    return value


def iban_valid(value: str) -> bool:
    country = value[:2]
    if country in IBAN_LAYOUT and len(value) != IBAN_LAYOUT[country][0]:
        return False
    return _mod97(value[4:] + value[:4]) == 1


def account_number(rng: random.Random) -> str:
    """A domestic account number for a country without IBAN."""
    return "".join(rng.choice(string.digits) for _ in range(rng.choice((10, 12, 13))))


def random_id(rng: random.Random) -> str:
    """A 10-character id in the style of the Trade Database's hashed permit numbers."""
    value = rng.getrandbits(52)
    out = []
    for _ in range(10):
        value, digit = divmod(value, 36)
        out.append(_BASE36[digit])
    return "".join(out)


_BASE36: Final = string.ascii_lowercase + string.digits
