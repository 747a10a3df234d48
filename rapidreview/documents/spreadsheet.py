"""Tables out as CSV and as an OpenDocument spreadsheet (.ods), written with the standard library.

A ``Table`` is a title, column headings and rows of plain values: text, whole and decimal numbers, dates,
times, ``Percent`` and None (an empty cell). The .ods is a zip of ``mimetype`` (first, stored), a manifest
and ``content.xml`` with one sheet per table and typed cells, so LibreOffice and Excel sort and sum them.

CSV is opened by spreadsheet programs that treat a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula ("CSV injection"). Text cells, which may hold what a person typed (a case
reference, an agency's name), get a leading apostrophe when they start so; numbers are ours and go as they
are. In the .ods every text cell is typed as a string, which is never evaluated.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

from rapidreview.calendar import to_london

ODS_MEDIA_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_SHEET_NAME = 31  # Excel's limit; LibreOffice accepts it too
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry


@dataclass(frozen=True)
class Percent:
    """A share from 0 to 1, shown as a percentage (70.0 in CSV under a "(%)" heading, 70.0% in the .ods)."""

    value: float


Cell = str | int | float | date | datetime | Percent | None


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def safe_text(text: str) -> str:
    """Text a spreadsheet program will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return f"{value.value * 100:.1f}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return to_london(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (date, int, float)):
        return str(value) if not isinstance(value, float) else f"{value:g}"
    return safe_text(str(value))


def to_csv(table: Table) -> bytes:
    """One table as CSV, UTF-8 with a byte-order mark (so Excel reads the £ and the accents right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
       'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
       'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
       'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
       'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"')
# Cell styles: bold headings, one-decimal percentages, day-month-year dates and dates with a time.
_STYLES = """<office:automatic-styles>
<number:percentage-style style:name="N-percent"><number:number number:decimal-places="1" number:min-decimal-places="1" number:min-integer-digits="1"/><number:text>%</number:text></number:percentage-style>
<number:date-style style:name="N-date"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>
<number:date-style style:name="N-datetime"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/><number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/></number:date-style>
<style:style style:name="heading" style:family="table-cell"><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="percent" style:family="table-cell" style:data-style-name="N-percent"/>
<style:style style:name="date" style:family="table-cell" style:data-style-name="N-date"/>
<style:style style:name="datetime" style:family="table-cell" style:data-style-name="N-datetime"/>
<style:style style:name="wide" style:family="table-column"><style:table-column-properties style:column-width="4.5cm"/></style:style>
</office:automatic-styles>"""


def _ods_cell(value: Cell, heading: bool = False) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, Percent):
        return (f'<table:table-cell table:style-name="percent" office:value-type="percentage" '
                f'office:value="{value.value!r}"><text:p>{value.value * 100:.1f}%</text:p></table:table-cell>')
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return (f'<table:table-cell office:value-type="float" office:value="{value!r}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    if isinstance(value, datetime):
        local = to_london(value).replace(tzinfo=None, microsecond=0)
        return (f'<table:table-cell table:style-name="datetime" office:value-type="date" '
                f'office:date-value="{local.isoformat()}"><text:p>{local.strftime("%Y-%m-%d %H:%M")}</text:p>'
                "</table:table-cell>")
    if isinstance(value, date):
        return (f'<table:table-cell table:style-name="date" office:value-type="date" '
                f'office:date-value="{value.isoformat()}"><text:p>{value.isoformat()}</text:p></table:table-cell>')
    style = ' table:style-name="heading"' if heading else ""
    return f'<table:table-cell{style} office:value-type="string"><text:p>{_xml_text(str(value))}</text:p></table:table-cell>'


def _xml_text(text: str) -> str:
    return escape(NOT_XML.sub("", text))


def _sheet_names(tables: Sequence[Table]) -> list[str]:
    """Unique sheet names without the characters spreadsheet programs refuse in them."""
    names: list[str] = []
    for table in tables:
        base = "".join(" " if c in "[]*?:/\\" else c for c in table.title)[:MAX_SHEET_NAME].strip(" '") or "Sheet"
        name, n = base, 2
        while name in names:
            suffix = f" ({n})"
            name, n = base[:MAX_SHEET_NAME - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def to_ods(tables: Sequence[Table]) -> bytes:
    """The tables as one OpenDocument spreadsheet, a sheet each."""
    sheets = []
    for name, table in zip(_sheet_names(tables), tables, strict=True):
        rows = ["<table:table-row>" + "".join(_ods_cell(c, heading=True) for c in table.columns) + "</table:table-row>"]
        rows += ["<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>" for row in table.rows]
        columns = f'<table:table-column table:style-name="wide" table:number-columns-repeated="{max(1, len(table.columns))}"/>'
        sheets.append(f"<table:table table:name={quoteattr(NOT_XML.sub('', name))}>{columns}{''.join(rows)}</table:table>")
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_NS} office:version="1.2">'
               f"{_STYLES}<office:body><office:spreadsheet>{''.join(sheets)}</office:spreadsheet></office:body>"
               "</office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{ODS_MEDIA_TYPE}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        # The first entry, uncompressed: how programs recognise the format without reading the manifest.
        package.writestr(zipfile.ZipInfo("mimetype"), ODS_MEDIA_TYPE, compress_type=zipfile.ZIP_STORED)
        package.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
