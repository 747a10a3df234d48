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
scheduler tries it again later (rapidreview/services/platform/scheduling.py).

Install on Debian: ``apt-get install --no-install-recommends libreoffice-writer-nogui
fonts-crosextra-carlito fonts-liberation2``. Set ``RAPIDREVIEW_SOFFICE`` to use another binary. ``make setup``
also installs unoserver in ``.unoserver/``; :class:`LocalUnoserver` starts one from there for the tests, the
benchmark and tools/measure_pdf_conversion.py (``make unoserver`` for local use).

:func:`conversion_counts` says how many conversions went each way in this process: an observable for tests and
the benchmark; nothing decides anything by it.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rapidreview import observability, resources
from rapidreview.errors import RapidReviewError

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
# The converter's virtualenv `make setup` creates (from Debian's Python, which has LibreOffice's bridge).
LOCAL_UNOSERVER = resources.CHECKOUT_DIR / ".unoserver" / "bin" / "unoserver"

_counts: collections.Counter[str] = collections.Counter()
_counts_lock = threading.Lock()


def _count(way: str) -> None:
    with _counts_lock:
        _counts[way] += 1


def conversion_counts() -> dict[str, int]:
    """Conversions done in this process so far: ``warm`` and ``cold`` (successful, by the path that made the
    PDF) and ``warm_failed`` (tried warm, fell back to cold). A copy; lets tests prove which path ran."""
    with _counts_lock:
        return {way: _counts[way] for way in ("warm", "cold", "warm_failed")}


class PdfConversionError(RapidReviewError):
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
        started = time.monotonic()
        try:
            converted = convert_warm(docx, out_dir, server=server, timeout=min(timeout, warm_timeout()), pdfa=pdfa)
            observability.pdf_converted("warm", time.monotonic() - started)
            return converted
        except PdfConversionError as exc:
            _warm.failed()
            _count("warm_failed")
            observability.pdf_converted("warm", None)
            log.warning("%s; converting with a fresh LibreOffice instead", exc)
    started = time.monotonic()
    try:
        converted = convert_cold(docx, out_dir, timeout=timeout, pdfa=pdfa)
    except PdfConversionError:
        observability.pdf_converted("cold", None)
        raise
    observability.pdf_converted("cold", time.monotonic() - started)
    return converted


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
        target = _publish(out_dir / produced.name, lambda partial: shutil.copyfile(produced, partial))
        _count("cold")
        return target


def _publish(target: Path, write: Callable[[Path], object]) -> Path:
    """Write next to ``target``, then rename: the target never exists half-written."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        write(partial)
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
    target = _publish(out_dir / f"{docx.stem}.pdf", lambda partial: partial.write_bytes(pdf))
    _count("warm")
    return target


# -- a local warm converter: tests, the benchmark, tools/measure_pdf_conversion.py ----------------------------
# Production runs unoserver under systemd (docs/documents.md); these start and stop one per use.

def local_unoserver() -> Path | None:
    """The unoserver binary in the project's ``.unoserver/`` virtualenv (``make setup``), or None."""
    return LOCAL_UNOSERVER if os.access(LOCAL_UNOSERVER, os.X_OK) else None


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports: all held open while choosing, so they differ. Another process
    may still take one before unoserver binds it; start-up then fails and says so."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


class LocalUnoserver:
    """A unoserver on 127.0.0.1, on free ports, with its own LibreOffice profile and HOME under ``work``.

    ``with LocalUnoserver(binary, work) as server:`` starts it, waits until it answers (LibreOffice takes
    several seconds to start) and yields it; ``server.address`` is what ``RAPIDREVIEW_UNOSERVER`` takes.
    Leaving the block (or :meth:`stop`) kills its whole process group: unoserver, the ``soffice`` wrapper and
    ``soffice.bin``.
    """

    def __init__(self, binary: Path, work: Path, *, startup_timeout: float = 90) -> None:
        self.binary = Path(binary)
        self.work = Path(work)
        self.startup_timeout = startup_timeout
        self.port, self.uno_port = _free_ports(2)
        self.log_path = self.work / "unoserver.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        profile, home = (self.work / "profile").resolve(), (self.work / "home").resolve()
        home.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.binary), "--interface", "127.0.0.1", "--port", str(self.port), "--uno-interface",
               "127.0.0.1", "--uno-port", str(self.uno_port), "--user-installation", str(profile),
               "--conversion-timeout", "60"]
        soffice = find_soffice()
        if soffice is not None:
            cmd += ["--executable", soffice]
        env = {**os.environ, "HOME": str(home), "SAL_USE_VCLPLUGIN": "svp"}
        with open(self.log_path, "ab") as log_file:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                          env=env, start_new_session=True)
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.stop()
            raise

    def _wait_until_it_answers(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"unoserver exited ({self._proc.returncode}) while starting: {self.log_tail()}")
            proxy = xmlrpc.client.ServerProxy(f"http://{self.address}/RPC2", transport=_TimeoutTransport(5))
            try:
                proxy.info()
                return
            except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                # not listening yet, or listening but LibreOffice not connected yet (no answer until it is)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"unoserver did not answer within {self.startup_timeout:g}s: "
                                       f"{self.log_tail()}") from None
                time.sleep(0.5)
            finally:
                proxy("close")()

    def log_tail(self) -> str:
        try:
            return _tail(self.log_path.read_bytes())
        except OSError:
            return "no log"

    def stop(self) -> None:
        """Stop the whole process group: SIGINT (as Ctrl-C would), then SIGKILL. SIGINT, because after a
        conversion SIGTERM was seen to leave unoserver and LibreOffice's launcher waiting on each other; the
        profile is throwaway, so the wait before SIGKILL is short."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(3)
        # soffice.bin may outlive unoserver; the group is still there until every member is gone
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)

    def __enter__(self) -> LocalUnoserver:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
