"""Generate the docxtpl Word templates used by rapidreview.documents.

    .venv/bin/python tools/build_report_template.py [OUT_DIR]

writes ``rapid_review_report.docx``, ``meeting_agenda.docx`` and ``information_sharing_form.docx`` to
OUT_DIR (default: the repository's ``templates/`` directory); name files after OUT_DIR to build only those,
e.g. ``tools/build_report_template.py templates information_sharing_form.docx``. The information sharing
form is built from forms/complete_information_sharing_form.schema.json, so its questions match the web form.

The generated .docx files are the source of truth once they are committed: process owners edit them in
Word. Re-running this script overwrites their edits, so only regenerate on purpose.

Template conventions (docxtpl, https://docxtpl.readthedocs.io):

* ``{{ case.reference }}`` inline; each tag is written into a single run so Word does not split it.
* ``{%p if ... %}`` / ``{%p for ... %}`` on a paragraph of its own: the paragraph is replaced by the tag.
* ``{%tr for row in rows %}`` / ``{%tr endfor %}`` on a table row of its own: the row is replaced.
* Values are prepared by rapidreview.documents.render.prepare_context: empty scalars arrive as "Not recorded",
  lists stay lists (so templates use ``{%p for %}...{%p else %}Not recorded{%p endfor %}``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml.etree import _Element as Element

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "templates"

FONT = "Calibri"  # LibreOffice substitutes the metric-compatible Carlito (fonts-crosextra-carlito)
INK = RGBColor(0x1F, 0x1F, 0x1F)
ACCENT = RGBColor(0x1D, 0x3A, 0x6B)  # dark navy, contrast > 10:1 on white
MUTED = RGBColor(0x50, 0x50, 0x50)
HEADER_FILL = "DCE3EF"
LABEL_FILL = "F2F4F7"
BORDER = "A6AEBB"
TEXT_WIDTH = Cm(21.0 - 2 * 2.2)
NR = "Not recorded"

# Schema order of the children of w:tblPr and w:pPr (Word rejects out-of-order elements).
TBLPR_ORDER = (
    "tblStyle",
    "tblpPr",
    "tblOverlap",
    "bidiVisual",
    "tblStyleRowBandSize",
    "tblStyleColBandSize",
    "tblW",
    "jc",
    "tblCellSpacing",
    "tblInd",
    "tblBorders",
    "shd",
    "tblLayout",
    "tblCellMar",
    "tblLook",
    "tblCaption",
    "tblDescription",
)
PPR_ORDER = (
    "pStyle",
    "keepNext",
    "keepLines",
    "pageBreakBefore",
    "framePr",
    "widowControl",
    "numPr",
    "suppressLineNumbers",
    "pBdr",
    "shd",
    "tabs",
    "suppressAutoHyphens",
    "kinsoku",
    "wordWrap",
    "overflowPunct",
    "topLinePunct",
    "autoSpaceDE",
    "autoSpaceDN",
    "bidi",
    "adjustRightInd",
    "snapToGrid",
    "spacing",
    "ind",
    "contextualSpacing",
    "mirrorIndents",
    "suppressOverlap",
    "jc",
    "textDirection",
    "textAlignment",
    "textboxTightWrap",
    "outlineLvl",
    "divId",
    "cnfStyle",
    "rPr",
    "sectPr",
    "pPrChange",
)


# --------------------------------------------------------------------------------------------------
# low-level helpers
# --------------------------------------------------------------------------------------------------


def _set_rfonts(rpr: BaseOxmlElement, name: str) -> None:
    """Set explicit fonts on an rPr, dropping theme fonts (which would otherwise take precedence)."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), name)


def _style_font(style: ParagraphStyle, *, size: float, bold: bool = False, color: RGBColor = INK) -> None:
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = color
    rpr = style.element.get_or_add_rPr()
    _set_rfonts(rpr, FONT)
    color_el = rpr.find(qn("w:color"))
    if color_el is not None:
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            color_el.attrib.pop(qn(attr), None)


def _bottom_border(style: ParagraphStyle, color: str, size: int = 6) -> None:
    ppr = style.element.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size))
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), color)
    bdr.append(bottom)
    _insert_ordered(ppr, bdr, PPR_ORDER)


def _shade(cell: _Cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _repeat_header(table: Table) -> None:
    trpr = table.rows[0]._tr.get_or_add_trPr()
    hdr = OxmlElement("w:tblHeader")
    hdr.set(qn("w:val"), "true")
    trpr.append(hdr)


def _insert_ordered(parent: BaseOxmlElement, child: Element, order: Sequence[str]) -> None:
    """Insert ``child`` (replacing an element of the same name) where the schema sequence wants it."""
    name = child.tag.split("}")[1]
    for old in parent.findall(qn(f"w:{name}")):
        parent.remove(old)
    later = {qn(f"w:{n}") for n in order[order.index(name) + 1 :]}
    for existing in parent:
        if existing.tag in later:
            existing.addprevious(child)
            return
    parent.append(child)


def _style_table(table: Table) -> None:
    """Light grey grid, a little cell padding, rows never split across pages."""
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), BORDER)
        borders.append(el)
    margins = OxmlElement("w:tblCellMar")
    for edge, width in (("top", 45), ("left", 100), ("bottom", 45), ("right", 100)):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(width))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    # indent by the cell padding so the cell text lines up with the body text
    indent = OxmlElement("w:tblInd")
    indent.set(qn("w:w"), "100")
    indent.set(qn("w:type"), "dxa")
    for el in (indent, borders, margins):
        _insert_ordered(tblpr, el, TBLPR_ORDER)
    for row in table.rows:
        trpr = row._tr.get_or_add_trPr()
        if trpr.find(qn("w:cantSplit")) is None:
            cant = OxmlElement("w:cantSplit")
            cant.set(qn("w:val"), "true")
            trpr.insert(0, cant)


def _set_widths(table: Table, widths_cm: Sequence[float]) -> None:
    table.autofit = False
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=False):
            cell.width = Cm(width)


def _field(paragraph: Paragraph, instr: str, placeholder: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), f" {instr} ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _cell_text(cell: _Cell, text: str, *, bold: bool = False) -> Paragraph:
    para = cell.paragraphs[0]
    para.paragraph_format.space_after = Pt(0)
    run = para.add_run(text)
    if bold:
        run.bold = True  # never an explicit "not bold": a heading cell's style makes it bold
    return para


# --------------------------------------------------------------------------------------------------
# document-level setup
# --------------------------------------------------------------------------------------------------


def _new_document(title: str, subject: str) -> DocumentObject:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Cm(21.0)
    section.page_height = Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = Cm(2.4)
    section.bottom_margin = Cm(2.2)
    section.header_distance = Cm(1.0)
    section.footer_distance = Cm(1.0)

    # docDefaults: explicit font and British English (gives the PDF its /Lang)
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    if rpr_default is not None:
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is not None:
            _set_rfonts(rpr, FONT)
            lang = rpr.find(qn("w:lang"))
            if lang is None:
                lang = OxmlElement("w:lang")
                rpr.append(lang)
            lang.set(qn("w:val"), "en-GB")
            lang.set(qn("w:eastAsia"), "en-GB")
            lang.set(qn("w:bidi"), "ar-SA")

    styles = doc.styles
    normal = styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _style_font(normal, size=11)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15

    # The document's title is a real heading (Heading 1, so H1 in the tagged PDF); sections are Heading 2 and
    # their parts Heading 3. Word's "Title" style would be tagged as a plain paragraph.
    title_style = styles["Heading 1"]
    assert isinstance(title_style, ParagraphStyle)
    _style_font(title_style, size=24, bold=True, color=ACCENT)
    title_style.paragraph_format.space_before = Pt(0)
    title_style.paragraph_format.space_after = Pt(4)
    title_style.paragraph_format.keep_with_next = True
    _bottom_border(title_style, "1D3A6B", size=12)

    subtitle = styles["Subtitle"]
    assert isinstance(subtitle, ParagraphStyle)
    _style_font(subtitle, size=13, color=MUTED)
    srpr = subtitle.element.get_or_add_rPr()
    for el in srpr.findall(qn("w:spacing")):
        srpr.remove(el)
    subtitle.paragraph_format.space_before = Pt(6)
    subtitle.paragraph_format.space_after = Pt(12)

    for name, size, before in (("Heading 2", 14, 18), ("Heading 3", 12, 12)):
        style = styles[name]
        assert isinstance(style, ParagraphStyle)
        _style_font(style, size=size, bold=True, color=ACCENT)
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    h2 = styles["Heading 2"]
    assert isinstance(h2, ParagraphStyle)
    _bottom_border(h2, "9AA9C4", size=4)

    for name in ("Header", "Footer"):
        style = styles[name]
        assert isinstance(style, ParagraphStyle)
        _style_font(style, size=9, color=MUTED)
        for tabs in style.element.get_or_add_pPr().findall(qn("w:tabs")):
            tabs.getparent().remove(tabs)

    for name in ("List Bullet", "List Number"):
        style = styles[name]
        assert isinstance(style, ParagraphStyle)
        _style_font(style, size=11)
        style.paragraph_format.space_after = Pt(3)

    if "Table Text" not in [s.name for s in styles]:
        table_text = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
        table_text.base_style = normal
        _style_font(table_text, size=10)
        table_text.paragraph_format.space_after = Pt(0)
        table_text.paragraph_format.line_spacing = 1.0
    # Header cells: LibreOffice tags a cell whose paragraph has the style "Table Heading" as TH (with a
    # scope) in the PDF, as it does the cells of a repeated header row.
    if "Table Heading" not in [s.name for s in styles]:
        table_heading = styles.add_style("Table Heading", WD_STYLE_TYPE.PARAGRAPH)
        table_heading.base_style = styles["Table Text"]
        _style_font(table_heading, size=10, bold=True)
        table_heading.paragraph_format.space_after = Pt(0)
        table_heading.paragraph_format.line_spacing = 1.0

    props = doc.core_properties
    props.title = title
    props.subject = subject
    props.author = "{{ partnership.name }}"
    props.language = "en-GB"
    props.comments = "Generated by Rapid Review from a docxtpl template"
    return doc


def _header_footer(doc: DocumentObject, *, right_header: str, left_footer: str) -> None:
    section = doc.sections[0]
    tab_pos = TEXT_WIDTH

    header = section.header
    hp = header.paragraphs[0]
    hp.style = doc.styles["Header"]
    hp.paragraph_format.tab_stops.add_tab_stop(tab_pos, WD_TAB_ALIGNMENT.RIGHT)
    hp.add_run("{{ partnership.name }}")
    hp.add_run("\t")
    status = hp.add_run(right_header)
    status.bold = True

    footer = section.footer
    fp = footer.paragraphs[0]
    fp.style = doc.styles["Footer"]
    fp.paragraph_format.tab_stops.add_tab_stop(tab_pos, WD_TAB_ALIGNMENT.RIGHT)
    fp.add_run(left_footer)
    fp.add_run("\tPage ")
    _field(fp, "PAGE", "1")
    fp.add_run(" of ")
    _field(fp, "NUMPAGES", "1")


class Builder:
    """Small helpers that keep each Jinja tag inside one run."""

    def __init__(self, doc: DocumentObject) -> None:
        self.doc = doc

    def para(self, text: str = "", *, style: str | None = None, bold: bool = False) -> Paragraph:
        p = self.doc.add_paragraph(style=style)
        if text:
            run = p.add_run(text)
            run.bold = bold
        return p

    def tag(self, tag: str) -> Paragraph:
        """A paragraph holding only a docxtpl {%p ... %} tag (removed when rendered)."""
        return self.doc.add_paragraph(tag)

    def title(self, text: str) -> Paragraph:
        return self.doc.add_heading(text, level=1)

    def h1(self, text: str) -> Paragraph:
        """A section (Heading 2: the document's title is the one Heading 1)."""
        return self.doc.add_heading(text, level=2)

    def h2(self, text: str) -> Paragraph:
        return self.doc.add_heading(text, level=3)

    def labelled(self, label: str, value: str) -> Paragraph:
        p = self.doc.add_paragraph()
        p.add_run(f"{label}: ").bold = True
        p.add_run(value)
        return p

    def bullets(self, loop: str, item: str) -> None:
        """A bulleted list from a list of strings, with "Not recorded" when it is empty."""
        self.tag(f"{{%p for {loop} %}}")
        self.para(item, style="List Bullet")
        self.tag("{%p else %}")
        self.para(NR)
        self.tag("{%p endfor %}")

    def key_values(self, rows: Sequence[tuple[str, str]], widths: tuple[float, float] = (5.6, 11.0)) -> Table:
        table = self.doc.add_table(rows=len(rows), cols=2)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        for row, (label, value) in zip(table.rows, rows, strict=True):
            row.cells[0].paragraphs[0].style = self.doc.styles["Table Heading"]  # row headers
            row.cells[1].paragraphs[0].style = self.doc.styles["Table Text"]
            _cell_text(row.cells[0], label)
            _shade(row.cells[0], LABEL_FILL)
            _cell_text(row.cells[1], value)
        _set_widths(table, widths)
        _style_table(table)
        self.spacer()
        return table

    def loop_table(
        self, headings: Sequence[str], loop: str, cells: Sequence[str], widths: Sequence[float]
    ) -> Table:
        """Header row + one docxtpl {%tr for %} row per item."""
        table = self.doc.add_table(rows=4, cols=len(headings))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        for cell, heading in zip(table.rows[0].cells, headings, strict=True):
            cell.paragraphs[0].style = self.doc.styles["Table Heading"]
            _cell_text(cell, heading)
            _shade(cell, HEADER_FILL)
        _repeat_header(table)
        _cell_text(table.rows[1].cells[0], f"{{%tr for {loop} %}}")
        for cell, value in zip(table.rows[2].cells, cells, strict=True):
            cell.paragraphs[0].style = self.doc.styles["Table Text"]
            _cell_text(cell, value)
        _cell_text(table.rows[3].cells[0], "{%tr endfor %}")
        _set_widths(table, widths)
        _style_table(table)
        self.spacer()
        return table

    def spacer(self) -> None:
        """A small paragraph after a table (Word needs one between two tables anyway)."""
        p = self.doc.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.line_spacing = 1.0
        ppr_rpr = OxmlElement("w:rPr")
        size = OxmlElement("w:sz")
        size.set(qn("w:val"), "12")
        ppr_rpr.append(size)
        _insert_ordered(p._p.get_or_add_pPr(), ppr_rpr, PPR_ORDER)


# --------------------------------------------------------------------------------------------------
# Rapid Review Report
# --------------------------------------------------------------------------------------------------


def build_report(out: Path) -> None:
    doc = _new_document(
        title="{{ document.title }} – {{ case.reference }}",
        subject="Rapid Review Report to the Child Safeguarding Practice Review Panel",
    )
    _header_footer(
        doc,
        right_header="{{ document.status_label }} – version {{ document.version }}",
        left_footer="{{ document.title }} – {{ case.reference }}",
    )
    b = Builder(doc)

    b.title("{{ document.title }}")
    b.para("{{ partnership.name }}", style="Subtitle")

    b.key_values(
        [
            ("Case reference", "{{ case.reference }}"),
            ("Safeguarding partnership", "{{ partnership.name }}"),
            ("Partnership contact", "{{ partnership.contact_name }}"),
            ("Contact e-mail", "{{ partnership.contact_email }}"),
            ("Document status", "{{ document.status_label }} (version {{ document.version }})"),
            ("Generated", "{{ document.generated_at }}"),
        ]
    )

    b.h1("1. Key dates")
    b.key_values(
        [
            ("Date of incident", "{{ incident.date }}"),
            ("Notification to the National Panel", "{{ case.notified_at }}"),
            ("Day 1 of the Rapid Review", "{{ case.day_one }}"),
            ("Deadline for submission (Day 15)", "{{ case.deadline }}"),
            ("Rapid Review meeting", "{{ meeting.starts_at }}"),
        ]
    )

    b.h1("2. The child")
    b.key_values(
        [
            ("Name or pseudonym", "{{ child.name }}"),
            ("Date of birth", "{{ child.date_of_birth }}"),
            ("Age", "{{ child.age }}"),
            ("Sex", "{{ child.sex }}"),
            ("Ethnicity", "{{ child.ethnicity }}"),
            ("Disability", "{{ child.disability }}"),
            ("Legal status", "{{ child.legal_status }}"),
            ("Died or seriously harmed", "{{ child.harm_type }}"),
            ("Nature of harm", "{{ child.nature_of_harm }}"),
        ]
    )

    b.h1("3. Family, health and immediate safeguarding")
    b.h2("Family structure")
    b.para("{{ report.family_structure }}")
    b.h2("Significant physical or mental health issues, learning disabilities")
    b.para("{{ report.health_and_disability }}")
    b.h2("Immediate safeguarding arrangements for other children (e.g. siblings)")
    b.para("{{ report.other_children_safeguarding }}")
    b.h2("Immediate safeguarding action taken or required")
    b.para("{{ report.immediate_safeguarding_actions }}")

    b.h1("4. Summary of the facts")
    b.h2("The incident")
    b.para("{{ incident.summary }}")
    b.h2("Concise summary of the facts")
    b.para("{{ report.summary_of_facts }}")

    b.h1("5. Agencies involved")
    b.loop_table(
        ["Agency", "Information sharing form", "Returned on", "Period and nature of involvement"],
        "agency in agencies",
        ["{{ agency.name }}", "{{ agency.status }}", "{{ agency.returned_at }}", "{{ agency.involvement }}"],
        [3.8, 2.9, 2.6, 7.3],
    )
    b.tag("{%p if agencies_not_returned %}")
    b.para("The following agencies did not return their information sharing form:", bold=True)
    b.tag("{%p for name in agencies_not_returned %}")
    b.para("{{ name }}", style="List Bullet")
    b.tag("{%p endfor %}")
    b.tag("{%p elif agencies %}")
    b.para("All agencies returned their information sharing form.", bold=True)
    b.tag("{%p else %}")
    b.para("No agencies have been recorded as involved. Not recorded.", bold=True)
    b.tag("{%p endif %}")
    b.h2("Agency involvement")
    b.para("{{ report.agency_involvement }}")

    b.h1("6. Key practice episodes")
    b.para("{{ report.key_practice_episodes }}")

    b.h1("7. Analysis")
    b.h2("What worked well")
    b.para("{{ report.what_worked_well }}")
    b.h2("Concerns")
    b.para("{{ report.concerns }}")
    b.h2("Race, ethnicity, disability and other inequalities")
    b.para("{{ report.inequalities }}")

    b.h1("8. Parallel processes")
    b.bullets("process in report.parallel_processes", "{{ process }}")
    b.para("{{ report.parallel_processes_details }}")

    b.h1("9. Rapid Review criteria")
    b.para(
        "On Day 1 the statutory safeguarding partners each gave their view on whether the case meets the "
        "criteria for a Rapid Review. This is not the decision on a Local Child Safeguarding Practice Review "
        "(section 11)."
    )
    b.loop_table(
        ["Partner", "Criteria for a Rapid Review met?", "Rationale"],
        "view in criteria.views",
        ["{{ view.partner }}", "{{ view.criteria_met }}", "{{ view.rationale }}"],
        [4.2, 3.2, 9.2],
    )
    b.tag("{%p if not criteria.views %}")
    b.para(NR)
    b.tag("{%p endif %}")
    b.tag("{%p if criteria.chair_consulted %}")
    b.h2("Consultation with the Independent Chair")
    b.para("The safeguarding partners did not agree, so the Independent Chair was consulted.")
    b.labelled("Chair's decision on whether the criteria for a Rapid Review are met", "{{ criteria.chair_decision }}")
    b.labelled("Chair's rationale", "{{ criteria.chair_rationale }}")
    b.labelled("Advice from the National Panel's Regional Lead", "{{ criteria.regional_lead_advice }}")
    b.tag("{%p endif %}")

    b.h1("10. The Rapid Review Meeting")
    b.labelled("Held on", "{{ meeting.held_on }}")
    b.labelled("Background information agreed", "{{ meeting.background_agreed }}")
    b.h2("Attendees")
    b.tag("{%p if meeting.present %}")
    b.loop_table(
        ["Name", "Role", "Organisation"],
        "person in meeting.present",
        ["{{ person.name }}", "{{ person.role }}", "{{ person.organisation }}"],
        [5.0, 5.4, 6.2],
    )
    b.tag("{%p else %}")
    b.para("{{ meeting.present_text }}")
    b.tag("{%p endif %}")
    b.h2("What is working well")
    b.para("{{ meeting.working_well }}")
    b.h2("Areas of concern")
    b.para("{{ meeting.concerns }}")
    b.h2("Themes for the summary and analysis")
    b.para("{{ meeting.themes }}")
    b.h2("Actions already taken or required")
    b.para("{{ meeting.actions }}")
    b.h2("Agency leads for the response")
    b.tag("{%p if meeting.agency_leads %}")
    b.loop_table(
        ["Agency", "Lead or senior member leading the response"],
        "lead in meeting.agency_leads",
        ["{{ lead.agency }}", "{{ lead.lead }}"],
        [6.6, 10.0],
    )
    b.tag("{%p else %}")
    b.para(NR)
    b.tag("{%p endif %}")

    b.h1("11. Decision on a Local Child Safeguarding Practice Review")
    b.tag("{%p if outcome.decided and outcome.lcspr_recommended is true %}")
    b.para("The criteria for a Local Child Safeguarding Practice Review are met.", bold=True)
    b.tag("{%p elif outcome.decided and outcome.lcspr_recommended is false %}")
    b.para("The criteria for a Local Child Safeguarding Practice Review are not met.", bold=True)
    b.tag("{%p else %}")
    b.para(
        "The decision on whether the criteria for a Local Child Safeguarding Practice Review are met "
        "has not yet been recorded: the Rapid Review Meeting makes it.",
        bold=True,
    )
    b.h2("The chair's provisional view")
    b.para("{{ outcome.provisional_view }}")
    b.tag("{%p endif %}")
    b.tag("{%p if outcome.decided %}")
    b.labelled("Decision as recorded", "{{ outcome.decision_text }}")
    b.para("Grounds:", bold=True)
    b.bullets("ground in outcome.grounds", "{{ ground }}")
    b.labelled("Rationale", "{{ outcome.rationale }}")
    b.tag("{%p endif %}")
    b.tag("{%p if outcome.lcspr_recommended is true %}")
    b.h2("Key lines of enquiry for the Local Child Safeguarding Practice Review")
    b.bullets("line in outcome.key_lines_of_enquiry", "{{ line }}")
    b.tag("{%p endif %}")

    b.h1("12. National review")
    b.tag("{%p if outcome.national_review_recommended is true %}")
    b.para("The safeguarding partners consider that a national review may be appropriate.", bold=True)
    b.tag("{%p elif outcome.national_review_recommended is false %}")
    b.para("The safeguarding partners do not consider that a national review is appropriate.", bold=True)
    b.tag("{%p else %}")
    b.para("Whether a national review may be appropriate: Not answered.", bold=True)
    b.tag("{%p endif %}")
    b.labelled("Reason", "{{ outcome.national_review_reason }}")

    b.h1("13. Immediate learning and actions")
    b.para("{{ report.immediate_learning_and_actions }}")
    b.h2("Recommendations")
    b.para("{{ outcome.recommendations }}")
    b.h2("How the learning will be disseminated and acted on across the partnership")
    b.para("{{ outcome.learning_dissemination }}")

    b.h1("14. Chair of the Rapid Review")
    b.key_values(
        [
            ("Name", "{{ chair.name }}"),
            ("Role", "{{ chair.role }}"),
            ("Organisation", "{{ chair.organisation }}"),
            ("Chair type", "{{ chair.type_label }}"),
        ]
    )

    b.h1("15. Sign-off by the statutory safeguarding partners")
    b.tag("{%p if sign_offs %}")
    b.para(
        "Each partner signed off in Rapid Review with their own account; the name and role are the account's."
    )
    b.loop_table(
        ["Organisation", "Name", "Role", "Decision", "Date and time"],
        "s in sign_offs",
        ["{{ s.organisation }}", "{{ s.name }}", "{{ s.role }}", "{{ s.decision }}", "{{ s.at }}"],
        [3.6, 3.4, 3.6, 2.4, 3.6],
    )
    b.h2("Comments made on sign-off")
    b.tag("{%p for s in sign_offs %}")
    b.labelled("{{ s.organisation }} ({{ s.name }})", "{{ s.comments }}")
    b.tag("{%p endfor %}")
    b.tag("{%p else %}")
    b.para(
        "Sign-off by the statutory safeguarding partners (Local Authority, Integrated Care Board, Police) "
        "is pending.",
        bold=True,
    )
    b.tag("{%p endif %}")

    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


# --------------------------------------------------------------------------------------------------
# Rapid Review Meeting agenda
# --------------------------------------------------------------------------------------------------

# The meeting's terms of reference, from the partnership's Rapid Review Process Guidance (Oct 2024).
AGENDA_ITEMS: tuple[tuple[str, str], ...] = (
    ("Welcome, introductions and purpose of the meeting", "Chair"),
    ("Agree the background information on the case, ensuring accuracy", "All agencies"),
    ("Agree what is working well and any areas for concern", "All agencies"),
    ("Agree the completion of the Rapid Review Report and any themes for the summary/analysis", "Chair"),
    ("Identify any action already taken or required", "All agencies"),
    ("Agree any recommendations", "All agencies"),
    (
        "Agree whether the case meets the criteria for a Child Safeguarding Practice Review (CSPR)",
        "Lead or senior member for each agency",
    ),
    (
        "Next steps: revised final draft circulated for accuracy (Day 11), sign-off by the statutory "
        "partners (Days 13–14), submission to the National Panel by {{ case.deadline }} (Day 15)",
        "Partnership Manager",
    ),
)


def build_agenda(out: Path) -> None:
    doc = _new_document(
        title="Rapid Review Meeting Agenda – {{ case.reference }}",
        subject="Agenda for the Rapid Review Meeting",
    )
    _header_footer(
        doc,
        right_header="Rapid Review Meeting – {{ case.reference }}",
        left_footer="Rapid Review Meeting Agenda – {{ case.reference }}",
    )
    b = Builder(doc)

    b.title("Rapid Review Meeting: Agenda")
    b.para("{{ partnership.name }}", style="Subtitle")
    b.key_values(
        [
            ("Case reference", "{{ case.reference }}"),
            ("Date and time", "{{ meeting.starts_at }}"),
            ("Location", "{{ meeting.location }}"),
            ("Chair", "{{ chair.name }}, {{ chair.role }} ({{ chair.organisation }})"),
            ("Day 1 of the Rapid Review", "{{ case.day_one }}"),
            ("Report due to the National Panel", "{{ case.deadline }}"),
            ("Partnership contact", "{{ partnership.contact_name }} ({{ partnership.contact_email }})"),
        ]
    )

    b.h1("Papers")
    b.para("Draft Rapid Review Report and the returned Rapid Review Information Sharing Forms.")
    b.para("Confidential: these papers contain personal information about a child and their family.")

    b.h1("Agenda")
    table = doc.add_table(rows=1 + len(AGENDA_ITEMS), cols=3)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    for cell, heading in zip(table.rows[0].cells, ("Item", "Business", "Lead"), strict=True):
        cell.paragraphs[0].style = doc.styles["Table Heading"]
        _cell_text(cell, heading)
        _shade(cell, HEADER_FILL)
    _repeat_header(table)
    for number, (row, (business, lead)) in enumerate(zip(table.rows[1:], AGENDA_ITEMS, strict=True), 1):
        for cell, text in zip(row.cells, (str(number), business, lead), strict=True):
            cell.paragraphs[0].style = doc.styles["Table Text"]
            _cell_text(cell, text)
    _set_widths(table, [1.4, 11.2, 4.0])
    _style_table(table)
    b.spacer()

    b.h1("Attendees")
    b.loop_table(
        ["Name", "Organisation"],
        "person in meeting.attendees",
        ["{{ person.name }}", "{{ person.organisation }}"],
        [7.0, 9.6],
    )
    b.tag("{%p if not meeting.attendees %}")
    b.para(NR)
    b.tag("{%p endif %}")

    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


# --------------------------------------------------------------------------------------------------
# Decision record: what the National Panel receives when the criteria for a Rapid Review are not met
# --------------------------------------------------------------------------------------------------


def build_decision_record(out: Path) -> None:
    doc = _new_document(
        title="{{ document.title }} – {{ case.reference }}",
        subject="Decision on the criteria for a Rapid Review, for the Child Safeguarding Practice Review Panel",
    )
    _header_footer(
        doc,
        right_header="{{ document.status_label }} – version {{ document.version }}",
        left_footer="{{ document.title }} – {{ case.reference }}",
    )
    b = Builder(doc)
    b.title("{{ document.title }}")
    b.para("{{ partnership.name }}", style="Subtitle")
    b.key_values(
        [
            ("Case reference", "{{ case.reference }}"),
            ("Safeguarding partnership", "{{ partnership.name }}"),
            ("Partnership contact", "{{ partnership.contact_name }}"),
            ("Contact e-mail", "{{ partnership.contact_email }}"),
            ("Document status", "{{ document.status_label }} (version {{ document.version }})"),
            ("Generated", "{{ document.generated_at }}"),
        ]
    )

    b.h1("1. Decision")
    b.tag("{%p if decision.made %}")
    b.para("{{ decision.text }}", bold=True)
    b.tag("{%p else %}")
    b.para("The decision on the criteria for a Rapid Review has not been recorded.", bold=True)
    b.tag("{%p endif %}")

    b.h1("2. The Serious Incident Notification")
    b.key_values(
        [
            ("Date of incident", "{{ incident.date }}"),
            ("Notification to the National Panel", "{{ case.notified_at }}"),
            ("Day 1", "{{ case.day_one }}"),
            ("Child's name or pseudonym", "{{ child.name }}"),
            ("Date of birth", "{{ child.date_of_birth }}"),
            ("Age", "{{ child.age }}"),
            ("Sex", "{{ child.sex }}"),
        ]
    )
    b.h2("The incident")
    b.para("{{ incident.summary }}")

    b.h1("3. The safeguarding partners' views on the criteria for a Rapid Review")
    b.loop_table(
        ["Partner", "Criteria for a Rapid Review met?", "Rationale"],
        "view in criteria.views",
        ["{{ view.partner }}", "{{ view.criteria_met }}", "{{ view.rationale }}"],
        [4.2, 3.2, 9.2],
    )
    b.h2("Immediate action to keep a child safe")
    b.loop_table(
        ["Partner", "Immediate action needed?", "Details", "Recorded by"],
        "view in criteria.views",
        [
            "{{ view.partner }}",
            "{{ view.immediate_action_needed }}",
            "{{ view.immediate_action_details }}",
            "{{ view.name }}, {{ view.role }}, {{ view.at }}",
        ],
        [3.6, 2.8, 5.6, 4.6],
    )
    b.tag("{%p if not criteria.views %}")
    b.para(NR)
    b.tag("{%p endif %}")

    b.h1("4. Consultation with the Independent Chair")
    b.tag("{%p if criteria.chair_consulted %}")
    b.para("The safeguarding partners did not agree, so the Independent Chair was consulted.")
    b.key_values(
        [
            ("Criteria for a Rapid Review met?", "{{ criteria.chair_decision }}"),
            ("Rationale", "{{ criteria.chair_rationale }}"),
            ("Advice sought from the National Panel's Regional Lead", "{{ criteria.regional_lead_advice_sought }}"),
            ("The Regional Lead's advice", "{{ criteria.regional_lead_advice }}"),
            ("Decided by", "{{ criteria.chair_decided_by }}, {{ criteria.chair_decided_by_role }}"),
            ("Date and time", "{{ criteria.chair_decided_at }}"),
        ]
    )
    b.tag("{%p else %}")
    b.para("The safeguarding partners agreed, so the Independent Chair was not consulted.")
    b.tag("{%p endif %}")

    b.h1("5. Confirmation by the Partnership Manager")
    b.h2("Summary of the decision")
    b.para("{{ confirmation.summary }}")
    b.h2("Immediate safeguarding of the child and any other children")
    b.para("{{ confirmation.immediate_safeguarding }}")
    b.key_values(
        [
            ("Confirmed by", "{{ confirmation.name }}"),
            ("Role", "{{ confirmation.role }}"),
            ("Date and time", "{{ confirmation.at }}"),
        ]
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


# --------------------------------------------------------------------------------------------------
# Rapid Review Information Sharing Form, for agencies that work on paper
# --------------------------------------------------------------------------------------------------

ISF_SCHEMA = REPO / "forms" / "complete_information_sharing_form.schema.json"


def _answer_box(doc: DocumentObject, lines: int) -> None:
    """A one-cell table to write the answer in, at least ``lines`` lines high."""
    table = doc.add_table(rows=1, cols=1)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    cell = table.rows[0].cells[0]
    cell.paragraphs[0].style = doc.styles["Table Text"]
    trpr = table.rows[0]._tr.get_or_add_trPr()
    height = OxmlElement("w:trHeight")
    height.set(qn("w:val"), str(int(Pt(14 * lines).twips)))
    height.set(qn("w:hRule"), "atLeast")
    trpr.append(height)
    _set_widths(table, [16.4])
    _style_table(table)


def build_information_sharing_form(out: Path, schema_path: Path = ISF_SCHEMA) -> None:
    """The web form's questions, in its order, as a Word form; re-run it when the schema changes."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    required = set(schema.get("required", []))
    doc = _new_document(
        title="Rapid Review Information Sharing Form – {{ case.reference }} – {{ agency.name }}",
        subject="Information sharing for a Rapid Review",
    )
    _header_footer(
        doc,
        right_header="OFFICIAL-SENSITIVE",
        left_footer="Information Sharing Form – {{ case.reference }} – {{ agency.name }}",
    )
    b = Builder(doc)
    b.title("Rapid Review Information Sharing Form")
    b.para("{{ partnership.name }}", style="Subtitle")
    b.key_values(
        [
            ("Case reference", "{{ case.reference }}"),
            ("Agency", "{{ agency.name }}"),
            ("Return by", "{{ due }}"),
            ("Questions to", "{{ partnership.contact_name }} ({{ partnership.contact_email }})"),
        ]
    )
    b.h1("How to return this form")
    b.para(schema.get("description", ""))
    b.para(
        "Type your answers in the boxes. Save the form as a Word Document (.docx), then attach it to your "
        "task in Rapid Review and submit the task there; in the web form you may write \"See attached form\" "
        "for any answer. Do not send this form by e-mail."
    )
    b.h1("Your answers")
    for number, (name, spec) in enumerate(schema["properties"].items(), 1):
        title = spec.get("title", name)
        b.h2(f"{number}. {title}" + (" (required)" if name in required else ""))
        if spec.get("description"):
            hint = b.para(spec["description"])
            for run in hint.runs:
                run.font.color.rgb = MUTED
        long_text = int(spec.get("maxLength", 0)) > 1000
        _answer_box(doc, 8 if long_text else 1)
        b.spacer()
    b.h1("Manager's check")
    b.para("Your manager checks the form before it is returned: they do this on their own task in Rapid Review.")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


BUILDERS = {
    "rapid_review_report.docx": build_report,
    "meeting_agenda.docx": build_agenda,
    "decision_record.docx": build_decision_record,
    "information_sharing_form.docx": build_information_sharing_form,
}


def main(argv: Sequence[str] | None = None) -> int:
    """``build_report_template.py [OUT_DIR] [FILE ...]``: every template, or only the files named."""
    args = list(sys.argv[1:] if argv is None else argv)
    out_dir = Path(args[0]) if args and not args[0].endswith(".docx") else DEFAULT_OUT
    names = [a for a in args if a.endswith(".docx")] or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        print(f"unknown template {', '.join(unknown)}; choose from {', '.join(BUILDERS)}", file=sys.stderr)
        return 2
    for name in names:
        BUILDERS[name](out_dir / name)
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
