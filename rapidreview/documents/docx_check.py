"""Checking an uploaded Word document, and reading its text, without trusting it.

An upload is untrusted. It is only ever read as a zip of XML here: never opened in Word or LibreOffice,
never executed. :func:`check_docx` refuses, with a message a person can act on (GOV.UK style):

* anything that is not a .docx: not a zip, no ``word/document.xml``, or its content type is not a Word
  document (a template, a spreadsheet, a macro-enabled .docm);
* files over the size limit (``RAPIDREVIEW_UPLOAD_MAX_MB``, default 10), and zip bombs: the declared
  uncompressed size is capped (``zipfile`` never reads past an entry's declared size), as is the number
  of entries;
* names that climb out of the archive (``../``, absolute paths, drive letters, backslashes);
* macros and active content: ``vbaProject.bin``, VBA data, macro-enabled content types, ActiveX
  controls, embedded macro-enabled files, and a link to an outside template (a known way to pull macros
  in when the file is opened);
* encrypted (password-protected) entries.

XML is parsed with entity resolution and network access off.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from dataclasses import dataclass

from lxml import etree

DEFAULT_MAX_MB = 10
MAX_UNCOMPRESSED_FACTOR = 10  # a .docx is a zip of XML: 10 MB uploaded may hold up to 100 MB of parts
MIN_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ENTRIES = 2000
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIN_PART_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MACRO_EXTENSIONS = (".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm", ".ppam", ".sldm")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class UploadRejected(ValueError):
    """The upload is refused; ``str()`` is the message to show the person who uploaded it."""


@dataclass(frozen=True)
class CheckedDocx:
    data: bytes
    paragraphs: list[str]  # the text of each paragraph of the body, tables included, in document order


def max_upload_bytes() -> int:
    """The size limit for uploads, from ``RAPIDREVIEW_UPLOAD_MAX_MB`` (default 10 MB)."""
    raw = os.environ.get("RAPIDREVIEW_UPLOAD_MAX_MB", "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    return int(max(megabytes, 0.1) * 1024 * 1024)


def describe_limit(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{limit // 1024} KB"


def check_docx(filename: str, data: bytes, *, limit: int | None = None) -> CheckedDocx:
    """Return the checked document and its paragraphs, or raise :class:`UploadRejected`."""
    limit = max_upload_bytes() if limit is None else limit
    name = (filename or "").strip()
    if not name and not data:
        raise UploadRejected("Select a Word document (.docx) to upload")
    if not data:
        raise UploadRejected("The selected file is empty")
    if len(data) > limit:
        raise UploadRejected(f"The selected file must be smaller than {describe_limit(limit)}")
    lower = name.lower()
    if lower.endswith(MACRO_EXTENSIONS):
        raise UploadRejected("The selected file contains macros. Save it in Word as a Word Document (.docx) "
                             "and upload that instead")
    if not lower.endswith(".docx"):
        raise UploadRejected("The selected file must be a Word document (.docx)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise UploadRejected("The selected file must be a Word document (.docx)") from None
    with archive:
        entries = _check_entries(archive, max(limit * MAX_UNCOMPRESSED_FACTOR, MIN_UNCOMPRESSED))
        _check_content_types(archive, entries)
        _check_relationships(archive, entries)
        body = _read(archive, entries, "word/document.xml")
    return CheckedDocx(data=data, paragraphs=_paragraphs(body))


def _check_entries(archive: zipfile.ZipFile, uncompressed_limit: int) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UploadRejected("The selected file must be a Word document (.docx)")
    total = 0
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        normalised = posixpath.normpath(name)
        if (name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/")[0]
                or normalised.startswith("..") or "/../" in f"/{name}/"):
            raise UploadRejected("The selected file cannot be used: it contains files with unsafe names")
        if info.flag_bits & 0x1:
            raise UploadRejected("The selected file is password protected. Remove the password in Word and "
                                 "upload it again")
        total += info.file_size
        if total > uncompressed_limit:
            raise UploadRejected("The selected file cannot be used: its contents are too large")
        lower = name.lower()
        if lower.endswith("vbaproject.bin") or lower.endswith("vbadata.xml") or "/activex/" in f"/{lower}":
            raise _macros()
        if lower.endswith(MACRO_EXTENSIONS):
            raise _macros()
        entries[lower] = info
    if "word/document.xml" not in entries or "[content_types].xml" not in entries:
        raise UploadRejected("The selected file must be a Word document (.docx)")
    return entries


def _macros() -> UploadRejected:
    return UploadRejected("The selected file contains macros or active content. Save it in Word as a Word "
                          "Document (.docx) without macros and upload it again")


def _read(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], name: str) -> etree._Element:
    try:
        with archive.open(entries[name]) as handle:
            return etree.fromstring(handle.read(), _PARSER)
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, RuntimeError, ValueError):
        raise UploadRejected("The selected file could not be read. It may be damaged: open it in Word, save "
                             "it as a Word Document (.docx) and upload it again") from None


def _check_content_types(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> None:
    root = _read(archive, entries, "[content_types].xml")
    types = [el.get("ContentType", "") for el in root if isinstance(el.tag, str)]
    if any("macroenabled" in t.lower() or "vbaproject" in t.lower() or "activex" in t.lower() for t in types):
        raise _macros()
    main = [el.get("ContentType", "") for el in root.iter(f"{{{CT}}}Override")
            if (el.get("PartName") or "").lower() == "/word/document.xml"]
    if main != [MAIN_PART_TYPE]:
        raise UploadRejected("The selected file must be a Word document (.docx)")


def _check_relationships(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> None:
    for name in entries:
        if not name.endswith(".rels"):
            continue
        for rel in _read(archive, entries, name).iter(f"{{{REL}}}Relationship"):
            kind = (rel.get("Type") or "").rsplit("/", 1)[-1].lower()
            if kind in ("vbaproject", "wordvbadata", "activexcontrol", "activexcontrolbinary"):
                raise _macros()
            external = (rel.get("TargetMode") or "").lower() == "external"
            if external and kind in ("attachedtemplate", "oleobject", "subdocument", "frame"):
                raise UploadRejected("The selected file links to a file outside it (for example a template "
                                     "on another computer). Remove the link in Word and upload it again")


def _paragraphs(body: etree._Element) -> list[str]:
    # Text belongs to its nearest paragraph, so a text box inside a paragraph is not read twice.
    texts: dict[etree._Element, list[str]] = {}
    for node in body.iter(f"{{{W}}}t", f"{{{W}}}tab", f"{{{W}}}br"):
        para = next(node.iterancestors(f"{{{W}}}p"), None)
        if para is None:
            continue
        local = etree.QName(node).localname
        texts.setdefault(para, []).append(node.text or "" if local == "t" else "\t" if local == "tab" else "\n")
    # tracked deletions (w:delText) are not part of the document's text
    return [text for parts in texts.values() if (text := "".join(parts).strip())]


def docx_paragraphs(data: bytes) -> list[str]:
    """The paragraphs of a .docx this application made or already checked (no size limit applies)."""
    return check_docx("document.docx", data, limit=max(len(data), max_upload_bytes())).paragraphs
