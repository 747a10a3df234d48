"""Convert .docx to (tagged, PDF/A-2b) PDF with headless LibreOffice: warm when a converter runs, cold otherwise.

Warm: when ``RAPIDREVIEW_UNOSERVER`` names a running unoserver (``host:port`` of its XML-RPC interface,
e.g. ``127.0.0.1:2003``; docs/documents.md says how to run one), the document's bytes are sent to it and
the PDF's bytes come back, about 0.3 s instead of 1.5-3 s. If it cannot be reached, answers with an error,
or does not answer within ``RAPIDREVIEW_UNOSERVER_TIMEOUT`` seconds (default 30), the conversion falls back
to the cold path at once, and the warm converter is not tried again for a minute, so a hung or crashed
converter costs one timeout, never a stuck case.

Cold: each call starts its own ``soffice`` with a fresh private profile (``-env:UserInstallation``) and a
private HOME, so conversions can run concurrently; LibreOffice refuses to share a profile between
processes. The process runs in its own session, and on timeout the whole process group (the ``soffice``
shell wrapper, ``oosplash`` and ``soffice.bin``) is killed.

Either way a failure raises :class:`PdfConversionError`; retryable ones roll the case's step back and the
scheduler tries it again later (app/services/scheduling.py).

Install on Debian: ``apt-get install --no-install-recommends libreoffice-writer-nogui
fonts-crosextra-carlito fonts-liberation2``. Set ``RAPIDREVIEW_SOFFICE`` to use another binary.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

log = logging.getLogger(__name__)

SOFFICE_ENV = "RAPIDREVIEW_SOFFICE"
UNOSERVER_ENV = "RAPIDREVIEW_UNOSERVER"
UNOSERVER_TIMEOUT_ENV = "RAPIDREVIEW_UNOSERVER_TIMEOUT"
WARM_TIMEOUT = 30.0
WARM_RETRY_AFTER = 60.0  # seconds the warm converter is left alone after it failed
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
    """Convert ``docx`` to ``out_dir/<stem>.pdf`` and return that path: warm if a converter is configured
    and well, else (or when it fails) cold. Raises :class:`PdfConversionError` as :func:`convert_cold` does."""
    server = warm_server()
    if server is not None and _warm.usable():
        try:
            return convert_warm(docx, out_dir, server=server, timeout=min(timeout, warm_timeout()), pdfa=pdfa)
        except PdfConversionError as exc:
            _warm.failed()
            log.warning("%s; converting with a fresh LibreOffice instead", exc)
    return convert_cold(docx, out_dir, timeout=timeout, pdfa=pdfa)


def convert_cold(docx: Path, out_dir: Path, *, timeout: float = 120, pdfa: bool = True) -> Path:
    """Convert ``docx`` to ``out_dir/<stem>.pdf`` with a LibreOffice started for it, and return that path.

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


# -- the warm converter ----------------------------------------------------------------------------------

class _WarmState:
    """After a failure the warm converter is skipped for a while (per process), so a hung one costs one timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until = 0.0

    def usable(self) -> bool:
        with self._lock:
            return time.monotonic() >= self._down_until

    def failed(self) -> None:
        with self._lock:
            self._down_until = time.monotonic() + WARM_RETRY_AFTER

    def reset(self) -> None:
        with self._lock:
            self._down_until = 0.0


_warm = _WarmState()


def warm_server() -> str | None:
    """``host:port`` of the warm converter from ``$RAPIDREVIEW_UNOSERVER``, or None."""
    value = os.environ.get(UNOSERVER_ENV, "").strip()
    return value or None


def warm_timeout() -> float:
    try:
        value = float(os.environ.get(UNOSERVER_TIMEOUT_ENV, "") or WARM_TIMEOUT)
    except ValueError:
        value = WARM_TIMEOUT
    return value if value > 0 else WARM_TIMEOUT


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: tuple[str, dict[str, str]] | str) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


def convert_warm(docx: Path, out_dir: Path, *, server: str, timeout: float = WARM_TIMEOUT, pdfa: bool = True) -> Path:
    """Convert ``docx`` with the unoserver at ``server`` (``host:port``); the bytes travel, not paths.

    Raises :class:`PdfConversionError` (retryable) when it is unreachable, fails, answers with something
    that is not a PDF, or takes longer than ``timeout`` seconds.
    """
    docx = Path(docx)
    try:
        data = docx.read_bytes()
    except OSError as exc:
        raise PdfConversionError(f"cannot convert {docx.name}: {exc.strerror}", retryable=False) from exc
    options = ["UseTaggedPDF=true"] + (["SelectPdfVersion=2"] if pdfa else [])
    proxy = xmlrpc.client.ServerProxy(f"http://{server}/RPC2", transport=_TimeoutTransport(timeout), allow_none=True)
    started = time.monotonic()
    try:
        # unoserver's convert(inpath, indata, outpath, convert_to, filtername, filter_options, update_index, infiltername)
        result = proxy.convert(None, xmlrpc.client.Binary(data), None, "pdf", "writer_pdf_Export", options, True, None)
    except TimeoutError:
        raise PdfConversionError(f"the warm converter at {server} did not answer within {timeout:g}s converting "
                                 f"{docx.name}", retryable=True) from None
    except xmlrpc.client.Fault as exc:
        raise PdfConversionError(f"the warm converter at {server} failed converting {docx.name}: "
                                 f"{exc.faultString[-300:]}", retryable=True) from None
    except (OSError, xmlrpc.client.ProtocolError, http.client.HTTPException) as exc:
        raise PdfConversionError(f"the warm converter at {server} cannot be used: {exc}", retryable=True) from None
    finally:
        proxy("close")()
    pdf = result.data if isinstance(result, xmlrpc.client.Binary) else result
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
        raise PdfConversionError(f"the warm converter at {server} returned no PDF for {docx.name}", retryable=True)
    log.info("converted %s with the warm converter in %.2fs", docx.name, time.monotonic() - started)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{docx.stem}.pdf"
    partial = out_dir / f".{target.name}.{os.getpid()}.partial"
    try:
        partial.write_bytes(pdf)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
