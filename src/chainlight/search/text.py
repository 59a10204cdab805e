"""Names as the index compares them: normalised, cut into trigrams, scored by overlap.

Every name and query goes through :func:`normalise` (lower case, transliterated to ASCII,
punctuation gone, spaces collapsed), so ``Мухаммед Аль-Хасан``, ``MUHAMMED AL HASAN`` and
``Muhammed al-Hasan`` all become ``muhammed al hasan``. Trigrams are taken over the normalised
text padded with one space on each side, so word starts and ends count too; one typo changes at
most three trigrams and leaves the rest to match. Before cutting, :func:`match_form` folds
spellings that transliteration and habit vary (``kh``/``h``, ``ph``/``f``, ``y``/``i``,
doubled letters), so ``Mukhammed`` and ``Muhammad`` share most of their trigrams. The score
of a name for a query combines how much of the query the name holds (containment) with how
alike the two are overall (Dice), so a surname alone finds the full name and a misspelt full
name still ranks close behind an exact one.
"""

from __future__ import annotations

import re
from functools import lru_cache

from normality import normalize

#: Longest normalised text the index keeps for one name (longer ones are cut).
MAX_KEY = 120


def normalise(text: str) -> str:
    """Lower case, ASCII, no punctuation, single spaces; empty when nothing is left."""
    value = normalize(text, lowercase=True, ascii=True, collapse=True)
    return (value or "").strip()[:MAX_KEY]


# Spellings that one name takes in different transliterations and hands, folded to one. Applied
# after normalise(), to names and queries alike, only for matching: what users see is unchanged.
_FOLDS = (("kh", "h"), ("ph", "f"), ("ck", "k"), ("q", "k"), ("ou", "u"), ("dh", "d"), ("th", "t"), ("y", "i"))
_DOUBLED = re.compile(r"([a-z])\1+")


def match_form(key: str) -> str:
    """A normalised text folded for matching: transliteration variants and doubled letters."""
    for old, new in _FOLDS:
        key = key.replace(old, new)
    return _DOUBLED.sub(r"\1", key)


def gram_code(gram: str) -> int:
    """A trigram as one integer (three code points of 21 bits), the key of its postings."""
    a, b, c = (ord(ch) for ch in gram)
    return (a << 42) | (b << 21) | c


def grams(key: str) -> set[str]:
    """The trigrams of a normalised text's match form, padded with a space each side."""
    key = match_form(key)
    if not key:
        return set()
    padded = f" {key} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def gram_codes(key: str) -> set[int]:
    return {gram_code(g) for g in grams(key)}


@lru_cache(maxsize=4096)
def query_grams(query: str) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """The normalised query, its trigram codes, and each trigram's position (for spreading)."""
    key = normalise(query)
    if not key:
        return key, (), ()
    padded = f" {match_form(key)} "
    seen: dict[int, int] = {}
    for i in range(len(padded) - 2):
        seen.setdefault(gram_code(padded[i : i + 3]), i)
    return key, tuple(seen), tuple(seen.values())


def score(shared: float, query_size: int, key_size: int) -> float:
    """Similarity of a name to the query from trigram counts: the mean of containment (how much
    of the query the name holds) and the Dice coefficient (how alike they are as wholes)."""
    if query_size <= 0 or key_size <= 0:
        return 0.0
    containment = shared / query_size
    dice = 2.0 * shared / (query_size + key_size)
    return 0.5 * containment + 0.5 * dice


@lru_cache(maxsize=65_536)
def name_grams(name: str) -> frozenset[str]:
    """The trigrams of a name as shown (normalised first); names recur, so they are remembered."""
    return frozenset(grams(normalise(name)))


def name_score(query_key: str, name: str) -> float:
    """:func:`score` of a name as shown for a normalised query (which of a result's names matched)."""
    q, k = name_grams(query_key), name_grams(name)
    return score(len(q & k), len(q), len(k))
