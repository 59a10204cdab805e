"""Normalisers that turn what a source wrote into comparable features.

Names are transliterated to ASCII (``Nguyễn`` -> ``nguyen``, ``Сергей`` -> ``sergei``),
lower-cased and cut into tokens; company names also lose their legal form (``Co. Ltd.``,
``Limited Liability Company``, ``Sdn Bhd``), which is kept apart as a canonical code.
Identifiers keep only letters and digits, upper-cased. Phonetic keys (metaphone) make
blocking tolerant of spelling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rigour.names.org_types import replace_org_types_compare
from rigour.text.phonetics import metaphone
from rigour.text.translit import ascii_text

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ID_CHARS = re.compile(r"[^A-Z0-9]+")

# Legal-form phrases and words that rigour's compare form may leave behind. Longest first.
_LEGAL_PHRASES: tuple[str, ...] = (
    "limited liability company",
    "limited liability partnership",
    "public limited company",
    "private limited company",
    "proprietary limited",
    "sdn bhd",
    "sendirian berhad",
    "co ltd",
    "company limited",
    "fz llc",
    "fze",
    "l l c",
    "s a r l",
    "s a",
    "gmbh",
)
_LEGAL_WORDS = frozenset(
    {
        "co",
        "coltd",
        "company",
        "companies",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "pty",
        "pte",
        "sdn",
        "bhd",
        "berhad",
        "gmbh",
        "ag",
        "sa",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "as",
        "oy",
        "kk",
        "jsc",
        "pjsc",
        "ooo",
        "oao",
        "zao",
        "fze",
        "fzco",
        "fzllc",
        "fz",
        "lda",
        "ltda",
        "sas",
        "cc",
        "trust",
        "holdings",
        "holding",
        "group",
        "the",
        "and",
    }
)
_PERSON_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "hon", "madam", "mx", "rev", "chief"})


@lru_cache(maxsize=1_000_000)
def fold(text: str) -> str:
    """ASCII, lower case, runs of anything but letters and digits collapsed to one space."""
    if not text.isascii():
        text = to_ascii(text)
    return _NON_ALNUM.sub(" ", text.lower()).strip()


# Latin letters that Unicode does not decompose into a base letter and a mark.
_LATIN_SPECIALS = str.maketrans(
    {"Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "ss", "Æ": "AE", "æ": "ae",
     "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "ı": "i", "Ħ": "H", "ħ": "h"}
)


def to_ascii(text: str) -> str:
    """ASCII for any script. Latin with diacritics (``Nguyễn``, ``Đặng``, ``Müller``) only
    loses its marks, which is cheap; other scripts go through rigour's transliteration
    (``Сергей`` -> ``Sergei``), which costs about half a millisecond a name."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LATIN_SPECIALS))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped if stripped.isascii() else ascii_text(text)


def tokens(text: str) -> list[str]:
    return fold(text).split()


@lru_cache(maxsize=1_000_000)
def org_name(name: str) -> str:
    """The distinctive part of a company name: ``SUNRISE IMPORT & EXPORT CO. LTD.`` -> ``sunrise import export``.

    Legal forms are removed wherever rigour recognises them and, for the common phrases and
    abbreviations it leaves, from the end of the name; a name is never cut to nothing.
    """
    folded = fold(name)
    if not folded:
        return ""
    padded = f" {fold(replace_org_types_compare(folded))} "
    for phrase in _LEGAL_PHRASES:
        padded = padded.replace(f" {phrase} ", " ")
    words = padded.split() or folded.split()
    while len(words) > 1 and (words[-1] in _LEGAL_WORDS or _misspelt_legal_word(words[-1])):
        words.pop()
    while len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


# Legal words that keying errors are looked for in: long or unmistakable ones only, since
# a short real word is often one edit from a legal one (corn/corp, earl/sarl, inn/inc).
_TYPO_PRONE_LEGAL_WORDS = ("limited", "company", "corporation", "incorporated", "berhad", "ltd", "llc")


@lru_cache(maxsize=100_000)
def _misspelt_legal_word(word: str) -> bool:
    """A keying error in a legal form (``lltd``, ``liited``, ``compnay``, ``cco``): a word of four
    letters or more within one edit (a transposition counts as one) of a typo-prone legal word."""
    if len(word) < 3 or word.isdigit():
        return False
    if word == "cco":
        return True
    if len(word) < 4:
        return False
    return any(abs(len(word) - len(legal)) <= 1 and _one_edit(word, legal) for legal in _TYPO_PRONE_LEGAL_WORDS)


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@lru_cache(maxsize=1_000_000)
def person_name(name: str) -> str:
    """A person's name folded, with ``LAST, First`` turned round and titles dropped."""
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    words = [w for w in fold(name).split() if w not in _PERSON_TITLES]
    return " ".join(words)


def sorted_tokens(folded: str) -> str:
    """Tokens in alphabetical order, so that word order stops mattering."""
    return " ".join(sorted(folded.split()))


@lru_cache(maxsize=1_000_000)
def phonetic(token: str) -> str:
    """Metaphone of one token (digits kept as they are)."""
    if token.isdigit():
        return token
    return metaphone(token) or token


def phonetic_tokens(folded: str) -> list[str]:
    return [phonetic(t) for t in folded.split()]


def identifier(value: str) -> str:
    """An identifier with only letters and digits, upper case: ``GB82 WEST-1234`` -> ``GB82WEST1234``."""
    return _ID_CHARS.sub("", (value if value.isascii() else to_ascii(value)).upper())


def imo(value: str) -> str:
    """The seven digits of an IMO number (``IMO 9321483`` -> ``9321483``)."""
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 7 else ""
