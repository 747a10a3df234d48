"""Rendering the Rapid Review Report / meeting agenda (docxtpl) and converting to PDF (LibreOffice)."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import docx
import pytest
from docx.table import Table
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from rapidreview.documents.pdf import PdfConversionError, convert_to_pdf, find_soffice
from rapidreview.documents.render import NOT_RECORDED, DocumentError, prepare_context, render_docx

REPO = Path(__file__).resolve().parents[1]
REPORT_TEMPLATE = REPO / "templates" / "rapid_review_report.docx"
AGENDA_TEMPLATE = REPO / "templates" / "meeting_agenda.docx"
FIXTURE = Path(__file__).parent / "fixtures" / "report_context.json"

MET = "The criteria for a Local Child Safeguarding Practice Review are met"
NOT_MET = "The criteria for a Local Child Safeguarding Practice Review are not met"


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def load_context() -> dict[str, Any]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _table_lines(table: Table) -> Iterator[str]:
    for row in table.rows:
        for cell in row.cells:
            for para in cell.paragraphs:
                yield para.text
            for inner in cell.tables:
                yield from _table_lines(inner)


def docx_lines(path: Path) -> list[str]:
    """Every paragraph of the body, table cells, headers and footers."""
    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(_table_lines(table))
    for section in document.sections:
        lines.extend(p.text for p in section.header.paragraphs)
        lines.extend(p.text for p in section.footer.paragraphs)
    return lines


def docx_text(path: Path) -> str:
    return "\n".join(docx_lines(path))


def table_value(path: Path, label: str) -> str:
    """The value next to ``label`` in a two-column key/value table."""
    document = docx.Document(str(path))
    for table in document.tables:
        for row in table.rows:
            cells = row.cells
            if len(cells) == 2 and cells[0].text.strip() == label:
                return str(cells[1].text)
    raise AssertionError(f"no row labelled {label!r}")


def paragraph_after(path: Path, heading: str) -> str:
    paragraphs = docx.Document(str(path)).paragraphs
    for index, para in enumerate(paragraphs):
        if para.text == heading and para.style is not None and para.style.name.startswith("Heading"):
            return str(paragraphs[index + 1].text)
    raise AssertionError(f"no heading {heading!r}")


def render(tmp_path: Path, context: dict[str, Any], template: Path = REPORT_TEMPLATE) -> Path:
    out = tmp_path / f"{template.stem}.docx"
    render_docx(template, context, out)
    return out


def flat(text: str) -> str:
    return " ".join(text.split())


def _outline(items: list[Any]) -> Iterator[Any]:
    for item in items:
        if isinstance(item, list):
            yield from _outline(item)
        else:
            yield item


# --------------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------------


def test_report_contains_every_mandatory_item(tmp_path: Path) -> None:
    ctx = load_context()
    out = render(tmp_path, ctx)
    text = docx_text(out)

    expected: list[str] = [
        ctx["partnership"]["name"],
        ctx["partnership"]["contact_name"],
        ctx["partnership"]["contact_email"],
        "SIGNED – version 4",  # header: status and version
        ctx["case"]["reference"],
        ctx["incident"]["date"],
        ctx["case"]["notified_at"],
        ctx["case"]["day_one"],
        ctx["case"]["deadline"],
        ctx["meeting"]["starts_at"],
        *ctx["child"].values(),
        ctx["report"]["family_structure"],
        ctx["report"]["health_and_disability"],
        ctx["report"]["other_children_safeguarding"],
        ctx["report"]["immediate_safeguarding_actions"],
        ctx["incident"]["summary"],
        ctx["report"]["agency_involvement"],
        ctx["report"]["what_worked_well"],
        ctx["report"]["concerns"],
        ctx["report"]["inequalities"],
        *ctx["report"]["parallel_processes"],
        ctx["report"]["parallel_processes_details"],
        ctx["report"]["immediate_learning_and_actions"],
        "The following agencies did not return their information sharing form:",
        MET,
        ctx["outcome"]["decision_text"],
        *ctx["outcome"]["grounds"],
        ctx["outcome"]["rationale"],
        "Key lines of enquiry for the Local Child Safeguarding Practice Review",
        *ctx["outcome"]["key_lines_of_enquiry"],
        "The safeguarding partners do not consider that a national review is appropriate.",
        ctx["outcome"]["national_review_reason"],
        ctx["outcome"]["recommendations"],
        ctx["outcome"]["learning_dissemination"],
        ctx["chair"]["name"],
        ctx["chair"]["role"],
        ctx["chair"]["type_label"],
    ]
    # multi-paragraph text: each paragraph (blank-line separated) and each line
    expected += [chunk.strip() for chunk in ctx["report"]["summary_of_facts"].split("\n\n")]
    expected += ctx["report"]["key_practice_episodes"].splitlines()
    for agency in ctx["agencies"]:
        expected += [agency["name"], agency["status"], agency["involvement"]]
        if agency["returned_at"]:
            expected.append(agency["returned_at"])
    for view in ctx["criteria"]["views"]:
        expected += [view["partner"], view["criteria_met"], view["rationale"]]
    for sign_off in ctx["sign_offs"]:
        expected += [sign_off[k] for k in ("name", "role", "organisation", "decision", "at")]
    meeting = ctx["meeting"]
    expected += [meeting[k] for k in ("held_on", "working_well", "concerns", "themes", "actions")]
    for person in meeting["present"]:
        expected += [person["name"], person["role"], person["organisation"]]
    for lead in meeting["agency_leads"]:
        expected += [lead["agency"], lead["lead"]]

    missing = [item for item in expected if item not in text]
    assert not missing, f"missing from the rendered report: {missing}"
    assert NOT_MET not in text
    assert "{{" not in text and "{%" not in text

    lines = docx_lines(out)
    index = lines.index("The following agencies did not return their information sharing form:")
    assert lines[index + 1 : index + 3] == ctx["agencies_not_returned"]
    # blank-line separated text becomes separate paragraphs; single newlines become line breaks
    assert any(line.startswith("In April 2026 Q attended the GP") for line in lines)
    assert any(line.startswith("The family were known") and "In April" not in line for line in lines)
    assert ctx["report"]["key_practice_episodes"] in lines
    assert table_value(out, "Date of birth") == ctx["child"]["date_of_birth"]
    assert table_value(out, "Died or seriously harmed") == "Seriously harmed"

    props = docx.Document(str(out)).core_properties
    assert props.title == "Rapid Review Report – RR-2026-014"
    assert props.author == ctx["partnership"]["name"]


def test_empty_values_render_not_recorded(tmp_path: Path) -> None:
    ctx = load_context()
    ctx["child"]["disability"] = ""
    ctx["child"]["ethnicity"] = None
    ctx["report"]["inequalities"] = None
    ctx["report"]["parallel_processes"] = []
    ctx["outcome"]["grounds"] = None
    ctx["sign_offs"][1]["comments"] = "   "
    del ctx["case"]["deadline"]  # missing altogether: the template still shows the placeholder
    out = render(tmp_path, ctx)

    assert table_value(out, "Disability") == NOT_RECORDED
    assert table_value(out, "Ethnicity") == NOT_RECORDED
    assert table_value(out, "Deadline for submission (Day 15)") == NOT_RECORDED
    assert paragraph_after(out, "Race, ethnicity, disability and other inequalities") == NOT_RECORDED
    assert paragraph_after(out, "8. Parallel processes") == NOT_RECORDED
    lines = docx_lines(out)
    assert lines[lines.index("Grounds:") + 1] == NOT_RECORDED
    assert "Integrated Care Board (Dr Femi Adeyemi): Not recorded" in lines
    assert not [line for line in lines if line.strip() in {"None", "[]"}]
    # an agency that has not returned has no return date
    rows = [[c.text for c in row.cells] for t in docx.Document(str(out)).tables for row in t.rows]
    assert [
        "Ilford Community Nursery",
        "Not returned",
        NOT_RECORDED,
        ctx["agencies"][-1]["involvement"],
    ] in rows


def test_prepare_context_replaces_empty_scalars_and_keeps_lists() -> None:
    ctx = load_context()
    ctx["report"]["concerns"] = ""
    ctx["report"]["parallel_processes"] = None
    ctx["outcome"]["grounds"] = ["", "  ", "reg. 11(c)"]
    ctx["outcome"]["lcspr_recommended"] = None
    ctx["agencies"][0]["returned_at"] = None
    original = copy.deepcopy(ctx)

    prepared = prepare_context(ctx)

    assert ctx == original, "prepare_context must not modify its argument"
    assert prepared["report"]["concerns"] == NOT_RECORDED
    assert prepared["report"]["parallel_processes"] == []
    assert prepared["outcome"]["grounds"] == ["reg. 11(c)"]
    assert prepared["outcome"]["lcspr_recommended"] is None  # unknown, not "no" and not "Not recorded"
    assert prepared["outcome"]["decided"] is True
    assert prepared["criteria"]["chair_consulted"] is False
    assert prepared["criteria"]["chair_rationale"] == NOT_RECORDED
    assert prepared["agencies"][0]["returned_at"] == NOT_RECORDED
    assert prepared["agencies_not_returned"] == ["Redbridge Housing Needs", "Ilford Community Nursery"]
    assert prepared["document"]["version"] == 4
    assert prepare_context(prepared) == prepared


def test_markup_in_user_text_renders_literally(tmp_path: Path) -> None:
    ctx = load_context()
    ctx["report"]["concerns"] = 'Mother said <b>& "stop" </w:t></w:r> {{ 7*7 }}'
    ctx["agencies"][0]["name"] = "A&E <Queen's Hospital>"
    ctx["case"]["reference"] = "RR-2026-014 <A&B>"
    out = render(tmp_path, ctx)
    text = docx_text(out)
    assert 'Mother said <b>& "stop" </w:t></w:r> {{ 7*7 }}' in text
    assert "A&E <Queen's Hospital>" in text
    assert "&amp;" not in text and "&lt;" not in text
    assert docx.Document(str(out)).core_properties.title == "Rapid Review Report – RR-2026-014 <A&B>"


def test_decision_not_met_all_returned_chair_consulted_and_sign_off_pending(tmp_path: Path) -> None:
    ctx = load_context()
    ctx["outcome"]["lcspr_recommended"] = False
    ctx["outcome"]["national_review_recommended"] = True
    ctx["agencies_not_returned"] = []
    ctx["criteria"]["chair_consulted"] = True
    ctx["criteria"]["chair_decision"] = "No"
    ctx["sign_offs"] = []
    ctx["document"].update(kind="final_draft_report", status_label="FINAL DRAFT", version=3)
    text = docx_text(render(tmp_path, ctx))

    assert NOT_MET in text and MET + "." not in text
    assert "Key lines of enquiry" not in text
    assert "The safeguarding partners consider that a national review may be appropriate." in text
    assert "All agencies returned their information sharing form." in text
    assert "did not return" not in text
    assert "Chair's decision on whether the criteria for a Rapid Review are met: No" in text
    assert "Chair's rationale: Not recorded" in text
    assert "sign-off" in text.lower() and "is pending" in text
    assert "Angela Morris" not in text
    assert "FINAL DRAFT – version 3" in text


def test_undecided_outcome_is_not_reported_as_a_decision(tmp_path: Path) -> None:
    ctx = load_context()
    ctx["outcome"].update(decided=False, lcspr_recommended=None, national_review_recommended=None)
    text = docx_text(render(tmp_path, ctx))
    assert MET not in text and NOT_MET not in text
    assert "has not yet been recorded" in text
    assert "Whether a national review may be appropriate: Not answered." in text


def test_agenda_has_terms_of_reference_and_attendees(tmp_path: Path) -> None:
    ctx = load_context()
    text = docx_text(render(tmp_path, ctx, AGENDA_TEMPLATE))
    for item in (
        "Agree the background information on the case, ensuring accuracy",
        "Agree what is working well and any areas for concern",
        "Agree the completion of the Rapid Review Report and any themes for the summary/analysis",
        "Identify any action already taken or required",
        "Agree any recommendations",
        "Agree whether the case meets the criteria for a Child Safeguarding Practice Review (CSPR)",
        ctx["case"]["reference"],
        ctx["meeting"]["starts_at"],
        ctx["meeting"]["location"],
        ctx["case"]["deadline"],
    ):
        assert item in text
    for person in ctx["meeting"]["attendees"]:
        assert person["name"] in text and person["organisation"] in text


def test_missing_template_raises_document_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_template.docx"
    with pytest.raises(DocumentError, match="no_such_template.docx"):
        render_docx(missing, load_context(), tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()


def test_broken_template_raises_document_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken_template.docx"
    document = docx.Document()
    document.add_paragraph("Case {{ case.reference ")
    document.add_paragraph("{% if %}")
    document.save(str(broken))
    with pytest.raises(DocumentError, match="broken_template.docx"):
        render_docx(broken, load_context(), tmp_path / "out.docx")

    not_docx = tmp_path / "not_a_docx.docx"
    not_docx.write_text("plain text")
    with pytest.raises(DocumentError, match="not_a_docx.docx"):
        render_docx(not_docx, load_context(), tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()


# --------------------------------------------------------------------------------------------------
# PDF conversion with a fake soffice (fast, no LibreOffice needed)
# --------------------------------------------------------------------------------------------------


def _fake_soffice(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-soffice"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_timeout_kills_the_process_group_and_is_retryable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "child.pid"
    fake = _fake_soffice(tmp_path, f"sleep 60 &\necho $! > {pid_file}\nwait\n")
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(fake))
    source = tmp_path / "in.docx"
    source.write_bytes(b"not really a docx")

    started = time.monotonic()
    with pytest.raises(PdfConversionError, match="timed out") as info:
        convert_to_pdf(source, tmp_path / "out", timeout=2)
    elapsed = time.monotonic() - started

    assert info.value.retryable is True
    assert elapsed < 8
    child = int(pid_file.read_text())
    try:
        assert not _alive(child), "the sleeping grandchild survived the timeout"
    finally:
        if _alive(child):
            os.kill(child, 9)


def test_no_output_is_retryable_and_unloadable_source_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.docx"
    source.write_bytes(b"x")
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(_fake_soffice(tmp_path, "exit 0\n")))
    with pytest.raises(PdfConversionError, match="no PDF") as info:
        convert_to_pdf(source, tmp_path / "out", timeout=5)
    assert info.value.retryable is True

    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(_fake_soffice(tmp_path, "exit 81\n")))
    with pytest.raises(PdfConversionError, match="exit 81") as info:
        convert_to_pdf(source, tmp_path / "out", timeout=5)
    assert info.value.retryable is True

    body = 'echo "Error: source file could not be loaded" >&2\nexit 0\n'
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(_fake_soffice(tmp_path, body)))
    with pytest.raises(PdfConversionError, match="could not be loaded") as info:
        convert_to_pdf(source, tmp_path / "out", timeout=5)
    assert info.value.retryable is False


def test_missing_soffice_is_a_permanent_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(tmp_path / "no-soffice-here"))
    assert find_soffice() is None
    source = tmp_path / "in.docx"
    source.write_bytes(b"x")
    with pytest.raises(PdfConversionError, match="libreoffice-writer-nogui") as info:
        convert_to_pdf(source, tmp_path / "out")
    assert info.value.retryable is False


# --------------------------------------------------------------------------------------------------
# one real conversion with LibreOffice
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    if os.environ.get("RAPIDREVIEW_SOFFICE") is None and find_soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    work = tmp_path_factory.mktemp("pdf")
    source = work / "RR-2026-014-report.docx"
    render_docx(REPORT_TEMPLATE, load_context(), source)
    started = time.monotonic()
    pdf = convert_to_pdf(source, work / "out", timeout=120)
    return pdf, time.monotonic() - started


@pytest.mark.pdf
def test_pdf_contains_the_report(report_pdf: tuple[Path, float]) -> None:
    pdf, seconds = report_pdf
    assert pdf.name == "RR-2026-014-report.pdf" and pdf.stat().st_size > 10_000
    reader = PdfReader(str(pdf))
    text = flat(" ".join(page.extract_text() or "" for page in reader.pages))
    ctx = load_context()
    for expected in (
        ctx["case"]["reference"],
        ctx["child"]["name"],
        MET,
        "did not return their information sharing form",
        "Redbridge Housing Needs",
        *(s["name"] for s in ctx["sign_offs"]),
        *(s["at"] for s in ctx["sign_offs"]),
    ):
        assert flat(expected) in text, expected
    assert seconds < 60


@pytest.mark.pdf
def test_pdf_is_pdfa_2b_tagged_with_title_and_outline(report_pdf: tuple[Path, float]) -> None:
    pdf, _ = report_pdf
    reader = PdfReader(str(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "Rapid Review Report – RR-2026-014"

    root = cast(DictionaryObject, reader.trailer["/Root"].get_object())
    metadata = cast(StreamObject, root["/Metadata"].get_object())
    xmp = metadata.get_data().decode("utf-8", "replace")
    assert re.search(r"pdfaid:part(?:>|=[\"'])2", xmp), xmp[:500]
    assert re.search(r"pdfaid:conformance(?:>|=[\"'])B", xmp), xmp[:500]
    assert reader.xmp_metadata is not None

    mark_info = cast(DictionaryObject, root["/MarkInfo"].get_object())
    assert bool(mark_info["/Marked"])
    assert "/StructTreeRoot" in root
    assert str(root.get("/Lang", "")).lower().startswith("en")
    titles = [item.title for item in _outline(reader.outline)]
    assert titles[0] == "Rapid Review Report"  # the document's title heads the outline; sections below it
    assert "11. Decision on a Local Child Safeguarding Practice Review" in titles
