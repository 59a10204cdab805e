"""Consignments and the CITES permits that cover them: bills of lading and air waybills
(customs-ke), permits and customs endorsements (cites-permits), and the trade rows the
permits leave in the Trade Database.

Planted here: syndicates that reuse one export permit for several consignments, a permit
endorsed for more than it authorises, re-export certificates that add up to more than the
original import, and a permit reported stolen that still clears a consignment.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from chainlight.demo import names, routes
from chainlight.demo.actors import TRANSIT_COUNTRIES, Cast, Company, Syndicate
from chainlight.demo.identifiers import random_id
from chainlight.demo.sources import (
    CUSTOMS,
    ENDORSEMENT_COLUMNS,
    PERMIT_COLUMNS,
    PERMITS,
    SHIPMENT_COLUMNS,
    CsvSource,
)
from chainlight.demo.taxa import TAXA, TRAFFICKED, Taxon
from chainlight.demo.trade import PermitRow
from chainlight.demo.truth import Truth
from chainlight.model.identity import dataset_key

START = date(2019, 1, 1)
DAYS = 5 * 365
MANAGEMENT_AUTHORITY = {
    "KE": "Kenya Wildlife Service",
    "TZ": "Wildlife Division, Tanzania",
    "UG": "Uganda Wildlife Authority",
    "MZ": "National Administration of Conservation Areas",
    "ZA": "Department of Forestry, Fisheries and the Environment",
    "NG": "Federal Ministry of Environment",
    "CD": "Institut Congolais pour la Conservation de la Nature",
}
COVER_GOODS = (
    ("avocados", "080440"),
    ("handicrafts", "970300"),
    ("cashew nuts", "080132"),
    ("sesame seeds", "120740"),
    ("scrap metal", "720449"),
    ("tea", "090240"),
)


@dataclass(slots=True)
class Permit:
    number: str
    country: str
    kind: str
    holder: Company
    counterpart: Company | None
    export_country: str
    import_country: str
    origin_country: str
    issued: date
    taxon: Taxon
    term: str
    unit: str
    quantity: float
    purpose: str
    source: str
    random_id: str
    status: str = "valid"
    original: Permit | None = None
    uses: list[str] = field(default_factory=list)
    endorsed: list[float] = field(default_factory=list)


@dataclass(slots=True)
class FlowResult:
    files: list[Path]
    permit_rows: list[PermitRow]
    syndicate_shipments: dict[
        str, list[tuple[str, str, str, date, Taxon]]
    ]  # syndicate -> (doc, port, mode, date, taxon)
    shipments: int
    permits: int


class Flows:
    def __init__(self, rng: random.Random, cast: Cast, truth: Truth, out_dir: Path) -> None:
        self.rng = rng
        self.cast = cast
        self.truth = truth
        self.out_dir = out_dir
        self.exporters = cast.of_kind("exporter") + cast.of_kind("breeder")
        self.importers = cast.of_kind("importer")
        self.forwarders = cast.of_kind("forwarder")
        self.permit_seq = 0
        self.permit_rows: list[PermitRow] = []
        self.customs_ids: dict[str, str] = {}
        self.customs_names: dict[str, list[str]] = {}
        self.mentioned: set[tuple[str, str, str]] = set()
        self.authority_ids: dict[str, str] = {}
        self.syndicate_permit: dict[str, Permit] = {}
        self.syndicate_permits: list[Permit] = []
        self.syndicate_shipments: dict[str, list[tuple[str, str, str, date, Taxon]]] = {}
        self.ships = CsvSource(out_dir / "customs-ke" / "bills_of_lading.csv", SHIPMENT_COLUMNS)
        self.permits_out = CsvSource(out_dir / "cites-permits" / "permits.csv", PERMIT_COLUMNS)
        self.endorsements = CsvSource(out_dir / "cites-permits" / "endorsements.csv", ENDORSEMENT_COLUMNS)
        self.ships_rel = self.ships.path.relative_to(out_dir).as_posix()
        self.permits_rel = self.permits_out.path.relative_to(out_dir).as_posix()
        self.legal_taxa = [t for t in TAXA if not t.trafficked or t.appendix != "I"]

    # -- parties -------------------------------------------------------------------------------
    def _customs_party(self, company: Company, role: str) -> dict[str, str]:
        """How the customs system records a trader: its own id (missing one time in ten) and
        one of the few spellings clerks have typed for it (a typo now and then)."""
        rng = self.rng
        ident = self.customs_ids.get(company.key)
        if ident is None:
            ident = self.customs_ids[company.key] = self._customs_id(company)
            self.customs_names[company.key] = [
                names.company_variant(rng, company.base, company.legal_form, "customs") for _ in range(2)
            ]
        spellings = self.customs_names[company.key]
        if rng.random() < 0.08:
            name = names.company_variant(rng, company.base, company.legal_form, "noisy")
        else:
            name = spellings[0] if rng.random() < 0.7 else spellings[1]
        if rng.random() < 0.1:
            ident = ""
        key = (company.key, ident, name)
        if key not in self.mentioned:
            self.mentioned.add(key)
            entity = (
                dataset_key(CUSTOMS.name, "party", ident)
                if ident
                else dataset_key(CUSTOMS.name, "party", name, company.country)
            )
            self.truth.mention(company.key, CUSTOMS.name, "csv", self.ships_rel, entity, name)
        return {
            f"{role}_id": ident,
            f"{role}_name": name,
            f"{role}_country": company.country,
            f"{role}_type": "company",
        }

    def _customs_id(self, company: Company) -> str:
        if company.country == "KE":
            return f"P05{self.rng.randrange(10**6, 10**7)}{self.rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}"
        return f"KRA-F-{len(self.customs_ids) + 1:07d}"

    def _permit_party(self, company: Company, role: str) -> dict[str, str]:
        """Management authorities register traders once and print the registered name."""
        ident = self.authority_ids.get(company.key)
        name = company.legal_name
        if ident is None:
            ident = self.authority_ids[company.key] = f"MA-{company.country}-{len(self.authority_ids) + 1:06d}"
            entity = dataset_key(PERMITS.name, "party", ident)
            self.truth.mention(company.key, PERMITS.name, "csv", self.permits_rel, entity, name)
        return {
            f"{role}_id": ident,
            f"{role}_name": name,
            f"{role}_country": company.country,
            f"{role}_type": "company",
        }

    # -- permits -------------------------------------------------------------------------------
    def new_permit(
        self,
        holder: Company,
        counterpart: Company | None,
        taxon: Taxon,
        quantity: float,
        issued: date,
        kind: str = "export",
        country: str | None = None,
        **extra: object,
    ) -> Permit:
        self.permit_seq += 1
        country = country or holder.country
        term, unit = self.rng.choice(taxon.terms)
        permit = Permit(
            f"{issued:%y}{country}{self.permit_seq:06d}",
            country,
            kind,
            holder,
            counterpart,
            country,
            counterpart.country if counterpart else "CN",
            holder.country,
            issued,
            taxon,
            term,
            unit,
            quantity,
            "T",
            "W" if taxon.appendix != "I" else "O",
            random_id(self.rng),
        )
        for name, value in extra.items():
            setattr(permit, name, value)
        self._write_permit(permit)
        return permit

    def _write_permit(self, p: Permit) -> None:
        row: dict[str, object] = {
            "permit_number": p.number,
            "permit_type": p.kind,
            "issuing_country": p.country,
            "issuing_authority": MANAGEMENT_AUTHORITY.get(p.country, f"CITES Management Authority of {p.country}"),
            "export_country": p.export_country,
            "import_country": p.import_country,
            "origin_country": p.original.origin_country if p.original else p.origin_country,
            "issue_date": p.issued.isoformat(),
            "expiry_date": (p.issued + timedelta(days=182)).isoformat(),
            "taxon": p.taxon.name,
            "appendix": p.taxon.appendix,
            "term": p.term,
            "quantity": _qty(p.quantity),
            "unit": p.unit,
            "purpose": p.purpose,
            "source": p.source,
            "status": p.status,
            "random_id": p.random_id,
        }
        row.update(self._permit_party(p.holder, "holder"))
        if p.counterpart is not None:
            row.update(self._permit_party(p.counterpart, "counterpart"))
        if p.original is not None:
            row.update(original_permit_number=p.original.number, original_permit_country=p.original.country)
        self.permits_out.write(**row)

    def endorse(self, permit: Permit, document: str, when: date, port: str, quantity: float) -> None:
        permit.uses.append(document)
        permit.endorsed.append(quantity)
        self.endorsements.write(
            permit_number=permit.number,
            permit_country=permit.country,
            document_number=document,
            endorsement_date=when.isoformat(),
            port=port,
            actual_quantity=_qty(quantity),
            unit=permit.unit,
            endorsing_authority="Kenya Revenue Authority" if permit.country == "KE" else f"Customs {permit.country}",
            endorsing_country=permit.country,
        )
        self.permit_rows.append(
            PermitRow(
                when.year,
                permit.taxon.name,
                permit.term,
                permit.unit,
                quantity,
                permit.import_country,
                permit.export_country,
                "" if permit.original is None else permit.original.origin_country,
                permit.purpose,
                permit.source,
                "E",
                "",
                permit.random_id,
                permit.original.random_id if permit.original else "",
            )
        )
        if self.rng.random() < 0.4:
            self.permit_rows.append(
                PermitRow(
                    when.year,
                    permit.taxon.name,
                    permit.term,
                    permit.unit,
                    round(quantity * self.rng.choice((1.0, 1.0, 0.9, 1.2)), 2),
                    permit.import_country,
                    permit.export_country,
                    "",
                    permit.purpose,
                    permit.source,
                    "I",
                    random_id(self.rng),
                    permit.random_id if self.rng.random() < 0.5 else "",
                    "",
                )
            )

    # -- consignments --------------------------------------------------------------------------
    def shipment(
        self,
        n: int,
        exporter: Company,
        importer: Company,
        taxon: Taxon,
        when: date,
        permit: Permit | None,
        quantity: float,
        declared: tuple[str, str] | None = None,
    ) -> tuple[str, routes.Route]:
        rng = self.rng
        route = routes.route(
            rng,
            exporter.country if exporter.country in routes.AIRPORTS else "KE",
            importer.country if importer.country in routes.AIRPORTS else "CN",
        )
        sea = route.mode == "sea"
        document = f"MEDU{n:08d}" if sea else f"176-{n:08d}"
        forwarder = rng.choice(self.forwarders)
        vessel = rng.choice(self.cast.vessels) if sea else None
        goods, hs = declared or (taxon.goods, taxon.hs_code)
        row: dict[str, object] = {
            "document_number": document,
            "document_type": "bill-of-lading" if sea else "air-waybill",
            "transport_mode": route.mode,
            "carrier_name": "Mediterranean Shipping Company" if sea else "Kenya Airways",
            "vessel_name": vessel.name if vessel else "",
            "vessel_imo": vessel.imo if vessel else "",
            "voyage_number": f"{rng.randrange(100, 999)}{rng.choice('NSEW')}" if sea else "",
            "flight_number": "" if sea else f"KQ{rng.randrange(100, 999)}",
            "port_of_loading": route.loading,
            "transit_ports": ";".join(route.transits),
            "port_of_discharge": route.discharge,
            "departure_date": when.isoformat(),
            "arrival_date": (when + timedelta(days=rng.randrange(18, 40) if sea else rng.randrange(1, 4))).isoformat(),
            "origin_country": exporter.country,
            "destination_country": importer.country,
            "goods_description": goods,
            "hs_code": hs,
            "taxon": "" if declared else taxon.name,
            "term": "" if declared else (permit.term if permit else taxon.terms[0][0]),
            "quantity": _qty(quantity),
            "unit": permit.unit if permit else taxon.terms[0][1],
            "gross_weight_kg": _qty(round(quantity * rng.uniform(1.1, 30.0), 1)),
            "declared_value": _qty(round(quantity * rng.uniform(5, 400), 2)),
            "currency": "USD",
            "container_numbers": f"MSCU{rng.randrange(10**6, 10**7)}" if sea else "",
            "permit_number": permit.number if permit else "",
            "permit_country": permit.country if permit else "",
        }
        row.update(self._customs_party(exporter, "shipper"))
        row.update(self._customs_party(importer, "consignee"))
        row.update({k: v for k, v in self._customs_party(forwarder, "forwarder").items() if k != "forwarder_type"})
        if rng.random() < 0.3:
            row.update(
                {
                    k.replace("consignee", "notify"): v
                    for k, v in self._customs_party(importer, "consignee").items()
                    if not k.endswith("_type")
                }
            )
        self.ships.write(**row)
        if permit is not None:
            self.endorse(permit, document, when, route.loading, quantity)
        return document, route

    def legitimate(self, n: int) -> None:
        rng = self.rng
        exporter = rng.choice(self.exporters)
        importer = rng.choice(self.importers)
        taxon = rng.choice(self.legal_taxa)
        when = START + timedelta(days=rng.randrange(DAYS))
        quantity = float(rng.randrange(5, 500))
        permit = self.new_permit(exporter, importer, taxon, quantity, when - timedelta(days=rng.randrange(3, 60)))
        self.shipment(n, exporter, importer, taxon, when, permit, quantity)

    def trafficked(self, n: int, syndicate: Syndicate) -> None:
        """A syndicate consignment: contraband under cover goods, or under a permit it reuses."""
        rng = self.rng
        exporter = self.cast.companies[rng.choice(syndicate.exporters)]
        importer = self.cast.companies[rng.choice(syndicate.importers)]
        taxon = rng.choice(TRAFFICKED)
        when = START + timedelta(days=rng.randrange(DAYS))
        quantity = float(rng.randrange(50, 900))
        permit = self.syndicate_permit.get(syndicate.key)
        if permit is None or len(permit.uses) >= rng.randrange(2, 5):
            legal = rng.choice([t for t in TAXA if t.appendix == "II" and not t.hard_to_breed])
            permit = self.new_permit(exporter, importer, legal, quantity, when - timedelta(days=10))
            self.syndicate_permit[syndicate.key] = permit
            self.syndicate_permits.append(permit)
        if rng.random() < 0.5:
            document, route = self.shipment(n, exporter, importer, permit.taxon, when, permit, quantity)
        else:
            document, route = self.shipment(n, exporter, importer, taxon, when, None, quantity, rng.choice(COVER_GOODS))
        self.syndicate_shipments.setdefault(syndicate.key, []).append(
            (document, route.loading, route.mode, when, taxon)
        )

    def plant_over_endorsement(self, n: int) -> None:
        rng = self.rng
        exporter, importer = rng.choice(self.exporters), rng.choice(self.importers)
        taxon = rng.choice([t for t in TAXA if t.appendix == "II"])
        when = START + timedelta(days=rng.randrange(DAYS))
        authorised = float(rng.randrange(20, 200))
        permit = self.new_permit(exporter, importer, taxon, authorised, when - timedelta(days=7))
        endorsed = round(authorised * rng.uniform(1.3, 2.5))
        document, _ = self.shipment(n, exporter, importer, taxon, when, permit, endorsed)
        self.truth.pattern(
            "over_endorsed_permit",
            permit_number=permit.number,
            permit_country=permit.country,
            authorised=authorised,
            endorsed=endorsed,
            shipments=[document],
        )

    def plant_reexport_excess(self) -> None:
        """Source export of Q into a transit hub, then re-export certificates summing to more than Q."""
        rng = self.rng
        hub = rng.choice([c for c in self.importers if c.country in TRANSIT_COUNTRIES] or self.importers)
        source = rng.choice(self.exporters)
        buyer = rng.choice([c for c in self.importers if c.country in ("CN", "VN", "HK")] or self.importers)
        taxon = rng.choice([t for t in TAXA if t.appendix == "II"])
        when = START + timedelta(days=rng.randrange(DAYS - 200))
        imported = float(rng.randrange(100, 1000))
        original = self.new_permit(source, hub, taxon, imported, when)
        self.endorse(original, f"EXP-{original.number}", when + timedelta(days=5), "KEMBA", imported)
        certificates = []
        remaining = imported * rng.uniform(1.3, 2.0)
        while remaining > 1:
            part = round(min(remaining, imported * rng.uniform(0.3, 0.6)))
            cert = self.new_permit(
                hub,
                buyer,
                taxon,
                part,
                when + timedelta(days=rng.randrange(30, 180)),
                kind="re-export",
                country=hub.country,
                original=original,
            )
            self.endorse(cert, f"REX-{cert.number}", cert.issued + timedelta(days=3), "", part)
            certificates.append(cert.number)
            remaining -= part
        self.truth.pattern(
            "reexport_exceeds_import",
            original_permit=original.number,
            original_country=original.country,
            imported=imported,
            reexport_certificates=certificates,
            certificate_country=hub.country,
        )

    def plant_stolen_permit(self, n: int) -> None:
        rng = self.rng
        exporter, importer = rng.choice(self.exporters), rng.choice(self.importers)
        taxon = rng.choice([t for t in TAXA if t.appendix == "II"])
        when = START + timedelta(days=rng.randrange(DAYS))
        quantity = float(rng.randrange(20, 300))
        permit = self.new_permit(exporter, importer, taxon, quantity, when - timedelta(days=20), status="stolen")
        document, _ = self.shipment(n, exporter, importer, taxon, when, permit, quantity)
        self.truth.pattern(
            "stolen_permit_used", permit_number=permit.number, permit_country=permit.country, shipments=[document]
        )

    def close(self) -> list[Path]:
        for out in (self.ships, self.permits_out, self.endorsements):
            out.close()
        return [self.ships.path, self.permits_out.path, self.endorsements.path]


def _qty(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def write_flows(
    rng: random.Random, cast: Cast, truth: Truth, out_dir: Path, shipments: int, advance: Callable[[int], None]
) -> FlowResult:
    (out_dir / "customs-ke").mkdir(parents=True, exist_ok=True)
    (out_dir / "cites-permits").mkdir(parents=True, exist_ok=True)
    flows = Flows(rng, cast, truth, out_dir)
    plants = max(2, shipments // 400)
    planted = 0
    for n in range(1, shipments + 1):
        if cast.syndicates and rng.random() < 0.12:
            flows.trafficked(n, rng.choice(cast.syndicates))
        elif n % 400 == 7 or n <= 2:
            (flows.plant_over_endorsement if planted % 2 == 0 else flows.plant_stolen_permit)(n)
            planted += 1
        else:
            flows.legitimate(n)
        if n % 1000 == 0:
            advance(1000)
    advance(shipments % 1000)
    for _ in range(plants):
        flows.plant_reexport_excess()
    for p in flows.syndicate_permits:
        if len(p.uses) == 1 and p.endorsed[0] > p.quantity:
            # A syndicate permit issued for one consignment and endorsed for a bigger one: an
            # over-endorsement as real as the planted ones, so the truth says so.
            truth.pattern(
                "over_endorsed_permit",
                permit_number=p.number,
                permit_country=p.country,
                authorised=p.quantity,
                endorsed=p.endorsed[0],
                shipments=list(p.uses),
                syndicate=p.holder.syndicate,
            )
        if len(p.uses) < 2:
            continue
        truth.pattern(
            "reused_permit",
            permit_number=p.number,
            permit_country=p.country,
            random_id=p.random_id,
            shipments=list(p.uses),
            syndicate=p.holder.syndicate,
        )
    files = flows.close()
    return FlowResult(files, flows.permit_rows, flows.syndicate_shipments, shipments, flows.permit_seq)
