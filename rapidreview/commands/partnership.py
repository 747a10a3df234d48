"""``rapidreview partnership add CODE NAME``, ``list``, ``set CODE``, ``deactivate CODE`` and ``activate CODE``."""

from __future__ import annotations

import argparse
import getpass

from rapidreview.commands.failure import fail
from rapidreview.config import ConfigError, from_environment
from rapidreview.runtime import build_runtime
from rapidreview.services.people import partnerships


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser("partnership", help="the safeguarding partnerships this deployment serves")
    sub = cmd.add_subparsers(dest="partnership_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a partnership (then its administrator: create-user --partnership CODE)")
    add.add_argument("code", help="a short, stable code: lower-case letters, digits, - or _ (like northbridge)")
    add.add_argument("name", help='its name, like "Northbridge Safeguarding Children Partnership"')
    add.set_defaults(handler=add_cmd)
    sub.add_parser("list", help="list the partnerships").set_defaults(handler=list_cmd)
    change = sub.add_parser("set", help="a partnership's name, contact name, role mailboxes (where its e-mails go) "
                                        "and whether its people may sign in with a password")
    change.add_argument("code")
    change.add_argument("--name", help="its new name")
    change.add_argument("--contact-name", help='who documents name as the contact, like "Jo Smith, Partnership Manager"')
    change.add_argument("--mailbox", action="append", default=[], metavar="ROLE=ADDRESS",
                        help=f"where mail to a role goes ({', '.join(partnerships.MAILBOX_ROLES)}); "
                             "repeat for each; ROLE= removes one (its people with the role get it instead)")
    change.add_argument("--password-sign-in", choices=("on", "off"),
                        help="off: its people sign in only through their organisation's identity provider "
                             "(RAPIDREVIEW_OIDC_PROVIDERS), never with a password")
    change.set_defaults(handler=set_cmd)
    for name, text in (("deactivate", "stop the partnership's people signing in (their data stays)"),
                       ("activate", "let the partnership's people sign in again")):
        toggle = sub.add_parser(name, help=text)
        toggle.add_argument("code")
        toggle.set_defaults(handler=active_cmd, active=name == "activate")



def add_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
        added = partnerships.add_partnership(rt, args.code, args.name, actor=getpass.getuser())
    except (ConfigError, partnerships.PartnershipError) as exc:
        return fail(exc)
    print(f"added partnership {added.code} ({added.name})")
    return 0


def active_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
        partnerships.set_active(rt, args.code, args.active, actor=getpass.getuser())
    except (ConfigError, partnerships.PartnershipError) as exc:
        return fail(exc)
    print(f"partnership {args.code} is now {'active' if args.active else 'inactive'}")
    return 0


def set_cmd(args: argparse.Namespace) -> int:
    mailboxes: dict[str, str] = {}
    for item in args.mailbox:
        role, sep, address = item.partition("=")
        if not sep:
            return fail(f"--mailbox {item!r}: write ROLE=ADDRESS, like partnership_manager=pm@northbridge.example")
        mailboxes[role.strip()] = address.strip()
    try:
        rt = build_runtime(from_environment())
        password = None if args.password_sign_in is None else args.password_sign_in == "on"
        partnerships.set_profile(rt, args.code, actor=getpass.getuser(), name=args.name,
                                 contact_name=args.contact_name, mailboxes=mailboxes, password_sign_in=password)
    except (ConfigError, partnerships.PartnershipError) as exc:
        return fail(exc)
    print(f"partnership {args.code} changed")
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    try:
        rt = build_runtime(from_environment())
    except ConfigError as exc:
        return fail(exc)
    for p in partnerships.list_partnerships(rt):
        print(f"{p.code:<24} {'active' if p.active else 'inactive':<9} {p.name}")
    return 0
