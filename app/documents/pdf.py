"""Convert .docx to (tagged, PDF/A-2b) PDF with headless LibreOffice.

Each call starts its own ``soffice`` with a fresh private profile (``-env:UserInstallation``) and a
private HOME, so conversions can run concurrently; LibreOffice refuses to share a profile between
processes. The process runs in its own session, and on timeout the whole process group (the ``soffice``
shell wrapper, ``oosplash`` and ``soffice.bin``) is killed.

Install on Debian: ``apt-get install --no-install-recommends libreoffice-writer-nogui
fonts-crosextra-carlito fonts-liberation2``. Set ``RAPIDREVIEW_SOFFICE`` to use another binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SOFFICE_ENV = "RAPIDREVIEW_SOFFICE"
INSTALL_HINT = (
    "install LibreOffice (Debian: apt-get install --no-install-recommends libreoffice-writer-nogui "
    f"fonts-crosextra-carlito) or set {SOFFICE_ENV} to the soffice binary"
)


class PdfConversionError(Exception):
    """Conversion failed. ``retryable`` is True for transient failures (timeout, crash, no output)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def find_soffice() -> str | None:
    """The LibreOffice binary: ``$RAPIDREVIEW_SOFFICE`` if set (None when it is not an executable file),
    else ``soffice`` or ``libreoffice`` on PATH."""
    configured = os.environ.get(SOFFICE_ENV, "").strip()
    if configured:
        resolved = shutil.which(configured)
        return resolved if resolved else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_filter(*, pdfa: bool = True) -> str:
    """The ``--convert-to`` argument: Writer PDF export, tagged, optionally PDF/A-2b (LibreOffice >= 7.4)."""
    options: dict[str, dict[str, str]] = {"UseTaggedPDF": {"type": "boolean", "value": "true"}}
    if pdfa:
        options = {"SelectPdfVersion": {"type": "long", "value": "2"}, **options}
    return "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":"))


def _tail(data: bytes, limit: int = 600) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text[-limit:]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group led by ``proc``. Only called before ``proc`` is reaped, so its pid (and
    therefore the group id) cannot have been reused."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def convert_to_pdf(docx: Path, out_dir: Path, *, timeout: float = 120, pdfa: bool = True) -> Path:
    """Convert ``docx`` to ``out_dir/<stem>.pdf`` and return that path.

    Raises :class:`PdfConversionError`: ``retryable=False`` when LibreOffice is not installed or the input
    is missing or unreadable; ``retryable=True`` on timeout, crash or missing output.
    """
    docx = Path(docx).resolve()
    out_dir = Path(out_dir)
    soffice = find_soffice()
    if soffice is None:
        raise PdfConversionError(f"LibreOffice (soffice) not found: {INSTALL_HINT}", retryable=False)
    if not docx.is_file():
        raise PdfConversionError(f"cannot convert {docx.name}: file not found at {docx}", retryable=False)
    out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="rapidreview-soffice-") as tmp:
        work = Path(tmp)
        profile, home, outdir = work / "profile", work / "home", work / "out"
        for d in (home, outdir):
            d.mkdir()
        env = dict(os.environ)
        env.update({"HOME": str(home), "TMPDIR": str(work), "SAL_USE_VCLPLUGIN": "svp"})
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            pdf_filter(pdfa=pdfa),
            "--outdir",
            str(outdir),
            str(docx),
        ]
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=work,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise PdfConversionError(f"cannot start LibreOffice ({soffice}): {exc}", retryable=False) from exc
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=10)
            raise PdfConversionError(
                f"LibreOffice timed out after {timeout:g}s converting {docx.name}; killed it", retryable=True
            ) from None
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise

        produced = outdir / f"{docx.stem}.pdf"
        output = _tail(stderr) or _tail(stdout)
        if proc.returncode != 0:
            reason = (
                f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            )
            raise PdfConversionError(
                f"LibreOffice failed converting {docx.name} ({reason}): {output or 'no output'}",
                retryable=True,
            )
        if not produced.is_file() or produced.stat().st_size == 0:
            loaded = "source file could not be loaded" not in (stdout + stderr).decode("utf-8", "replace")
            raise PdfConversionError(
                f"LibreOffice produced no PDF for {docx.name} after {time.monotonic() - started:.1f}s: "
                f"{output or 'no output'}",
                retryable=loaded,
            )
        # copy next to the target, then rename: the target never exists half-written
        target = out_dir / produced.name
        partial = out_dir / f".{produced.name}.{os.getpid()}.partial"
        try:
            shutil.copyfile(produced, partial)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target
