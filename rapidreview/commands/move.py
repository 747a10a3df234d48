"""``rapidreview move-cases``: move open cases to the active process version where that is safe."""

from __future__ import annotations

import argparse
import getpass
import sys

from rapidreview.config import ConfigError, from_environment
from rapidreview.engine.process import ProcessDefinitionError
from rapidreview.runtime import build_runtime
from rapidreview.services.casework import case_migration
from rapidreview.services.casework.case_migration import CaseCheck
from rapidreview.services.people import partnerships
from rapidreview.store.db import transaction


def register(subparsers: argparse._SubParsersAction) -> None:
    move = subparsers.add_parser(
        "move-cases", help="move open cases to the active process version where that is safe (--check to only look)")
    move.add_argument("references", nargs="*", metavar="REFERENCE", help="the cases to move (default: every open case "
                      "on an earlier or other version)")
    move.add_argument("--check", action="store_true", help="say what would move and why not, and change nothing")
    move.add_argument("--note", default="", help="why (required when moving; kept in each case's audit trail)")
    move.add_argument("--partnership", metavar="CODE", help="only this partnership's cases (default: every partnership)")
    move.set_defaults(handler=move_cases_cmd)


def _describe(check: CaseCheck, verb: str) -> None:
    print(f"{check.reference}: {verb} (version {check.from_version})")
    for note in check.plan.obstacles:
        print(f"    cannot move: {note}")
    for note in check.plan.reset:
        print(f"    {note}")
    for note in check.plan.already_done:
        print(f"    {note}")


def move_cases_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    try:
        partnership_id = None
        if args.partnership:
            with transaction(rt.sessions) as session:
                partnership_id = partnerships.id_for_code(session, args.partnership)
        if args.check:
            number, checks = case_migration.check_cases(rt, args.references or None, partnership_id=partnership_id)
            for check in checks:
                _describe(check, "can move" if check.can_move else "stays")
            movable = sum(c.can_move for c in checks)
            print(f"{movable} of {len(checks)} open cases on other versions can move to version {number}")
            return 0 if movable == len(checks) else 1
        report = case_migration.move_cases(rt, actor=getpass.getuser(), note=args.note,
                                           references=args.references or None, partnership_id=partnership_id)
    except (case_migration.MoveError, ProcessDefinitionError, partnerships.PartnershipError) as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    finally:
        rt.close()
    for check in report.moved:
        _describe(check, f"moved to version {report.to_version}")
    for check in report.refused:
        _describe(check, "not moved")
    for reference, why in report.failed:
        print(f"{reference}: not moved: the case could not take a step on the new version: {why}")
    print(f"{len(report.moved)} moved, {len(report.refused)} refused, {len(report.failed)} failed "
          f"(active version {report.to_version})")
    return 0 if not report.refused and not report.failed else 1
