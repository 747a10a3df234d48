"""The PDFs the National Panel receives are accessible: the title is a heading (H1) and every table has
header cells (TH with a scope) in the tagged PDF LibreOffice makes. Real templates, real LibreOffice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from rapidreview.documents.pdf import convert_to_pdf
from rapidreview.documents.render import render_docx
from tests.conftest import requires_soffice
from tests.test_documents_content import DECISION_RECORD, decision_data, record

pytestmark = requires_soffice
REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "report_context.json"


@dataclass
class Structure:
    """What the structure tree holds: headings in order, and each table's header and data cells."""

    headings: list[tuple[str, str]] = field(default_factory=list)  # (tag, text)
    tables: list[dict[str, Any]] = field(default_factory=list)


def _text(reader: PdfReader, element: DictionaryObject) -> str:
    """The text of a structure element, from the marked content its MCIDs point to (enough for headings)."""
    mcids: list[tuple[Any, int]] = []

    def collect(node: Any, page: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, int):
            mcids.append((page, node))
        elif isinstance(node, ArrayObject):
            for kid in node:
                collect(kid, page)
        elif isinstance(node, DictionaryObject):
            page = node.get("/Pg", page)
            if "/MCID" in node:
                mcids.append((page, int(node["/MCID"])))
            elif "/K" in node:
                collect(node["/K"], page)

    collect(element, element.get("/Pg"))
    if not mcids:
        return ""
    pages = {page.indirect_reference.idnum: page for page in reader.pages if page.indirect_reference is not None}
    page = pages[mcids[0][0].idnum]
    wanted = {m for _, m in mcids}
    parts: list[str] = []
    current: list[int | None] = [None]

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if current[0] in wanted:
            parts.append(text)

    # pypdf reports marked content through the operator visitor: track BDC ... EMC with an MCID
    def before(op: bytes, args: Any, cm: Any, tm: Any) -> None:
        if op == b"BDC" and len(args) > 1 and isinstance(args[1], DictionaryObject) and "/MCID" in args[1]:
            current[0] = int(args[1]["/MCID"])
        elif op == b"EMC":
            current[0] = None

    page.extract_text(visitor_operand_before=before, visitor_text=visit)
    return "".join(parts).strip()


def structure(pdf: Path) -> Structure:
    reader = PdfReader(str(pdf))
    root = reader.trailer["/Root"].get_object()
    tree = root["/StructTreeRoot"].get_object()
    role_map = {str(k): str(v) for k, v in (tree.get("/RoleMap") or {}).items()}
    found = Structure()

    def walk(node: Any, table: dict[str, Any] | None) -> None:
        node = node.get_object()
        if isinstance(node, ArrayObject):
            for kid in node:
                walk(kid, table)
            return
        if not isinstance(node, DictionaryObject):
            return
        tag = str(node.get("/S", ""))
        tag = role_map.get(tag, tag) if tag not in ("/TH", "/TD", "/Table", "/H", "/H1", "/H2", "/H3") else tag
        if tag == "/Table":
            table = {"TH": [], "TD": 0}
            found.tables.append(table)
        elif tag == "/TH" and table is not None:
            table["TH"].append(_scope(node))
        elif tag == "/TD" and table is not None:
            table["TD"] += 1
        elif tag in ("/H", "/H1", "/H2", "/H3"):
            found.headings.append((tag, _text(reader, node)))
        if "/K" in node:
            walk(node["/K"], table)

    walk(tree["/K"], None)
    return found


def _scope(cell: DictionaryObject) -> str:
    attributes = cell.get("/A")
    attributes = attributes.get_object() if attributes is not None else None
    for item in attributes if isinstance(attributes, ArrayObject) else [attributes]:
        item = item.get_object() if item is not None else None
        if isinstance(item, DictionaryObject) and item.get("/O") == "/Table" and "/Scope" in item:
            return str(item["/Scope"])
    return ""


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("accessible")
    report = work / "RR-2026-014-signed-report.docx"
    render_docx(REPO / "templates" / "rapid_review_report.docx", json.loads(FIXTURE.read_text()), report)
    decision = work / "RR-2026-003-decision-record.docx"
    render_docx(DECISION_RECORD, record(decision_data(agree=False)), decision)
    return {name: convert_to_pdf(path, work / "pdf", timeout=120)
            for name, path in (("signed_report", report), ("decision_record", decision))}


@pytest.mark.pdf
@pytest.mark.parametrize(("kind", "title", "tables"), [
    ("signed_report", "Rapid Review Report", 9),
    ("decision_record", "Rapid Review Decision Record", 6),
])
def test_the_title_is_the_one_h1_and_every_table_has_header_cells(pdfs: dict[str, Path], kind: str, title: str,
                                                                   tables: int) -> None:
    found = structure(pdfs[kind])
    assert found.headings[0] == ("/H1", title)
    assert [tag for tag, _ in found.headings].count("/H1") == 1
    assert {tag for tag, _ in found.headings[1:]} <= {"/H2", "/H3"}
    assert len(found.tables) == tables
    for number, table in enumerate(found.tables, 1):
        assert table["TH"], f"table {number} of the {kind} has no header cells"
        assert table["TD"], f"table {number} of the {kind} has no data cells"
        assert all(scope in ("/Column", "/Row", "/Both") for scope in table["TH"]), table


@pytest.mark.pdf
def test_label_value_tables_have_a_header_cell_per_row(pdfs: dict[str, Path]) -> None:
    first = structure(pdfs["signed_report"]).tables[0]  # case reference, partnership, contact...
    assert len(first["TH"]) == first["TD"] == 6


@pytest.mark.pdf
def test_the_signed_pdf_says_nothing_about_a_submission(pdfs: dict[str, Path]) -> None:
    text = " ".join(page.extract_text() or "" for page in PdfReader(str(pdfs["signed_report"])).pages)
    assert "Submitted to the National Panel" not in " ".join(text.split())
    assert "Sign-off by the statutory safeguarding partners" in " ".join(text.split())
