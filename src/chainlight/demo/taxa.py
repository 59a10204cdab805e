"""Traded CITES taxa with their real taxonomy, appendix, usual terms and HS headings.

``hard_to_breed`` marks species whose captive-bred (C, D, F, R) exports are implausible in
volume: the laundering pattern the generator plants and the rules should find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Taxon:
    name: str
    appendix: str
    klass: str
    order: str
    family: str
    genus: str
    terms: tuple[tuple[str, str], ...]  # (term code, unit code or "" for number of specimens)
    hs_code: str
    goods: str
    hard_to_breed: bool
    trafficked: bool


TAXA: Final[tuple[Taxon, ...]] = (
    Taxon("Loxodonta africana", "I", "Mammalia", "Proboscidea", "Elephantidae", "Loxodonta",
          (("TUS", ""), ("IVC", ""), ("IVP", "KIL")), "050710", "unworked ivory", True, True),
    Taxon("Ceratotherium simum", "I", "Mammalia", "Perissodactyla", "Rhinocerotidae", "Ceratotherium",
          (("HOR", ""), ("HOR", "KIL")), "050790", "horns", True, True),
    Taxon("Phataginus tricuspis", "I", "Mammalia", "Pholidota", "Manidae", "Phataginus",
          (("SCA", "KIL"),), "050790", "scales", True, True),
    Taxon("Smutsia gigantea", "I", "Mammalia", "Pholidota", "Manidae", "Smutsia",
          (("SCA", "KIL"),), "050790", "scales", True, True),
    Taxon("Psittacus erithacus", "I", "Aves", "Psittaciformes", "Psittacidae", "Psittacus",
          (("LIV", ""),), "010632", "live parrots", True, True),
    Taxon("Haliotis midae", "III", "Gastropoda", "Archaeogastropoda", "Haliotidae", "Haliotis",
          (("MEA", "KIL"), ("BOD", "KIL")), "030781", "dried abalone", False, True),
    Taxon("Pterocarpus erinaceus", "II", "Magnoliopsida", "Fabales", "Leguminosae", "Pterocarpus",
          (("TIM", "CUM"), ("LOG", "CUM")), "440399", "rosewood logs", False, True),
    Taxon("Dalbergia melanoxylon", "II", "Magnoliopsida", "Fabales", "Leguminosae", "Dalbergia",
          (("TIM", "CUM"), ("CAR", "")), "440399", "blackwood", False, True),
    Taxon("Morelia viridis", "II", "Reptilia", "Serpentes", "Pythonidae", "Morelia",
          (("LIV", ""),), "010620", "live snakes", True, False),
    Taxon("Python regius", "II", "Reptilia", "Serpentes", "Pythonidae", "Python",
          (("LIV", ""), ("SKI", "")), "010620", "live reptiles", False, False),
    Taxon("Kinixys homeana", "II", "Reptilia", "Testudines", "Testudinidae", "Kinixys",
          (("LIV", ""),), "010620", "live tortoises", True, False),
    Taxon("Smaug giganteus", "II", "Reptilia", "Sauria", "Cordylidae", "Smaug",
          (("LIV", ""),), "010620", "live lizards", True, False),
    Taxon("Crocodylus niloticus", "II", "Reptilia", "Crocodylia", "Crocodylidae", "Crocodylus",
          (("SKI", ""), ("LPS", ""), ("MEA", "KIL")), "410320", "reptile skins", False, False),
    Taxon("Varanus niloticus", "II", "Reptilia", "Sauria", "Varanidae", "Varanus",
          (("SKI", ""), ("SHO", "PAI")), "410320", "lizard skins", False, False),
    Taxon("Panthera leo", "II", "Mammalia", "Carnivora", "Felidae", "Panthera",
          (("TRO", ""), ("BON", "KIL"), ("SKI", "")), "050690", "bones and trophies", False, False),
    Taxon("Hippopotamus amphibius", "II", "Mammalia", "Artiodactyla", "Hippopotamidae", "Hippopotamus",
          (("TEE", ""), ("CAR", ""), ("TRO", "")), "050790", "teeth", False, False),
    Taxon("Chamaeleo gracilis", "II", "Reptilia", "Sauria", "Chamaeleonidae", "Chamaeleo",
          (("LIV", ""),), "010620", "live chameleons", False, False),
    Taxon("Aloe ferox", "II", "Liliopsida", "Asparagales", "Asphodelaceae", "Aloe",
          (("EXT", "KIL"), ("DER", "KIL")), "130219", "aloe extract", False, False),
    Taxon("Prunus africana", "II", "Magnoliopsida", "Rosales", "Rosaceae", "Prunus",
          (("BAR", "KIL"), ("EXT", "KIL")), "121190", "bark", False, False),
    Taxon("Holothuria scabra", "II", "Holothuroidea", "Holothuriida", "Holothuriidae", "Holothuria",
          (("BOD", "KIL"),), "030811", "sea cucumbers", False, False),
)

BY_NAME: Final = {t.name: t for t in TAXA}
TRAFFICKED: Final = tuple(t for t in TAXA if t.trafficked)
HARD_TO_BREED: Final = tuple(t for t in TAXA if t.hard_to_breed and t.appendix == "II")
