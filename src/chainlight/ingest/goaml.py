"""goAML report XML (``goaml``): the UNODC schema 5.0.1 in which reporting entities file
suspicious transaction and activity reports with an FIU.

A file is one ``<report>``: a header (reporting entity, report code, reason, action), then
``<transaction>`` elements or one ``<activity>``, then ``<report_indicators>``. The file is
checked in three streaming passes, so memory stays bounded by one transaction:

1. expat reads the header and indicators (and finds XML syntax errors, with their line);
2. xmlschema validates the whole file against the package's copy of the XSD, lazily;
   one schema error rejects the file (:class:`FileRejected`), with the validator's path and
   the line it points to;
3. expat again, building one transaction (or report party) at a time and mapping it to
   FollowTheMoney: a ``Payment`` per transaction, with ``Person``, ``Company`` and
   ``BankAccount`` parties, ``Ownership`` for account holders and signatories,
   ``Directorship`` for directors, and a ``Note`` for the report itself.

A transaction that passes the schema but still cannot be used (a party with a blank name, an
amount that is not a number) is quarantined alone; the rest of the report loads. The mapping
and the id rules are documented in docs/formats/goaml.md; the id functions below are public
so the synthetic world generator computes the same ids.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any
from xml.parsers import expat

from chainlight.ingest.base import FileRejected, IngestContext
from chainlight.ingest.checked import Refused, make_checked, quarantine_refused
from chainlight.ingest.goaml_codes import GoamlCodes, load_codes
from chainlight.ingest.goaml_schema import SCHEMA_PATH, first_schema_error, goaml_schema, line_of_path
from chainlight.model.identity import dataset_key

CHUNK_BYTES = 256 << 10
#: Direct children of <report> that carry records rather than header fields.
RECORD_ELEMENTS = frozenset({"transaction", "activity", "report_indicators", "additional_information"})
GENDERS = {"M": "male", "F": "female"}


# --- entity ids: the contract with the synthetic world generator -------------------------


def iso_date(value: str | None) -> str:
    """``1975-06-30T00:00:00`` -> ``1975-06-30``: the date part of a goAML ``sql_date``."""
    return (value or "").strip()[:10]


def person_id(
    dataset: str,
    first_name: str,
    last_name: str,
    birthdate: str | None = None,
    id_number: str | None = None,
    passport_number: str | None = None,
) -> str:
    """A goAML person: names, birth date (date part) and the id number, else the passport."""
    return dataset_key(dataset, "goaml-person", first_name, last_name, iso_date(birthdate),
                       id_number or passport_number or "")


def entity_id(dataset: str, name: str, incorporation_number: str | None = None) -> str:
    """A goAML entity (company, organisation): its name and incorporation number."""
    return dataset_key(dataset, "goaml-entity", name, incorporation_number or "")


def account_id(
    dataset: str,
    account_number: str,
    institution_code: str | None = None,
    swift: str | None = None,
    institution_name: str | None = None,
) -> str:
    """A bank account: the institution (code, else SWIFT, else name) and the account number."""
    return dataset_key(dataset, "goaml-account", institution_code or swift or institution_name or "",
                       account_number)


def report_ref(entity_reference: str | None, report_date: str | None) -> str:
    """How a report is named in ids: the reporting entity's reference, else its date."""
    return entity_reference or iso_date(report_date)


def payment_id(dataset: str, rentity_id: str, reference: str, transaction_number: str) -> str:
    """A transaction: reporting entity id, :func:`report_ref` and the transaction number."""
    return dataset_key(dataset, "goaml-transaction", rentity_id, reference, transaction_number)


def report_id(dataset: str, rentity_id: str, reference: str) -> str:
    """The report itself (a ``Note``)."""
    return dataset_key(dataset, "goaml-report", rentity_id, reference)


def reporting_entity_id(dataset: str, rentity_id: str) -> str:
    """The reporting institution (an ``Organization``), by its goAML ``rentity_id``."""
    return dataset_key(dataset, "goaml-rentity", rentity_id)


def _link_id(dataset: str, kind: str, *keys: str) -> str:
    return dataset_key(dataset, kind, *keys)


# --- reading the XML ---------------------------------------------------------------------


def _text(element: ET.Element | None, tag: str) -> str | None:
    """The stripped text of child ``tag``; None when absent or blank."""
    if element is None:
        return None
    value = element.findtext(tag)
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _date(value: str | None) -> str | None:
    """An FtM date from a ``sql_date``: the date alone at midnight, else to the second."""
    if not value:
        return None
    value = value.strip()
    if value[10:19] in ("", "T00:00:00"):
        return value[:10]
    return value[:19]


@dataclass(slots=True)
class ReportHeader:
    """What the report says about itself, read before its transactions."""

    fields: dict[str, str] = field(default_factory=dict)
    reporting_person: ET.Element | None = None
    location: ET.Element | None = None
    indicators: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    @property
    def rentity_id(self) -> str:
        return self.fields.get("rentity_id", "")

    @property
    def reference(self) -> str:
        return report_ref(self.get("entity_reference"), self.get("report_date") or self.get("submission_date"))


def _syntax_error(exc: expat.ExpatError) -> FileRejected:
    return FileRejected(
        f"not well-formed XML: {expat.ErrorString(exc.code)} (line {exc.lineno}, column {exc.offset + 1})",
        exc.lineno,
    )


def iter_report_children(
    path: Path, wanted: Callable[[str], bool], advance: Callable[[int], None] | None = None
) -> Iterator[tuple[ET.Element, int]]:
    """Each wanted child of ``<report>`` as a small tree, with the line it starts on.

    Only one chunk's worth of children is held at a time; unwanted children are not built.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    done: list[tuple[ET.Element, int]] = []
    builder: ET.TreeBuilder | None = None
    depth = 0
    start_line = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, builder, start_line
        depth += 1
        if depth == 1 and name != "report":
            raise FileRejected(f"root element is <{name}>, expected a goAML <report>", parser.CurrentLineNumber)
        if depth == 2 and wanted(name):
            builder = ET.TreeBuilder()
            start_line = parser.CurrentLineNumber
        if builder is not None:
            builder.start(name, attrs)

    def end(name: str) -> None:
        nonlocal depth, builder
        if builder is not None:
            builder.end(name)
            if depth == 2:
                done.append((builder.close(), start_line))
                builder = None
        depth -= 1

    def data(text: str) -> None:
        if builder is not None:
            builder.data(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHUNK_BYTES):
                parser.Parse(chunk, False)
                if advance:
                    advance(len(chunk))
                yield from done
                done.clear()
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise _syntax_error(exc) from None
    yield from done


def read_header(path: Path) -> ReportHeader:
    """The report's header fields and indicators (a cheap pass that skips transactions)."""
    header = ReportHeader()
    for element, _line in iter_report_children(path, lambda name: name not in ("transaction", "activity")):
        if element.tag == "reporting_person":
            header.reporting_person = element
        elif element.tag == "location":
            header.location = element
        elif element.tag == "report_indicators":
            header.indicators = [
                code for code in (" ".join((el.text or "").split()) for el in element.iter("indicator"))
                if code and code != "-"
            ]
        elif element.tag not in RECORD_ELEMENTS:
            value = " ".join((element.text or "").split())
            if value:
                header.fields[element.tag] = value
    return header


# --- mapping to FollowTheMoney -----------------------------------------------------------


class BadRecord(Exception):
    """A transaction or party that passed the schema but cannot be used."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _address(element: ET.Element) -> str | None:
    street = " ".join(p for p in (_text(element, "address"), _text(element, "house_number")) if p)
    parts = [street, _text(element, "apartment_number"), _text(element, "additional_address_line1"),
             _text(element, "additional_address_line2"), _text(element, "town"), _text(element, "zip"),
             _text(element, "city"), _text(element, "state"), _text(element, "country_code")]
    joined = ", ".join(p for p in parts if p)
    return joined or None


def _phone(element: ET.Element) -> str | None:
    number = _text(element, "tph_number")
    if not number:
        return None
    prefix = (_text(element, "tph_country_prefix") or "").lstrip("+0")
    return f"+{prefix}{number.lstrip('0')}" if prefix else number


@dataclass(slots=True)
class Party:
    """What one side of a transaction resolved to."""

    entity: Any | None = None
    account: Any | None = None

    @property
    def ids(self) -> list[str]:
        return [p.id for p in (self.entity, self.account) if p is not None]


class ReportMapper:
    """Turns the elements of one report into FtM proxies (collected, not yet written)."""

    def __init__(self, dataset: str, header: ReportHeader, codes: GoamlCodes) -> None:
        self.dataset = dataset
        self.header = header
        self.codes = codes
        self.proxies: list[Any] = []
        self.dropped: list[Refused] = []

    def _make(self, schema: str, entity_id: str) -> Any:
        proxy = make_checked(schema, entity_id, self.dropped)
        self.proxies.append(proxy)
        return proxy

    def take(self) -> list[Any]:
        proxies, self.proxies = self.proxies, []
        return proxies


    # parties

    def _contacts(self, proxy: Any, element: ET.Element) -> None:
        for address in element.findall("addresses/address"):
            proxy.add("address", _address(address))
        for phone in element.findall("phones/phone"):
            proxy.add("phone", _phone(phone))
        for email in [*element.findall("email"), *element.findall("emails/email")]:
            proxy.add("email", " ".join((email.text or "").split()) or None)

    def person(self, element: ET.Element, where: str) -> Any:
        first, last = _text(element, "first_name"), _text(element, "last_name")
        if not first and not last:
            raise BadRecord(where, "person has neither first_name nor last_name")
        id_numbers = [_text(i, "number") for i in [*element.findall("identification"),
                                                  *element.findall("identifications/identification")]]
        proxy = self._make("Person", person_id(self.dataset, first or "", last or "", _text(element, "birthdate"),
                                               _text(element, "id_number"), _text(element, "passport_number")))
        middle = _text(element, "middle_name")
        proxy.add("name", " ".join(p for p in (first, middle, last) if p))
        proxy.add("firstName", first)
        proxy.add("middleName", middle)
        proxy.add("lastName", last)
        proxy.add("title", _text(element, "title"))
        proxy.add("gender", GENDERS.get(_text(element, "gender") or ""))
        proxy.add("birthDate", _date(_text(element, "birthdate")))
        proxy.add("birthPlace", _text(element, "birth_place"))
        proxy.add("birthCountry", _text(element, "country_of_birth"))
        proxy.add("motherName", _text(element, "mothers_name"))
        proxy.add("alias", _text(element, "alias"))
        proxy.add("alias", _text(element, "full_name_frn"))
        proxy.add("passportNumber", _text(element, "passport_number"))
        proxy.add("idNumber", _text(element, "id_number"))
        proxy.add("idNumber", [n for n in id_numbers if n])
        # goAML's ssn is whatever national number the FIU's country uses; FtM's
        # socialSecurityNumber checks the US format, so other numbers go to idNumber.
        ssn = _text(element, "ssn")
        ssn_prop = proxy.schema.properties["socialSecurityNumber"]
        is_us_ssn = ssn is not None and ssn_prop.type.clean_text(ssn, format=ssn_prop.format) is not None
        proxy.add("socialSecurityNumber" if is_us_ssn else "idNumber", ssn)
        proxy.add("taxNumber", _text(element, "tax_number"))
        for tag in ("nationality1", "nationality2", "nationality3"):
            proxy.add("nationality", _text(element, tag))
        proxy.add("country", _text(element, "residence"))
        proxy.add("profession", _text(element, "occupation"))
        proxy.add("deathDate", _date(_text(element, "date_deceased")))
        proxy.add("notes", _text(element, "comments"))
        self._contacts(proxy, element)
        return proxy

    def entity(self, element: ET.Element, where: str) -> Any:
        name = _text(element, "name")
        if not name:
            raise BadRecord(where, "entity has no name")
        number = _text(element, "incorporation_number")
        proxy = self._make("Company", entity_id(self.dataset, name, number))
        proxy.add("name", name)
        proxy.add("alias", _text(element, "commercial_name"))
        proxy.add("registrationNumber", number)
        proxy.add("legalForm", _text(element, "incorporation_legal_form"))
        proxy.add("sector", _text(element, "business"))
        proxy.add("jurisdiction", _text(element, "incorporation_country_code"))
        proxy.add("incorporationDate", _date(_text(element, "incorporation_date")))
        proxy.add("dissolutionDate", _date(_text(element, "date_business_closed")))
        proxy.add("taxNumber", _text(element, "tax_number"))
        proxy.add("status", _text(element, "entity_status"))
        proxy.add("notes", _text(element, "comments"))
        for url in [*element.findall("url"), *element.findall("urls/url")]:
            proxy.add("website", " ".join((url.text or "").split()) or None)
        self._contacts(proxy, element)
        for index, director in enumerate(element.findall("director_id"), start=1):
            self._officer(proxy, director, _text(director, "role"), f"{where}/director_id[{index}]")
        for index, related in enumerate(element.findall("related_persons/entity_related_person"), start=1):
            person_el = related.find("person")
            if person_el is not None:
                self._officer(proxy, person_el, _text(related, "role"),
                              f"{where}/related_persons/entity_related_person[{index}]/person",
                              share=_text(related, "share_percentage"))
        return proxy

    def _officer(self, company: Any, element: ET.Element, role: str | None, where: str,
                 share: str | None = None) -> None:
        person = self.person(element, where)
        if share:
            link = self._make("Ownership", _link_id(self.dataset, "goaml-ownership", company.id, person.id))
            link.add("owner", person.id)
            link.add("asset", company.id)
            link.add("percentage", share)
        else:
            link = self._make("Directorship", _link_id(self.dataset, "goaml-directorship", company.id, person.id))
            link.add("director", person.id)
            link.add("organization", company.id)
        link.add("role", role)

    def account(self, element: ET.Element, where: str) -> Party:
        number = _text(element, "account")
        if not number:
            raise BadRecord(where, "account has no account number")
        code, swift = _text(element, "institution_code"), _text(element, "swift")
        bank = _text(element, "institution_name")
        account = self._make("BankAccount", account_id(self.dataset, number, code, swift, bank))
        account.add("accountNumber", number)
        account.add("iban", _text(element, "iban"))
        account.add("bankName", bank)
        account.add("bic", swift)
        account.add("country", _text(element, "institution_country"))
        account.add("currency", _text(element, "currency_code"))
        account.add("name", _text(element, "account_name"))
        account.add("accountType", _text(element, "personal_account_type") or _text(element, "account_type"))
        account.add("openingDate", _date(_text(element, "opened")))
        account.add("closingDate", _date(_text(element, "closed")))
        account.add("balance", _text(element, "balance"))
        account.add("balanceDate", _date(_text(element, "date_balance")))
        branch = _text(element, "branch")
        account.add("description", f"Branch: {branch}" if branch else None)
        account.add("notes", _text(element, "comments"))
        holder: Any | None = None
        entity_el = element.find("t_entity")
        if entity_el is not None:
            holder = self.entity(entity_el, f"{where}/t_entity")
            self._holding(holder, account, "account holder", None)
        signatories = [(s, f"{where}/signatory[{i}]") for i, s in enumerate(element.findall("signatory"), 1)]
        signatories += [(s, f"{where}/related_persons/account_related_person[{i}]")
                        for i, s in enumerate(element.findall("related_persons/account_related_person"), 1)]
        # The primary signatory first: without a holding entity, it is the payer or beneficiary.
        for signatory, path in sorted(signatories, key=lambda s: _text(s[0], "is_primary") != "1"):
            person_el = signatory.find("t_person")
            if person_el is None:
                continue
            person = self.person(person_el, f"{path}/t_person")
            primary = _text(signatory, "is_primary") == "1"
            self._holding(person, account, "primary signatory" if primary else "signatory", _text(signatory, "role"))
            if holder is None:
                holder = person
        return Party(holder, account)

    def _holding(self, owner: Any, account: Any, role: str, code: str | None) -> None:
        link = self._make("Ownership", _link_id(self.dataset, "goaml-account-holder", account.id, owner.id))
        link.add("owner", owner.id)
        link.add("asset", account.id)
        link.add("role", f"{role} ({code})" if code else role)

    def party(self, element: ET.Element, prefix: str, where: str) -> Party:
        """The person, entity or account under ``element`` (``from_``/``to_`` or none)."""
        for tag, kind in ((f"{prefix}account", "account"), (f"{prefix}person", "person"),
                          (f"{prefix}entity", "entity")):
            for suffix in ("", "_my_client"):
                child = element.find(tag + suffix)
                if child is None:
                    continue
                path = f"{where}/{tag}{suffix}"
                if kind == "account":
                    return self.account(child, path)
                if kind == "person":
                    return Party(self.person(child, path))
                return Party(self.entity(child, path))
        return Party()

    # the report and its records

    def report(self) -> BadRecord | None:
        """The report's ``Note``, the reporting institution and its reporting person. A
        reporting person without a name is returned as a problem; the rest still loads."""
        header, codes = self.header, self.codes
        rentity = header.rentity_id
        note = self._make("Note", report_id(self.dataset, rentity, header.reference))
        report_code = header.get("report_code") or "-"
        note.add("name", f"goAML {report_code} {header.reference} from reporting entity {rentity}")
        note.add("summary", header.get("reason"))
        note.add("notes", f"Action: {header.get('action')}" if header.get("action") else None)
        note.add("description", self.context())
        note.add("keywords", report_code)
        note.add("keywords", header.indicators)
        note.add("createdAt", _date(header.get("report_date") or header.get("submission_date")))
        note.add("programId", header.get("fiu_ref_number"))
        if header.location is not None:
            note.add("address", _address(header.location))
            note.add("country", _text(header.location, "country_code"))
        institution = self._make("Organization", reporting_entity_id(self.dataset, rentity))
        name = codes.reporting_entities.get(rentity) or f"goAML reporting entity {rentity}"
        note.add("publisher", name)
        institution.add("name", name)
        institution.add("alias", header.get("rentity_branch"))
        institution.add("idNumber", rentity)
        if header.reporting_person is None:
            return None
        try:
            officer = self.person(header.reporting_person, "report/reporting_person")
        except BadRecord as exc:
            return exc
        else:
            link = self._make("Employment", _link_id(self.dataset, "goaml-employment", institution.id, officer.id))
            link.add("employer", institution.id)
            link.add("employee", officer.id)
            link.add("role", "goAML reporting person")
            note.add("entity", officer.id)
        return None

    def context(self) -> str:
        """One line naming the report and its indicators, carried on every payment."""
        header, codes = self.header, self.codes
        report = codes.describe("report_types", header.get("report_code") or "-")
        text = f"goAML report {report}, reference {header.reference}, reporting entity {header.rentity_id}"
        if header.indicators:
            text += "; indicators: " + "; ".join(codes.describe("indicators", c) for c in header.indicators)
        return text

    def transaction(self, element: ET.Element, index: int) -> Any:
        where = f"report/transaction[{index}]"
        number = _text(element, "transactionnumber")
        if not number:
            raise BadRecord(f"{where}/transactionnumber", "transaction has no transactionnumber")
        amount_text = _text(element, "amount_local")
        try:
            amount = Decimal(amount_text or "")
        except InvalidOperation:
            raise BadRecord(f"{where}/amount_local", f"amount {amount_text!r} is not a number") from None
        if not amount.is_finite():
            raise BadRecord(f"{where}/amount_local", f"amount {amount_text!r} is not a number")
        payment = self._make("Payment", payment_id(self.dataset, self.header.rentity_id, self.header.reference, number))
        payment.add("transactionNumber", number)
        payment.add("recordId", _text(element, "internal_ref_number"))
        payment.add("date", _date(_text(element, "date_transaction")))
        payment.add("amount", str(amount))
        payment.add("currency", self.header.get("currency_code_local"))
        payment.add("purpose", _text(element, "transaction_description"))
        payment.add("programme", _text(element, "transmode_code"))
        payment.add("summary", self.context())
        details: list[str] = []
        transmode = _text(element, "transmode_code")
        if transmode:
            details.append(f"conducted as {self.codes.describe('transmodes', transmode)}")
        for label, tag in (("location", "transaction_location"), ("value date", "value_date"),
                           ("comment", "transmode_comment"), ("comments", "comments")):
            value = _text(element, tag)
            if value:
                details.append(f"{label}: {_date(value) if tag == 'value_date' else value}")
        mentioned: list[Any] = []
        involved = element.find("involved_parties")
        if involved is not None:
            sides = self._involved(involved, where, details, mentioned)
        else:
            sides = (self._side(element, "from", where, details, mentioned),
                     self._side(element, "to", where, details, mentioned))
        payer, beneficiary = sides
        if not payer.ids and not beneficiary.ids and not mentioned:
            raise BadRecord(where, "transaction has no parties")
        payment.add("payer", payer.entity.id if payer.entity is not None else None)
        payment.add("payerAccount", payer.account.id if payer.account is not None else None)
        payment.add("beneficiary", beneficiary.entity.id if beneficiary.entity is not None else None)
        payment.add("beneficiaryAccount", beneficiary.account.id if beneficiary.account is not None else None)
        for proxy in mentioned:
            payment.add("namesMentioned", proxy.get("name"))
        payment.add("description", "; ".join(details) or None)
        return payment

    def _side(self, element: ET.Element, side: str, where: str, details: list[str], mentioned: list[Any]) -> Party:
        for tag in (f"t_{side}_my_client", f"t_{side}"):
            wrapper = element.find(tag)
            if wrapper is None:
                continue
            path = f"{where}/{tag}"
            party = self.party(wrapper, f"{side}_", path)
            if not party.ids:
                raise BadRecord(path, f"<{tag}> names no account, person or entity")
            funds = _text(wrapper, f"{side}_funds_code")
            if funds:
                details.append(f"{side} funds: {self.codes.describe('funds_types', funds)}")
            comment = _text(wrapper, f"{side}_funds_comment")
            if comment:
                details.append(f"{side} funds comment: {comment}")
            foreign = wrapper.find(f"{side}_foreign_currency")
            if foreign is not None:
                amount, code = _text(foreign, "foreign_amount"), _text(foreign, "foreign_currency_code")
                details.append(f"{side} foreign amount: {amount} {code} at {_text(foreign, 'foreign_exchange_rate')}")
            country = _text(wrapper, f"{side}_country")
            if country:
                details.append(f"{side} country: {country}")
            conductor = wrapper.find("t_conductor")
            if conductor is not None:
                mentioned.append(self.person(conductor, f"{path}/t_conductor"))
                details.append(f"conducted by {mentioned[-1].first('name')}")
            return party
        return Party()

    def _involved(self, involved: ET.Element, where: str, details: list[str],
                  mentioned: list[Any]) -> tuple[Party, Party]:
        payer, beneficiary = Party(), Party()
        for index, element in enumerate(involved.findall("party"), start=1):
            path = f"{where}/involved_parties/party[{index}]"
            party = self.party(element, "", path)
            if not party.ids:
                raise BadRecord(path, "party names no account, person or entity")
            role = _text(element, "role") or "-"
            names = [p.first("name") for p in (party.entity, party.account) if p is not None]
            details.append(f"party {'/'.join(n for n in names if n)} role {role}")
            if role in self.codes.payer_roles and not payer.ids:
                payer = party
            elif role in self.codes.beneficiary_roles and not beneficiary.ids:
                beneficiary = party
            else:
                mentioned.extend(p for p in (party.entity, party.account) if p is not None)
        return payer, beneficiary

    def activity_party(self, element: ET.Element, index: int) -> list[str]:
        """One ``report_party`` of an activity report; returns the ids to link from the report."""
        party = self.party(element, "", f"report/activity/report_parties/report_party[{index}]")
        if not party.ids:
            raise BadRecord(f"report/activity/report_parties/report_party[{index}]",
                            "report party names no account, person or entity")
        return party.ids

    def link_to_report(self, ids: list[str]) -> None:
        """Add the parties of one record to the report's ``Note`` (a fragment, merged by id)."""
        if not ids:
            return
        note = self._make("Note", report_id(self.dataset, self.header.rentity_id, self.header.reference))
        note.add("entity", ids)


# --- the reader -------------------------------------------------------------------------


class GoamlReader:
    format = "goaml"
    description = "goAML report XML (UNODC schema 5.0.1): transactions and activity to FtM payments"

    def read(self, ctx: IngestContext) -> None:
        codes = load_codes(ctx.options.get("goaml_codes"))
        header = read_header(ctx.path)
        self._validate(ctx)
        mapper = ReportMapper(ctx.dataset, header, codes)
        problem = mapper.report()
        if problem is not None:
            ctx.reject(None, problem.message, field=problem.field, row_loaded=True)
        quarantine_refused(ctx, mapper.dropped, None, None)
        ctx.add_entities(mapper.take(), None)
        transactions = parties = 0
        records = iter_report_children(ctx.path, lambda name: name in ("transaction", "activity"),
                                       lambda n: ctx.advance(n - n // 2))
        for element, line in records:
            if element.tag == "transaction":
                transactions += 1
                self._record(ctx, mapper, element, line, partial(self._transaction, element, transactions))
                continue
            for party in element.findall("report_parties/report_party"):
                parties += 1
                self._record(ctx, mapper, party, line, partial(self._activity_party, party, parties))

    @staticmethod
    def _transaction(element: ET.Element, index: int, mapper: ReportMapper) -> None:
        payment = mapper.transaction(element, index)
        mapper.link_to_report([v for prop in ("payer", "beneficiary", "payerAccount", "beneficiaryAccount")
                               for v in payment.get(prop)])

    @staticmethod
    def _activity_party(element: ET.Element, index: int, mapper: ReportMapper) -> None:
        mapper.link_to_report(mapper.activity_party(element, index))

    @staticmethod
    def _record(ctx: IngestContext, mapper: ReportMapper, element: ET.Element, line: int,
                build: Callable[[ReportMapper], None]) -> None:
        """Map one transaction or report party; quarantine it alone if it cannot be used."""
        ctx.count_rows()
        try:
            build(mapper)
        except BadRecord as exc:
            mapper.take()
            mapper.dropped.clear()
            ctx.reject(line, exc.message, field=exc.field, raw=ET.tostring(element, encoding="unicode"))
            return
        quarantine_refused(ctx, mapper.dropped, line, ET.tostring(element, encoding="unicode"))
        ctx.add_entities(mapper.take(), line)

    @staticmethod
    def _validate(ctx: IngestContext) -> None:
        schema_path = Path(ctx.options.get("goaml_schema") or SCHEMA_PATH)
        schema = goaml_schema(schema_path, bool(ctx.options.get("goaml_strict_codes")))
        error = first_schema_error(ctx.path, schema, lambda n: ctx.advance(n // 2))
        if error is None:
            return
        line = line_of_path(ctx.path, error.path)
        where = f"line {line}, " if line else ""
        raise FileRejected(f"not a valid goAML report ({where}{error.path}): {error.reason}", line)
