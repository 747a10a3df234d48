"""Operator commands: ``db upgrade``, ``validate``, ``deploy``, ``versions``, ``rollback``, ``scheduler``, ``status``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from rapidreview.calendar import WorkingCalendar
from rapidreview.config import ConfigError, from_environment
from rapidreview.engine.process import ProcessDefinitionError
from rapidreview.services import process_versions as versions
from rapidreview.services.runtime import build_runtime
from rapidreview.services.validation import Problem, lint_skipped, validate_with_warnings
from rapidreview.store import schema_revisions
from rapidreview.store.db import migrate, transaction


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply the database migrations and say which").set_defaults(handler=upgrade)
    db_sub.add_parser("status", help="the database's migration, and those still to apply (exit 1 when any)"
                      ).set_defaults(handler=db_status)

    validate = subparsers.add_parser("validate", help="check process files, forms and Word templates")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="process folders or files (default: bpmn/)")
    validate.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    validate.add_argument("--templates", type=Path, help="Word templates folder (default: templates/)")
    validate.add_argument("--no-lint", action="store_true", help="skip bpmnlint")
    validate.set_defaults(handler=validate_cmd)

    deploy = subparsers.add_parser("deploy", help="validate, then deploy bpmn/ and forms/ as the version for new cases")
    deploy.add_argument("path", nargs="?", type=Path, help="process folder (default: bpmn/)")
    deploy.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    deploy.add_argument("--note", default="", help="what changed, for the version history")
    deploy.add_argument("--no-lint", action="store_true", help="skip bpmnlint")
    deploy.set_defaults(handler=deploy_cmd)

    subparsers.add_parser("versions", help="list the process versions").set_defaults(handler=versions_cmd)
    for name, text in (("rollback", "make an earlier process version the one new cases start on"),
                       ("activate", "make a process version (e.g. a candidate) the one new cases start on")):
        cmd = subparsers.add_parser(name, help=text)
        cmd.add_argument("number", type=int, help="version number (see `rapidreview versions`)")
        cmd.add_argument("--note", default="", help="why, for the audit trail")
        cmd.set_defaults(handler=activate_cmd)

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


def _fail(exc: Exception) -> int:
    print(f"rapidreview: error: {exc}", file=sys.stderr)
    return 2


def upgrade(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment(), migrate=False)
    except ConfigError as exc:
        return _fail(exc)
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
        return _fail(exc)
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


def _print_problems(problems: list[Problem]) -> None:
    print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def validate_cmd(args: argparse.Namespace) -> int:
    """Exit 0 only when the files are valid; 1 with the problems; 2 when they cannot be read."""
    try:
        settings = from_environment()
        files = versions.files_from_paths(args.paths or [settings.bpmn_dir], args.forms or settings.forms_dir)
    except (ConfigError, versions.VersionError) as exc:
        return _fail(exc)
    # The Word templates are checked with the process (their tags against the documents' contexts), though
    # they are not part of a deployed version.
    templates = args.templates or settings.templates_dir
    files.update({f"templates/{p.name}": p.read_bytes() for p in sorted(templates.glob("*.docx"))
                  if not p.name.startswith("~$")})
    # The e-mail templates, so a service task's template parameter is checked against the real names.
    files.update({f"templates/email/{p.name}": p.read_bytes() for p in sorted((templates / "email").glob("*.txt"))})
    calendar = WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)
    problems, warnings = validate_with_warnings(files, calendar, process_id=settings.main_process_id,
                                                lint=not args.no_lint)
    if warnings:  # words that disagree with the process's deadlines: worth fixing, not a reason to refuse
        print(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:", file=sys.stderr)
        for warning in warnings:
            print(f"  {warning}", file=sys.stderr)
    if problems:
        _print_problems(problems)
        return 1
    names = ", ".join(sorted(p.split("/", 1)[1] for p in files if p.startswith("bpmn/")))
    print(f"valid: {names} with {sum(p.startswith('forms/') for p in files)} form files and "
          f"{sum(p.startswith('templates/') and p.endswith('.docx') for p in files)} Word templates")
    if not args.no_lint and lint_skipped():
        print("note: bpmnlint is not part of an installed package, so its rules were not checked "
              "(run `rapidreview validate` in a checkout with `npm ci` done for them)", file=sys.stderr)
    return 0


def deploy_cmd(args: argparse.Namespace) -> int:
    try:
        settings = from_environment()
        files = versions.files_from_paths([args.path or settings.bpmn_dir], args.forms or settings.forms_dir)
        rt = build_runtime(settings)
        try:
            version = versions.deploy_files(rt, files, deployed_by=getpass.getuser(), note=args.note,
                                            lint=not args.no_lint)
        finally:
            rt.close()
    except versions.InvalidVersion as exc:
        print("rapidreview: error: not deployed: the process has problems", file=sys.stderr)
        _print_problems(exc.problems)
        return 1
    except (ConfigError, ProcessDefinitionError, versions.VersionError) as exc:
        return _fail(exc)
    print(f"version {version.number} is active ({version.sha256[:12]}); new cases start on it, running cases keep theirs")
    return 0


def versions_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return _fail(exc)
    try:
        with transaction(rt.sessions) as session:
            rows = versions.list_versions(session)
            for v in rows:
                print(f"{v.number:>4}  {'active   ' if v.active else 'inactive '} {v.deployed_at:%Y-%m-%d %H:%M}  "
                      f"{v.sha256[:12]}  {v.deployed_by}  {v.note}")
    finally:
        rt.close()
    if not rows:
        print("no process version is deployed: run `rapidreview deploy`")
    return 0


def activate_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return _fail(exc)
    try:
        version = versions.activate_version(rt, args.number, actor=getpass.getuser(), note=args.note)
    except (versions.VersionError, ProcessDefinitionError) as exc:
        return _fail(exc)
    finally:
        rt.close()
    print(f"version {version.number} is active; new cases start on it, running cases keep theirs")
    return 0


def scheduler_cmd(args: argparse.Namespace) -> int:
    from rapidreview.scheduler.main import POLL_SECONDS, run_forever

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
    from rapidreview.scheduler.status import collect, render

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


def check_cmd(args: argparse.Namespace) -> int:
    """Exit 0 when every check passed, 1 naming those that failed, 2 on a bad setting."""
    from rapidreview.services.smoke_check import run_checks

    try:
        rt = build_runtime(from_environment(), migrate=False)
    except ConfigError as exc:
        return _fail(exc)
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
