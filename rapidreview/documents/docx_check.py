"""Checking an uploaded Word document, and reading its text, without trusting it.

An upload is untrusted. It is only ever read as a zip of XML here: never opened in Word or LibreOffice,
never executed. :func:`check_docx` refuses, with a message a person can act on (GOV.UK style):

* anything that is not a .docx: not a zip, no ``word/document.xml``, or its content type is not a Word
  document (a template, a spreadsheet, a macro-enabled .docm);
* files over the size limit (``RAPIDREVIEW_UPLOAD_MAX_MB``, default 10), and zip bombs, before anything
  is decompressed: the declared uncompressed size of the whole and of each part is capped (``zipfile``
  never reads past an entry's declared size), as are each part's compression ratio and the number of
  entries;
* names that climb out of the archive (``../``, absolute paths, drive letters, backslashes);
* macros and active content: ``vbaProject.bin``, VBA data, macro-enabled content types, ActiveX
  controls, embedded macro-enabled files;
* anything that reaches outside the file when it is opened: every external relationship but a hyperlink
  (a template on another computer, a linked picture, a linked object or frame) and imported chunks
  (``aFChunk``, content Word converts from another format);
* encrypted (password-protected) entries.

XML is parsed with entity resolution and network access off; the body is read as a stream, paragraph by
paragraph, so reading a large document takes memory in proportion to a paragraph, not to the document.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from dataclasses import dataclass

from lxml import etree

from rapidreview.errors import Invalid

DEFAULT_MAX_MB = 10
MAX_UNCOMPRESSED_FACTOR = 10  # a .docx is a zip of XML: 10 MB uploaded may hold up to 100 MB of parts
MIN_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ENTRIES = 2000
# A 300-page report's word/document.xml is a few MB; pictures are parts of their own and compress little.
MAX_XML_PART = 25 * 1024 * 1024
MAX_SMALL_XML_PART = 2 * 1024 * 1024  # content types and relationships
# XML compresses 5-20 times; a part that claims more than this over a megabyte is a bomb, not a document.
MAX_RATIO = 100
RATIO_APPLIES_FROM = 1024 * 1024
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIN_PART_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MACRO_EXTENSIONS = (".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm", ".ppam", ".sldm")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class UploadRejected(Invalid):
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
        paragraphs = _read_paragraphs(archive, entries["word/document.xml"])
    return CheckedDocx(data=data, paragraphs=paragraphs)


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
        lower = name.lower()
        part_limit = MAX_SMALL_XML_PART if lower.endswith((".rels", "[content_types].xml")) else \
            MAX_XML_PART if lower.endswith(".xml") else uncompressed_limit
        ratio = info.file_size / max(info.compress_size, 1)
        if (total > uncompressed_limit or info.file_size > part_limit
                or (info.file_size > RATIO_APPLIES_FROM and ratio > MAX_RATIO)):
            raise UploadRejected("The selected file cannot be used: its contents are too large. If it is a real "
                                 "document, save it again in Word (pictures at a lower resolution) and upload that")
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


_DAMAGED = ("The selected file could not be read. It may be damaged: open it in Word, save it as a Word "
            "Document (.docx) and upload it again")


def _read(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], name: str) -> etree._Element:
    try:
        with archive.open(entries[name]) as handle:
            return etree.fromstring(handle.read(), _PARSER)
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, RuntimeError, ValueError):
        raise UploadRejected(_DAMAGED) from None


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
            if kind == "afchunk":
                raise UploadRejected("The selected file imports content from another file (an embedded chunk). "
                                     "Copy the content into the document itself in Word and upload it again")
            if external and kind != "hyperlink":
                raise UploadRejected("The selected file links to a file outside it (for example a template, a "
                                     "picture or an object on another computer). Insert the picture or text "
                                     "itself, or remove the link, in Word and upload it again")


_P, _T, _TAB, _BR = f"{{{W}}}p", f"{{{W}}}t", f"{{{W}}}tab", f"{{{W}}}br"


def _read_paragraphs(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> list[str]:
    """The body's paragraphs in order, read as a stream.

    Text belongs to its nearest paragraph, so a text box inside a paragraph is not read twice; tracked
    deletions (w:delText) are not part of the document's text. Each paragraph is dropped from memory once read.
    """
    slots: list[list[str]] = []  # one per paragraph, in the order they start
    open_paragraphs: list[list[str]] = []
    try:
        with archive.open(entry) as handle:
            for event, node in etree.iterparse(handle, events=("start", "end"), tag=(_P, _T, _TAB, _BR),
                                               resolve_entities=False, no_network=True, load_dtd=False,
                                               huge_tree=False):
                if node.tag == _P:
                    if event == "start":
                        open_paragraphs.append([])
                        slots.append(open_paragraphs[-1])
                    else:
                        open_paragraphs.pop()
                        if not open_paragraphs:  # a whole top-level paragraph is read: let it go
                            node.clear(keep_tail=False)
                            while node.getprevious() is not None:
                                del node.getparent()[0]
                elif event == "end" and open_paragraphs:
                    open_paragraphs[-1].append(node.text or "" if node.tag == _T else "\t" if node.tag == _TAB else "\n")
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, RuntimeError, ValueError):
        raise UploadRejected(_DAMAGED) from None
    return [text for parts in slots if (text := "".join(parts).strip())]


def docx_paragraphs(data: bytes) -> list[str]:
    """The paragraphs of a .docx this application made or already checked (no size limit applies)."""
    return check_docx("document.docx", data, limit=max(len(data), max_upload_bytes())).paragraphs
