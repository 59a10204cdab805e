"""What is resolved, and how: one *group* per kind of thing (people, organisations, vessels,
bank accounts, addresses, ports). A group names the FtM schemata it covers, the properties
it reads, how they become features, how candidate pairs are found (blocking) and how each
feature is compared (Splink comparison levels with prior m probabilities).

Records of different schemata are compared inside one group: a ``LegalEntity`` consignee on
a bill of lading can be the ``Company`` in the ownership register. ``m`` probabilities are
priors set by hand (``docs/resolution.md`` explains each); ``u`` probabilities and the prior
match rate are estimated from the data on a full run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from chainlight.resolve import normalise as nz

Values = dict[str, list[str]]
Features = dict[str, Any]


# Identifiers that name one thing only: two records holding different values of the same
# kind (a registration number in the same jurisdiction, an LEI, an IMO number) cannot be one
# thing, however alike their names. Stored as ``kind=value`` in ``unique_ids``.
UNIQUE_ID_GROUPS = ("organisation", "vessel")


@dataclass(frozen=True, slots=True)
class Group:
    """One kind of thing to resolve."""

    name: str
    title: str
    schemata: tuple[str, ...]
    props: tuple[str, ...]
    columns: dict[str, str]
    featurise: Callable[[Values], Features | None]
    comparisons: list[dict[str, Any]]
    blocking: list[dict[str, Any]]
    deterministic: list[str]
    deterministic_recall: float = 0.6
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"er_features_{self.name}"


# --- comparison building blocks -------------------------------------------------------------


_SIDE = re.compile(r"\b([lr])\.([a-z0-9_]+)\b")


def level(sql: str, label: str, m: float | None = None, *, null: bool = False) -> dict[str, Any]:
    """One comparison level. Written with ``l.col``/``r.col`` like blocking rules; Splink's
    comparison SQL spells them ``col_l``/``col_r``."""
    out: dict[str, Any] = {"sql_condition": _SIDE.sub(r"\2_\1", sql), "label_for_charts": label}
    if null:
        out["is_null_level"] = True
    if m is not None:
        out["m_probability"] = m
    return out


def comparison(column: str, description: str, levels: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"output_column_name": column, "comparison_description": description, "comparison_levels": list(levels)}


def null_level(column: str) -> dict[str, Any]:
    """Missing on either side: the comparison says nothing (a list column counts empty as missing)."""
    sql = " OR ".join(f"{side}.{column} IS NULL OR len({side}.{column}) = 0" for side in ("l", "r"))
    return level(sql, "missing", null=True)


def exact_comparison(column: str, description: str, m_equal: float, *, label: str = "exact") -> dict[str, Any]:
    """One value on each side: equal, or not."""
    return comparison(
        column,
        description,
        [
            level(f"l.{column} IS NULL OR r.{column} IS NULL", "missing", null=True),
            level(f"l.{column} = r.{column}", label, m_equal),
            level("TRUE", "different", round(1 - m_equal, 6)),
        ],
    )


def identifiers_comparison(column: str, description: str, m_shared: float, m_disjoint: float) -> dict[str, Any]:
    """Shared identifiers are strong evidence; two different ones count against a match.

    ``u`` is fixed rather than sampled: two unrelated records essentially never share a
    registration number or IBAN, and in a small pool too few random pairs have identifiers
    on both sides for sampling to say so.
    """
    shared = level(f"len(list_intersect(l.{column}, r.{column})) > 0", "an identifier shared", m_shared)
    differ = level("TRUE", "identifiers differ", m_disjoint)
    shared.update(u_probability=1e-5, fix_u_probability=True)
    differ.update(u_probability=1 - 1e-5, fix_u_probability=True)
    return comparison(column, description, [null_level(column), shared, differ])


def overlap_comparison(column: str, description: str, m_overlap: float) -> dict[str, Any]:
    return comparison(
        column,
        description,
        [
            null_level(column),
            level(f"len(list_intersect(l.{column}, r.{column})) > 0", "overlap", m_overlap),
            level("TRUE", "no overlap", round(1 - m_overlap, 6)),
        ],
    )


def name_comparison(description: str, m: Sequence[float]) -> dict[str, Any]:
    """Names from exact, through re-ordered, typo'd, abbreviated and phonetically equal, to different."""
    return comparison(
        "name",
        description,
        [
            level("l.name_norm IS NULL OR r.name_norm IS NULL", "missing", null=True),
            level("l.name_norm = r.name_norm", "exact", m[0]),
            level("l.name_sorted = r.name_sorted", "same words, other order", m[1]),
            level(
                # (the edit distance is only worked out where it can be small: it is the costly part)
                "jaro_winkler_similarity(l.name_sorted, r.name_sorted) >= 0.95 OR "
                "CASE WHEN abs(length(l.name_norm) - length(r.name_norm)) <= 2 "
                "AND left(l.name_norm, 1) = left(r.name_norm, 1) "
                "THEN damerau_levenshtein(l.name_norm, r.name_norm) <= 2 ELSE FALSE END",
                "at most two typos (Jaro-Winkler >= 0.95 or two edits)",
                m[2],
            ),
            level(
                "len(list_intersect(l.name_tokens, r.name_tokens)) >= 2 AND "
                "len(list_intersect(l.name_tokens, r.name_tokens)) = least(len(l.name_tokens), len(r.name_tokens))",
                "one name's words all in the other",
                m[3],
            ),
            level("l.name_phonetic = r.name_phonetic", "sounds the same", m[4]),
            level("jaro_winkler_similarity(l.name_sorted, r.name_sorted) >= 0.88", "Jaro-Winkler >= 0.88", m[5]),
            level("TRUE", "different", m[6]),
        ],
    )


def date_comparison(column: str, description: str) -> dict[str, Any]:
    return comparison(
        column,
        description,
        [
            level(f"l.{column} IS NULL OR r.{column} IS NULL", "missing", null=True),
            level(f"l.{column} = r.{column}", "exact", 0.86),
            level(
                f"left(l.{column}, 7) = left(r.{column}, 7) OR "
                f"(length(l.{column}) = 10 AND length(r.{column}) = 10 "
                f"AND damerau_levenshtein(l.{column}, r.{column}) <= 1)"
                f" OR (left(l.{column}, 4) = left(r.{column}, 4) AND "
                f"substr(l.{column}, 6, 2) = substr(r.{column}, 9, 2) "
                f"AND substr(l.{column}, 9, 2) = substr(r.{column}, 6, 2))",
                "same month, one digit off, or day and month swapped",
                0.07,
            ),
            level(f"left(l.{column}, 4) = left(r.{column}, 4)", "same year", 0.03),
            level("TRUE", "different", 0.04),
        ],
    )


# --- features --------------------------------------------------------------------------------


def _first(values: Values, *props: str) -> str | None:
    for prop in props:
        for value in values.get(prop) or []:
            if value:
                return value
    return None


def _all(values: Values, *props: str) -> list[str]:
    return [v for prop in props if prop in values for v in values[prop] if v]


def _ids(values: Values, *props: str) -> list[str]:
    return sorted({i for i in (nz.identifier(v) for v in _all(values, *props)) if len(i) >= 4})


def _countries(values: Values, *props: str) -> list[str]:
    return sorted({v.lower() for v in _all(values, *props)})


def _name_features(folded: str) -> Features:
    words = folded.split()
    return {
        "name_norm": folded,
        "name_sorted": " ".join(sorted(words)),
        "name_tokens": sorted(set(words)),
        "name_phonetic": " ".join(sorted(nz.phonetic(w) for w in words)),
        # Typos rarely touch the first three letters of every word: a key for blocking.
        "name_prefix": " ".join(sorted(w[:3] for w in words)),
    }


def _pick_name(names: list[str], clean: Callable[[str], str]) -> str | None:
    """The most informative name of several: the one with most distinct words after cleaning."""
    cleaned = [c for c in (clean(n) for n in names) if c]
    if not cleaned:
        return None
    return max(sorted(cleaned), key=lambda c: (len(set(c.split())), len(c)))


def _name_keys(folded: str, width: int) -> list[str]:
    """Blocking keys: the phonetic codes of every ``width`` of the name's words, in any order
    (so a dropped middle name, a dropped word or a re-ordering still shares a key)."""
    codes = sorted({nz.phonetic(w) for w in folded.split()[:6]})
    if len(codes) <= width:
        return [" ".join(codes)] if codes else []
    return [" ".join(c) for c in combinations(codes, width)]


def person_features(values: Values) -> Features | None:
    names = _all(values, "name", "alias", "previousName")
    first, last = _first(values, "firstName"), _first(values, "lastName")
    if first and last:
        names.append(f"{first} {last}")
    folded = _pick_name(names, nz.person_name)
    if folded is None:
        return None
    birth = _first(values, "birthDate")
    keys = _name_keys(folded, 2)
    return {
        **_name_features(folded),
        "name_keys": keys,
        "birth_date": birth[:10] if birth else None,
        "birth_year": birth[:4] if birth else None,
        "countries": _countries(values, "nationality", "citizenship", "country"),
        "ids": _ids(values, "passportNumber", "idNumber", "taxNumber", "socialSecurityNumber", "innCode"),
    }


def organisation_features(values: Values) -> Features | None:
    folded = _pick_name(_all(values, "name", "alias", "previousName", "abbreviation"), nz.org_name)
    if folded is None:
        return None
    incorporated = _first(values, "incorporationDate")
    address = _first(values, "address")
    where = (_first(values, "jurisdiction", "country") or "-").lower()
    return {
        **_name_features(folded),
        "unique_ids": sorted(
            {f"registrationNumber/{where}={i}" for i in _ids(values, "registrationNumber")}
            | {f"leiCode={i}" for i in _ids(values, "leiCode")}
        ),
        "name_keys": _name_keys(folded, 2),
        "countries": _countries(values, "country", "jurisdiction", "mainCountry"),
        "ids": _ids(
            values,
            "registrationNumber",
            "idNumber",
            "taxNumber",
            "vatCode",
            "leiCode",
            "ogrnCode",
            "innCode",
            "swiftBic",
            "dunsCode",
            "uniqueEntityId",
            "npiCode",
        ),
        "incorporation_date": incorporated[:10] if incorporated else None,
        "address_norm": nz.fold(address) if address else None,
    }


def vessel_features(values: Values) -> Features | None:
    folded = _pick_name(_all(values, "name", "alias", "previousName"), nz.fold)
    imo_numbers = sorted({i for i in (nz.imo(v) for v in _all(values, "imoNumber")) if i})
    if folded is None and not imo_numbers:
        return None
    name = folded or ""
    return {
        **_name_features(name),
        "unique_ids": [f"imoNumber={i}" for i in imo_numbers],
        "name_keys": _name_keys(name, 1),
        "countries": _countries(values, "flag", "country"),
        "ids": sorted({*imo_numbers, *_ids(values, "mmsi", "callSign", "registrationNumber")}),
    }


def account_features(values: Values) -> Features | None:
    ids = _ids(values, "iban", "accountNumber")
    if not ids:
        return None
    holder = _pick_name(_all(values, "name"), nz.fold) or ""
    return {
        **_name_features(holder),
        "ids": ids,
        "banks": sorted(
            {nz.identifier(v)[:8] for v in _all(values, "bic") if v}
            | {nz.fold(v) for v in _all(values, "bankName") if v}
        ),
        "countries": _countries(values, "country"),
    }


def address_features(values: Values) -> Features | None:
    full = _first(values, "full", "name")
    if not full:
        parts = [_first(values, p) for p in ("street", "street2", "city", "postalCode")]
        full = " ".join(p for p in parts if p)
    folded = nz.fold(full) if full else ""
    if not folded:
        return None
    postal = _first(values, "postalCode")
    city = _first(values, "city")
    return {
        **_name_features(folded),
        "name_keys": _name_keys(folded, 2),
        "postal_code": nz.identifier(postal) if postal else None,
        "city": nz.fold(city) if city else None,
        "countries": _countries(values, "country"),
    }


def port_features(values: Values) -> Features | None:
    folded = _pick_name(_all(values, "name", "alias"), nz.fold)
    if folded is None:
        return None
    codes = [nz.identifier(v) for v in _all(values, "unLocode")]
    return {
        **_name_features(folded),
        "name_keys": _name_keys(folded, 1),
        "countries": _countries(values, "country"),
        "ids": sorted(
            {f"LOCODE:{c}" for c in codes if c}
            | {f"IATA:{nz.identifier(v)}" for v in _all(values, "iataCode")}
            | {f"WPI:{nz.identifier(v)}" for v in _all(values, "wpiNumber")}
        ),
        "port_type": _first(values, "portType"),
    }


NAME_COLUMNS = {
    "name_norm": "VARCHAR",
    "name_sorted": "VARCHAR",
    "name_tokens": "VARCHAR[]",
    "name_phonetic": "VARCHAR",
    "name_prefix": "VARCHAR",
}
NOT_SELF = "l.entity_id <> r.entity_id"


def rule(sql: str, *explode: str) -> dict[str, Any]:
    out: dict[str, Any] = {"blocking_rule": f"{sql} AND {NOT_SELF}", "sql_dialect": "duckdb"}
    if explode:
        out["arrays_to_explode"] = list(explode)
    return out


PERSON = Group(
    name="person",
    title="People",
    schemata=("Person",),
    props=(
        "name",
        "alias",
        "previousName",
        "firstName",
        "lastName",
        "birthDate",
        "nationality",
        "citizenship",
        "country",
        "passportNumber",
        "idNumber",
        "taxNumber",
        "socialSecurityNumber",
        "innCode",
    ),
    columns={
        **NAME_COLUMNS,
        "name_keys": "VARCHAR[]",
        "birth_date": "VARCHAR",
        "birth_year": "VARCHAR",
        "countries": "VARCHAR[]",
        "ids": "VARCHAR[]",
    },
    featurise=person_features,
    comparisons=[
        name_comparison("Full name, folded to ASCII", (0.55, 0.12, 0.1, 0.1, 0.05, 0.05, 0.03)),
        date_comparison("birth_date", "Date of birth"),
        overlap_comparison("countries", "Nationality or country", 0.98),
        identifiers_comparison("ids", "Passport, ID or tax number", 0.6, 0.25),
    ],
    blocking=[
        rule("l.name_sorted = r.name_sorted"),
        rule("l.name_phonetic = r.name_phonetic"),
        rule("l.name_keys = r.name_keys", "name_keys"),
        rule("l.name_prefix = r.name_prefix"),
        rule("l.ids = r.ids", "ids"),
    ],
    deterministic=["l.name_sorted = r.name_sorted AND l.countries = r.countries"],
    deterministic_recall=0.8,
)

ORGANISATION = Group(
    name="organisation",
    title="Companies and organisations",
    schemata=("Company", "Organization", "LegalEntity", "PublicBody"),
    props=(
        "name",
        "alias",
        "previousName",
        "abbreviation",
        "country",
        "jurisdiction",
        "mainCountry",
        "registrationNumber",
        "idNumber",
        "taxNumber",
        "vatCode",
        "leiCode",
        "ogrnCode",
        "innCode",
        "swiftBic",
        "dunsCode",
        "uniqueEntityId",
        "npiCode",
        "incorporationDate",
        "address",
    ),
    columns={
        **NAME_COLUMNS,
        "name_keys": "VARCHAR[]",
        "countries": "VARCHAR[]",
        "ids": "VARCHAR[]",
        "incorporation_date": "VARCHAR",
        "address_norm": "VARCHAR",
        "unique_ids": "VARCHAR[]",
    },
    featurise=organisation_features,
    comparisons=[
        name_comparison("Name without its legal form, folded to ASCII", (0.62, 0.05, 0.15, 0.02, 0.05, 0.05, 0.06)),
        overlap_comparison("countries", "Country or jurisdiction", 0.9),
        identifiers_comparison("ids", "Registration, tax, LEI or other company number", 0.6, 0.05),
        exact_comparison("incorporation_date", "Date of incorporation", 0.9),
        comparison(
            "address",
            "Registered address",
            [
                level("l.address_norm IS NULL OR r.address_norm IS NULL", "missing", null=True),
                level("jaro_winkler_similarity(l.address_norm, r.address_norm) >= 0.9", "similar", 0.75),
                level("TRUE", "different", 0.25),
            ],
        ),
    ],
    blocking=[
        rule("l.name_norm = r.name_norm"),
        rule("l.name_phonetic = r.name_phonetic"),
        rule("l.name_keys = r.name_keys", "name_keys"),
        rule("l.name_prefix = r.name_prefix AND l.countries = r.countries"),
        rule("l.ids = r.ids", "ids"),
    ],
    deterministic=["l.name_norm = r.name_norm AND l.countries = r.countries"],
    deterministic_recall=0.8,
)

VESSEL = Group(
    name="vessel",
    title="Vessels",
    schemata=("Vessel",),
    props=("name", "alias", "previousName", "imoNumber", "mmsi", "callSign", "registrationNumber", "flag", "country"),
    columns={
        **NAME_COLUMNS, "name_keys": "VARCHAR[]", "countries": "VARCHAR[]", "ids": "VARCHAR[]",
        "unique_ids": "VARCHAR[]",
    },
    featurise=vessel_features,
    comparisons=[
        name_comparison("Vessel name", (0.6, 0.05, 0.15, 0.05, 0.05, 0.05, 0.05)),
        overlap_comparison("countries", "Flag", 0.8),
        identifiers_comparison("ids", "IMO number, MMSI or call sign", 0.9, 0.02),
    ],
    blocking=[
        rule("l.name_norm = r.name_norm"),
        rule("l.ids = r.ids", "ids"),
        rule("l.name_keys = r.name_keys", "name_keys"),
    ],
    deterministic=["list_has_any(l.ids, r.ids)"],
    deterministic_recall=0.8,
)

BANK_ACCOUNT = Group(
    name="bank_account",
    title="Bank accounts",
    schemata=("BankAccount",),
    props=("iban", "accountNumber", "bic", "bankName", "name", "country"),
    columns={**NAME_COLUMNS, "ids": "VARCHAR[]", "banks": "VARCHAR[]", "countries": "VARCHAR[]"},
    featurise=account_features,
    comparisons=[
        identifiers_comparison("ids", "IBAN or account number", 0.95, 0.01),
        overlap_comparison("banks", "Bank (BIC or name)", 0.9),
        name_comparison("Account holder or name", (0.5, 0.1, 0.1, 0.1, 0.05, 0.05, 0.1)),
    ],
    blocking=[rule("l.ids = r.ids", "ids")],
    deterministic=["list_has_any(l.ids, r.ids) AND list_has_any(l.banks, r.banks)"],
    deterministic_recall=0.8,
)

ADDRESS = Group(
    name="address",
    title="Addresses",
    schemata=("Address",),
    props=("full", "name", "street", "street2", "city", "postalCode", "country"),
    columns={
        **NAME_COLUMNS,
        "name_keys": "VARCHAR[]",
        "postal_code": "VARCHAR",
        "city": "VARCHAR",
        "countries": "VARCHAR[]",
    },
    featurise=address_features,
    comparisons=[
        name_comparison("Full address, folded", (0.5, 0.1, 0.15, 0.1, 0.05, 0.05, 0.05)),
        exact_comparison("postal_code", "Postal code", 0.9),
        overlap_comparison("countries", "Country", 0.95),
    ],
    blocking=[
        rule("l.name_norm = r.name_norm"),
        rule("l.name_keys = r.name_keys AND l.countries = r.countries", "name_keys"),
    ],
    deterministic=["l.name_norm = r.name_norm"],
)

PORT = Group(
    name="port",
    title="Ports and airports",
    schemata=("Port",),
    props=("name", "alias", "country", "unLocode", "iataCode", "wpiNumber", "portType"),
    columns={
        **NAME_COLUMNS,
        "name_keys": "VARCHAR[]",
        "countries": "VARCHAR[]",
        "ids": "VARCHAR[]",
        "port_type": "VARCHAR",
    },
    featurise=port_features,
    comparisons=[
        name_comparison("Port name", (0.6, 0.05, 0.15, 0.05, 0.05, 0.05, 0.05)),
        overlap_comparison("countries", "Country", 0.98),
        identifiers_comparison("ids", "UN/LOCODE, IATA code or WPI number", 0.9, 0.01),
        exact_comparison("port_type", "Seaport or airport", 0.99, label="same"),
    ],
    blocking=[rule("l.name_norm = r.name_norm AND l.countries = r.countries")],
    deterministic=["l.name_norm = r.name_norm AND l.countries = r.countries AND l.port_type = r.port_type"],
)

GROUPS: dict[str, Group] = {g.name: g for g in (PERSON, ORGANISATION, VESSEL, BANK_ACCOUNT, ADDRESS, PORT)}


def group_of(schema: str) -> Group | None:
    for group in GROUPS.values():
        if schema in group.schemata:
            return group
    return None
