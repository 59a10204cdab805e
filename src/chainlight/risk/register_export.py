"""A risk register as a CSV file (one line per row) and as a PDF report (WeasyPrint).

The CSV is for spreadsheets: one line per register row, its controls, actions and reviews
flattened into single cells (COLUMNS says what each holds). The PDF is for the meeting room:
port facts, the likelihood x impact heat maps, the rows, controls, actions and the review
history, with the register's TLP marking at the top and foot of every page.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from chainlight.risk.catalogue import Catalogue
from chainlight.risk.registers import BANDS, HeatCell, Register, RegisterRow, band, heatmap, ranked_rows

#: CSV columns, in order: (name, what it holds).
COLUMNS = (
    ("port_id", "the port's entity id (port-kemba, airport-nbo)"),
    ("port_code", "UN/LOCODE or IATA code, when the reference data knows the port"),
    ("port_name", "the port's name"),
    ("organisation", "the organisation that keeps the register"),
    ("marking", "the register's TLP marking (TLP:AMBER): every line carries it"),
    ("stage", "process stage (catalogue key)"),
    ("stage_label", "the stage's label"),
    ("actor", "actor type (catalogue key)"),
    ("actor_label", "the actor type's label"),
    ("owner", "who owns the risk (organisation, unit)"),
    ("likelihood", "inherent likelihood 1-5"),
    ("impact", "inherent impact 1-5"),
    ("inherent", "likelihood x impact, 1-25"),
    ("inherent_band", "low, medium, high or critical"),
    ("factors", "the factors behind likelihood and impact, separated by ' | '"),
    ("notes", "free notes"),
    ("controls", "control=status (note), separated by '; '"),
    ("residual_likelihood", "likelihood after controls 1-5"),
    ("residual_impact", "impact after controls 1-5"),
    ("residual", "residual likelihood x impact, 1-25"),
    ("residual_band", "low, medium, high or critical"),
    ("actions", "#id description | owner | due | status[ closed date], separated by '; '"),
    ("reviews", "date kind reviewer LxI (note), oldest first, separated by '; '"),
)

TLP_COLOURS = {"CLEAR": "#FFFFFF", "GREEN": "#33FF00", "AMBER": "#FFC000", "AMBER+STRICT": "#FFC000",
               "RED": "#FF2B2B"}
#: A heat map cell lists at most this many row numbers.
HEAT_CELL_NUMBERS = 4
BAND_COLOURS = {"low": "#c6e5b3", "medium": "#fde68a", "high": "#f9a66c", "critical": "#e5484d"}


def csv_lines(register: Register, catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    """The CSV's lines as dictionaries keyed by COLUMNS' names, rows ranked by residual risk."""
    catalogue = catalogue or Catalogue.load()
    port = register.port
    return [{
        "port_id": port.port_id, "port_code": port.code or "", "port_name": port.name or "",
        "organisation": register.organisation, "marking": register.marking.label,
        "stage": r.stage, "stage_label": catalogue.label("stages", r.stage),
        "actor": r.actor, "actor_label": catalogue.label("actors", r.actor), "owner": r.owner or "",
        "likelihood": r.likelihood, "impact": r.impact, "inherent": r.inherent, "inherent_band": band(r.inherent),
        "factors": " | ".join(r.factors), "notes": r.notes or "",
        "controls": "; ".join(f"{c.control}={c.status}" + (f" ({c.note})" if c.note else "") for c in r.controls),
        "residual_likelihood": r.residual_l, "residual_impact": r.residual_i, "residual": r.residual,
        "residual_band": band(r.residual),
        "actions": "; ".join(
            f"#{a.id or '-'} {a.description} | {a.owner} | {a.due or '-'} | {a.status}"
            + (f" {a.closed}" if a.closed else "") for a in r.actions),
        "reviews": "; ".join(f"{v.on} {v.kind} {v.reviewer or '-'} {v.likelihood}x{v.impact}"
                             + (f" ({v.note})" if v.note else "") for v in r.reviews),
    } for r in ranked_rows(register)]


def to_csv(register: Register, catalogue: Catalogue | None = None) -> str:
    """The register as CSV text with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[name for name, _ in COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_lines(register, catalogue))
    return buffer.getvalue()


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("chainlight.risk", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def to_html(register: Register, catalogue: Catalogue | None = None, *, generated: datetime | None = None) -> str:
    """The report as the HTML WeasyPrint lays out (also useful to check what a PDF says)."""
    catalogue = catalogue or Catalogue.load()

    def label(kind: str, key: str) -> str:
        return catalogue.label(kind, key)

    def row_label(row: RegisterRow) -> str:
        return f"{label('stages', row.stage)} / {label('actors', row.actor)}"

    rows = ranked_rows(register)
    numbers = {(r.stage, r.actor): n for n, r in enumerate(rows, 1)}

    def cell_numbers(cell: HeatCell) -> str:
        found = sorted(numbers[(r.stage, r.actor)] for r in cell.rows)
        shown = " ".join(f"#{n}" for n in found[:HEAT_CELL_NUMBERS])
        return shown + (" …" if len(found) > HEAT_CELL_NUMBERS else "")
    return _environment().get_template("register.html").render(
        register=register, rows=rows, numbers=numbers, cell_numbers=cell_numbers, label=label, row_label=row_label,
        band=band,
        bands=[(name, lowest) for lowest, name in reversed(BANDS)],
        inherent_map=heatmap(register, residual=False), residual_map=heatmap(register, residual=True),
        marking=register.marking.label, marking_colour=TLP_COLOURS[register.marking.value],
        band_colours=BAND_COLOURS, facts=register.port.facts(),
        generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )


def to_pdf(register: Register, catalogue: Catalogue | None = None, *, generated: datetime | None = None) -> bytes:
    """The report as PDF bytes."""
    import weasyprint  # type: ignore[import-untyped]  # imported here: Pango loads slowly

    pdf: bytes = weasyprint.HTML(string=to_html(register, catalogue, generated=generated)).write_pdf()
    return pdf


def write_csv(register: Register, path: Path, catalogue: Catalogue | None = None) -> None:
    path.write_text(to_csv(register, catalogue), encoding="utf-8")


def write_pdf(register: Register, path: Path, catalogue: Catalogue | None = None) -> None:
    path.write_bytes(to_pdf(register, catalogue))
