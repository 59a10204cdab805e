"""Beneficial Ownership Data Standard 0.4 (``bods``): who owns and controls the companies in a
trade chain, as published by beneficial-ownership registers and Open Ownership.

A file is either a JSON array of statements (a BODS package, loaded whole: packages are
modest) or JSON lines, one statement per line (how registers publish big files; streamed).
Every statement is checked against the packaged BODS 0.4 schema (:mod:`bods_schema`); one that
fails is quarantined with the JSON path of the field at fault and the rest load. In messages a
statement of an array is "statement N" (1-based); in JSON lines it is its line number.

Mapping (docs/formats/bods.md has the full table):

- entity records become ``Company`` (registered and legal entities), ``Organization``
  (arrangements such as trusts and nominations, anonymous and unknown entities) or
  ``PublicBody`` (states and state bodies); person records become ``Person``, with the FtM
  topic ``role.pep`` when the person is declared politically exposed;
- each interest of a relationship record becomes its own ``Ownership`` (economic and control
  interests: shares, votes, profits, other influence), ``Directorship`` (board and senior
  management interests) or ``UnknownLink`` (roles in arrangements: settlor, trustee,
  protector, nominee, nominator; and interests whose nature is unknown or unpublished).

Ids come from :func:`record_entity_id`, :func:`interest_entity_id` and
:func:`relationship_entity_id`, so every statement about one ``recordId`` (a new record, then
its updates) loads onto the same entity and the statement table keeps each value's history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from chainlight.ingest.base import FileRejected, IngestContext
from chainlight.ingest.bods_schema import SchemaProblem, check_statement, codelist_titles
from chainlight.ingest.checked import Refused, make_checked, quarantine_refused
from chainlight.model.identity import dataset_key

MAX_LINE_BYTES = 16 << 20
SNIFF_BYTES = 4096
UTF8_BOM = b"\xef\xbb\xbf"

#: BODS entityType -> FtM schema. Company is the FtM schema that can both own and be owned
#: (Organization and Asset), so registered and legal entities take it.
ENTITY_SCHEMATA: dict[str, str] = {
    "registeredEntity": "Company",
    "legalEntity": "Company",
    "arrangement": "Organization",
    "anonymousEntity": "Organization",
    "unknownEntity": "Organization",
    "state": "PublicBody",
    "stateBody": "PublicBody",
}

#: Interests that are a seat on, or the power over, the board and management.
DIRECTORSHIP_INTERESTS = frozenset(
    {"appointmentOfBoard", "boardMember", "boardChair", "seniorManagingOfficial"}
)

#: Interests that are a role in an arrangement, or whose nature is not known: no ownership
#: semantics can be claimed for them, so they load as an ``UnknownLink`` with the role named.
LINK_INTERESTS = frozenset(
    {"settlor", "trustee", "protector", "nominee", "nominator", "unknownInterest", "unpublishedInterest"}
)

#: org-id.guide codes of company registers whose ids are registration numbers.
COMPANY_REGISTERS = frozenset(
    {
        "GB-COH", "IE-CRO", "NL-KVK", "DK-CVR", "NO-BRC", "SE-BLV", "FI-PRO", "EE-RIK", "LV-RE",
        "UA-EDR", "SK-ORSR", "CZ-ICO", "FR-RCS", "BE-BCE_KBO", "DE-CR", "CH-FDJP", "ZA-CIP",
        "NG-CAC", "IN-MCA",
    }
)

UNSPECIFIED_INTEREST = "Unspecified interest"
NO_INTERESTS_ROLE = "Relationship (interests not stated)"


def record_entity_id(dataset: str, record_id: str) -> str:
    """Id of the entity or person that a BODS ``recordId`` stands for in ``dataset``."""
    return dataset_key(dataset, "bods", record_id)


def interest_entity_id(dataset: str, relationship_record_id: str, index: int) -> str:
    """Id of the link for interest number ``index`` (0-based, its position in ``interests``)
    of a relationship record."""
    return dataset_key(dataset, "bods-interest", relationship_record_id, index)


def relationship_entity_id(dataset: str, relationship_record_id: str) -> str:
    """Id of the link for a relationship record that states no interests at all."""
    return dataset_key(dataset, "bods-relationship", relationship_record_id)


def interest_schema(interest_type: str | None) -> str:
    """The FtM schema one BODS interest loads as (see the module docstring)."""
    if interest_type in DIRECTORSHIP_INTERESTS:
        return "Directorship"
    if interest_type is None or interest_type in LINK_INTERESTS:
        return "UnknownLink"
    return "Ownership"


def interest_label(interest_type: str | None) -> str:
    """The codelist title of an interest type ("Voting rights"), used as the link's role."""
    if not interest_type:
        return UNSPECIFIED_INTEREST
    return codelist_titles("interestType").get(interest_type, interest_type)


def identifier_property(scheme: str | None, schema: str) -> str:
    """Which FtM property an identifier of ``scheme`` fills on an entity of ``schema``."""
    code = (scheme or "").strip().upper()
    if code == "XI-LEI":
        return "leiCode"
    if code in COMPANY_REGISTERS:
        return "registrationNumber"
    if schema == "Person" and code.endswith("-PASSPORT"):
        return "passportNumber"
    if code.endswith("-TAXID"):
        return "taxNumber"
    return "idNumber"


def format_number(value: float) -> str:
    """``60.0`` -> ``"60"``, ``33.5`` -> ``"33.5"``: how a share percentage is written."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def share_bounds(share: dict[str, Any]) -> tuple[float | None, float | None]:
    """The (minimum, maximum) of a BODS share range, exclusive bounds folded into the
    inclusive ones (a share "> 25" is stored with minimum 25; the summary keeps the ">")."""
    low = share.get("minimum", share.get("exclusiveMinimum"))
    high = share.get("maximum", share.get("exclusiveMaximum"))
    return low, high


def share_text(share: dict[str, Any]) -> str | None:
    """A share as people write it: ``60%``, ``>= 25% and < 50%``."""
    if "exact" in share:
        return f"{format_number(share['exact'])}%"
    parts = []
    if "minimum" in share:
        parts.append(f">= {format_number(share['minimum'])}%")
    elif "exclusiveMinimum" in share:
        parts.append(f"> {format_number(share['exclusiveMinimum'])}%")
    if "maximum" in share:
        parts.append(f"<= {format_number(share['maximum'])}%")
    elif "exclusiveMaximum" in share:
        parts.append(f"< {format_number(share['exclusiveMaximum'])}%")
    return " and ".join(parts) or None


def format_address(address: dict[str, Any]) -> str | None:
    country = address.get("country") or {}
    parts = [address.get("address"), address.get("postCode"), country.get("name")]
    text = ", ".join(str(p).strip() for p in parts if p and str(p).strip())
    return text or None


@dataclass(slots=True)
class _Statement:
    """One statement read from the file, with where it was and how to name that place."""

    where: int
    data: Any
    raw: str
    in_array: bool

    @property
    def label(self) -> str:
        return f"statement {self.where}" if self.in_array else "statement"


@dataclass(slots=True)
class _Loader:
    """Validates and maps the statements of one file."""

    ctx: IngestContext
    #: recordId -> FtM schema of entity and person records seen in this file, so that notes
    #: about a party to a relationship land on an entity of the right schema.
    schemata: dict[str, str] = field(default_factory=dict)
    #: values FtM's types refused while the current statement was mapped
    refused: list[Refused] = field(default_factory=list)

    def accept(self, st: _Statement, problem: SchemaProblem | None = None, *, checked: bool = False) -> None:
        """Quarantine ``st`` if it fails the schema (checked here unless ``checked``), else load it."""
        self.ctx.count_rows()
        if not checked:
            problem = check_statement(st.data)
        if problem is not None:
            more = f" (and {problem.others} more)" if problem.others else ""
            record = st.data.get("recordId") if isinstance(st.data, dict) else None
            which = f"{st.label} (recordId {record})" if isinstance(record, str) else st.label
            self.ctx.reject(
                st.where,
                f"{which} fails the BODS 0.4 schema: {problem.message}{more}",
                field=problem.json_path,
                raw=st.raw,
            )
            return
        self.remember(st.data)
        record_type = st.data["recordType"]
        if record_type == "entity":
            proxies = [self.entity(st.data)]
        elif record_type == "person":
            proxies = [self.person(st.data)]
        else:
            proxies = list(self.relationship(st.data))
        quarantine_refused(self.ctx, self.refused, st.where, st.raw)
        self.ctx.add_entities(proxies, st.where)

    def remember(self, data: dict[str, Any]) -> None:
        """Note the FtM schema of a valid entity or person record."""
        details = data["recordDetails"]
        if data["recordType"] == "entity":
            self.schemata[data["recordId"]] = ENTITY_SCHEMATA[details["entityType"]["type"]]
        elif data["recordType"] == "person":
            self.schemata[data["recordId"]] = "Person"

    # -- records -------------------------------------------------------------------------

    def _make(self, schema: str, entity_id: str, data: dict[str, Any]) -> Any:
        proxy = make_checked(schema, entity_id, self.refused)
        publisher = (data.get("publicationDetails") or {}).get("publisher") or {}
        proxy.add("publisher", publisher.get("name"), quiet=True)
        proxy.add("publisherUrl", publisher.get("url"), quiet=True)
        source = data.get("source") or {}
        proxy.add("sourceUrl", source.get("url"), quiet=True)
        proxy.add("retrievedAt", source.get("retrievedAt"), quiet=True)
        if data.get("recordStatus") == "closed":
            proxy.add("status", "closed", quiet=True)
        return proxy

    def entity(self, data: dict[str, Any]) -> Any:
        details = data["recordDetails"]
        entity_type = details["entityType"]
        schema = ENTITY_SCHEMATA[entity_type["type"]]
        proxy = self._make(schema, record_entity_id(self.ctx.dataset, data["recordId"]), data)
        proxy.add("name", details.get("name"), quiet=True)
        proxy.add("alias", details.get("alternateNames") or [], quiet=True)
        proxy.add("legalForm", entity_type.get("details"), quiet=True)
        proxy.add("classification", entity_type.get("subtype"), quiet=True)
        _add_place(proxy, "jurisdiction", details.get("jurisdiction"))
        _add_identifiers(proxy, details.get("identifiers") or [])
        proxy.add("incorporationDate", details.get("foundingDate"), quiet=True)
        proxy.add("dissolutionDate", details.get("dissolutionDate"), quiet=True)
        _add_addresses(proxy, details.get("addresses") or [])
        _add_unspecified(proxy, details.get("unspecifiedEntityDetails"))
        if schema == "Company":
            for listing in (details.get("publicListing") or {}).get("securitiesListings") or []:
                security = listing["security"]
                proxy.add("ticker", security.get("ticker"), quiet=True)
                if security.get("idScheme") == "isin":
                    proxy.add("isinCode", security.get("id"), quiet=True)
        return proxy

    def person(self, data: dict[str, Any]) -> Any:
        details = data["recordDetails"]
        proxy = self._make("Person", record_entity_id(self.ctx.dataset, data["recordId"]), data)
        for name in details.get("names") or []:
            kind = name.get("type")
            if kind in (None, "legal"):
                proxy.add("name", name["fullName"], quiet=True)
                proxy.add("firstName", name.get("givenName"), quiet=True)
                proxy.add("lastName", name.get("familyName"), quiet=True)
                proxy.add("fatherName", name.get("patronymicName"), quiet=True)
            elif kind in ("former", "birth"):
                proxy.add("previousName", name["fullName"], quiet=True)
            else:
                proxy.add("alias", name["fullName"], quiet=True)
        if not proxy.has("name") and proxy.has("alias"):
            proxy.add("name", proxy.first("alias"))
        for nationality in details.get("nationalities") or []:
            _add_place(proxy, "nationality", nationality)
        _add_identifiers(proxy, details.get("identifiers") or [])
        proxy.add("birthDate", details.get("birthDate"), quiet=True)
        proxy.add("deathDate", details.get("deathDate"), quiet=True)
        birth_place = details.get("placeOfBirth")
        if birth_place:
            proxy.add("birthPlace", format_address(birth_place), quiet=True)
            _add_place(proxy, "birthCountry", birth_place.get("country"))
        _add_addresses(proxy, details.get("addresses") or [])
        _add_unspecified(proxy, details.get("unspecifiedPersonDetails"))
        _add_political_exposure(proxy, details.get("politicalExposure"))
        return proxy

    def relationship(self, data: dict[str, Any]) -> Iterator[Any]:
        details = data["recordDetails"]
        subject, party = details["subject"], details["interestedParty"]
        interests: list[dict[str, Any]] = details.get("interests") or []
        if not isinstance(subject, str) or not isinstance(party, str):
            yield from self.unspecified_party(data, subject, party, interests)
            return
        record_id: str = data["recordId"]
        chain = _chain_text(details)
        if not interests:
            link = self._make("UnknownLink", relationship_entity_id(self.ctx.dataset, record_id), data)
            link.add("subject", record_entity_id(self.ctx.dataset, party))
            link.add("object", record_entity_id(self.ctx.dataset, subject))
            link.add("role", NO_INTERESTS_ROLE)
            link.add("recordId", record_id)
            link.add("summary", chain, quiet=True)
            yield link
            return
        for index, interest in enumerate(interests):
            yield self.interest(data, record_id, index, interest, subject, party, chain)

    def interest(
        self,
        data: dict[str, Any],
        record_id: str,
        index: int,
        interest: dict[str, Any],
        subject: str,
        party: str,
        chain: str | None,
    ) -> Any:
        kind = interest.get("type")
        schema = interest_schema(kind)
        link = self._make(schema, interest_entity_id(self.ctx.dataset, record_id, index), data)
        owner = record_entity_id(self.ctx.dataset, party)
        asset = record_entity_id(self.ctx.dataset, subject)
        share = interest.get("share") or {}
        if schema == "Ownership":
            link.add("owner", owner)
            link.add("asset", asset)
            link.add("interestType", kind)
            link.add("directOrIndirect", interest.get("directOrIndirect"), quiet=True)
            bo = interest.get("beneficialOwnershipOrControl")
            if bo is not None:
                link.add("beneficialOwnershipOrControl", "true" if bo else "false")
            if "exact" in share:
                link.add("percentage", format_number(share["exact"]))
            low, high = share_bounds(share)
            if low is not None:
                link.add("shareMinimum", format_number(low))
            if high is not None:
                link.add("shareMaximum", format_number(high))
        elif schema == "Directorship":
            link.add("director", owner)
            link.add("organization", asset)
        else:
            link.add("subject", owner)
            link.add("object", asset)
        link.add("role", interest_label(kind))
        link.add("description", interest.get("details"), quiet=True)
        link.add("startDate", interest.get("startDate"), quiet=True)
        link.add("endDate", interest.get("endDate"), quiet=True)
        link.add("recordId", record_id)
        link.add("summary", _interest_summary(interest, chain))
        return link

    def unspecified_party(
        self, data: dict[str, Any], subject: Any, party: Any, interests: list[dict[str, Any]]
    ) -> Iterator[Any]:
        """A relationship with a party that cannot be named links nothing; the reason is kept
        as a note on the party that is named (a listed company exempt from disclosure...)."""
        if isinstance(subject, str):
            known, missing, side = subject, party, "Interested party"
        elif isinstance(party, str):
            known, missing, side = party, subject, "Subject"
        else:
            return
        note = f"{side} unspecified ({missing['reason']})"
        if missing.get("description"):
            note += f": {missing['description']}"
        held = [_interest_summary(interest, None) for interest in interests]
        if held:
            note += f"; interests: {'; '.join(held)}"
        schema = self.schemata.get(known, "LegalEntity")
        proxy = self._make(schema, record_entity_id(self.ctx.dataset, known), data)
        proxy.add("notes", note)
        yield proxy


def _add_place(proxy: Any, prop: str, place: dict[str, Any] | None) -> None:
    """A BODS Country or Jurisdiction: its code when FtM knows it, else its name."""
    if not place:
        return
    before = len(proxy.get(prop))
    code = place.get("code")
    if code:
        proxy.add(prop, code.lower(), quiet=True)
    if len(proxy.get(prop)) == before and place.get("name"):
        proxy.add(prop, place["name"], quiet=True, fuzzy=True)


def _add_identifiers(proxy: Any, identifiers: list[dict[str, Any]]) -> None:
    for identifier in identifiers:
        value = identifier.get("id")
        if value:
            proxy.add(identifier_property(identifier.get("scheme"), proxy.schema.name), value, quiet=True)


def _add_addresses(proxy: Any, addresses: list[dict[str, Any]]) -> None:
    for address in addresses:
        proxy.add("address", format_address(address), quiet=True)
        _add_place(proxy, "country", address.get("country"))


def _add_unspecified(proxy: Any, unspecified: dict[str, Any] | None) -> None:
    if unspecified:
        note = f"Details unspecified ({unspecified['reason']})"
        if unspecified.get("description"):
            note += f": {unspecified['description']}"
        proxy.add("notes", note)


def _add_political_exposure(proxy: Any, exposure: dict[str, Any] | None) -> None:
    """``isPep`` gives the FtM topic ``role.pep``; each detail's reason is a position held."""
    if not exposure:
        return
    status = exposure["status"]
    if status == "isPep":
        proxy.add("topics", "role.pep")
    for detail in exposure.get("details") or []:
        if detail.get("missingInfoReason"):
            proxy.add("notes", f"PEP status {status}: {detail['missingInfoReason']}")
            continue
        proxy.add("position", detail.get("reason"), quiet=True)
        jurisdiction = (detail.get("jurisdiction") or {}).get("name")
        dates = [f"from {detail['startDate']}" if detail.get("startDate") else "",
                 f"until {detail['endDate']}" if detail.get("endDate") else ""]
        parts = [detail.get("reason"), f"in {jurisdiction}" if jurisdiction else "", *dates]
        text = " ".join(p for p in parts if p)
        if text:
            proxy.add("notes", f"Politically exposed person: {text}")


def _chain_text(details: dict[str, Any]) -> str | None:
    if details.get("isComponent"):
        return "component of an indirect relationship"
    components = details.get("componentRecords") or []
    if components:
        return f"indirect through component records {', '.join(components)}"
    return None


def _interest_summary(interest: dict[str, Any], chain: str | None) -> str:
    kind = interest.get("type")
    parts = [interest_label(kind)]
    if interest.get("directOrIndirect"):
        parts.append(str(interest["directOrIndirect"]))
    bo = interest.get("beneficialOwnershipOrControl")
    if bo is not None:
        parts.append("beneficial ownership or control" if bo else "not beneficial ownership or control")
    share = share_text(interest.get("share") or {})
    if share:
        parts.append(f"share {share}")
    if chain:
        parts.append(chain)
    return ", ".join(parts)


class BodsReader:
    format = "bods"
    description = "Beneficial Ownership Data Standard 0.4 statements (JSON array or JSON lines)"

    def read(self, ctx: IngestContext) -> None:
        with ctx.path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        first = head.removeprefix(UTF8_BOM).lstrip()[:1]
        if first == b"[":
            self._read_array(ctx)
        elif first == b"{":
            self._read_lines(ctx)
        else:
            raise FileRejected(
                "not BODS JSON: expected a JSON array of statements or one JSON statement per line", 1
            )

    def _read_array(self, ctx: IngestContext) -> None:
        data = ctx.path.read_bytes()
        try:
            statements = orjson.loads(data.removeprefix(UTF8_BOM))
        except orjson.JSONDecodeError as exc:
            raise FileRejected(f"not valid JSON: {exc}", exc.lineno) from None
        ctx.advance(len(data))
        if not isinstance(statements, list):
            raise FileRejected("not a BODS package: the top-level JSON value is not an array", 1)
        loader = _Loader(ctx)
        # Statements may name records that come later in the package: learn every record's
        # schema first, so notes about unnamed counterparties land on the right schema.
        problems = [check_statement(item) for item in statements]
        for item, problem in zip(statements, problems, strict=True):
            if problem is None:
                loader.remember(item)
        for index, (item, problem) in enumerate(zip(statements, problems, strict=True), start=1):
            raw = orjson.dumps(item).decode("utf-8")
            loader.accept(_Statement(index, item, raw, in_array=True), problem, checked=True)

    def _read_lines(self, ctx: IngestContext) -> None:
        loader = _Loader(ctx)
        seen_json = False
        consumed = 0
        with ctx.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                ctx.advance(len(raw))
                consumed += len(raw)
                line = raw.removeprefix(UTF8_BOM) if number == 1 else raw
                if not line.strip():
                    continue
                text = line.decode("utf-8", errors="replace")
                if len(line) > MAX_LINE_BYTES:
                    ctx.count_rows()
                    ctx.reject(number, f"line longer than {MAX_LINE_BYTES} bytes")
                    continue
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    if not seen_json:
                        self._read_single_object(ctx, loader, consumed)
                        return
                    ctx.count_rows()
                    ctx.reject(number, f"statement is not valid JSON: {exc}", raw=text)
                    continue
                seen_json = True
                loader.accept(_Statement(number, item, text, in_array=False))

    @staticmethod
    def _read_single_object(ctx: IngestContext, loader: _Loader, consumed: int) -> None:
        """A file starting with ``{`` whose first line is not JSON: one pretty-printed
        statement, or not JSON at all."""
        data = ctx.path.read_bytes()
        ctx.advance(max(0, len(data) - consumed))
        data = data.removeprefix(UTF8_BOM)
        try:
            item = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            message = f"not valid JSON (neither JSON lines nor one statement): {exc}"
            raise FileRejected(message, exc.lineno) from None
        loader.accept(_Statement(1, item, data.decode("utf-8", errors="replace"), in_array=False))
