"""Uploads cannot exhaust the server: sizes and ratios are checked before parsing, and the body is streamed."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile

import pytest

from rapidreview.documents.docx_check import UploadRejected, check_docx
from tests.test_documents_checks import repack, word_file

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _body_of(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml").decode()


def _inflated_body(paragraphs: int, text: str) -> bytes:
    body = _body_of(word_file("start"))
    filler = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for _ in range(paragraphs))
    return body.replace("<w:sectPr", filler + "<w:sectPr", 1).encode()


def test_a_small_file_whose_body_expands_to_90_mb_is_refused_before_it_is_parsed() -> None:
    base = word_file("start")
    bomb = repack(base, replace={"word/document.xml": _inflated_body(1_500_000, "a" * 20)})
    assert len(bomb) < 1024 * 1024 and len(_inflated_body(1, "")) > 0
    with pytest.raises(UploadRejected, match="its contents are too large"):
        check_docx("report.docx", bomb)


def test_a_part_compressed_far_more_than_any_document_is_refused() -> None:
    # 8 MB of one repeated paragraph: under every size cap, but 1,000 times smaller packed than unpacked.
    suspicious = repack(word_file("x"), replace={"word/document.xml": _inflated_body(200_000, "b" * 10)})
    with pytest.raises(UploadRejected, match="its contents are too large"):
        check_docx("report.docx", suspicious)


@pytest.mark.parametrize("kind, target", [
    ("image", "http://tracker.example/pixel.png"),
    ("oleObject", "file://server/share/data.xlsx"),
    ("attachedTemplate", "\\\\server\\share\\normal.dotm"),
])
def test_external_relationships_other_than_hyperlinks_are_refused(kind: str, target: str) -> None:
    base = word_file("Edited report")
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    injected = rels.replace("</Relationships>", f'<Relationship Id="rId99" Type="{REL}/{kind}" Target="{target}" '
                            'TargetMode="External"/></Relationships>')
    with pytest.raises(UploadRejected, match="links to a file outside it"):
        check_docx("report.docx", repack(base, replace={"word/_rels/document.xml.rels": injected.encode()}))


def test_an_imported_chunk_is_refused_and_a_hyperlink_is_fine() -> None:
    base = word_file("Edited report")
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    chunk = rels.replace("</Relationships>", f'<Relationship Id="rId98" Type="{REL}/aFChunk" '
                         'Target="afchunk.mht"/></Relationships>')
    with pytest.raises(UploadRejected, match="imports content from another file"):
        check_docx("report.docx", repack(base, replace={"word/_rels/document.xml.rels": chunk.encode()},
                                         add={"word/afchunk.mht": b"MIME-Version: 1.0"}))
    link = rels.replace("</Relationships>", f'<Relationship Id="rId97" Type="{REL}/hyperlink" '
                        'Target="https://www.gov.uk/" TargetMode="External"/></Relationships>')
    assert check_docx("report.docx", repack(base, replace={"word/_rels/document.xml.rels": link.encode()})).paragraphs


def test_reading_a_large_real_document_takes_memory_for_a_paragraph_not_the_whole(tmp_path: object) -> None:
    """A 20 MB body of varied text (as a long report has) is read in a fresh process, whose peak memory is
    measured."""
    script = textwrap.dedent("""
        import io, random, resource, string, sys, zipfile
        from rapidreview.documents.docx_check import check_docx
        from tests.test_documents_checks import repack, word_file
        random.seed(7)
        words = ["".join(random.choices(string.ascii_lowercase, k=random.randint(2, 9))) for _ in range(5000)]
        paragraphs = "".join("<w:p><w:r><w:t>" + " ".join(random.choices(words, k=40)) + "</w:t></w:r></w:p>"
                             for _ in range(70_000))
        base = word_file("start")
        with zipfile.ZipFile(io.BytesIO(base)) as archive:
            body = archive.read("word/document.xml").decode()
        big = body.replace("<w:sectPr", paragraphs + "<w:sectPr", 1).encode()
        data = repack(base, replace={"word/document.xml": big})
        del paragraphs, body
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        checked = check_docx("long report.docx", data, limit=20 * 1024 * 1024)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(big), len(checked.paragraphs), (after - before) // 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    size, paragraphs, grown_mb = (int(x) for x in done.stdout.split())
    assert size > 18 * 1024 * 1024 and paragraphs == 70_001
    # Streamed, the peak grows by a few MB (the memory that built the test file is reused); parsing the whole
    # body into a tree first grew it by about 70 MB.
    assert grown_mb < 40, f"reading the document grew the process by {grown_mb} MB"
