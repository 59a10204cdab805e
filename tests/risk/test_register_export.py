"""Register exports: the CSV's columns and the PDF report (marking on every page, the rows)."""

import csv
import io
from datetime import date, datetime
from typing import Any

import weasyprint  # type: ignore[import-untyped]

from chainlight.model.markings import Marking
from chainlight.risk import registers as rr
from chainlight.risk.register_export import COLUMNS, csv_lines, to_csv, to_html, to_pdf

INSPECTION = rr.RegisterRow(
    "physical-inspection", "customs", 4, 5, ("15 incidents reported", "demanded: cash (12)"),
    notes="scanner images not archived", owner="KRA customs services", residual_likelihood=2,
    controls=(rr.ControlEntry("cctv", "in-place", "seen on 2026-03-01"), rr.ControlEntry("staff-rotation", "absent")),
    actions=(rr.Action(7, "Rotate examination officers yearly", "KRA HR", date(2027, 1, 31)),
             rr.Action(8, "Archive scanner images", "ICT", None, "done", date(2026, 10, 2))),
    reviews=(rr.Review("initial", date(2026, 11, 1), "ana", 4, 5, "seeded"),
             rr.Review("estimated", date(2026, 12, 1), "ben", 2, 5)),
)
PILOT = rr.RegisterRow("vessel-clearance", "pilot", 2, 2, ("1 incident <script>",))


def register(marking: Marking = Marking.AMBER, rows: tuple[rr.RegisterRow, ...] = (PILOT, INSPECTION)) -> rr.Register:
    return rr.Register(rr.resolve_port("KEMBA"), "ngo", marking, "Corruption risk register: Mombasa (KEMBA)", rows,
                       evidence_datasets=("macn",), id=1, updated_at=datetime(2026, 12, 1, 9, 0))


def test_csv_has_the_documented_columns_one_line_per_row() -> None:
    lines = list(csv.DictReader(io.StringIO(to_csv(register()))))
    assert list(lines[0]) == [name for name, _ in COLUMNS]
    assert [line["stage"] for line in lines] == ["physical-inspection", "vessel-clearance"]  # by residual risk
    first = lines[0]
    assert first["marking"] == "TLP:AMBER" and first["port_code"] == "KEMBA" and first["port_name"] == "Mombasa"
    assert (first["inherent"], first["inherent_band"], first["residual"], first["residual_band"]) == (
        "20", "critical", "10", "high")
    assert first["controls"] == "cctv=in-place (seen on 2026-03-01); staff-rotation=absent"
    assert first["actions"] == ("#7 Rotate examination officers yearly | KRA HR | 2027-01-31 | open; "
                                "#8 Archive scanner images | ICT | - | done 2026-10-02")
    assert first["reviews"] == "2026-11-01 initial ana 4x5 (seeded); 2026-12-01 estimated ben 2x5"
    assert first["factors"] == "15 incidents reported | demanded: cash (12)"
    assert lines[1]["residual"] == "4" and lines[1]["residual_band"] == "low"


def test_csv_of_an_empty_register_is_its_header() -> None:
    assert to_csv(register(rows=())).strip() == ",".join(name for name, _ in COLUMNS)
    assert csv_lines(register(rows=())) == []


def _page_texts(html: str) -> list[str]:
    document = weasyprint.HTML(string=html).render()

    def walk(box: Any) -> list[str]:
        found = [box.text] if getattr(box, "text", None) else []
        for child in getattr(box, "children", None) or []:
            found.extend(walk(child))
        return found

    return [" ".join(walk(page._page_box)) for page in document.pages]


def test_html_report_holds_the_register_escaped() -> None:
    html = to_html(register(), generated=datetime(2026, 12, 2, 8, 0))
    assert "Mombasa" in html and "TLP:AMBER" in html and "2026-12-02 08:00 UTC" in html
    assert "Rotate examination officers yearly" in html and "Archive scanner images" in html
    assert "1 incident &lt;script&gt;" in html and "<script>" not in html
    assert "Physical inspection (scanning, examination) / Customs" in html
    assert html.count('class="heat"') == 2


def test_pdf_report_marks_every_page() -> None:
    many = tuple(rr.RegisterRow(f"stage-{i:02d}", "agent", 3, 3, ("a factor that takes room " * 6,))
                 for i in range(30))
    reg = register(Marking.RED, (INSPECTION, *many))
    pages = _page_texts(to_html(reg))
    assert len(pages) > 1
    assert all(text.count("TLP:RED") >= 2 for text in pages)  # the banner at the top and the foot
    assert "Physical inspection (scanning, examination) / Customs" in pages[1] + pages[0]
    assert "Rotate examination officers yearly" in " ".join(pages)
    pdf = to_pdf(reg)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
