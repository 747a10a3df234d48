"""CSV that spreadsheet programs cannot turn into formulas, and an .ods that LibreOffice opens."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rapidreview.documents.spreadsheet import Percent, Table, safe_text, to_csv, to_ods

# Debian splits LibreOffice: the PDF reports need Writer only, opening a spreadsheet needs Calc.
CALC = Path("/usr/lib/libreoffice/program/libsclo.so")
# make setup installs Calc as root; in CI (CI=true) the test runs or fails, never skips.
requires_calc = pytest.mark.skipif((shutil.which("soffice") is None or not CALC.exists()) and os.environ.get("CI") != "true",
                                   reason="LibreOffice Calc is not installed (apt-get install libreoffice-calc-nogui)")

TABLE = Table("Agencies' returns: 2026", ("Agency", "Forms", "Share (%)", "Day 1", "Submitted"), [
    ("=1+1", 3, Percent(0.5), date(2026, 5, 22), datetime(2026, 6, 12, 22, 30, tzinfo=UTC)),
    ("Oak & Elm <School>\x07", -2, None, None, None),
])


def test_text_that_a_spreadsheet_would_run_starts_with_an_apostrophe() -> None:
    for risky in ("=cmd|' /C calc'!A0", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_text(risky) == "'" + risky
    assert safe_text("RR-2026-014") == "RR-2026-014"


def test_csv_defuses_text_but_keeps_numbers_dates_and_london_times() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(TABLE).decode("utf-8-sig"))))
    assert rows[0] == ["Agency", "Forms", "Share (%)", "Day 1", "Submitted"]
    assert rows[1] == ["'=1+1", "3", "50.0", "2026-05-22", "2026-06-12 23:30"]
    assert rows[2] == ["Oak & Elm <School>\x07", "-2", "", "", ""]


def _cells(content: bytes) -> list[list[tuple[str | None, str | None]]]:
    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
          "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
          "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}
    root = ElementTree.fromstring(content)
    return [[(c.get(f"{{{ns['office']}}}value-type"), c.findtext("text:p", namespaces=ns))
             for c in row.findall("table:table-cell", ns)] for row in root.iterfind(".//table:table-row", ns)]


def test_ods_is_a_zip_with_typed_cells_and_no_control_characters() -> None:
    package = zipfile.ZipFile(io.BytesIO(to_ods([TABLE, TABLE])))
    assert package.namelist()[0] == "mimetype" and package.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    content = package.read("content.xml")
    assert b'table:name="Agencies\' returns  2026"' in content and b"returns  2026 (2)" in content
    cells = _cells(content)
    assert cells[1] == [("string", "=1+1"), ("float", "3"), ("percentage", "50.0%"), ("date", "2026-05-22"),
                        ("date", "2026-06-12 23:30")]
    assert cells[2][0] == ("string", "Oak & Elm <School>")


@requires_calc
def test_libreoffice_opens_the_spreadsheet_and_reads_its_cells_as_typed(tmp_path: Path) -> None:
    """LibreOffice Calc reads the .ods and saves it again: what it wrote back is what it understood."""
    source = tmp_path / "in" / "figures.ods"
    source.parent.mkdir()
    source.write_bytes(to_ods([TABLE]))
    soffice = shutil.which("soffice") or "soffice"
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "ods", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=120)
    saved = zipfile.ZipFile(tmp_path / "figures.ods").read("content.xml")
    cells = _cells(saved)
    assert cells[0][0] == ("string", "Agency")
    # A string stays a string (no formula computed to 2); the share and the times keep their formats.
    assert cells[1] == [("string", "=1+1"), ("float", "3"), ("percentage", "50.0%"), ("date", "2026-05-22"),
                        ("date", "2026-06-12 23:30")]
    assert b"table:formula" not in saved
