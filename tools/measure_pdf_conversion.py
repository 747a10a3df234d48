"""Time cold and warm PDF conversions of the sample report on this machine.

    .venv/bin/python tools/measure_pdf_conversion.py [--runs 3] [--unoserver 127.0.0.1:2003]

Renders tests/fixtures/report_context.json with the report template, converts it ``--runs`` times with a
fresh LibreOffice each time (cold) and, with ``--unoserver``, through that running unoserver (warm), and
prints each time in seconds. See docs/documents.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.documents import pdf  # noqa: E402
from app.documents.render import render_docx  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--unoserver", help="host:port of a running unoserver")
    args = parser.parse_args()
    context = json.loads((REPO / "tests" / "fixtures" / "report_context.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="rapidreview-measure-") as tmp:
        work = Path(tmp)
        source = work / "report.docx"
        render_docx(REPO / "templates" / "rapid_review_report.docx", context, source)
        ways = {"cold": lambda out: pdf.convert_cold(source, out)}
        if args.unoserver:
            ways["warm"] = lambda out: pdf.convert_warm(source, out, server=args.unoserver)
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
