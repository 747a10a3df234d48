"""The warm PDF converter for real: a unoserver from the project's .unoserver/ virtualenv (``make setup``),
the report converted through ``convert_to_pdf``'s warm path, then the same with that server gone (cold fallback).

One server for the module: LibreOffice takes several seconds to start. Skipped when .unoserver/ is missing,
except in CI (``CI=true``), where a missing converter is a failure, as for LibreOffice itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from rapidreview.config import PROJECT_ROOT
from rapidreview.documents import pdf
from rapidreview.documents.render import render_docx

REPORT_TEMPLATE = PROJECT_ROOT / "templates" / "rapid_review_report.docx"
FIXTURE = Path(__file__).parent / "fixtures" / "report_context.json"

pytestmark = pytest.mark.pdf


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI must test the warm converter (make setup as root installs it)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pdf.LocalUnoserver]:
    binary = pdf.local_unoserver()
    if binary is None:
        _missing(f"no warm converter at {pdf.LOCAL_UNOSERVER.relative_to(PROJECT_ROOT)} (make setup installs it "
                 "when python3-uno is installed)")
    if pdf.find_soffice() is None:
        _missing("LibreOffice (soffice) is not installed")
    assert binary is not None
    with pdf.LocalUnoserver(binary, tmp_path_factory.mktemp("unoserver")) as running:
        yield running


@pytest.fixture
def report(tmp_path: Path) -> Path:
    source = tmp_path / "RR-2026-014-report.docx"
    render_docx(REPORT_TEMPLATE, json.loads(FIXTURE.read_text(encoding="utf-8")), source)
    return source


@pytest.fixture
def use_server(server: pdf.LocalUnoserver, monkeypatch: pytest.MonkeyPatch) -> Iterator[pdf.LocalUnoserver]:
    monkeypatch.setenv(pdf.UNOSERVER_ENV, server.address)
    pdf._warm.reset()  # another test may have marked the warm converter down for a minute
    yield server
    pdf._warm.reset()


def assert_pdfa_report(path: Path) -> None:
    """A PDF/A-2b, tagged, titled report: what the National Panel must receive, whichever way it was made."""
    reader = PdfReader(str(path))
    assert reader.metadata is not None and reader.metadata.title == "Rapid Review Report – RR-2026-014"
    root = cast(DictionaryObject, reader.trailer["/Root"].get_object())
    xmp = cast(StreamObject, root["/Metadata"].get_object()).get_data().decode("utf-8", "replace")
    assert re.search(r"pdfaid:part(?:>|=[\"'])2", xmp), xmp[:500]
    assert re.search(r"pdfaid:conformance(?:>|=[\"'])B", xmp), xmp[:500]
    assert bool(cast(DictionaryObject, root["/MarkInfo"].get_object())["/Marked"]) and "/StructTreeRoot" in root
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    assert "RR-2026-014" in text


def test_the_report_is_converted_by_the_running_warm_converter(use_server: pdf.LocalUnoserver, report: Path,
                                                               tmp_path: Path) -> None:
    before = pdf.conversion_counts()
    out = pdf.convert_to_pdf(report, tmp_path / "out")
    after = pdf.conversion_counts()
    # the counters, not timing, prove which path made it: one warm conversion, no cold one, no fallback
    assert (after["warm"] - before["warm"], after["cold"] - before["cold"],
            after["warm_failed"] - before["warm_failed"]) == (1, 0, 0), use_server.log_tail()
    assert out == tmp_path / "out" / "RR-2026-014-report.pdf"
    assert out.read_bytes().startswith(b"%PDF-") and out.stat().st_size > 10_000
    assert_pdfa_report(out)


# Stops the module's server, so it comes last (pytest runs a module's tests in order).
def test_when_the_warm_converter_is_gone_the_cold_path_still_makes_the_pdf(use_server: pdf.LocalUnoserver,
                                                                           report: Path, tmp_path: Path) -> None:
    use_server.stop()
    before = pdf.conversion_counts()
    out = pdf.convert_to_pdf(report, tmp_path / "out")
    after = pdf.conversion_counts()
    assert (after["warm"] - before["warm"], after["cold"] - before["cold"],
            after["warm_failed"] - before["warm_failed"]) == (0, 1, 1)
    assert_pdfa_report(out)
