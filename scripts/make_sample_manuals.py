"""Generate the project's own fictional sample manuals (``manuals/``).

The files written here are used by the README demo and by tests that must not
depend on external data:

* ``HP-200_Hydraulic_Press_Manual.pdf``  - 200-ton hydraulic press, 9 pages
* ``CV-50_Conveyor_Manual.pdf``          - belt conveyor, 5 pages
* ``CV-50_Quick_Reference.md``           - Markdown quick reference card
* ``Shift_Handover_Checklist.html``      - HTML shift handover checklist
* ``Lubrication_Notes.txt``              - plain-text note
* ``KS-10_Kuehlschmierstoffanlage_Betriebsanleitung.md`` - coolant unit, in German (a manual
  in the plant's own language)

Licensing/notes: every word, figure and value in these documents was invented
for this project. "Norrland Machine Works", the HP-200 press and the CV-50
conveyor are fictional; nothing is copied from a real manufacturer's manual.
The generated files are covered by the project's licence (Apache-2.0) and must
not be used as real safety or maintenance instructions.

The PDFs are built with reportlab only, using the built-in base-14 fonts, and
with ``invariant=1`` so the output is byte-identical from run to run.

Usage::

    python scripts/make_sample_manuals.py            # (re)write manuals/
    python scripts/make_sample_manuals.py --check    # verify manuals/ and tests/sample_facts.json

``--check`` regenerates everything in a temporary directory and compares it
byte for byte with ``--out``, checks page headers/footers, the PDF outline and
the fault-code table layout, and verifies that every entry of
``tests/sample_facts.json`` can be found (with pypdfium2 text extraction) on
exactly the page it names.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "manuals"
DEFAULT_FACTS = REPO_ROOT / "tests" / "sample_facts.json"

HP200_PDF = "HP-200_Hydraulic_Press_Manual.pdf"
CV50_PDF = "CV-50_Conveyor_Manual.pdf"
CV50_MD = "CV-50_Quick_Reference.md"
KS10_MD = "KS-10_Kuehlschmierstoffanlage_Betriebsanleitung.md"
HANDOVER_HTML = "Shift_Handover_Checklist.html"
LUBE_TXT = "Lubrication_Notes.txt"

MAX_PDF_BYTES = 200 * 1024

# ---------------------------------------------------------------------------
# Styles
# ---------------------------------------------------------------------------

PAGE_W, PAGE_H = A4
MARGIN_L = MARGIN_R = 20 * mm
MARGIN_T = 25 * mm
MARGIN_B = 22 * mm
FRAME_W = PAGE_W - MARGIN_L - MARGIN_R

BODY = ParagraphStyle("Body", fontName="Helvetica", fontSize=10, leading=13.5, spaceAfter=6)
H1 = ParagraphStyle(
    "H1", fontName="Helvetica-Bold", fontSize=15, leading=19, spaceBefore=10, spaceAfter=8, keepWithNext=1
)
H2 = ParagraphStyle(
    "H2", fontName="Helvetica-Bold", fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=5, keepWithNext=1
)
CAPTION = ParagraphStyle(
    "Caption", fontName="Helvetica-Bold", fontSize=9, leading=12, spaceBefore=4, spaceAfter=3, keepWithNext=1
)
CELL = ParagraphStyle("Cell", fontName="Helvetica", fontSize=8.5, leading=10.5)
CELL_HEAD = ParagraphStyle("CellHead", parent=CELL, fontName="Helvetica-Bold")
NOTE = ParagraphStyle("Note", fontName="Helvetica", fontSize=9.5, leading=12.5)
STEP = ParagraphStyle(
    "Step", parent=BODY, leftIndent=7 * mm, bulletIndent=1.5 * mm, spaceAfter=3.5, bulletFontName="Helvetica"
)
TITLE_BIG = ParagraphStyle(
    "TitleBig", fontName="Helvetica-Bold", fontSize=30, leading=36, alignment=TA_CENTER, spaceAfter=10
)
TITLE_SUB = ParagraphStyle(
    "TitleSub", fontName="Helvetica", fontSize=15, leading=20, alignment=TA_CENTER, spaceAfter=6
)
TITLE_COMPANY = ParagraphStyle(
    "TitleCompany", fontName="Helvetica-Bold", fontSize=13, leading=17, alignment=TA_CENTER, spaceAfter=4
)
CAPTION_SPLIT = ParagraphStyle("CaptionSplit", parent=CAPTION, keepWithNext=0)
SMALL = ParagraphStyle("Small", fontName="Helvetica", fontSize=8, leading=10.5, spaceAfter=4)

OUTLINE_LEVELS = {"H1": 0, "H2": 1}

NOTE_COLOURS = {
    "DANGER": colors.HexColor("#F4C7C3"),
    "WARNING": colors.HexColor("#FBE3C0"),
    "CAUTION": colors.HexColor("#FFF6BF"),
    "NOTE": colors.HexColor("#E4ECF7"),
}

GRID_STYLE = [
    ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9D9D9")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
]


# ---------------------------------------------------------------------------
# Flowable helpers
# ---------------------------------------------------------------------------


def h1(text: str) -> Paragraph:
    return Paragraph(text, H1)


def h2(text: str) -> Paragraph:
    return Paragraph(text, H2)


def p(text: str) -> Paragraph:
    return Paragraph(text, BODY)


def note(kind: str, text: str) -> Table:
    """A boxed safety note whose text starts with the signal word in capitals."""
    para = Paragraph(f"<b>{kind}:</b> {text}", NOTE)
    box = Table([[para]], colWidths=[FRAME_W - 8 * mm])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("BACKGROUND", (0, 0), (-1, -1), NOTE_COLOURS[kind]),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    box.spaceBefore = 4
    box.spaceAfter = 8
    return box


def steps(items: list[str]) -> list[Flowable]:
    """Numbered step-by-step procedure."""
    return [Paragraph(text, STEP, bulletText=f"{i}.") for i, text in enumerate(items, start=1)]


def grid(
    caption: str, header: list[str], rows: list[list[str]], widths_mm: list[float], *, keep: bool = True
) -> list[Flowable]:
    """A gridded table with a bold, repeated header row and wrapping cells."""
    data = [[Paragraph(c, CELL_HEAD) for c in header]]
    data += [[Paragraph(c, CELL) for c in row] for row in rows]
    scale = FRAME_W / (sum(widths_mm) * mm)
    table = Table(data, colWidths=[w * mm * scale for w in widths_mm], repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(GRID_STYLE))
    table.spaceAfter = 8
    if keep:
        return [KeepTogether([Paragraph(caption, CAPTION), table])]
    # A long table may split over pages; keepWithNext would push it to a new page.
    return [Paragraph(caption, CAPTION_SPLIT), table]


# ---------------------------------------------------------------------------
# Document template: title page, running header/footer, outline
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualSpec:
    filename: str
    title: str
    subject: str
    header: str
    revision: str
    doc_no: str
    story: Callable[[], list[Flowable]]


class ManualDoc(BaseDocTemplate):
    """A4 manual with an unnumbered title page and header/footer on all other pages."""

    def __init__(self, target: io.BytesIO, spec: ManualSpec, total_pages: int | None) -> None:
        super().__init__(
            target,
            pagesize=A4,
            leftMargin=MARGIN_L,
            rightMargin=MARGIN_R,
            topMargin=MARGIN_T,
            bottomMargin=MARGIN_B,
            title=spec.title,
            author="Norrland Machine Works",
            subject=spec.subject,
            creator="scripts/make_sample_manuals.py",
            keywords="sample manual, fictional",
            invariant=1,
            pageCompression=1,
        )
        self.spec = spec
        self.total_pages = total_pages
        self._outline_count = 0
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="main")
        self.addPageTemplates(
            [
                PageTemplate(id="Title", frames=[frame], onPage=self._title_page),
                PageTemplate(id="Body", frames=[frame], onPage=self._body_page),
            ]
        )

    def _title_page(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        canv.saveState()
        canv.setStrokeColor(colors.HexColor("#1F3A5F"))
        canv.setLineWidth(6)
        canv.line(MARGIN_L, PAGE_H - 18 * mm, PAGE_W - MARGIN_R, PAGE_H - 18 * mm)
        canv.line(MARGIN_L, 18 * mm, PAGE_W - MARGIN_R, 18 * mm)
        canv.restoreState()

    def _body_page(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        total = "?" if self.total_pages is None else str(self.total_pages)
        canv.saveState()
        canv.setFont("Helvetica", 8)
        y_head = PAGE_H - 14 * mm
        canv.drawString(MARGIN_L, y_head, self.spec.header)
        canv.drawRightString(PAGE_W - MARGIN_R, y_head, f"Rev. {self.spec.revision}")
        canv.setLineWidth(0.5)
        canv.line(MARGIN_L, y_head - 2.5 * mm, PAGE_W - MARGIN_R, y_head - 2.5 * mm)
        y_foot = 12 * mm
        canv.line(MARGIN_L, y_foot + 4 * mm, PAGE_W - MARGIN_R, y_foot + 4 * mm)
        canv.drawString(MARGIN_L, y_foot, f"Norrland Machine Works  {self.spec.doc_no}")
        canv.drawRightString(PAGE_W - MARGIN_R, y_foot, f"Page {doc.page} of {total}")
        canv.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        if not isinstance(flowable, Paragraph):
            return
        level = OUTLINE_LEVELS.get(flowable.style.name)
        if level is None:
            return
        self._outline_count += 1
        key = f"sec{self._outline_count:03d}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level, closed=level > 0)


def build_pdf(spec: ManualSpec) -> bytes:
    """Two passes: the first counts the pages for the "Page N of M" footer."""
    first = io.BytesIO()
    doc = ManualDoc(first, spec, None)
    doc.build(spec.story())
    total = doc.page
    out = io.BytesIO()
    doc = ManualDoc(out, spec, total)
    doc.build(spec.story())
    if doc.page != total:
        raise RuntimeError(f"{spec.filename}: page count changed between passes ({total} -> {doc.page})")
    return out.getvalue()


def title_page(
    machine: str, kind: str, doc_no: str, revision: str, issued: str, serials: str
) -> list[Flowable]:
    info = Table(
        [
            ["Document number", doc_no],
            ["Revision", revision],
            ["Issue date", issued],
            ["Applies to", serials],
            ["Language", "English (original instructions)"],
        ],
        colWidths=[45 * mm, 85 * mm],
    )
    info.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9.5),
                ("FONT", (1, 0), (1, -1), "Helvetica", 9.5),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return [
        Spacer(1, 30 * mm),
        Paragraph("NORRLAND MACHINE WORKS", TITLE_COMPANY),
        Spacer(1, 18 * mm),
        Paragraph(machine, TITLE_BIG),
        Paragraph(kind, TITLE_SUB),
        Spacer(1, 10 * mm),
        Paragraph("Operator and Maintenance Manual", TITLE_SUB),
        Spacer(1, 22 * mm),
        info,
        Spacer(1, 20 * mm),
        Paragraph(
            "Read this manual completely before installing, operating or servicing the machine. "
            "Keep it at the machine, accessible to operators and maintenance staff, for the whole "
            "service life of the machine. Pass it on to any subsequent owner.",
            BODY,
        ),
        Spacer(1, 6 * mm),
        Paragraph(
            "Sample document: Norrland Machine Works, the machine and all data in this manual are "
            "fictional. The text was written for software demonstration and testing only.",
            SMALL,
        ),
        NextPageTemplate("Body"),
        PageBreak(),
    ]


# ---------------------------------------------------------------------------
# HP-200 hydraulic press
# ---------------------------------------------------------------------------

HP200_FAULTS: list[list[str]] = [
    [
        "E-101",
        "Oil temperature high",
        (
            "Oil in the tank is above the limit of 65 °C. Oil cooler fins blocked by dust, cooler fan "
            "not running, oil level low, or relief valve blowing off continuously."
        ),
        (
            "Stop production and let the pump idle so the cooler can work. Check the oil cooler "
            "(clean the fins, check that the fan runs) and the oil level. The limit is 65 °C; the "
            "fault can be reset when the oil is below 55 °C."
        ),
    ],
    [
        "E-102",
        "Oil level low",
        (
            "Float switch LS1 in the tank has opened. Leak at a hose, fitting or cylinder seal, or the "
            "tank was not topped up after a filter change."
        ),
        (
            "Find and repair the leak. Top up with ISO VG 46 to the MAX mark on the sight glass with "
            "the ram at top dead centre."
        ),
    ],
    [
        "E-103",
        "Pressure filter clogged",
        (
            "Differential pressure across filter F1 above 3.5 bar. Element saturated, or oil very cold "
            "at start-up."
        ),
        (
            "If the oil is below 20 °C, let the press warm up and reset. Otherwise replace the filter "
            "element (section 4.3)."
        ),
    ],
    [
        "E-104",
        "Light curtain interrupted during stroke",
        (
            "The protective field was broken while the ram was closing. Hand or object in the field, "
            "dirty lenses, or misaligned light curtain."
        ),
        ("Clear the protective field and reset with key switch S2 and the RESET button (section 5.2)."),
    ],
    [
        "E-105",
        "Emergency stop activated",
        ("An EMERGENCY STOP button on the control panel or on the two-hand console has been pressed."),
        "Remove the hazard, pull out the EMERGENCY STOP button and press RESET.",
    ],
    [
        "E-106",
        "Two-hand control timing error",
        (
            "The two buttons were not pressed within 0.5 s of each other, or one button was released "
            "during the downstroke."
        ),
        (
            "Release both buttons, then press both buttons at the same time. If the fault repeats, "
            "check the buttons for sticking."
        ),
    ],
    [
        "E-107",
        "Main pump motor overload",
        (
            "Motor protection relay Q1 has tripped. Continuous operation at full force, relief valve "
            "set too high, worn pump, low supply voltage or loss of one phase."
        ),
        (
            "Let the motor cool for at least 15 minutes. Check the supply voltage on all three phases "
            "and the motor current (rated 42 A). Reset Q1 in the electrical cabinet, then press RESET."
        ),
    ],
    [
        "E-108",
        "System pressure too high",
        ("Pressure transducer PT1 measured more than 29.5 MPa. Relief valve misadjusted or stuck closed."),
        (
            "Do not operate the press. Contact Norrland Machine Works service. The relief valve is "
            "factory set and sealed."
        ),
    ],
    [
        "E-109",
        "Pressing force not reached",
        (
            "Set pressure not reached within 4 s of die contact. Internal leakage at the cylinder or "
            "valves, worn pump, or force set higher than the die allows."
        ),
        (
            "Check the force setting on the HMI. Check for leaks. If the fault repeats, have the pump "
            "delivery checked by service."
        ),
    ],
    [
        "E-110",
        "Ram drift detected",
        (
            "The ram moved down more than 2 mm in 60 s with the valves closed. Leaking pilot check "
            "valve or worn cylinder seals."
        ),
        ("Lower the ram onto the die or the safety block. Do not work under the ram. Contact service."),
    ],
    [
        "E-111",
        "Safety valve monitoring fault",
        (
            "The position switches of the redundant safety valves Y5/Y6 do not agree. Valve spool "
            "sticking, switch or cable fault."
        ),
        (
            "Reset with key switch S2 and RESET. If the fault returns, lock out the press and call "
            "an electrician or service."
        ),
    ],
    [
        "E-112",
        "Ram position sensor fault",
        (
            "Signal from linear position sensor B1 out of range (below 4 mA or above 20 mA). Cable "
            "damaged, connector X12 loose, or sensor defective."
        ),
        (
            "Check the cable and connector X12 at the top of the press frame. Replace sensor B1 if "
            "the signal is still out of range."
        ),
    ],
    [
        "E-113",
        "Top dead centre not reached",
        (
            "The ram did not reach the upper position within 8 s. Return speed valve not switching, "
            "low pressure, or mechanical obstruction."
        ),
        (
            "Check for objects above the ram and for a jammed die. Check valve Y3 and its plug. "
            "Reset and move the ram up in SETUP mode."
        ),
    ],
    [
        "E-114",
        "Die clamp pressure low",
        (
            "Clamp pressure below 18 MPa on the upper or lower die clamps. Clamp not closed, leak in "
            "the clamp circuit, or clamp valve fault."
        ),
        (
            "Close the die clamps on the HMI and check the clamp pressure. Inspect the clamp hoses "
            "for leaks before the next stroke."
        ),
    ],
    [
        "E-115",
        "Guard door open",
        "Interlock switch on a side or rear guard door opened during operation.",
        ("Close the guard door and reset with key switch S2 and RESET. Never bypass the interlock switch."),
    ],
]


def hp200_story() -> list[Flowable]:
    s: list[Flowable] = []
    s += title_page(
        "HP-200 Hydraulic Press",
        "200-ton four-column hydraulic press",
        "NMW-HP200-OM-EN",
        "C",
        "2024-03-15",
        "Serial numbers HP200-1001 and later",
    )

    # 1 Safety ---------------------------------------------------------------
    s.append(h1("1 Safety"))
    s.append(h2("1.1 Intended use"))
    s.append(
        p(
            "The HP-200 is a four-column hydraulic press for forming, blanking, straightening, "
            "pressing-in and assembly work on metal parts. The press is designed for indoor "
            "industrial use at ambient temperatures between 5 °C and 40 °C. Any other use is "
            "considered improper. Norrland Machine Works accepts no liability for damage that "
            "results from improper use, from unauthorised modifications or from failure to "
            "follow this manual."
        )
    )
    s.append(
        p(
            "Only trained and authorised persons may operate, set up or maintain the press. "
            "Operators must have read and understood at least sections 1 and 3 of this manual. "
            "Work on the electrical equipment is restricted to qualified electricians, and work "
            "on the hydraulic system to qualified hydraulic fitters."
        )
    )
    s.append(h2("1.2 Safety notes in this manual"))
    s.append(
        p(
            "Safety notes are set off in boxes and start with a signal word. <b>DANGER</b> marks "
            "a hazard that will cause death or serious injury if it is not avoided. "
            "<b>WARNING</b> marks a hazard that can cause death or serious injury. "
            "<b>CAUTION</b> marks a hazard that can cause minor injury or damage to the "
            "machine. <b>NOTE</b> gives useful information without a hazard."
        )
    )
    s.append(h2("1.3 Safety devices"))
    s.append(
        p(
            "The press is equipped with the following safety devices. They must be checked "
            "every day (section 3.2) and must never be removed, bridged or disabled."
        )
    )
    s += steps(
        [
            (
                "Light curtain (type 4, 30 mm resolution, 600 mm protective height) across the "
                "front opening. It stops the ram if the protective field is broken during the "
                "closing stroke (fault E-104)."
            ),
            (
                "Two-hand control console with synchronous actuation monitoring (0.5 s) and its own "
                "EMERGENCY STOP button."
            ),
            "EMERGENCY STOP buttons on the control panel and on the two-hand console.",
            "Interlocked guard doors on both sides and at the rear of the press (fault E-115).",
            "Redundant, monitored safety valves Y5 and Y6 in the ram circuit (fault E-111).",
            (
                "Mechanical safety block (ram lock) with interlock switch, used during die change "
                "and maintenance in the die area."
            ),
        ]
    )
    s.append(
        note(
            "DANGER",
            "Never reach into the die area while the ram is in motion. Crushing hazard. The "
            "light curtain and the two-hand control protect you only if they are working; "
            "never bypass, bridge or disable them.",
        )
    )
    s.append(h2("1.4 Personal protective equipment"))
    s.append(
        p(
            "Wear safety shoes, close-fitting work clothes and safety glasses at all times at the "
            "press. Wear cut-resistant gloves when handling sheet metal parts and dies, and "
            "hearing protection during continuous operation. Do not wear rings, watches, loose "
            "sleeves or ties. Tie back long hair."
        )
    )
    s.append(h2("1.5 Lockout/tagout"))
    s.append(
        p(
            "Before any work in the die area, on the hydraulic system or in the electrical "
            "cabinet, isolate and lock out the press as follows. Each person working on the "
            "press applies a personal padlock; nobody removes another person's lock."
        )
    )
    s += steps(
        [
            (
                "Move the ram to top dead centre and insert the safety block, or lower the ram onto "
                "the closed die."
            ),
            "Press PUMP OFF and wait until the pump has stopped.",
            "Turn main switch Q0 on the electrical cabinet to OFF.",
            "Attach your personal padlock and a signed tag to main switch Q0.",
            "Release the hydraulic pressure as described in section 4.2.",
            (
                "Verify zero energy: press PUMP ON on the control panel. The pump must not start and "
                "the pressure gauges P1 and P2 must show 0 MPa."
            ),
        ]
    )

    # 2 Specifications --------------------------------------------------------
    s.append(h1("2 Specifications"))
    s.append(h2("2.1 Technical data"))
    s += grid(
        "Table 2-1 Technical data HP-200",
        ["Parameter", "Value"],
        [
            ["Rated press force", "2000 kN (200 t)"],
            ["Return force", "180 kN"],
            ["Stroke", "400 mm"],
            ["Daylight (bed to ram, ram at top dead centre)", "800 mm"],
            ["Bed area (left-right x front-back)", "1200 x 900 mm"],
            ["Ram area (left-right x front-back)", "1100 x 800 mm"],
            ["Approach speed", "150 mm/s"],
            ["Pressing speed at rated force", "10 mm/s"],
            ["Return speed", "160 mm/s"],
            ["Maximum system pressure", "28 MPa (280 bar)"],
            ["Relief valve setting (factory set, sealed)", "29 MPa"],
            ["Hydraulic oil", "ISO VG 46, mineral oil class HLP"],
            ["Tank capacity", "320 L"],
            ["Filtration", "Pressure filter F1 10 µm, return filter F2 25 µm"],
            ["Main pump motor", "22 kW, 400 V 3~ 50 Hz, 4-pole, efficiency class IE3"],
            ["Rated motor current", "42 A"],
            ["Control voltage", "24 V DC"],
            ["Oil temperature limit", "65 °C (fault E-101)"],
            ["Permissible ambient temperature", "5 °C to 40 °C"],
            ["Emission sound pressure level at operator position", "below 78 dB(A)"],
            ["Machine weight", "approx. 14 500 kg"],
            ["Overall dimensions (W x D x H)", "2100 x 1650 x 4250 mm"],
            ["Maximum die weight", "2500 kg"],
        ],
        [90, 80],
    )
    s.append(h2("2.2 Hydraulic oil"))
    s.append(
        p(
            "Use only mineral hydraulic oil of viscosity grade ISO VG 46, class HLP, with a "
            "cleanliness of 18/16/13 or better to ISO 4406. Do not mix oils of different brands "
            "or grades. New oil is not clean enough as delivered; always fill the tank through "
            "a filter unit with 10 µm filtration. Below an oil temperature of 15 °C the control "
            "runs the pump in warm-up mode at reduced pressure until the oil reaches 20 °C."
        )
    )
    s.append(h2("2.3 Electrical connection"))
    s.append(
        p(
            "Supply: 400 V 3~ 50 Hz, ±10 %, with protective earth. Recommended back-up fuse: 63 A, "
            "characteristic gL. The electrical cabinet is on the right-hand side of the press. "
            "Main switch Q0 is on the cabinet door and can be locked in the OFF position."
        )
    )

    # 3 Operation ------------------------------------------------------------
    s.append(h1("3 Operation"))
    s.append(h2("3.1 Controls and indicators"))
    s += grid(
        "Table 3-1 Controls and indicators",
        ["Control", "Function"],
        [
            ["Main switch Q0", "Switches the power supply on and off. Lockable in the OFF position."],
            ["Key switch S1 (mode selector)", "Selects the operating mode: SETUP, SINGLE or AUTO."],
            [
                "Key switch S2 (FAULT RESET)",
                (
                    "Must be held in the RESET position while pressing RESET to acknowledge safety "
                    "faults (E-104, E-105, E-111, E-115)."
                ),
            ],
            ["PUMP ON / PUMP OFF", "Starts and stops the main pump motor."],
            ["RESET (blue, illuminated)", "Acknowledges faults. Flashes when a reset is possible."],
            ["EMERGENCY STOP (red)", "Stops the pump and all movements and closes the safety valves."],
            ["Two-hand control console", "Starts a stroke in SINGLE mode."],
            [
                "HMI touch panel",
                (
                    "Shows the operating mode, pressure, force, oil temperature, stroke counter and "
                    "fault codes. Used to set force, stroke limits and die clamps."
                ),
            ],
        ],
        [55, 115],
    )
    s.append(h2("3.2 Daily start-up check"))
    s.append(
        p(
            "Carry out the following check at the start of every shift before production. "
            "Record the result in the machine log book."
        )
    )
    s += steps(
        [
            ("Check that the area around the press is clean and free of loose tools, parts and oil spills."),
            (
                "Check the oil level in the sight glass on the tank. With the ram at top dead centre "
                "the level must be between the MIN and MAX marks."
            ),
            (
                "Inspect hoses and fittings for leaks, chafing and damage. Do not run the press with "
                "a leaking hose."
            ),
            "Check that all guard doors are closed and undamaged.",
            "Switch on main switch Q0. The HMI shows the main screen after about 40 s.",
            (
                "Turn key switch S1 to SETUP and press PUMP ON. Let the pump idle for 5 minutes. If "
                "the oil is colder than 15 °C, wait until the HMI no longer shows WARM-UP."
            ),
            (
                "Test both EMERGENCY STOP buttons one after the other. The pump must stop and E-105 "
                "must appear. Pull out the button and press RESET."
            ),
            (
                "Test the light curtain: in SINGLE mode start a stroke and pass the 30 mm test rod "
                "through the protective field during the closing stroke. The ram must stop at once "
                "and E-104 must appear. Reset as described in section 5.2."
            ),
            (
                "Test the two-hand control: press only one button; the ram must not move. Press the "
                "buttons more than 0.5 s apart; the ram must not move and E-106 must appear."
            ),
            "Make one test stroke and check that the pressure gauge P1 does not exceed 28 MPa.",
            (
                "Sign the log book. If any check fails, do not operate the press; lock it out and "
                "inform your supervisor."
            ),
        ]
    )
    s.append(
        note(
            "WARNING",
            "Do not operate the press if the light curtain or the two-hand control fails to stop "
            "the ram during the daily check. Lock out the press and report the fault to "
            "maintenance.",
        )
    )
    s.append(h2("3.3 Operating modes"))
    s.append(
        p(
            "<b>SETUP:</b> the ram moves only while a button is held (hold-to-run) and at reduced "
            "speed, maximum 10 mm/s. Used for die change and adjustment. "
            "<b>SINGLE:</b> one complete stroke for each actuation of the two-hand control. The "
            "ram returns to top dead centre automatically. "
            "<b>AUTO:</b> continuous strokes with automatic part feeding. AUTO is only available "
            "when the front opening is closed by the fixed feeding guard."
        )
    )
    s.append(h2("3.4 Two-hand operation"))
    s.append(
        p(
            "In SINGLE mode, press both buttons of the two-hand console within 0.5 s and keep them "
            "pressed until the ram reaches the lower stroke limit. If a button is released "
            "during the closing stroke, the ram stops and returns to top dead centre."
        )
    )
    s.append(
        note(
            "WARNING",
            "The two-hand control protects only the person who operates it. If two persons work "
            "at the press, each person must have a two-hand console. Never tie down, wedge or "
            "bridge a two-hand button.",
        )
    )
    s.append(h2("3.5 Shutting down"))
    s += steps(
        [
            (
                "Finish the current stroke and move the ram to top dead centre, or lower it onto the "
                "closed die at the end of the week."
            ),
            "Press PUMP OFF.",
            ("Turn main switch Q0 to OFF. Remove the keys from S1 and S2 and hand them to the shift leader."),
        ]
    )

    # 4 Maintenance ----------------------------------------------------------
    s.append(h1("4 Maintenance"))
    s.append(h2("4.1 Maintenance schedule"))
    s += grid(
        "Table 4-1 Maintenance schedule",
        ["Interval", "Task", "Ref."],
        [
            [
                "Daily",
                (
                    "Daily start-up check. Check the oil level. Clean the light curtain lenses with a "
                    "soft cloth. Look for leaks under the power unit."
                ),
                "3.2",
            ],
            [
                "Weekly",
                (
                    "Check the clogging indicators of filters F1 and F2. Clean the oil cooler fins. "
                    "Grease the four column guide bushings (lithium EP2 grease, two strokes each). "
                    "Check the die clamps for leaks."
                ),
                "4.3",
            ],
            [
                "Every 500 h",
                (
                    "Replace the pressure filter element F1. Take an oil sample for analysis. Inspect "
                    "all hoses. Check the motor-pump coupling for wear."
                ),
                "4.3",
            ],
            [
                "Every 2000 h or yearly",
                (
                    "Change the hydraulic oil (320 L) and clean the tank. Replace the return filter "
                    "F2 and the tank breather. Replace hoses older than 6 years. Have the light "
                    "curtain stopping time and the safety valves tested by a qualified person."
                ),
                "4.5",
            ],
        ],
        [32, 123, 15],
    )
    s.append(h2("4.2 Releasing hydraulic pressure"))
    s.append(
        note(
            "WARNING",
            "Release all hydraulic pressure before opening any fitting, hose or filter housing. "
            "Oil escaping under high pressure can penetrate the skin and cause serious injury. "
            "If oil is injected into the skin, get medical help immediately.",
        )
    )
    s += steps(
        [
            (
                "Lower the ram onto the closed die or move it to top dead centre and insert the "
                "safety block. Never leave the ram raised on hydraulic pressure alone."
            ),
            "Press PUMP OFF, turn main switch Q0 to OFF and lock it out (section 1.5).",
            (
                "Open the accumulator discharge valve V7 on the power unit by turning it two turns "
                "anticlockwise."
            ),
            "Wait until pressure gauge P2 (pilot circuit) shows 0 MPa.",
            "Check that main pressure gauge P1 also shows 0 MPa before you open the system.",
        ]
    )
    s.append(h2("4.3 Changing the hydraulic oil filter"))
    s.append(
        p(
            "Replace the element of pressure filter F1 every 500 operating hours, or earlier if "
            "the clogging indicator shows red or fault E-103 appears with warm oil. Use only "
            "genuine element NMW-F1-10 (10 µm)."
        )
    )
    s.append(
        note(
            "CAUTION",
            "Hot oil. The oil, the filter housing and the pump unit can be hotter than 60 °C. "
            "Let the press cool down for at least 30 minutes and wear heat-resistant gloves and "
            "safety glasses.",
        )
    )
    s += steps(
        [
            "Release the hydraulic pressure (section 4.2).",
            ("Place a drip tray of at least 5 L under filter F1 on the right-hand side of the power unit."),
            ("Unscrew the filter bowl anticlockwise with a 32 mm spanner and let it drain into the tray."),
            (
                "Pull out the element. Look for metal particles on the element; if you find any, "
                "contact service before running the press again."
            ),
            "Clean the filter bowl with a lint-free cloth.",
            "Wet the new O-ring with clean hydraulic oil and fit the new element.",
            "Screw on the bowl by hand, then tighten it to 40 N·m.",
            (
                "Close valve V7, remove your lock from Q0 and switch on. Start the pump in SETUP mode "
                "and check the filter for leaks."
            ),
            (
                "Press the reset button on the clogging indicator and record the filter change in "
                "the log book."
            ),
        ]
    )
    s.append(h2("4.4 Die change"))
    s.append(
        note(
            "DANGER",
            "Lock out the press before any work in the die area. Switch off main switch Q0, "
            "attach your personal padlock and tag, and make sure the safety block is inserted. "
            "A ram that is held up only by hydraulic pressure can fall.",
        )
    )
    s += steps(
        [
            ("Turn key switch S1 to SETUP. Lower the ram until the upper die rests on the lower die."),
            "On the HMI, open the upper die clamps (UPPER CLAMP OPEN, hold-to-run).",
            "Raise the ram to top dead centre. The upper die stays on the lower die.",
            "Open the lower die clamps (LOWER CLAMP OPEN).",
            (
                "Insert the safety block into the holder on the left front column until the "
                "interlock switch engages. The HMI shows RAM LOCK INSERTED."
            ),
            "Carry out lockout/tagout as described in section 1.5.",
            (
                "Pull the die set out of the press on the die change cart. Check the die weight "
                "first; the maximum is 2500 kg."
            ),
            "Clean the bed and the ram face and check the T-slots for damage.",
            "Place the new die set on the bed and centre it with the centring pin.",
            (
                "Remove all tools. Each person removes only their own lock. Remove the safety block "
                "and switch on."
            ),
            (
                "Close the lower die clamps. Lower the ram in SETUP mode onto the upper die and close "
                "the upper die clamps. Check on the HMI that the clamp pressure is at least 18 MPa."
            ),
            (
                "Set the lower stroke limit for the new die on the HMI. Make a test stroke in SETUP "
                "mode before switching to SINGLE."
            ),
        ]
    )
    s.append(
        note(
            "CAUTION",
            "Die sets can weigh up to 2500 kg. Use only approved lifting gear and the die change "
            "cart. Never stand under a suspended load.",
        )
    )
    s.append(h2("4.5 Changing the hydraulic oil"))
    s.append(
        p(
            "Change the oil every 2000 operating hours, or at least once a year. Drain the tank "
            "through ball valve V9 into a suitable container while the oil is warm (but below "
            "50 °C), clean the tank through the inspection cover, replace the return filter "
            "element F2 and the breather, and refill about 320 L of fresh ISO VG 46 oil through "
            "a filter unit. Bleed the system by running several slow strokes in SETUP mode, then "
            "top up to the MAX mark. Dispose of used oil according to local regulations."
        )
    )

    # 5 Fault codes ----------------------------------------------------------
    s.append(h1("5 Fault Codes"))
    s.append(h2("5.1 Fault code list"))
    s.append(
        p(
            "When a fault occurs, the red lamp on the control panel lights up and the HMI shows "
            "the fault code and a short text. The press cannot start a new stroke until the "
            "cause has been removed and the fault has been reset. Faults E-104, E-105, E-111 and "
            "E-115 are safety faults and must be reset with key switch S2 (section 5.2); all "
            "other faults are reset with the RESET button only."
        )
    )
    s += grid(
        "Table 5-1 Fault codes",
        ["Code", "Meaning", "Cause", "Remedy"],
        HP200_FAULTS,
        [16, 36, 58, 60],
        keep=False,
    )
    s.append(h2("5.2 Resetting a fault after E-104"))
    s.append(
        p(
            "E-104 means that the light curtain was interrupted while the ram was closing. The "
            "ram has stopped and is held by the safety valves. Reset the fault as follows:"
        )
    )
    s += steps(
        [
            "Do not reach into the die area until the ram has stopped completely.",
            (
                "Find out why the light curtain was interrupted. Remove the hand, part or tool from "
                "the protective field and make sure nobody is in the danger zone."
            ),
            (
                "Check the status LED on the light curtain receiver. The light curtain must be "
                "clear first: the LED must be green. The reset does not work while the field is "
                "still interrupted (LED red)."
            ),
            "Insert the key into key switch S2 and turn it to RESET. Hold it in this position.",
            ("Press the blue RESET button, then release the key switch. E-104 disappears from the HMI."),
            ("Start the next stroke with the two-hand control. The ram first returns to top dead centre."),
            (
                "If E-104 appears again without anything in the field, clean the lenses and check "
                "the light curtain alignment (section 6). If it still appears, contact service."
            ),
        ]
    )
    s.append(
        note(
            "NOTE",
            "The key for S2 is kept by the shift leader. Only trained operators may reset safety faults.",
        )
    )

    # 6 Troubleshooting --------------------------------------------------------
    s.append(h1("6 Troubleshooting"))
    s.append(
        p(
            "The table below lists problems that do not always produce a fault code. Always lock "
            "out the press before you work on it, and call service if the remedy does not help."
        )
    )
    s += grid(
        "Table 6-1 Troubleshooting",
        ["Symptom", "Possible cause", "Remedy"],
        [
            [
                "Pump does not start",
                (
                    "Main switch Q0 off, EMERGENCY STOP pressed, safety block inserted, or motor "
                    "protection relay Q1 tripped (E-107)."
                ),
                "Switch on Q0, pull out the EMERGENCY STOP, remove the safety block, or reset Q1.",
            ],
            [
                "Ram does not move down in SINGLE mode",
                ("Two-hand buttons not pressed together, light curtain interrupted, or guard door open."),
                "Read the fault code on the HMI. Clear the light curtain and close the doors.",
            ],
            [
                "Press does not reach rated force",
                "Force set too low on the HMI, internal leakage, or worn pump (E-109).",
                "Check the force setting. Have the pump and valves checked by service.",
            ],
            [
                "Ram moves jerkily",
                "Air in the hydraulic system after work on the system, or oil level low.",
                "Top up the oil. Bleed the system with several slow strokes in SETUP mode.",
            ],
            [
                "Pump is noisy",
                "Oil too cold, oil level low, or suction strainer blocked (cavitation).",
                ("Let the oil warm up, top up, or clean the suction strainer at the next oil change."),
            ],
            [
                "Oil temperature rises quickly",
                "Oil cooler fins blocked, cooler fan defective, or wrong oil grade.",
                "Clean the cooler fins and check the fan. Use ISO VG 46 only (E-101).",
            ],
            [
                "Light curtain trips without reason",
                (
                    "Dirty lenses, misalignment after a knock, vibration, or strong light source "
                    "(welding) near the receiver."
                ),
                "Clean the lenses. Align emitter and receiver until all beam LEDs are green.",
            ],
            [
                "HMI stays dark",
                "24 V control supply fuse F3 blown.",
                "Have an electrician check the 24 V supply and replace fuse F3 (2 A).",
            ],
        ],
        [38, 66, 66],
        keep=False,
    )
    s.append(h2("6.1 Recommended spare parts"))
    s += grid(
        "Table 6-2 Recommended spare parts",
        ["Part number", "Description", "See"],
        [
            ["NMW-F1-10", "Pressure filter element F1, 10 µm, with O-ring", "4.3"],
            ["NMW-F2-25", "Return filter element F2, 25 µm", "4.5"],
            ["NMW-BR-03", "Tank breather filter", "4.5"],
            ["NMW-SB-400", "Safety block (ram lock), yellow", "4.4"],
            ["NMW-TR-30", "Light curtain test rod, 30 mm", "3.2"],
            ["NMW-B1-400", "Linear position sensor B1 with 5 m cable", "E-112"],
            ["NMW-SK-CYL", "Main cylinder seal kit", "E-110"],
            ["NMW-F3-2A", "Fuse F3, 2 A slow-blow, 5 x 20 mm (pack of 10)", "6"],
        ],
        [35, 115, 20],
    )
    s.append(h2("6.2 Service"))
    s.append(
        p(
            "Norrland Machine Works After-Sales Service, e-mail service@norrland-mw.example. "
            "Have the serial number from the rating plate, the software version shown on the "
            "HMI and the fault code ready when you call."
        )
    )
    return s


# ---------------------------------------------------------------------------
# CV-50 belt conveyor
# ---------------------------------------------------------------------------

CV50_ALARMS: list[tuple[str, str, str]] = [
    (
        "AL-01",
        "Belt slip detected",
        (
            "The speed sensor B1 at the tail pulley reports less than 90 % of the set belt speed for "
            "more than 3 s. Check the belt tension (section 4.1). Look for oil or grease on the belt "
            "and the drive pulley, and check for overload."
        ),
    ),
    (
        "AL-02",
        "Belt tracking limit reached",
        (
            "The belt edge has touched tracking switch B2 (left) or B3 (right). Stop the conveyor and "
            "correct the tracking at the tail pulley (section 4.1)."
        ),
    ),
    (
        "AL-03",
        "Motor overload",
        (
            "The VFD output current was above 120 % of the motor rated current for more than 60 s. "
            "Reduce the load to 50 kg/m or less and check for jammed rollers or parts under the belt."
        ),
    ),
    (
        "AL-04",
        "VFD fault",
        (
            "The frequency inverter has stopped with an internal fault. Read the inverter's own "
            "fault number on its keypad and call an electrician."
        ),
    ),
    (
        "AL-05",
        "Pull-cord emergency stop actuated",
        (
            "A pull-cord switch has been actuated and is latched. Find the cause, reset the switch at "
            "its head with the blue reset knob, then press RESET on the control box."
        ),
    ),
    (
        "AL-06",
        "Emergency stop button pressed",
        "The EMERGENCY STOP button on the control box is pressed. Pull it out and press RESET.",
    ),
    (
        "AL-07",
        "Motor temperature high",
        (
            "The PTC thermistor in the gear motor has tripped. Let the motor cool, clean the motor "
            "fan cover and check the load and the duty cycle."
        ),
    ),
    (
        "AL-08",
        "Jam at discharge end",
        (
            "Photoelectric sensor B5 at the discharge end has been blocked for more than 5 s. Remove "
            "the jammed item and check that the downstream machine accepts parts."
        ),
    ),
    (
        "AL-09",
        "Downstream machine not ready",
        (
            "The ready signal from the next machine (for example the HP-200 press infeed) is "
            "missing. The conveyor waits and restarts by itself when the signal returns."
        ),
    ),
    (
        "AL-10",
        "Speed sensor fault",
        (
            "No pulses from speed sensor B1 while the motor is running. Check the sensing distance "
            "(2 mm) to the target wheel and the sensor cable."
        ),
    ),
    (
        "AL-11",
        "Supply phase loss or undervoltage",
        (
            "The VFD has detected a missing phase or a supply voltage below 340 V. Check the "
            "supply fuses and the main switch contacts."
        ),
    ),
    (
        "AL-12",
        "Maintenance interval reached",
        (
            "2000 operating hours have passed since the last maintenance. Carry out the 2000 h "
            "maintenance (section 4.4) and reset the counter on the VFD keypad."
        ),
    ),
]


def cv50_story() -> list[Flowable]:
    s: list[Flowable] = []
    s += title_page(
        "CV-50 Belt Conveyor",
        "Flat belt conveyor, 500 mm belt width",
        "NMW-CV50-OM-EN",
        "B",
        "2023-11-02",
        "Serial numbers CV50-0400 and later",
    )

    s.append(h1("1 Safety"))
    s.append(h2("1.1 Intended use"))
    s.append(
        p(
            "The CV-50 transports unit loads such as boxes, totes and metal parts horizontally or "
            "on inclines of up to 10°. The maximum distributed load is 50 kg per metre of belt; "
            "a single item may weigh up to 25 kg. The conveyor must not be used for bulk "
            "material, hot parts above 60 °C or for carrying persons."
        )
    )
    s.append(h2("1.2 Safety notes"))
    s.append(
        note(
            "WARNING",
            "Drawing-in hazard at the drive and tail pulleys. Never reach into the belt, rollers "
            "or drive while the conveyor is running. Stop the conveyor and lock out main switch Q1 "
            "before you remove any guard.",
        )
    )
    s.append(
        note(
            "WARNING",
            "Test the emergency-stop pull-cord at the start of every shift (section 4.2). Do not "
            "operate the conveyor if pulling the cord does not stop the belt.",
        )
    )
    s.append(
        note(
            "CAUTION",
            "The gear motor housing can reach 70 °C in continuous operation. Let it cool down "
            "before touching it.",
        )
    )
    s.append(h2("1.3 Emergency stop devices"))
    s.append(
        p(
            "The conveyor has an EMERGENCY STOP button on the control box and a pull-cord "
            "emergency stop along the full length on both sides. Each cord is anchored at one "
            "end and connected to a latching pull-cord switch at the other end. Pulling the cord "
            "in any direction stops the belt and raises alarm AL-05."
        )
    )

    s.append(h1("2 Specifications"))
    s += grid(
        "Table 2-1 Technical data CV-50",
        ["Parameter", "Value"],
        [
            ["Belt width", "500 mm"],
            ["Conveyor length (pulley centres)", "6.0 m standard, 2 m to 20 m on request"],
            ["Belt speed", "0.1–1.5 m/s, adjustable with the VFD"],
            ["Maximum load", "50 kg/m distributed, single item max. 25 kg"],
            ["Belt", "PVC, 2-ply, 3 mm thick, endless vulcanised"],
            ["Drive", "Head drive, helical gear motor 1.5 kW, 400 V 3~, IE3, ratio 20:1"],
            ["Frequency inverter (VFD)", "2.2 kVA, output 5 Hz to 75 Hz"],
            ["Drive pulley / tail pulley diameter", "120 mm crowned / 100 mm"],
            ["Power supply", "400 V 3~ 50 Hz, 16 A"],
            ["Control voltage", "24 V DC"],
            ["Noise level", "below 70 dB(A)"],
            ["Ambient temperature", "0 °C to 40 °C"],
            ["Weight (6 m version)", "approx. 280 kg"],
        ],
        [70, 100],
    )

    s.append(h1("3 Operation"))
    s.append(h2("3.1 Start-up"))
    s += steps(
        [
            ("Check that the belt is free of parts, tools and debris and that all guards are in place."),
            "Switch on main switch Q1. The READY lamp lights after the VFD has started.",
            (
                "At the first start of the shift, test the pull-cord emergency stop on both sides as "
                "described in section 4.2."
            ),
            "Set the speed potentiometer to the required belt speed.",
            "Press START (green). The belt starts with a 2 s ramp.",
            "Watch the belt for one full revolution and check that it runs centrally.",
        ]
    )
    s.append(h2("3.2 Setting the belt speed"))
    s.append(
        p(
            "The belt speed is set with the potentiometer on the control box. The VFD converts the "
            "setting into an output frequency between 5 Hz (0.1 m/s) and 75 Hz (1.5 m/s); at 50 Hz "
            "the belt runs at 1.0 m/s. Use the lowest speed that gives the required throughput, "
            "because belt and pulley wear increase with speed."
        )
    )
    s.append(h2("3.3 Stopping"))
    s.append(
        p(
            "Press STOP (black). The belt stops within 1 s with a controlled ramp. At the end of "
            "the shift, run the belt empty before stopping and switch off main switch Q1."
        )
    )

    s.append(h1("4 Maintenance"))
    s.append(h2("4.1 Belt tensioning and tracking"))
    s.append(
        p(
            "The belt is tensioned with the two take-up screws at the tail pulley. The correct "
            "tension is reached when a force of 50 N, applied at mid-span of the return run "
            "between the tail pulley and the first return roller, deflects the belt by 15 mm. "
            "A belt that is too tight overloads the bearings; a belt that is too slack slips on "
            "the drive pulley (alarm AL-01)."
        )
    )
    s += steps(
        [
            "Stop the conveyor, switch off main switch Q1 and lock it out.",
            "Remove the tail end side guards.",
            "Loosen the lock nuts on both take-up screws.",
            (
                "Turn both take-up screws by the same amount, half a turn at a time, until the belt "
                "deflection is 15 mm at mid-span with a 50 N force (use a spring balance)."
            ),
            "Tighten the lock nuts and refit the guards.",
            (
                "Remove your lock, start the conveyor at 0.2 m/s without load and watch the belt "
                "for at least three full revolutions."
            ),
            (
                "If the belt runs off to one side, stop and lock out the conveyor, then tighten the "
                "take-up screw on that side by a quarter turn. Repeat until the belt runs centrally "
                "on both pulleys."
            ),
            "Check the tracking again at full speed with load.",
        ]
    )
    s.append(
        note(
            "CAUTION",
            "Adjust the take-up screws only with the conveyor stopped and locked out. Do not "
            "correct the tracking by moving the tracking switches B2 and B3.",
        )
    )
    s.append(h2("4.2 Emergency-stop pull-cord test"))
    s.append(
        p(
            "Test each pull-cord at the start of every shift. Once a month, test every pull-cord "
            "switch and check the cord tension."
        )
    )
    s += steps(
        [
            "Start the conveyor without load at 0.2 m/s.",
            (
                "Pull the cord on the left-hand side at about mid-length. The belt must stop at "
                "once, the switch must latch (yellow flag visible) and alarm AL-05 must appear."
            ),
            "Press START. The conveyor must not start.",
            (
                "Reset the pull-cord switch with the blue reset knob on the switch head, then press "
                "RESET on the control box."
            ),
            "Repeat steps 1 to 4 for the cord on the right-hand side.",
            (
                "Monthly: check that the cord sag between the support eyes is not more than 75 mm "
                "and that the cord is not frayed."
            ),
            (
                "Record the test in the log book. If the belt does not stop, lock out the conveyor "
                "and inform maintenance."
            ),
        ]
    )
    s.append(h2("4.3 Lubrication points"))
    s += grid(
        "Table 4-1 Lubrication points",
        ["Point", "Lubricant", "Interval", "Quantity"],
        [
            ["Drive pulley bearings (2)", "Lithium grease NLGI 2", "Every 1000 h", "2 strokes each"],
            ["Tail pulley bearings (2)", "Lithium grease NLGI 2", "Every 1000 h", "2 strokes each"],
            ["Take-up screws (2)", "Anti-seize paste", "Every 6 months", "Thin film"],
            [
                "Gear motor",
                "Synthetic gear oil ISO VG 220 (filled for life)",
                "Check for leaks monthly",
                "No refill",
            ],
            ["Return rollers", "Sealed for life", "None", "None"],
        ],
        [46, 54, 38, 32],
    )
    s.append(
        note(
            "CAUTION",
            "Do not over-grease the pulley bearings. Surplus grease pushes out the seals and can "
            "reach the belt, which causes belt slip (AL-01).",
        )
    )
    s.append(h2("4.4 Maintenance intervals"))
    s.append(
        p(
            "<b>Every shift:</b> pull-cord test, visual check of belt and tracking. "
            "<b>Weekly:</b> clean the belt underside and the slider bed, clean sensor B5. "
            "<b>Every 1000 h:</b> lubricate the pulley bearings, check the belt tension. "
            "<b>Every 2000 h:</b> check the belt splice and the pulley lagging, check all "
            "pull-cord switches, reset the maintenance counter (AL-12)."
        )
    )

    s.append(h1("5 Alarms"))
    s.append(
        p(
            "Alarms are shown on the display of the control box and the red alarm lamp lights "
            "up. After the cause has been removed, press RESET."
        )
    )
    alarm_style = ParagraphStyle("Alarm", parent=BODY, spaceAfter=5)
    for code, meaning, text in CV50_ALARMS:
        s.append(Paragraph(f"<b>{code} {meaning}.</b> {text}", alarm_style))
    return s


# ---------------------------------------------------------------------------
# Non-PDF documents
# ---------------------------------------------------------------------------

CV50_QUICK_REFERENCE = """\
# CV-50 Belt Conveyor — Quick Reference

Norrland Machine Works · Document NMW-CV50-QR-EN · Rev. B.
Keep this card at the conveyor control box. The full instructions are in the
CV-50 Operator and Maintenance Manual.

## Key data

- Belt speed 0.1–1.5 m/s (set with the potentiometer; 50 Hz = 1.0 m/s)
- Maximum load 50 kg/m, single item max. 25 kg
- Gear motor 1.5 kW with frequency inverter (VFD)

## Start-up

1. Check that the belt is clear and all guards are fitted.
2. Switch on main switch Q1 and wait for the READY lamp.
3. Start the empty belt at 0.2 m/s and pull each emergency-stop pull-cord once
   (left and right): the belt must stop and AL-05 must appear.
4. Reset the pull-cord switch head with the blue knob, then press RESET.
5. Set the production speed and press START.
6. Watch the belt for one full revolution: it must run centrally.

## Stopping

Press STOP. At the end of the shift run the belt empty, then switch off Q1.

## Common alarms

| Alarm | Meaning | First action |
|-------|---------|--------------|
| AL-01 | Belt slip detected | Check belt tension; look for oil or grease on the belt |
| AL-02 | Belt tracking limit reached | Stop and correct tracking at the tail pulley |
| AL-03 | Motor overload | Reduce the load; check for jammed rollers |
| AL-05 | Pull-cord emergency stop actuated | Reset the switch head, then press RESET |
| AL-08 | Jam at discharge end | Remove the jammed item |
| AL-09 | Downstream machine not ready | Wait; the conveyor restarts by itself |

For any alarm not listed here, call the maintenance desk on extension 4417.
"""

HANDOVER_CHECKLIST = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shift Handover Checklist — Press Line 2</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; max-width: 50em; margin: 2em auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #666; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>Shift Handover Checklist — Press Line 2</h1>
<p>Press Line 2 consists of the HP-200 hydraulic press and the CV-50 infeed conveyor.
The outgoing and the incoming shift leader go through this checklist together at the
machines during the 15-minute shift overlap.</p>

<h2>General</h2>
<ul>
<li>Walk round both machines together; check that guards and light curtain are in place.</li>
<li>Hand over the keys for key switches S1 and S2 of the HP-200.</li>
<li>Report open faults with their fault code (for example E-101 or AL-01) and what has been done.</li>
<li>Check that the daily start-up check of the HP-200 and the pull-cord test of the CV-50 are signed.</li>
<li>Hand over any lockout padlocks that are still applied and say who owns them.</li>
</ul>

<h2>Machine checks</h2>
<table>
<tr><th>Machine</th><th>Check</th><th>Done</th></tr>
<tr><td>HP-200</td><td>Oil level between MIN and MAX; oil temperature below 55 °C on the HMI</td><td>&#9744;</td></tr>
<tr><td>HP-200</td><td>No leaks under the power unit; filter clogging indicators green</td><td>&#9744;</td></tr>
<tr><td>HP-200</td><td>Die number on the HMI matches the job card</td><td>&#9744;</td></tr>
<tr><td>CV-50</td><td>Belt runs centrally; no alarm on the display</td><td>&#9744;</td></tr>
<tr><td>CV-50</td><td>Pull-cord test done on both sides this shift</td><td>&#9744;</td></tr>
</table>

<h2>Sign-off</h2>
<p>Both shift leaders sign the handover log. The incoming shift leader may not start
production until every open safety fault has been reset or the machine is locked out.</p>
</body>
</html>
"""

LUBRICATION_NOTES = """\
Lubrication notes - Press Line 2 (HP-200 press and CV-50 conveyor)
==================================================================

These notes supplement the lubrication instructions in the two manuals. They
describe how lubrication is organised on Press Line 2.

Use the grease gun with the green band (lithium EP2 grease) for the four column
guide bushings of the HP-200 and for the pulley bearings of the CV-50. The gun
with the red band contains high-temperature polyurea grease for the furnace
line; never use it on Press Line 2, because the two greases do not mix.

Give each grease point the number of strokes stated in the manual and no more.
Wipe off old grease that comes out of the seals. Too much grease on the CV-50
pulley bearings ends up on the belt and causes belt slip (alarm AL-01).

The HP-200 hydraulic oil is ISO VG 46 only. Drums of ISO VG 46 are marked with
a blue label in the oil store; top up through the filter cart, never straight
from the drum.

Record every lubrication job in the maintenance system under work order type
LUB, with the machine number and the grease points done.
"""


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

PDF_SPECS: list[ManualSpec] = [
    ManualSpec(
        filename=HP200_PDF,
        title="HP-200 Hydraulic Press - Operator and Maintenance Manual",
        subject="Operation, maintenance and fault codes of the HP-200 200-ton hydraulic press",
        header="HP-200 Hydraulic Press — Operator and Maintenance Manual",
        revision="C",
        doc_no="NMW-HP200-OM-EN",
        story=hp200_story,
    ),
    ManualSpec(
        filename=CV50_PDF,
        title="CV-50 Belt Conveyor - Operator and Maintenance Manual",
        subject="Operation, maintenance and alarms of the CV-50 belt conveyor",
        header="CV-50 Belt Conveyor — Operator and Maintenance Manual",
        revision="B",
        doc_no="NMW-CV50-OM-EN",
        story=cv50_story,
    ),
]

KS10_MANUAL = """\
# KS-10 Kühlschmierstoffanlage — Betriebsanleitung

Norrland Machine Works · Dokument NMW-KS10-BA-DE · Rev. A.
Die KS-10 versorgt die Bearbeitungszentren der Linie 3 mit Kühlschmierstoff (KSS).
Diese Anleitung ist an der Anlage aufzubewahren.

## 1 Sicherheitshinweise

WARNUNG: Vor allen Arbeiten an Pumpe und Filter den Hauptschalter Q1 ausschalten und
mit einem Vorhängeschloss sichern. Die Pumpe läuft sonst unerwartet an.

VORSICHT: Kühlschmierstoff reizt die Haut. Bei allen Arbeiten Nitrilhandschuhe und
Schutzbrille tragen. Hautkontakt sofort mit Wasser und Seife abwaschen.

ACHTUNG: Den Tank nie ohne Kühlschmierstoff betreiben. Trockenlauf zerstört die
Gleitringdichtung der Pumpe innerhalb weniger Minuten.

## 2 Technische Daten

| Größe | Wert |
|---|---|
| Tankinhalt | 400 Liter |
| Förderleistung der Pumpe | 80 l/min bei 6 bar |
| Filterfeinheit | 25 µm (Bandfilter) |
| Konzentration des Kühlschmierstoffs | 5 bis 7 Prozent |
| Betriebstemperatur | 15 bis 35 °C |

## 3 Inbetriebnahme

1. Füllstand am Schauglas prüfen: mindestens bis zur Markierung MIN.
2. Konzentration mit dem Refraktometer messen. Sollwert 5 bis 7 Prozent.
3. Hauptschalter Q1 einschalten und die Taste PUMPE EIN drücken.
4. Nach 30 Sekunden den Druck am Manometer ablesen: 5 bis 6 bar.

## 4 Störungscodes

Die Störungscodes erscheinen im Display der Steuerung.

| Code | Bedeutung | Abhilfe |
|---|---|---|
| K-01 | Füllstand zu niedrig | Kühlschmierstoff bis zur Markierung MAX nachfüllen. |
| K-02 | Filterband verbraucht | Neue Filtervliesrolle einlegen (Abschnitt 5.2). |
| K-03 | Pumpe überlastet, Motorschutzschalter ausgelöst | Pumpe auf Späne im Ansaugsieb prüfen, Sieb reinigen, Motorschutzschalter Q2 zurücksetzen. |
| K-04 | Temperatur über 40 °C | Kühler auf Verschmutzung prüfen; Lamellen mit Druckluft ausblasen. |
| K-05 | Druck unter 3 bar | Druckleitung auf Undichtigkeit prüfen; Ansaugsieb reinigen. |
| K-06 | Konzentration außerhalb 5 bis 7 Prozent | Konzentrat oder Wasser nach Refraktometer-Messung zugeben. |

## 5 Wartung

### 5.1 Ansaugsieb reinigen

Das Ansaugsieb wöchentlich reinigen. Pumpe ausschalten (WARNUNG in Abschnitt 1 beachten),
Deckel öffnen, Sieb herausziehen und mit Wasser ausspülen.

### 5.2 Filtervlies wechseln

Das Filtervlies alle 500 Betriebsstunden oder bei Störung K-02 wechseln. Die leere Rolle
entnehmen, die neue Rolle einlegen und das Vlies bis zur Aufwickelwelle führen.

### 5.3 Kühlschmierstoff wechseln

Den Kühlschmierstoff alle 6 Monate vollständig wechseln. Tank leeren, mit Systemreiniger
spülen und neu befüllen. Altes Kühlschmierstoffgemisch als Sonderabfall entsorgen.
"""

# The machines the sample manuals belong to (ingest/tags.py). A share organised by machine
# (manuals/press-2/...) needs no such file: the folder name is the tag.
EQUIPMENT_TOML = """\
# Equipment tags of the sample manuals: the HMI's equipment=TAG searches only these.
# (A share organised in one folder per machine needs no such file: the folder name is the tag.)
[files]
"HP-200_*" = ["press"]
"CV-50_*" = ["conveyor"]
"KS-10_*" = ["coolant"]
"Lubrication_Notes.txt" = ["press", "conveyor"]
"Shift_Handover_Checklist.html" = ["press", "conveyor"]
"""

TEXT_FILES: dict[str, str] = {
    "equipment.toml": EQUIPMENT_TOML,
    CV50_MD: CV50_QUICK_REFERENCE,
    KS10_MD: KS10_MANUAL,
    HANDOVER_HTML: HANDOVER_CHECKLIST,
    LUBE_TXT: LUBRICATION_NOTES,
}


def render_all() -> dict[str, bytes]:
    """Return {file name: content} for every sample document."""
    files = {spec.filename: build_pdf(spec) for spec in PDF_SPECS}
    files.update({name: text.encode("utf-8") for name, text in TEXT_FILES.items()})
    return files


def write_all(out_dir: Path) -> dict[str, bytes]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render_all()
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    return files


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Collapse all whitespace (including PDF line breaks) to single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def pdf_page_texts(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        texts = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def plain_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".html", ".htm"}:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.DOTALL | re.IGNORECASE)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def check_pdf_layout(path: Path, spec: ManualSpec, pages: list[str]) -> list[str]:
    """Header/footer on every page but the title page, outline entries on the right pages."""
    from pypdf import PdfReader

    errors: list[str] = []
    total = len(pages)
    for number, raw in enumerate(pages, start=1):
        text = normalize(raw)
        has_header = spec.header in text
        if number == 1:
            if has_header or "Page 1 of" in text:
                errors.append(f"{path.name}: title page must not carry the running header/footer")
            continue
        if not has_header or f"Rev. {spec.revision}" not in text:
            errors.append(f"{path.name} p.{number}: running header missing")
        if f"Page {number} of {total}" not in text:
            errors.append(f"{path.name} p.{number}: footer 'Page {number} of {total}' missing")

    reader = PdfReader(str(path))
    entries: list[tuple[str, int]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            index = reader.get_destination_page_number(item)
            if index is None:
                errors.append(f"{path.name}: outline entry {item.title!r} has no target page")
            else:
                entries.append((str(item.title), index + 1))

    walk(reader.outline)
    headings = [
        f.getPlainText() for f in spec.story() if isinstance(f, Paragraph) and f.style.name in OUTLINE_LEVELS
    ]
    if [title for title, _ in entries] != headings:
        errors.append(f"{path.name}: outline {[t for t, _ in entries]} does not match headings {headings}")
    for title, page_no in entries:
        if not re.match(r"^\d+(\.\d+)? \S", title):
            errors.append(f"{path.name}: outline entry {title!r} is not a numbered heading")
        if title not in normalize(pages[page_no - 1]):
            errors.append(f"{path.name}: outline entry {title!r} does not point to its heading (p.{page_no})")
    return errors


def check_fault_table(pages: list[str]) -> tuple[list[str], list[int]]:
    """The HP-200 fault table must span a page break with the header row repeated."""
    errors: list[str] = []
    table_pages: list[int] = []
    for number, raw in enumerate(pages, start=1):
        text = normalize(raw)
        rows = [code for code, meaning, *_ in HP200_FAULTS if f"{code} {meaning}" in text]
        if rows:
            table_pages.append(number)
            if "Code Meaning Cause Remedy" not in text:
                errors.append(f"fault table on p.{number} has no header row")
    found = {
        code for code, meaning, *_ in HP200_FAULTS for raw in pages if f"{code} {meaning}" in normalize(raw)
    }
    missing = [row[0] for row in HP200_FAULTS if row[0] not in found]
    if missing:
        errors.append(f"fault table rows not found in extracted text: {missing}")
    if len(table_pages) < 2:
        errors.append(f"fault table should span a page break, found on pages {table_pages}")
    return errors, table_pages


def check_facts(out_dir: Path, facts_path: Path) -> list[str]:
    errors: list[str] = []
    facts = json.loads(facts_path.read_text(encoding="utf-8"))
    if not isinstance(facts, list) or not facts:
        return [f"{facts_path}: expected a non-empty JSON list"]
    cache: dict[str, list[str]] = {}
    wrapped: list[str] = []  # needles that match only once line breaks are collapsed
    for i, fact in enumerate(facts):
        label = f"fact #{i} ({fact.get('question', '?')!r})"
        if set(fact) != {"question", "source", "page", "must_contain", "lang"}:
            errors.append(f"{label}: unexpected keys {sorted(fact)}")
            continue
        if fact["lang"] not in {"en", "de", "es"}:
            errors.append(f"{label}: bad lang {fact['lang']!r}")
        needles = fact["must_contain"]
        if not needles or not all(isinstance(n, str) and n for n in needles):
            errors.append(f"{label}: must_contain must be a non-empty list of strings")
            continue
        source = out_dir / fact["source"]
        if not source.is_file():
            errors.append(f"{label}: source {fact['source']!r} not found in {out_dir}")
            continue
        if source.suffix.lower() != ".pdf":
            if fact["page"] is not None:
                errors.append(f"{label}: page must be null for non-PDF sources")
            raw = plain_text(source)
            text = normalize(raw)
            errors += [f"{label}: {n!r} not in {source.name}" for n in needles if normalize(n) not in text]
            wrapped += [n for n in needles if n not in raw and normalize(n) in text]
            continue
        if source.name not in cache:
            cache[source.name] = pdf_page_texts(source)
        raw_pages = cache[source.name]
        pages = [normalize(t) for t in raw_pages]
        page = fact["page"]
        if not isinstance(page, int) or not 1 <= page <= len(pages):
            errors.append(f"{label}: page {page!r} out of range 1..{len(pages)}")
            continue
        wrapped += [n for n in needles if n not in raw_pages[page - 1] and normalize(n) in pages[page - 1]]
        missing = [n for n in needles if normalize(n) not in pages[page - 1]]
        if missing:
            errors.append(f"{label}: {missing} not on {source.name} p.{page}")
            continue
        others = [
            n for n, t in enumerate(pages, start=1) if n != page and all(normalize(x) in t for x in needles)
        ]
        if others:
            errors.append(f"{label}: must_contain also matches pages {others}; make it specific to p.{page}")
    if wrapped:
        print(
            f"note: {len(wrapped)} must_contain string(s) match only after whitespace normalization: {wrapped}"
        )
    print(f"{facts_path.name}: {len(facts)} entries checked")
    langs = [f["lang"] for f in facts if isinstance(f, dict) and "lang" in f]
    if langs.count("de") < 3 or langs.count("es") < 2 or langs.count("en") < 12:
        errors.append(f"{facts_path.name}: need >= 12 en, >= 3 de and >= 2 es questions")
    return errors


def run_check(out_dir: Path, facts_path: Path) -> int:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(Path(tmp))
    for name, data in fresh.items():
        target = out_dir / name
        if not target.is_file():
            errors.append(f"{target} missing (run without --check to generate)")
        elif target.read_bytes() != data:
            errors.append(f"{target} differs from a fresh generation (stale or non-deterministic)")
    extra = sorted(p.name for p in out_dir.iterdir() if p.name not in fresh) if out_dir.is_dir() else []
    if extra:
        errors.append(f"unexpected files in {out_dir} (everything there gets ingested): {extra}")

    for spec in PDF_SPECS:
        path = out_dir / spec.filename
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size >= MAX_PDF_BYTES:
            errors.append(f"{path.name}: {size} bytes, limit {MAX_PDF_BYTES}")
        pages = pdf_page_texts(path)
        errors += check_pdf_layout(path, spec, pages)
        summary = f"{path.name}: {len(pages)} pages, {size} bytes"
        if spec.filename == HP200_PDF:
            table_errors, table_pages = check_fault_table(pages)
            errors += table_errors
            summary += f", fault table on pages {table_pages}"
        print(summary)

    if facts_path.is_file():
        errors += check_facts(out_dir, facts_path)
    else:
        errors.append(f"{facts_path} not found")

    for err in errors:
        print(f"ERROR: {err}", file=sys.stderr)
    print("check failed" if errors else "check passed")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: manuals/)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; verify the files in --out and tests/sample_facts.json",
    )
    parser.add_argument("--facts", type=Path, default=DEFAULT_FACTS, help="facts file used by --check")
    args = parser.parse_args(argv)
    if args.check:
        return run_check(args.out, args.facts)
    for name, data in write_all(args.out).items():
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
