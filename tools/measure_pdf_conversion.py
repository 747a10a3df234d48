"""Time cold and warm PDF conversions of the sample report on this machine.

    .venv/bin/python tools/measure_pdf_conversion.py [--runs 3] [--unoserver 127.0.0.1:2003 | --start-unoserver]

Renders tests/fixtures/report_context.json with the report template, converts it ``--runs`` times with a
fresh LibreOffice each time (cold) and, with ``--unoserver``, through that running unoserver (warm), or with
``--start-unoserver`` through one started for the measurement from the project's .unoserver/ (``make setup``),
and prints each time in seconds. The first warm time includes LibreOffice loading Writer. See docs/documents.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidreview.documents import pdf  # noqa: E402
from rapidreview.documents.render import render_docx  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--unoserver", help="host:port of a running unoserver")
    where.add_argument("--start-unoserver", action="store_true",
                       help="start one from .unoserver/ (make setup) on free loopback ports, and stop it after")
    args = parser.parse_args()
    binary = pdf.local_unoserver()
    if args.start_unoserver and binary is None:
        parser.error(f"no {pdf.LOCAL_UNOSERVER}: make setup installs it when python3-uno is installed")
    context = json.loads((REPO / "tests" / "fixtures" / "report_context.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="rapidreview-measure-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        source = work / "report.docx"
        render_docx(REPO / "templates" / "rapid_review_report.docx", context, source)
        server: str | None = args.unoserver
        if args.start_unoserver and binary is not None:
            server = stack.enter_context(pdf.LocalUnoserver(binary, work / "unoserver")).address
        ways = {"cold": lambda out: pdf.convert_cold(source, out)}
        if server:
            ways["warm"] = lambda out: pdf.convert_warm(source, out, server=server)
        for name, convert in ways.items():
            times = []
            for run in range(args.runs):
                started = time.monotonic()
                convert(work / f"{name}-{run}")
                times.append(time.monotonic() - started)
            print(f"{name}: " + ", ".join(f"{t:.2f}s" for t in times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
