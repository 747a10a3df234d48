"""Security and records commands: ``audit verify``, ``audit export``, ``export`` (a case), ``purge --expired``,
``legal-hold``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from sqlalchemy import select

from rapidreview.config import from_environment
from rapidreview.runtime import build_runtime
from rapidreview.services.platform import audit, retention
from rapidreview.store.db import transaction
from rapidreview.store.models import Case


def register(subparsers: argparse._SubParsersAction) -> None:
    aud = subparsers.add_parser("audit", help="check or export the hash-chained audit trail")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    aud_sub.add_parser("verify", help="check the chain; exit 1 naming the first broken event").set_defaults(handler=verify_cmd)
    exp = aud_sub.add_parser("export", help="write the trail as JSON lines")
    exp.add_argument("--case", metavar="REF", help="only this case's events")
    exp.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    exp.set_defaults(handler=audit_export_cmd)

    case_export = subparsers.add_parser("export", help="export a case (JSON and its documents) to a folder or .zip")
    case_export.add_argument("reference", metavar="CASE")
    case_export.add_argument("--to", type=Path, help="folder, or a path ending .zip (default: ./<CASE>-export)")
    case_export.set_defaults(handler=export_cmd)

    purge = subparsers.add_parser("purge", help="delete cases past their retention period (not those on legal hold)")
    purge.add_argument("--expired", action="store_true", required=True, help="purge every expired case")
    purge.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    purge.set_defaults(handler=purge_cmd)

    hold = subparsers.add_parser("legal-hold", help="put a case on legal hold (or lift it with --lift)")
    hold.add_argument("reference", metavar="CASE")
    hold.add_argument("--lift", action="store_true")
    hold.add_argument("--reason", default="")
    hold.set_defaults(handler=hold_cmd)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def verify_cmd(_args: argparse.Namespace) -> int:
    rt = build_runtime(from_environment())
    with transaction(rt.sessions) as session:
        result = audit.verify(session)
    if result.ok:
        print(f"audit trail intact: {result.events} events")
        return 0
    print(f"audit trail BROKEN: {result.reason}", file=sys.stderr)
    return 1


def audit_export_cmd(args: argparse.Namespace) -> int:
    rt = build_runtime(from_environment())
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        with transaction(rt.sessions) as session:
            case_id = None
            if args.case:
                case_id = session.scalar(select(Case.id).where(Case.reference == args.case))
                if case_id is None:
                    # A purged case's events stay in the trail under its id: find it from the purge event.
                    case_id = next((e["case_id"] for e in audit.export(session)
                                    if e["type"] in ("case_started", "case_purged")
                                    and e["payload"].get("reference") == args.case), None)
                if case_id is None:
                    print(f"rapidreview: error: there is no case {args.case!r}", file=sys.stderr)
                    return 2
            for event in audit.export(session, case_id):
                out.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        if args.output:
            out.close()
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    rt = build_runtime(from_environment())
    try:
        where = retention.export_case(rt, args.reference, args.to or Path(f"{args.reference}-export"), actor=_actor())
    except retention.RetentionError as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    print(f"exported {args.reference} to {where}")
    return 0


def purge_cmd(args: argparse.Namespace) -> int:
    rt = build_runtime(from_environment())
    try:
        purged = retention.purge_expired(rt, actor=_actor(), dry_run=args.dry_run)
    except retention.RetentionError as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    verb = "would purge" if args.dry_run else "purged"
    for item in purged:
        print(f"{verb} {item.reference} ({item.documents} documents)")
    print(f"{len(purged)} case(s) {verb}")
    return 0


def hold_cmd(args: argparse.Namespace) -> int:
    rt = build_runtime(from_environment())
    try:
        retention.set_legal_hold(rt, args.reference, not args.lift, actor=_actor(), reason=args.reason)
    except retention.RetentionError as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.reference}: legal hold {'lifted' if args.lift else 'set'}")
    return 0
