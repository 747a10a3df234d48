"""Operator commands: ``db upgrade``, ``db status``, ``scheduler``, ``status``, ``check``."""

from __future__ import annotations

import argparse
import json
import sys

from rapidreview.commands.failure import fail
from rapidreview.config import ConfigError, from_environment
from rapidreview.runtime import build_runtime
from rapidreview.store import schema_revisions
from rapidreview.store.db import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply the database migrations and say which").set_defaults(handler=upgrade)
    db_sub.add_parser("status", help="the database's migration, and those still to apply (exit 1 when any)"
                      ).set_defaults(handler=db_status)

    sched = subparsers.add_parser("scheduler", help="fire due timers and send the outbox until stopped")
    sched.add_argument("--poll", type=float, default=None, metavar="SECONDS",
                       help="safety-net polling interval (default 30); wake-ups come from the database at once")
    sched.set_defaults(handler=scheduler_cmd)

    check = subparsers.add_parser("check", help="after a deploy: database, migrations, scheduler, a PDF and an e-mail")
    check.add_argument("--mail-to", metavar="ADDRESS", help="send a test e-mail here (without it, mail is not checked)")
    check.add_argument("--no-pdf", action="store_true", help="skip the PDF conversion")
    check.set_defaults(handler=check_cmd)

    status = subparsers.add_parser("status", help="scheduler heartbeat, next wake-up, overdue timers, outbox backlog")
    status.add_argument("--json", action="store_true", help="print JSON (for monitoring scripts)")
    status.set_defaults(handler=status_cmd)



def upgrade(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment(), migrate=False)
    except ConfigError as exc:
        return fail(exc)
    try:
        before = schema_revisions.current_of(rt.database)
        applied = migrate(rt.database)
        after = schema_revisions.current_of(rt.database)
    finally:
        rt.close()
    if not applied:
        known = after is None or schema_revisions.is_known(after)
        print(f"database is up to date at {after}" if known else
              f"database is at {after}, newer than this release ({schema_revisions.head()}): nothing applied")
        return 0
    print(f"{'created the database schema' if before is None else f'migrated from {before}'}: "
          f"applied {len(applied)} migration{'s' if len(applied) != 1 else ''}")
    for migration in applied:
        print(f"  {migration}")
    print(f"database is at {after}")
    return 0


def db_status(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment(), migrate=False)
    except ConfigError as exc:
        return fail(exc)
    try:
        at = schema_revisions.current_of(rt.database)
        todo = schema_revisions.pending(rt.database)
    except LookupError as exc:
        print(f"{exc}; this release is at {schema_revisions.head()}")
        return 0
    finally:
        rt.close()
    print(f"database at {at or 'nothing (empty database)'}; this release needs {schema_revisions.head()}")
    if not todo:
        print("nothing to apply")
        return 0
    print(f"{len(todo)} to apply with `rapidreview db upgrade`:")
    for migration in todo:
        note = "  (stop the services first: the running release cannot use the result)" \
            if migration.breaks_running_release else ""
        print(f"  {migration}{note}")
    return 1


def scheduler_cmd(args: argparse.Namespace) -> int:
    from rapidreview.scheduler.main import POLL_SECONDS, run_forever

    if args.poll is not None and args.poll <= 0:
        return fail(ValueError("--poll must be more than 0 seconds"))
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    run_forever(rt, poll=args.poll or POLL_SECONDS)
    return 0


def status_cmd(args: argparse.Namespace) -> int:
    """Exit status 0 when all is well, 1 when something needs a person (for monitoring)."""
    from rapidreview.services.platform.scheduler_status import collect, render

    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    try:
        status = collect(rt)
    finally:
        rt.close()
    print(json.dumps(status, indent=2) if args.json else render(status))
    return 0 if status["ok"] else 1


def check_cmd(args: argparse.Namespace) -> int:
    """Exit 0 when every check passed, 1 naming those that failed, 2 on a bad setting."""
    from rapidreview.services.platform.smoke_check import run_checks

    try:
        rt = build_runtime(from_environment(), migrate=False)
    except ConfigError as exc:
        return fail(exc)
    try:
        results = run_checks(rt, mail_to=args.mail_to, pdf=not args.no_pdf)
    finally:
        rt.close()
    for result in results:
        print(f"{'ok    ' if result.ok else 'FAILED'} {result.name}: {result.detail}")
    if not args.mail_to:
        print("note: mail was not checked (give --mail-to ADDRESS)")
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"rapidreview: check failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
