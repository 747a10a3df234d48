"""``rapidreview simulate SCENARIO.json [--json] [--out DIR] [--bpmn DIR]``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from rapidreview.config import ConfigError, from_environment
from rapidreview.documents.pdf import PdfConversionError
from rapidreview.engine.process import ProcessDefinitionError
from rapidreview.engine.runtime import EngineError
from rapidreview.services.casework.cases import CaseError
from rapidreview.services.reading.timeline import render_timeline
from rapidreview.simulator.runner import simulate
from rapidreview.simulator.scenario import ScenarioError, load_scenario


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("simulate", help="run one scenario on a virtual clock and show its timeline")
    p.add_argument("scenario", type=Path, help="scenario file (JSON); see docs/simulator.md")
    p.add_argument("--json", action="store_true", help="print the case and its events as one JSON object")
    p.add_argument("--out", type=Path, help="folder for outbox/ (.eml files) and documents/ (default: out/<scenario>-<time>)")
    p.add_argument("--bpmn", type=Path, help="process folder to simulate (default: bpmn/)")
    p.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    p.add_argument("--database-url", help="run on this database (a fresh schema on PostgreSQL) instead of a temporary SQLite file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = from_environment()
        scenario = load_scenario(args.scenario)
        out = args.out or Path("out") / f"{args.scenario.stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        if out.exists() and any(out.iterdir()):
            raise ScenarioError(f"{out} is not empty; choose another --out folder so earlier results are kept")
        result = simulate(scenario, bpmn_dir=args.bpmn or settings.bpmn_dir, forms_dir=args.forms or settings.forms_dir,
                          templates_dir=settings.templates_dir, out_dir=out, database_url=args.database_url,
                          settings=settings)
    except (ScenarioError, ProcessDefinitionError, ConfigError, CaseError, EngineError, PdfConversionError) as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        sys.stdout.write(render_timeline(result.as_json()))
        print(f"\nE-mails:   {out / 'outbox'}\nDocuments: {out / 'documents'}")
    return 0
