"""``rapidreview run`` (the web app with the scheduler in-process) and ``rapidreview create-user``."""

from __future__ import annotations

import argparse
import getpass
import sys

from rapidreview.commands.failure import fail
from rapidreview.config import ConfigError, from_environment
from rapidreview.engine.process import ProcessDefinitionError
from rapidreview.runtime import build_runtime
from rapidreview.services.people import partnerships, users
from rapidreview.store.db import transaction


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="serve the web app, with the scheduler in-process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5000)
    run.add_argument("--config", choices=("development", "production"), default="development",
                     help="development seeds demo users and prints their logins (default)")
    run.set_defaults(handler=run_cmd)

    create = subparsers.add_parser("create-user", help="add a staff account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=sorted(users.ROLES))
    create.add_argument("--agency", help="the agency id, for agency practitioners and managers")
    create.add_argument("--partnership", default=partnerships.DEFAULT_CODE, metavar="CODE",
                        help="the partnership the person works for (default: %(default)s); see `partnership list`")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.set_defaults(handler=create_user_cmd)



def run_cmd(args: argparse.Namespace) -> int:
    from rapidreview.services.definitions.process_versions import deploy_directory
    from rapidreview.services.people.demo import seed_demo
    from rapidreview.web import create_app

    try:
        settings = from_environment()
        rt = build_runtime(settings)
        deploy_directory(rt, settings.bpmn_dir, settings.forms_dir, deployed_by="rapidreview run",
                         note="deployed on start", templates_dir=settings.templates_dir)
        app = create_app(args.config, runtime=rt)
    except (ConfigError, ProcessDefinitionError, RuntimeError) as exc:
        return fail(exc)
    if app.config["SEED_DEMO_USERS"]:
        print("Demo accounts (development only):")
        for email, role, password in seed_demo(rt):
            print(f"  {role:<22} {email:<36} password: {password}")
    if app.config["SCHEDULER_IN_PROCESS"]:
        from rapidreview.scheduler.main import start_in_process

        start_in_process(rt)
    print(f"Rapid Review is running at http://{args.host}:{args.port}/ (Ctrl+C to stop)")
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False, threaded=True)
    return 0


def create_user_cmd(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        return fail("pass the password on standard input with --password-stdin (never on the command line)")
    password = sys.stdin.readline().rstrip("\n")
    try:
        rt = build_runtime(from_environment())
        with transaction(rt.sessions) as session:
            partnership_id = partnerships.id_for_code(session, args.partnership)
        user = users.create_user(rt, email=args.email, name=args.name, role=args.role, agency_id=args.agency,
                                 password=password, actor=getpass.getuser(), partnership_id=partnership_id)
    except users.UserError as exc:
        return fail(f"{exc.field}: {exc}")
    except (ConfigError, partnerships.PartnershipError) as exc:
        return fail(exc)
    print(f"created {user.email} ({user.role}, partnership {args.partnership})")
    return 0
