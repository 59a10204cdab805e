"""Suspicious transaction reports from banks to the FIU, as goAML 5.0.1 XML.

Each reporting bank files reports of up to ``TRANSACTIONS_PER_REPORT`` transactions:
ordinary trade payments from importers to exporters, layering from a syndicate's importer
through its shells to its exporters, and, planted, payments from a syndicate's shells to
relatives of the officials it has bought. Persons and companies are written the way bank
forms hold them (FAMILY name in capitals, given name apart, legal suffix abbreviated).
Report indicator codes are per-FIU lists; the published schema only knows ``-``, so that is
what the files carry to stay valid, and the reason text says what raised the report.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from xml.sax.saxutils import escape

from chainlight.demo import names
from chainlight.demo.actors import BANKS, Account, Cast, Company, Person
from chainlight.demo.shipments import DAYS, START
from chainlight.demo.sources import FIU
from chainlight.demo.truth import Truth
from chainlight.model.identity import dataset_key

TRANSACTIONS_PER_REPORT = 25


@dataclass(frozen=True, slots=True)
class Payment:
    number: str
    when: date
    amount: float
    payer: Company | Person
    payee: Company | Person
    description: str


def _el(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


class GoamlWriter:
    def __init__(self, rng: random.Random, truth: Truth, out_dir: Path) -> None:
        self.rng = rng
        self.truth = truth
        self.folder = out_dir / FIU.name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.files: list[Path] = []

    def report(self, bank_index: int, payments: list[Payment], reason: str) -> None:
        bank, swift, country = BANKS[bank_index % len(BANKS)]
        path = self.folder / f"str_{len(self.files) + 1:06d}.xml"
        rel = path.relative_to(self.out_dir).as_posix()
        when = max(p.when for p in payments) + timedelta(days=14)
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<report>',
            _el("rentity_id", 1000 + bank_index % len(BANKS)),
            _el("rentity_branch", f"{bank} head office"),
            _el("submission_code", "E"),
            _el("report_code", "STR"),
            _el("entity_reference", f"{swift[:4]}-STR-{len(self.files) + 1:06d}"),
            _el("report_date", f"{when.isoformat()}T00:00:00"),
            _el("currency_code_local", "USD"),
            "<reporting_person>",
            _el("first_name", "Compliance"),
            _el("last_name", "Officer"),
            _el("occupation", "Money laundering reporting officer"),
            "</reporting_person>",
            "<location>",
            _el("address_type", "2"),
            _el("address", f"{bank} head office"),
            _el("city", "Nairobi" if country == "KE" else country),
            _el("country_code", country),
            "</location>",
            _el("reason", reason),
            _el("action", "Account under enhanced monitoring"),
        ]
        for p in payments:
            parts.append(self._transaction(p, rel))
        parts.append("<report_indicators>" + _el("indicator", "-") + "</report_indicators>\n</report>\n")
        path.write_text("".join(parts), encoding="utf-8")
        self.files.append(path)

    def _transaction(self, p: Payment, rel: str) -> str:
        return "".join(
            [
                "<transaction>",
                _el("transactionnumber", p.number),
                _el("transaction_location", "Online banking"),
                _el("transaction_description", p.description),
                _el("date_transaction", f"{p.when.isoformat()}T00:00:00"),
                _el("transmode_code", "A"),
                _el("amount_local", f"{p.amount:.2f}"),
                "<t_from>",
                _el("from_funds_code", "A"),
                self._account("from", p.payer, rel),
                _el("from_country", p.payer.account.country),
                "</t_from>",
                "<t_to>",
                _el("to_funds_code", "A"),
                self._account("to", p.payee, rel),
                _el("to_country", p.payee.account.country),
                "</t_to>",
                "</transaction>",
            ]
        )

    def _account(self, side: str, holder: Company | Person, rel: str) -> str:
        a: Account = holder.account
        inner = [
            _el("institution_name", a.bank),
            _el("swift", a.swift),
            _el("account", a.number),
            _el("currency_code", a.currency),
        ]
        if isinstance(holder, Company):
            inner.append(_el("account_name", names.company_variant(self.rng, holder.base, holder.legal_form, "bank")))
        if a.iban:
            inner.append(_el("iban", a.iban))
        inner.append(_el("personal_account_type", "A" if isinstance(holder, Person) else "B"))
        if isinstance(holder, Company):
            inner.append(self._entity(holder, rel))
        else:
            inner.append("<signatory>" + self._person(holder, rel) + _el("role", "A") + "</signatory>")
        return f"<{side}_account>" + "".join(inner) + f"</{side}_account>"

    def _entity(self, c: Company, rel: str) -> str:
        name = names.company_variant(self.rng, c.base, c.legal_form, "bank")
        entity_id = dataset_key(FIU.name, "goaml-entity", name, c.incorporation_number)
        self.truth.mention(c.key, FIU.name, "goaml", rel, entity_id, name)
        return (
            "<t_entity>"
            + "".join(
                [
                    _el("name", name),
                    _el("incorporation_number", c.incorporation_number),
                    "<addresses><address>",
                    _el("address_type", "2"),
                    _el("address", c.address),
                    _el("city", c.country),
                    _el("country_code", c.country),
                    "</address></addresses>",
                    _el("incorporation_country_code", c.country),
                    _el("incorporation_date", f"{c.incorporation_date}T00:00:00"),
                ]
            )
            + "</t_entity>"
        )

    def _person(self, p: Person, rel: str) -> str:
        first = names.ascii_fold(p.name.given)
        last = names.ascii_fold(p.name.family).upper()
        birthdate = f"{p.birthdate}T00:00:00"
        entity_id = dataset_key(FIU.name, "goaml-person", first, last, p.birthdate, p.id_number)
        self.truth.mention(p.key, FIU.name, "goaml", rel, entity_id, f"{last}, {first}")
        return (
            "<t_person>"
            + "".join(
                [
                    _el("first_name", first),
                    _el("last_name", last),
                    _el("birthdate", birthdate),
                    _el("id_number", p.id_number),
                    _el("nationality1", p.country),
                    _el("residence", p.country),
                    *([_el("occupation", p.position)] if p.position else []),
                ]
            )
            + "</t_person>"
        )


def write_payments(
    rng: random.Random, cast: Cast, truth: Truth, out_dir: Path, trade_payments: int, advance: Callable[[int], None]
) -> list[Path]:
    writer = GoamlWriter(rng, truth, out_dir)
    exporters = cast.of_kind("exporter") + cast.of_kind("forwarder")
    importers = cast.of_kind("importer")
    seq = 0

    def payment(payer: Company | Person, payee: Company | Person, amount: float, when: date, what: str) -> Payment:
        nonlocal seq
        seq += 1
        return Payment(f"TX{seq:010d}", when, round(amount, 2), payer, payee, what)

    batch: list[Payment] = []
    for n in range(trade_payments):
        when = START + timedelta(days=rng.randrange(DAYS))
        batch.append(
            payment(
                rng.choice(importers),
                rng.choice(exporters),
                rng.uniform(2_000, 250_000),
                when,
                "Payment for goods, invoice " + str(rng.randrange(10_000, 99_999)),
            )
        )
        if len(batch) == TRANSACTIONS_PER_REPORT:
            writer.report(n, batch, "Trade payments to a high-risk source country for wildlife products")
            batch = []
        if n % 1000 == 999:
            advance(1000)
    if batch:
        writer.report(trade_payments, batch, "Trade payments to a high-risk source country for wildlife products")
    advance(trade_payments % 1000)
    for i, s in enumerate(cast.syndicates):
        shells = [cast.companies[k] for k in s.shells]
        when = START + timedelta(days=rng.randrange(DAYS - 120))
        layering = []
        importer = cast.companies[s.importers[0]]
        chain: list[Company] = [importer, *shells, cast.companies[s.exporters[0]]]
        amount = rng.uniform(80_000, 400_000)
        for a, b in pairwise(chain):
            when += timedelta(days=rng.randrange(1, 6))
            amount *= rng.uniform(0.93, 0.99)
            layering.append(payment(a, b, amount, when, "Consultancy fees"))
        writer.report(i * 7 + 3, layering, "Rapid movement of funds through newly incorporated companies")
        truth.pattern(
            "layering", syndicate=s.key, transactions=[p.number for p in layering], companies=[c.key for c in chain]
        )
        bribes = []
        for official_key, relative_key in zip(s.officials, s.relatives, strict=True):
            relative = cast.people[relative_key]
            numbers = []
            for _ in range(rng.randrange(2, 5)):
                p = payment(
                    rng.choice(shells),
                    relative,
                    rng.uniform(1_500, 9_500),
                    START + timedelta(days=rng.randrange(DAYS)),
                    "Family support",
                )
                bribes.append(p)
                numbers.append(p.number)
            truth.pattern(
                "bribe_via_relative",
                syndicate=s.key,
                official=official_key,
                relative=relative_key,
                relationship=relative.relationship,
                transactions=numbers,
            )
        if bribes:
            writer.report(i * 7 + 5, bribes, "Payments from offshore companies to a relative of a public official")
    return writer.files
