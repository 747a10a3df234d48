"""Process version commands: ``validate``, ``deploy``, ``versions``, ``try``, ``activate``, ``rollback``, ``discard``.

They follow the web's rules: a new version is tried on every bundled scenario before it goes live, going
back to an earlier version needs a reason, and only a candidate that was never live can be discarded.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from rapidreview.calendar import WorkingCalendar
from rapidreview.commands.failure import fail
from rapidreview.config import ConfigError, from_environment
from rapidreview.engine.process import ProcessDefinitionError
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import version_trials
from rapidreview.services.definitions.validation import Problem, lint_skipped, validate_with_warnings
from rapidreview.store.db import transaction


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser("validate", help="check process files, forms and templates")
    validate.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="process folders or files (default: bpmn/)"
    )
    validate.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    validate.add_argument(
        "--templates", type=Path, help="templates folder, Word and e-mail (default: templates/)"
    )
    validate.add_argument("--no-lint", action="store_true", help="skip bpmnlint")
    validate.set_defaults(handler=validate_cmd)

    deploy = subparsers.add_parser(
        "deploy",
        help="validate, store and try bpmn/, forms/ and templates/, then make them the "
        "version for new cases if every scenario passed",
    )
    deploy.add_argument("path", nargs="?", type=Path, help="process folder (default: bpmn/)")
    deploy.add_argument("--forms", type=Path, help="forms folder (default: forms/)")
    deploy.add_argument(
        "--templates", type=Path, help="templates folder, Word and e-mail (default: templates/)"
    )
    deploy.add_argument("--note", default="", help="what changed, for the version history")
    deploy.add_argument("--no-lint", action="store_true", help="skip bpmnlint")
    deploy.add_argument(
        "--candidate", action="store_true", help="only store it as a candidate (try and activate later)"
    )
    _scenario_options(deploy)
    deploy.set_defaults(handler=deploy_cmd)

    subparsers.add_parser("versions", help="list the process versions and their tries").set_defaults(
        handler=versions_cmd
    )

    trial = subparsers.add_parser(
        "try", help="run every bundled scenario on a process version and keep the results"
    )
    trial.add_argument("number", type=int, help="version number (see `rapidreview versions`)")
    trial.add_argument(
        "--scenarios", type=Path, metavar="DIR", help="scenarios folder (default: the bundled ones)"
    )
    trial.set_defaults(handler=try_cmd)

    activate = subparsers.add_parser("activate", help="make a tried candidate the version new cases start on")
    activate.add_argument("number", type=int, help="version number (see `rapidreview versions`)")
    activate.add_argument("--note", default="", help="why, for the audit trail")
    _scenario_options(activate)
    activate.set_defaults(handler=activate_cmd)

    rollback = subparsers.add_parser(
        "rollback", help="make an earlier process version the one new cases start on"
    )
    rollback.add_argument("number", type=int, help="version number (see `rapidreview versions`)")
    rollback.add_argument(
        "--note", required=True, help="why you are going back (required; kept in the audit trail)"
    )
    rollback.set_defaults(handler=activate_cmd, override="", scenarios=None)

    discard = subparsers.add_parser("discard", help="delete a candidate that was never active")
    discard.add_argument("number", type=int, help="version number (see `rapidreview versions`)")
    discard.add_argument("--note", default="", help="why, for the audit trail")
    discard.set_defaults(handler=discard_cmd)


def _scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--override",
        default="",
        metavar="REASON",
        help="make it active even if a scenario failed or was not tried (the reason is audited)",
    )
    parser.add_argument(
        "--scenarios", type=Path, metavar="DIR", help="scenarios folder (default: the bundled ones)"
    )



def _print_problems(problems: list[Problem]) -> None:
    print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def _scenarios(folder: Path | None) -> list[Path] | None:
    return sorted(folder.glob("*.json")) if folder is not None else None


def validate_cmd(args: argparse.Namespace) -> int:
    """Exit 0 only when the files are valid; 1 with the problems; 2 when they cannot be read."""
    # The Word and e-mail templates are checked with the process: tags against the documents' contexts,
    # e-mails for their syntax and Subject: line, e-mail names against the service tasks, deadlines in
    # words against the due dates and timers.
    try:
        settings = from_environment()
        files = versions.files_from_paths(
            args.paths or [settings.bpmn_dir],
            args.forms or settings.forms_dir,
            args.templates or settings.templates_dir,
        )
    except (ConfigError, versions.VersionError) as exc:
        return fail(exc)
    calendar = WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)
    problems, warnings = validate_with_warnings(
        files, calendar, process_id=settings.main_process_id, lint=not args.no_lint
    )
    if warnings:  # words that disagree with the process's deadlines: worth fixing, not a reason to refuse
        print(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:", file=sys.stderr)
        for warning in warnings:
            print(f"  {warning}", file=sys.stderr)
    if problems:
        _print_problems(problems)
        return 1
    names = ", ".join(sorted(p.split("/", 1)[1] for p in files if p.startswith("bpmn/")))
    print(
        f"valid: {names} with {sum(p.startswith('forms/') for p in files)} form files, "
        f"{sum(p.startswith('templates/') and p.endswith('.docx') for p in files)} Word templates and "
        f"{sum(p.startswith('templates/email/') and p.endswith('.txt') for p in files)} e-mails"
    )
    if not args.no_lint and lint_skipped():
        print(
            "note: bpmnlint is not part of an installed package, so its rules were not checked "
            "(run `rapidreview validate` in a checkout with `npm ci` done for them)",
            file=sys.stderr,
        )
    return 0


def _print_results(results: list[version_trials.TrialResult]) -> None:
    for result in results:
        print(f"  {'passed' if result.passed else 'FAILED'}  {result.scenario}: {result.summary}")


def _activate(rt: Runtime, number: int, args: argparse.Namespace) -> int:
    scenarios = _scenarios(args.scenarios)
    try:
        version = versions.activate_version(
            rt,
            number,
            actor=getpass.getuser(),
            note=args.note,
            override=args.override,
            may_override=True,
            scenarios=[p.stem for p in scenarios] if scenarios is not None else None,
        )
    except versions.NotReady as exc:
        print(f"rapidreview: version {number} is not active: {'; '.join(exc.reasons)}", file=sys.stderr)
        print(
            "  correct the process and deploy again, or give --override REASON to make it active anyway",
            file=sys.stderr,
        )
        return 1
    print(f"version {version.number} is active; new cases start on it, running cases keep theirs")
    return 0


def deploy_cmd(args: argparse.Namespace) -> int:
    try:
        settings = from_environment()
        files = versions.files_from_paths(
            [args.path or settings.bpmn_dir],
            args.forms or settings.forms_dir,
            args.templates or settings.templates_dir,
        )
        rt = build_runtime(settings)
    except (ConfigError, versions.VersionError) as exc:
        return fail(exc)
    try:
        version = versions.deploy_files(
            rt, files, deployed_by=getpass.getuser(), note=args.note, activate=False, lint=not args.no_lint
        )
        if version.active:
            print(f"these files are the active version {version.number}: nothing was deployed")
            return 0
        print(f"version {version.number} is stored as a candidate ({version.sha256[:12]})")
        if args.candidate:
            print(
                f"try it with `rapidreview try {version.number}`, then `rapidreview activate {version.number}`"
            )
            return 0
        results = version_trials.try_version(
            rt, version.number, actor=getpass.getuser(), scenarios=_scenarios(args.scenarios)
        )
        print(f"tried on {len(results)} scenarios:")
        _print_results(results)
        return _activate(rt, version.number, args)
    except versions.InvalidVersion as exc:
        print("rapidreview: error: not deployed: the process has problems", file=sys.stderr)
        _print_problems(exc.problems)
        return 1
    except (ProcessDefinitionError, versions.VersionError) as exc:
        return fail(exc)
    finally:
        rt.close()


def versions_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    try:
        with transaction(rt.sessions) as session:
            rows = versions.list_versions(session)
            for v in rows:
                state = "active   " if v.active else ("inactive " if v.activated_at else "candidate")
                ready = version_trials.readiness(session, v)
                tried = (
                    f"{sum(r.passed for r in ready.results)}/{len(ready.results) + len(ready.untried)} passed"
                )
                print(
                    f"{v.number:>4}  {state} {v.deployed_at:%Y-%m-%d %H:%M}  {v.sha256[:12]}  {tried:>12}  "
                    f"{v.deployed_by}  {v.note}"
                )
    finally:
        rt.close()
    if not rows:
        print("no process version is deployed: run `rapidreview deploy`")
    return 0


def try_cmd(args: argparse.Namespace) -> int:
    """Exit 0 when every scenario passed, 1 when one failed."""
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    try:
        results = version_trials.try_version(
            rt, args.number, actor=getpass.getuser(), scenarios=_scenarios(args.scenarios)
        )
    except versions.VersionError as exc:
        return fail(exc)
    finally:
        rt.close()
    print(f"version {args.number} tried on {len(results)} scenarios:")
    _print_results(results)
    return 0 if all(r.passed for r in results) else 1


def activate_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    try:
        return _activate(rt, args.number, args)
    except (versions.VersionError, ProcessDefinitionError) as exc:
        return fail(exc)
    finally:
        rt.close()


def discard_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    try:
        versions.discard_version(rt, args.number, actor=getpass.getuser(), note=args.note)
    except versions.VersionError as exc:
        return fail(exc)
    finally:
        rt.close()
    print(f"version {args.number} is discarded")
    return 0
