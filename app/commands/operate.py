"""Operator commands: ``db upgrade``, ``deploy``, ``scheduler``, ``status``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from app.config import ConfigError, from_environment
from app.engine.process import ProcessDefinitionError
from app.services.process_versions import deploy_directory
from app.services.runtime import build_runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply the database migrations").set_defaults(handler=upgrade)

    deploy = subparsers.add_parser("deploy", help="deploy bpmn/ and forms/ as the process version for new cases")
    deploy.add_argument("path", nargs="?", type=Path, help="process folder (default: bpmn/)")
    deploy.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    deploy.add_argument("--note", default="", help="what changed, for the version history")
    deploy.set_defaults(handler=deploy_cmd)

    sched = subparsers.add_parser("scheduler", help="fire due timers and send the outbox until stopped")
    sched.add_argument("--poll", type=float, default=None, metavar="SECONDS",
                       help="safety-net polling interval (default 30); wake-ups come from the database at once")
    sched.set_defaults(handler=scheduler_cmd)

    status = subparsers.add_parser("status", help="scheduler heartbeat, next wake-up, overdue timers, outbox backlog")
    status.add_argument("--json", action="store_true", help="print JSON (what /healthz shows)")
    status.set_defaults(handler=status_cmd)


def _fail(exc: Exception) -> int:
    print(f"rapidreview: error: {exc}", file=sys.stderr)
    return 2


def upgrade(args: argparse.Namespace) -> int:
    try:
        build_runtime(from_environment()).close()
    except ConfigError as exc:
        return _fail(exc)
    print("database is up to date")
    return 0


def deploy_cmd(args: argparse.Namespace) -> int:
    try:
        settings = from_environment()
        rt = build_runtime(settings)
        version = deploy_directory(rt, args.path or settings.bpmn_dir, args.forms or settings.forms_dir,
                                   deployed_by=getpass.getuser(), note=args.note)
    except (ConfigError, ProcessDefinitionError) as exc:
        return _fail(exc)
    print(f"version {version.number} is active ({version.sha256[:12]})")
    return 0


def scheduler_cmd(args: argparse.Namespace) -> int:
    from scheduler.main import POLL_SECONDS, run_forever

    if args.poll is not None and args.poll <= 0:
        return _fail(ValueError("--poll must be more than 0 seconds"))
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return _fail(exc)
    run_forever(rt, poll=args.poll or POLL_SECONDS)
    return 0


def status_cmd(args: argparse.Namespace) -> int:
    """Exit status 0 when all is well, 1 when something needs a person (for monitoring)."""
    from scheduler.status import collect, render

    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return _fail(exc)
    try:
        status = collect(rt)
    finally:
        rt.close()
    print(json.dumps(status, indent=2) if args.json else render(status))
    return 0 if status["ok"] else 1
