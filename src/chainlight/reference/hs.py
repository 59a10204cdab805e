"""Harmonized System 2022 codes (chapters, headings, subheadings) with descriptions and parents.

Customs declarations name goods by HS code, CITES records by taxon and term; rules that
compare the two need to know which HS codes can carry wildlife and which CITES terms and taxa
each implies. HS codes never name a species, so :data:`WILDLIFE_HS_CODES` pairs them with the
CITES terms and higher taxa to look for, and rules carry the CITES taxon beside the HS code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final


@dataclass(frozen=True, slots=True)
class HsCode:
    code: str
    description: str
    parent: str | None
    level: int
    section: str


@dataclass(frozen=True, slots=True)
class WildlifeHsCode:
    """An HS code wildlife moves under, with the CITES terms (codes) and taxa it implies.

    ``taxa`` are (rank, name) pairs matching the Trade Database columns Class, Order, Family,
    Genus or Taxon; empty when the code covers any animal."""

    code: str
    label: str
    terms: tuple[str, ...]
    taxa: tuple[tuple[str, str], ...] = ()


WILDLIFE_HS_CODES: Final[tuple[WildlifeHsCode, ...]] = (
    WildlifeHsCode("0106", "live animals", ("LIV",)),
    WildlifeHsCode("010611", "live primates", ("LIV",), (("order", "Primates"),)),
    WildlifeHsCode("010620", "live reptiles", ("LIV",), (("class", "Reptilia"),)),
    WildlifeHsCode(
        "010631", "live birds of prey", ("LIV",),
        (("order", "Accipitriformes"), ("order", "Falconiformes"), ("order", "Strigiformes")),
    ),
    WildlifeHsCode("010632", "live parrots", ("LIV",), (("order", "Psittaciformes"),)),
    WildlifeHsCode("030192", "live eels", ("LIV", "FIG"), (("genus", "Anguilla"),)),
    WildlifeHsCode("030571", "shark fins", ("FIN",), (("class", "Elasmobranchii"),)),
    WildlifeHsCode("030781", "abalone", ("LIV", "MEA", "SHE"), (("genus", "Haliotis"),)),
    WildlifeHsCode("030811", "sea cucumbers, live or fresh", ("LIV", "BOD"), (("class", "Holothuroidea"),)),
    WildlifeHsCode("030812", "sea cucumbers, frozen", ("BOD", "MEA"), (("class", "Holothuroidea"),)),
    WildlifeHsCode("0506", "bones", ("BON", "BOP", "SKU", "SKE", "POW")),
    WildlifeHsCode(
        "050710", "unworked ivory", ("TUS", "IVP", "IVS", "TEE"),
        (("order", "Proboscidea"), ("family", "Hippopotamidae"), ("family", "Odobenidae")),
    ),
    WildlifeHsCode(
        "050790", "horns and tortoise-shell", ("HOR", "HOP", "HOS", "CAP", "SCA", "CLA", "BAL"),
        (("family", "Rhinocerotidae"), ("family", "Cheloniidae"), ("family", "Bovidae")),
    ),
    WildlifeHsCode(
        "0508", "coral and shells", ("COR", "COS", "SHE"),
        (("order", "Scleractinia"), ("order", "Antipatharia"), ("family", "Strombidae"), ("genus", "Tridacna")),
    ),
    WildlifeHsCode(
        "0510", "musk and bile", ("MUS", "GAL", "GAB"), (("genus", "Moschus"), ("family", "Ursidae")),
    ),
    WildlifeHsCode("410320", "raw reptile skins", ("SKI", "SKP", "SID"), (("class", "Reptilia"),)),
    WildlifeHsCode("430180", "raw furskins", ("SKI",), (("class", "Mammalia"),)),
    WildlifeHsCode("960110", "worked ivory", ("IVC", "CAR", "PKY"), (("order", "Proboscidea"),)),
    WildlifeHsCode("960190", "worked bone, horn and tortoise-shell", ("BOC", "HOC", "CAR", "BPR", "HPR")),
    WildlifeHsCode("9705", "zoological collections", ("SPE", "BOD", "SKE", "TRO", "SKU")),
)


def _data_text(name: str) -> str:
    return (files("chainlight.reference") / "data" / name).read_text(encoding="utf-8")


@cache
def hs_codes() -> dict[str, HsCode]:
    """All HS 2022 chapters, headings and subheadings by code, read once per process."""
    result: dict[str, HsCode] = {}
    for row in csv.DictReader(_data_text("hs-codes.csv").splitlines()):
        code = row["hscode"]
        if code == "TOTAL":
            continue
        parent = row["parent"] if row["parent"] not in ("TOTAL", "") else None
        result[code] = HsCode(code, row["description"], parent, int(row["level"]), row["section"])
    return result


def normalise(code: str) -> str:
    """Strip the dots and spaces declarations write HS codes with ("0507.10" -> "050710")."""
    return "".join(ch for ch in code if ch.isalnum())


def lookup(code: str) -> HsCode | None:
    return hs_codes().get(normalise(code))


def is_valid(code: str) -> bool:
    """True for an HS 2022 chapter (2 digits), heading (4) or subheading (6).

    National tariff lines (8-10 digits) are valid when their 6-digit subheading is."""
    key = normalise(code)
    if len(key) > 6 and key.isdigit():
        key = key[:6]
    return key in hs_codes()


def describe(code: str) -> str | None:
    """The description of a code, or of the subheading a national tariff line extends."""
    key = normalise(code)
    if len(key) > 6 and key.isdigit():
        key = key[:6]
    found = hs_codes().get(key)
    return found.description if found else None


def ancestors(code: str) -> list[HsCode]:
    """The code itself, then its heading and chapter (most specific first)."""
    chain: list[HsCode] = []
    current = lookup(code)
    while current is not None and current not in chain:
        chain.append(current)
        current = hs_codes().get(current.parent) if current.parent else None
    return chain


def wildlife_codes_for(code: str) -> list[WildlifeHsCode]:
    """The wildlife entries an HS code falls under, most specific first (040790 -> none;
    010620 -> live reptiles, live animals)."""
    by_code = {w.code: w for w in WILDLIFE_HS_CODES}
    return [by_code[c.code] for c in ancestors(code) if c.code in by_code]
