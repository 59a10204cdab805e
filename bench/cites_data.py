"""A realistic CITES shipment-level CSV at any scale, written by DuckDB.

Rows look like the UNEP-WCMC bulk download: sequential Ids, real taxa with their class, order,
family and genus, terms and units spelled as the exports spell them ("live", "kg"), ISO and
pseudo country codes, blank origins and units, E/I reporters and 10-character permit ids.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

HEADER = (
    "Id,Year,Appendix,Taxon,Class,Order,Family,Genus,Term,Quantity,Unit,Importer,Exporter,Origin,Purpose,"
    "Source,Reporter.type,Import.permit.RandomID,Export.permit.RandomID,Origin.permit.RandomID"
)

#: (appendix, taxon, class, order, family, genus, term)
TAXA: tuple[tuple[str, ...], ...] = (
    ("I", "Loxodonta africana", "Mammalia", "Proboscidea", "Elephantidae", "Loxodonta", "tusks"),
    ("II", "Manis spp.", "Mammalia", "Pholidota", "Manidae", "Manis", "scales"),
    ("II", "Python reticulatus", "Reptilia", "Serpentes", "Pythonidae", "Python", "skins"),
    ("II", "Psittacus erithacus", "Aves", "Psittaciformes", "Psittacidae", "Psittacus", "live"),
    ("II", "Panthera leo", "Mammalia", "Carnivora", "Felidae", "Panthera", "trophies"),
    ("II", "Crocodylus niloticus", "Reptilia", "Crocodylia", "Crocodylidae", "Crocodylus", "skins"),
    ("II", "Alligator mississippiensis", "Reptilia", "Crocodylia", "Alligatoridae", "Alligator",
     "small leather products"),
    ("II", "Dalbergia cochinchinensis", "", "Fabales", "Leguminosae", "Dalbergia", "timber"),
    ("II", "Anguilla anguilla", "Actinopteri", "Anguilliformes", "Anguillidae", "Anguilla", "live"),
    ("II", "Acipenser gueldenstaedtii", "Actinopteri", "Acipenseriformes", "Acipenseridae", "Acipenser", "caviar"),
    ("II", "Macaca fascicularis", "Mammalia", "Primates", "Cercopithecidae", "Macaca", "live"),
    ("I", "Ceratotherium simum simum", "Mammalia", "Perissodactyla", "Rhinocerotidae", "Ceratotherium", "horns"),
    ("II", "Scleractinia spp.", "Anthozoa", "Scleractinia", "", "", "raw corals"),
    ("II", "Orchidaceae spp.", "", "Orchidales", "Orchidaceae", "", "live"),
    ("II", "Hippopotamus amphibius", "Mammalia", "Artiodactyla", "Hippopotamidae", "Hippopotamus", "teeth"),
    ("III", "Pterocarpus santalinus", "", "Fabales", "Leguminosae", "Pterocarpus", "logs"),
)

COUNTRIES = ("US", "CN", "HK", "VN", "ZA", "NG", "CM", "ID", "SG", "MY", "TH", "JP", "DE", "FR", "GB", "IT",
             "AE", "CD", "KE", "TZ", "MZ", "BR", "MX", "CA", "AU", "CH", "NL", "BE", "LA", "MG", "XX")
UNITS = ("", "", "", "kg", "", "g", "m3", "", "pairs")
PURPOSES = ("T", "T", "T", "P", "H", "S", "Z", "Q", "B", "E")
SOURCES = ("W", "W", "C", "D", "F", "R", "A", "I", "O", "U")


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def write_cites_csv(path: Path, rows: int, *, first_id: int = 1_000_000) -> Path:
    """Write ``rows`` shipment-level rows to ``path`` (header included) and return it."""
    taxa = "[" + ", ".join("[" + ", ".join("'" + v + "'" for v in t) + "]" for t in TAXA) + "]"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(
            f"""COPY (
                WITH g AS (SELECT range AS i, hash(range) AS h FROM range({rows})),
                t AS (SELECT i, h, list_element({taxa}, 1 + (h % {len(TAXA)})::INTEGER) AS tx FROM g)
                SELECT {first_id} + i AS "Id",
                    1980 + (h >> 8) % 44 AS "Year",
                    tx[1] AS "Appendix", tx[2] AS "Taxon", nullif(tx[3], '') AS "Class", tx[4] AS "Order",
                    nullif(tx[5], '') AS "Family", nullif(tx[6], '') AS "Genus", tx[7] AS "Term",
                    round(((h >> 16) % 100000) / 10.0, 1) AS "Quantity",
                    nullif(list_element({_sql_list(UNITS)}, 1 + ((h >> 20) % {len(UNITS)})::INTEGER), '') AS "Unit",
                    list_element({_sql_list(COUNTRIES)}, 1 + ((h >> 24) % {len(COUNTRIES)})::INTEGER) AS "Importer",
                    list_element({_sql_list(COUNTRIES)}, 1 + ((h >> 30) % {len(COUNTRIES)})::INTEGER) AS "Exporter",
                    CASE WHEN (h >> 36) % 4 = 0
                        THEN list_element({_sql_list(COUNTRIES)}, 1 + ((h >> 38) % {len(COUNTRIES)})::INTEGER)
                    END AS "Origin",
                    list_element({_sql_list(PURPOSES)}, 1 + ((h >> 44) % {len(PURPOSES)})::INTEGER) AS "Purpose",
                    list_element({_sql_list(SOURCES)}, 1 + ((h >> 48) % {len(SOURCES)})::INTEGER) AS "Source",
                    CASE WHEN (h >> 52) % 2 = 0 THEN 'E' ELSE 'I' END AS "Reporter.type",
                    CASE WHEN (h >> 53) % 3 = 0 THEN substr(md5(i::VARCHAR || 'i'), 1, 10) END
                        AS "Import.permit.RandomID",
                    CASE WHEN (h >> 55) % 3 > 0 THEN substr(md5(i::VARCHAR || 'e'), 1, 10) END
                        AS "Export.permit.RandomID",
                    CASE WHEN (h >> 57) % 8 = 0 THEN substr(md5(i::VARCHAR || 'o'), 1, 10) END
                        AS "Origin.permit.RandomID"
                FROM t
            ) TO '{path}' (FORMAT csv, HEADER true)"""
        )
    finally:
        con.close()
    return path
