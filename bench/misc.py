"""Whole cases through the simulator, the report's PDF (cold and warm), and timer lateness (bench/timer_lateness.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SCENARIO, database_url, median
from rapidreview.config import PROJECT_ROOT
from rapidreview.documents import pdf
from rapidreview.documents.render import render_docx
from rapidreview.simulator.runner import simulate
from rapidreview.simulator.scenario import load_scenario

REPORT_TEMPLATE = PROJECT_ROOT / "templates" / "rapid_review_report.docx"
REPORT_CONTEXT = PROJECT_ROOT / "tests" / "fixtures" / "report_context.json"
WARM_SAMPLES = 3  # at least, even in quick mode: a warm conversion takes well under a second


def simulated_cases(count: int) -> dict[str, float]:
    """happy_path.json end to end on its virtual clock, as `rapidreview simulate` runs it (SQLite, a fresh
    database per case), PDF included: the signed report is converted once per case."""
    scenario = load_scenario(SCENARIO)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rapidreview-bench-sim-") as out:
        for n in range(count):
            simulate(scenario, bpmn_dir=PROJECT_ROOT / "bpmn", forms_dir=PROJECT_ROOT / "forms",
                     templates_dir=PROJECT_ROOT / "templates", out_dir=Path(out) / str(n))
    return {"simulated_cases_per_s": round(count / (time.perf_counter() - started), 3)}


def _render_and_convert(work: Path, n: int, convert: object) -> float:
    context = json.loads(REPORT_CONTEXT.read_text(encoding="utf-8"))
    started = time.perf_counter()
    docx = work / f"report-{n}.docx"
    render_docx(REPORT_TEMPLATE, context, docx)
    convert(docx, work / "pdf")  # type: ignore[operator]
    return time.perf_counter() - started


def pdf_times(samples: int) -> dict[str, float]:
    """Render the report from the test fixture's context and convert it. Cold: convert_to_pdf with no warm
    converter configured. Warm: the same call with a unoserver the harness starts on loopback from the project's
    .unoserver/ (make setup), after one unmeasured conversion; without one, the cold times again."""
    if pdf.find_soffice() is None:
        return {"pdf_cold_s": -1.0, "pdf_warm_s": -1.0, "pdf_warm_is_cold": 1.0}
    saved = os.environ.pop(pdf.UNOSERVER_ENV, None)
    try:
        with tempfile.TemporaryDirectory(prefix="rapidreview-bench-pdf-") as tmp:
            work = Path(tmp)
            cold = [_render_and_convert(work, n, pdf.convert_to_pdf) for n in range(samples)]
            warm = _warm(work, max(samples, WARM_SAMPLES))
            if warm is None:
                print("[bench] PDF: no warm converter, so pdf_warm_s is the cold time", file=sys.stderr)
            return {"pdf_cold_s": round(median(cold), 2), "pdf_warm_s": round(median(warm or cold), 2),
                    "pdf_warm_is_cold": float(warm is None)}
    finally:
        if saved is not None:
            os.environ[pdf.UNOSERVER_ENV] = saved


def _warm(work: Path, samples: int) -> list[float] | None:
    """Times of ``samples`` conversions through a unoserver started for them; None (and why, on stderr) when
    there is none or one fell back to the cold path, so a cold time is never reported as warm."""
    binary = pdf.local_unoserver()
    if binary is None:
        print(f"[bench] PDF: {pdf.LOCAL_UNOSERVER.relative_to(PROJECT_ROOT)} is missing (make setup installs it "
              "when python3-uno is installed)", file=sys.stderr)
        return None
    try:
        with pdf.LocalUnoserver(binary, work / "unoserver") as server:
            os.environ[pdf.UNOSERVER_ENV] = server.address
            pdf._warm.reset()
            before = pdf.conversion_counts()
            _render_and_convert(work, 100, pdf.convert_to_pdf)  # LibreOffice loads Writer and the fonts
            times = [_render_and_convert(work, 101 + n, pdf.convert_to_pdf) for n in range(samples)]
            warm = pdf.conversion_counts()["warm"] - before["warm"]
    except RuntimeError as exc:  # it did not start: the message has its log's tail
        print(f"[bench] PDF: {exc}", file=sys.stderr)
        return None
    finally:
        os.environ.pop(pdf.UNOSERVER_ENV, None)
        pdf._warm.reset()
    if warm != samples + 1:
        print(f"[bench] PDF: only {warm} of {samples + 1} conversions went through the warm converter",
              file=sys.stderr)
        return None
    print(f"[bench] PDF: warm converter started from {binary.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return times


def timer_lateness(timers: int, spread: float, schedulers: int) -> dict[str, float]:
    """bench/timer_lateness.py on PostgreSQL: `timers` timers due over `spread` seconds, real scheduler processes."""
    out = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / "timer_lateness.py"), "--timers", str(timers),
                          "--spread", str(spread), "--schedulers", str(schedulers), "--database-url", database_url(),
                          "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise SystemExit(f"timer_lateness.py failed:\n{out.stdout}\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"timer_lateness_p50_ms": float(result["p50"]), "timer_lateness_p99_ms": float(result["p99"]),
            "timer_lateness_max_ms": float(result["max"]), "timers_fired": float(result["fired"])}
