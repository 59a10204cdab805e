"""The documented input tables rules read: one flat, typed table per kind of fact.

Rules never read statements directly. Before a run the engine materialises the inputs the
selected rules name as temp tables on its connection (``shipments``, ``permits``, ``trade``
...), pivoted from the statements (or copied from the record tables) with entity references
mapped to resolved cluster ids, dates and numbers typed, and every row carrying ``datasets``:
the datasets its values came from. Rule fixtures create the same tables from a few rows, so a
rule is tested against exactly the contract it runs against.

The contract (names, types, meaning) is :data:`INPUTS`; ``docs/rules.md`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

from chainlight.model.ftm import model
from chainlight.store.projections import table_name


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    description: str
    prop: str | None = None  # the FtM property it is pivoted from (None: computed)


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    description: str
    columns: tuple[Column, ...]
    schemata: tuple[str, ...] = ()  # FtM schemata pivoted (empty: a record table or computed)

    def ddl(self) -> str:
        return ", ".join(f'"{c.name}" {c.type}' for c in self.columns)


def _c(name: str, type_: str, description: str, prop: str | None = None) -> Column:
    return Column(name, type_, description, prop)


_ID = _c("id", "VARCHAR", "The entity id (its resolved cluster id when resolution merged it).")
_DATASETS = _c("datasets", "VARCHAR[]", "Datasets the row's values came from: an alert inherits their markings.")

INPUTS: Final[dict[str, Input]] = {
    i.name: i
    for i in (
        Input(
            "trade",
            "CITES Trade Database shipment-level rows (record table `cites_trade`); codes as the guide spells them.",
            (
                _c("record_id", "VARCHAR", "The row's `Id` in its dataset."),
                _DATASETS,
                _c("year", "INTEGER", "Year of trade."),
                _c("appendix", "VARCHAR", "I, II, III or N."),
                _c("taxon", "VARCHAR", "Reported taxon (species, or genus with `spp.`)."),
                _c("class", "VARCHAR", "Class (blank for plants)."),
                _c("order", "VARCHAR", "Order."),
                _c("family", "VARCHAR", "Family."),
                _c("genus", "VARCHAR", "Genus."),
                _c("term", "VARCHAR", "Term code (TUS, LIV, SKI ...)."),
                _c("quantity", "DOUBLE", "Quantity."),
                _c("unit", "VARCHAR", "Unit code; NULL means number of specimens."),
                _c("importer", "VARCHAR", "Importing country (ISO-2 or CITES code)."),
                _c("exporter", "VARCHAR", "Exporting country."),
                _c("origin_country", "VARCHAR", "Country of origin, for re-exports."),
                _c("purpose", "VARCHAR", "Purpose code (T commercial, Z zoo ...)."),
                _c("source", "VARCHAR", "Source code (W wild, C captive-bred ...)."),
                _c("reporter_type", "VARCHAR", "E (exporter reported) or I (importer reported)."),
                _c("import_permit_id", "VARCHAR", "Import permit RandomID."),
                _c("export_permit_id", "VARCHAR", "Export permit RandomID."),
                _c("origin_permit_id", "VARCHAR", "Origin permit RandomID."),
            ),
        ),
        Input(
            "shipments",
            "Transport documents (bills of lading, air waybills) with parties, route and goods.",
            (
                _ID,
                _DATASETS,
                _c("document_number", "VARCHAR", "Transport document number.", "transportDocumentNumber"),
                _c("transport_mode", "VARCHAR", "sea, air, road ...", "transportMode"),
                _c("shipper", "VARCHAR", "Shipper (entity id).", "shipper"),
                _c("consignee", "VARCHAR", "Consignee (entity id).", "consignee"),
                _c("notify_party", "VARCHAR", "Notify party (entity id).", "notifyParty"),
                _c("forwarder", "VARCHAR", "Freight forwarder (entity id).", "forwarder"),
                _c("carrier", "VARCHAR", "Carrier (entity id).", "carrier"),
                _c("vessel", "VARCHAR", "Vessel (entity id).", "vessel"),
                _c("port_of_loading", "VARCHAR", "Port of loading (entity id of the port).", "portOfLoading"),
                _c("transit_ports", "VARCHAR[]", "Transit ports (entity ids).", "transitPort"),
                _c("port_of_discharge", "VARCHAR", "Port of discharge (entity id).", "portOfDischarge"),
                _c("departure_date", "DATE", "Departure date.", "departureDate"),
                _c("arrival_date", "DATE", "Arrival date.", "arrivalDate"),
                _c("origin_country", "VARCHAR", "Country of origin (ISO-2, lower case).", "originCountry"),
                _c("destination_country", "VARCHAR", "Country of destination (ISO-2, lower case).",
                   "destinationCountry"),
                _c("goods_description", "VARCHAR", "Goods description as declared.", "goodsDescription"),
                _c("hs_code", "VARCHAR", "Declared HS code (digits).", "hsCode"),
                _c("taxon", "VARCHAR", "Declared CITES taxon, when any.", "taxon"),
                _c("term", "VARCHAR", "Declared CITES term code.", "term"),
                _c("quantity", "DOUBLE", "Declared quantity.", "quantity"),
                _c("unit", "VARCHAR", "Unit of the quantity.", "unit"),
                _c("declared_value", "DOUBLE", "Declared value.", "declaredValue"),
                _c("permit", "VARCHAR", "The CITES permit it travels under (entity id).", "permit"),
            ),
            ("Shipment",),
        ),
        Input(
            "permits",
            "CITES permits and certificates.",
            (
                _ID,
                _DATASETS,
                _c("permit_number", "VARCHAR", "Permit number.", "permitNumber"),
                _c("permit_type", "VARCHAR", "export, import, re-export ...", "permitType"),
                _c("issuing_country", "VARCHAR", "Issuing country (ISO-2, lower case).", "issuingCountry"),
                _c("holder", "VARCHAR", "Holder (entity id).", "holder"),
                _c("counterpart", "VARCHAR", "Counterpart (entity id).", "counterpart"),
                _c("export_country", "VARCHAR", "Country of export.", "exportCountry"),
                _c("import_country", "VARCHAR", "Country of import.", "importCountry"),
                _c("origin_country", "VARCHAR", "Country of origin.", "originCountry"),
                _c("issue_date", "DATE", "Issue date.", "issueDate"),
                _c("expiry_date", "DATE", "Expiry date.", "expiryDate"),
                _c("taxon", "VARCHAR", "Taxon.", "taxon"),
                _c("appendix", "VARCHAR", "CITES Appendix.", "appendix"),
                _c("term", "VARCHAR", "Term code.", "term"),
                _c("quantity", "DOUBLE", "Authorised quantity.", "quantity"),
                _c("unit", "VARCHAR", "Unit.", "unit"),
                _c("purpose", "VARCHAR", "Purpose code.", "purposeCode"),
                _c("source", "VARCHAR", "Source code.", "sourceCode"),
                _c("original_permit", "VARCHAR", "For a re-export certificate: the permit it re-exports under "
                   "(entity id).", "originalPermit"),
                _c("status", "VARCHAR", "valid, used, cancelled, lost, stolen ...", "permitStatus"),
                _c("random_id", "VARCHAR", "The permit's RandomID in the Trade Database.", "randomId"),
            ),
            ("Permit",),
        ),
        Input(
            "endorsements",
            "Customs endorsements: the quantity actually shipped under a permit on a shipment.",
            (
                _ID,
                _DATASETS,
                _c("permit", "VARCHAR", "Permit (entity id).", "permit"),
                _c("shipment", "VARCHAR", "Shipment (entity id).", "shipment"),
                _c("date", "DATE", "Endorsement date.", "date"),
                _c("port", "VARCHAR", "Port (entity id).", "port"),
                _c("actual_quantity", "DOUBLE", "Quantity actually shipped.", "actualQuantity"),
                _c("unit", "VARCHAR", "Unit.", "unit"),
            ),
            ("PermitEndorsement",),
        ),
        Input(
            "payments",
            "Payments and transactions (goAML transactions and FtM Payment entities).",
            (
                _ID,
                _DATASETS,
                _c("transaction_number", "VARCHAR", "The reporting entity's transaction number.", "transactionNumber"),
                _c("payer", "VARCHAR", "Payer (entity id).", "payer"),
                _c("beneficiary", "VARCHAR", "Beneficiary (entity id).", "beneficiary"),
                _c("payer_account", "VARCHAR", "Payer's account (entity id).", "payerAccount"),
                _c("beneficiary_account", "VARCHAR", "Beneficiary's account (entity id).", "beneficiaryAccount"),
                _c("amount", "DOUBLE", "Amount.", "amount"),
                _c("currency", "VARCHAR", "Currency (ISO 4217).", "currency"),
                _c("date", "DATE", "Date of the transaction.", "date"),
                _c("purpose", "VARCHAR", "Purpose or description as reported.", "purpose"),
                _c("transmode", "VARCHAR", "goAML transmode code (K cash deposit, ...).", "programme"),
            ),
            ("Payment",),
        ),
        Input(
            "parties",
            "People, companies, organisations and public bodies.",
            (
                _ID,
                _DATASETS,
                _c("schema", "VARCHAR", "Person, Company, Organization, PublicBody or LegalEntity."),
                _c("name", "VARCHAR", "One name (the first in sort order).", "name"),
                _c("names", "VARCHAR[]", "Every name.", "name"),
                _c("countries", "VARCHAR[]", "Every country, jurisdiction and nationality (ISO-2, lower case)."),
                _c("jurisdiction", "VARCHAR", "Jurisdiction of incorporation.", "jurisdiction"),
                _c("incorporation_date", "DATE", "Date of incorporation.", "incorporationDate"),
                _c("addresses", "VARCHAR[]", "Addresses, normalised (lower case, single spaces).", "address"),
                _c("topics", "VARCHAR[]", "FtM topics (role.pep, sanction, ...).", "topics"),
                _c("positions", "VARCHAR[]", "Positions held.", "position"),
                _c("is_official", "BOOLEAN", "A PEP, a person with a public position, or employed by a PublicBody."),
            ),
            ("Person", "Company", "Organization", "PublicBody", "LegalEntity"),
        ),
        Input(
            "ownerships",
            "Ownership interests (BODS relationships and FtM Ownership).",
            (
                _ID,
                _DATASETS,
                _c("owner", "VARCHAR", "Owner (entity id).", "owner"),
                _c("asset", "VARCHAR", "Owned company (entity id).", "asset"),
                _c("percentage", "DOUBLE", "Share, percent (the lowest stated).", "percentage"),
                _c("direct", "BOOLEAN", "FALSE for a declared indirect interest.", "directOrIndirect"),
                _c("start_date", "DATE", "Start date.", "startDate"),
            ),
            ("Ownership",),
        ),
        Input(
            "directorships",
            "Directors and officers of companies.",
            (
                _ID,
                _DATASETS,
                _c("director", "VARCHAR", "Director (entity id).", "director"),
                _c("organization", "VARCHAR", "Company (entity id).", "organization"),
                _c("role", "VARCHAR", "Role as stated.", "role"),
                _c("start_date", "DATE", "Start date.", "startDate"),
            ),
            ("Directorship",),
        ),
        Input(
            "relations",
            "Ties between people and organisations: family, associates, employment, membership, "
            "representation. `source` is the person (employee, member, agent), `target` the relative, "
            "associate, employer, organisation or client.",
            (
                _ID,
                _DATASETS,
                _c("kind", "VARCHAR", "family, associate, employment, membership or representation."),
                _c("source", "VARCHAR", "Entity id."),
                _c("target", "VARCHAR", "Entity id."),
                _c("relationship", "VARCHAR", "Relationship or role as stated."),
            ),
            ("Family", "Associate", "Employment", "Membership", "Representation"),
        ),
        Input(
            "seizures",
            "Seizures by enforcement agencies.",
            (
                _ID,
                _DATASETS,
                _c("date", "DATE", "Date of the seizure.", "date"),
                _c("port", "VARCHAR", "Port (entity id).", "port"),
                _c("country", "VARCHAR", "Country of seizure.", "country"),
                _c("taxon", "VARCHAR", "Taxon.", "taxon"),
                _c("term", "VARCHAR", "Term code.", "term"),
                _c("quantity", "DOUBLE", "Pieces.", "quantity"),
                _c("weight", "DOUBLE", "Weight in kg.", "weight"),
                _c("shipment", "VARCHAR", "The seized shipment (entity id).", "shipment"),
                _c("suspects", "VARCHAR[]", "Suspects (entity ids).", "suspects"),
                _c("origin_countries", "VARCHAR[]", "Countries of origin.", "originCountry"),
                _c("transit_countries", "VARCHAR[]", "Countries of transit.", "transitCountry"),
                _c("destination_countries", "VARCHAR[]", "Countries of destination.", "destinationCountry"),
                _c("concealment", "VARCHAR", "How the goods were concealed.", "concealment"),
            ),
            ("Seizure",),
        ),
        Input(
            "ports",
            "Seaports, airports and border posts.",
            (
                _ID,
                _DATASETS,
                _c("name", "VARCHAR", "Name.", "name"),
                _c("unlocode", "VARCHAR", "UN/LOCODE (5 characters, no space).", "unLocode"),
                _c("iata", "VARCHAR", "IATA code.", "iataCode"),
                _c("country", "VARCHAR", "Country (ISO-2, lower case).", "country"),
                _c("port_type", "VARCHAR", "seaport, airport ...", "portType"),
            ),
            ("Port",),
        ),
    )
}


def create_empty(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create input ``name`` as an empty temp table with the documented columns."""
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" ({INPUTS[name].ddl()})')


def _proj(schema: str) -> str:
    return '"' + table_name(schema) + '"'


def _value(column: Column, props: set[str], alias: str = "p") -> str:
    """One input column from a projection row (sorted distinct value lists per property)."""
    if column.prop is None or column.prop not in props:
        return f"CAST(NULL AS {column.type})"
    ref = f'{alias}."{column.prop}"'
    if column.type.endswith("[]"):
        return ref
    if column.type == "DOUBLE":
        return f"list_min(list_transform({ref}, lambda v: TRY_CAST(v AS DOUBLE)))"
    if column.type == "DATE":
        return f"list_min(list_transform({ref}, lambda v: TRY_CAST(v AS DATE)))"
    if column.type == "BOOLEAN":
        return f"list_bool_or(list_transform({ref}, lambda v: lower(v) IN ('true', 'direct', 'yes', '1')))"
    return f"{ref}[1]"


def _schema_props(schema: str) -> set[str]:
    return {name for name, prop in model[schema].properties.items() if not prop.stub}


def _entity_columns(spec: Input) -> list[Column]:
    """Columns holding entity ids (mapped to clusters when resolution merged them)."""
    out = []
    for column in spec.columns:
        if column.prop is None:
            continue
        for schema in spec.schemata:
            prop = model[schema].properties.get(column.prop)
            if prop is not None and prop.type.name == "entity":
                out.append(column)
                break
    return out


_PARTY_EXTRA: Final = {
    "schema": "p.schema",
    "countries": "list_sort(list_distinct(list_transform(flatten([coalesce({country}, []), coalesce({jurisdiction}, "
    "[]), coalesce({nationality}, [])]), lambda v: lower(v))))",
    "addresses": "list_sort(list_distinct(list_transform({address}, lambda v: "
    "lower(regexp_replace(trim(v), '\\s+', ' ', 'g')))))",
    "is_official": "coalesce(list_has_any({topics}, ['role.pep', 'role.official']), FALSE) "
    "OR coalesce(len(list_filter({topics}, lambda t: t LIKE 'gov.%')) > 0, FALSE) "
    "OR coalesce(len({position}) > 0, FALSE) OR p.schema = 'PublicBody'",
}


def _party_extra(name: str, props: set[str]) -> str:
    refs = {k: (f'p."{k}"' if k in props else "CAST(NULL AS VARCHAR[])")
            for k in ("country", "jurisdiction", "nationality", "address", "topics", "position")}
    return _PARTY_EXTRA[name].format(**refs)


def _schema_sql(spec: Input, schema: str) -> str:
    props = _schema_props(schema)
    selects = []
    for column in spec.columns:
        if column.name == "id":
            expr = "p.id"
        elif column.name == "datasets":
            expr = "p.datasets"
        elif spec.name == "parties" and column.name in _PARTY_EXTRA:
            expr = _party_extra(column.name, props)
        else:
            expr = _value(column, props)
        selects.append(f'{expr} AS "{column.name}"')
    return f"SELECT {', '.join(selects)} FROM {_proj(schema)} p"


def _merge_sql(spec: Input, base: str, canon: str) -> str:
    """Rows of entities resolution merged become one row per cluster."""
    aggregates = []
    for column in spec.columns:
        q = f'"{column.name}"'
        if column.name == "id":
            aggregates.append(f"c.canonical_id AS {q}")
        elif column.type.endswith("[]"):
            aggregates.append(f"list_sort(list_distinct(flatten(list(b.{q})))) AS {q}")
        elif column.type == "BOOLEAN":
            aggregates.append(f"bool_or(b.{q}) AS {q}")
        else:
            aggregates.append(f"min(b.{q}) AS {q}")
    return f"""
        SELECT b.* FROM ({base}) b ANTI JOIN {canon} c ON c.entity_id = b.id
        UNION ALL BY NAME
        SELECT {", ".join(aggregates)} FROM ({base}) b JOIN {canon} c ON c.entity_id = b.id GROUP BY c.canonical_id
    """


def _map_references(spec: Input, base: str, canon: str) -> str:
    """Entity references mapped to their clusters."""
    columns = _entity_columns(spec)
    if not columns:
        return base
    joins, replaces, ctes = [], [], []
    for i, column in enumerate(columns):
        q = f'"{column.name}"'
        if column.type.endswith("[]"):
            ctes.append(
                f"m{i} AS (SELECT b.id, list_sort(list_distinct(list(coalesce(c.canonical_id, u.v)))) AS v "
                f"FROM b, unnest(b.{q}) AS u(v) LEFT JOIN {canon} c ON c.entity_id = u.v GROUP BY b.id)"
            )
            joins.append(f"LEFT JOIN m{i} ON m{i}.id = b.id")
            replaces.append(f"m{i}.v AS {q}")
        else:
            joins.append(f"LEFT JOIN {canon} c{i} ON c{i}.entity_id = b.{q}")
            replaces.append(f"coalesce(c{i}.canonical_id, b.{q}) AS {q}")
    with_ = ", ".join([f"b AS ({base})", *ctes])
    return f"WITH {with_} SELECT b.* REPLACE ({', '.join(replaces)}) FROM b {' '.join(joins)}"


_RELATION_ENDS: Final = {
    "Family": ("family", "person", "relative", "relationship"),
    "Associate": ("associate", "person", "associate", "relationship"),
    "Employment": ("employment", "employee", "employer", "role"),
    "Membership": ("membership", "member", "organization", "role"),
    "Representation": ("representation", "agent", "client", "role"),
}


def build_sql(name: str, *, canon: str | None, present: set[str]) -> str | None:
    """The SELECT that materialises input ``name`` from the store's projections (``present``
    names the projection tables that exist); None when none of its schemata has entities."""
    spec = INPUTS[name]
    if name == "trade":
        if "cites_trade" not in present:
            return None
        return """
            SELECT record_id, [dataset] AS datasets, CAST(year AS INTEGER) AS year, appendix, taxon, class,
                   "order", family, genus, term, quantity, nullif(unit, '') AS unit, importer, exporter,
                   origin_country, purpose, source, reporter_type, import_permit_id, export_permit_id,
                   origin_permit_id
            FROM cites_trade
        """
    schemata = [s for s in spec.schemata if table_name(s) in present]
    if not schemata:
        return None
    if name == "relations":
        parts = []
        for schema in schemata:
            kind, source, target, label = _RELATION_ENDS[schema]
            props = _schema_props(schema)
            rel = f'p."{label}"[1]'
            if label != "relationship" and "relationship" in props:
                rel = f'coalesce(p."{label}"[1], p."relationship"[1])'
            parts.append(
                f"SELECT p.id, p.datasets, '{kind}' AS kind, p.\"{source}\"[1] AS source, "
                f"p.\"{target}\"[1] AS target, {rel} AS relationship FROM {_proj(schema)} p"
            )
        sql = " UNION ALL ".join(parts)
        if canon:
            sql = f"""SELECT r.* REPLACE (coalesce(a.canonical_id, r.source) AS source,
                                          coalesce(b.canonical_id, r.target) AS target)
                      FROM ({sql}) r LEFT JOIN {canon} a ON a.entity_id = r.source
                      LEFT JOIN {canon} b ON b.entity_id = r.target"""
        return sql
    sql = " UNION ALL BY NAME ".join(_schema_sql(spec, schema) for schema in schemata)
    if canon:
        sql = _map_references(spec, sql, canon)
        if name in ("parties", "ports"):
            sql = _merge_sql(spec, sql, canon)
    if name == "parties":
        # Employed by a public body: an official even without a position or topic.
        relations = build_sql("relations", canon=canon, present=present)
        if relations is not None:
            sql = f"""
                WITH p AS ({sql}),
                employed AS (
                    SELECT DISTINCT r.source FROM ({relations}) r
                    JOIN p ON p.id = r.target AND p.schema = 'PublicBody' WHERE r.kind = 'employment'
                )
                SELECT p.* REPLACE (p.is_official OR e.source IS NOT NULL AS is_official)
                FROM p LEFT JOIN employed e ON e.source = p.id
            """
    return sql


def materialise(con: duckdb.DuckDBPyConnection, names: list[str], canon: str | None = None) -> dict[str, int]:
    """Create the named inputs as temp tables on ``con`` from the store's projections (which
    must be current: see :func:`chainlight.store.projections.ensure_current`); return row
    counts. ``canon`` names a table (entity_id, canonical_id) of every member of every cluster
    resolution formed (its canonical member included)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    counts: dict[str, int] = {}
    for name in names:
        spec = INPUTS[name]
        sql = build_sql(name, canon=canon, present=present)
        if sql is None:
            create_empty(con, name)
        else:
            columns = ", ".join(f'"{c.name}"' for c in spec.columns)
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {columns} FROM ({sql})')
        counts[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
    return counts
