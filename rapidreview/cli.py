"""The ``rapidreview`` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rapidreview import envfile
from rapidreview.commands import (
    backup,
    calendar,
    mail,
    move,
    operate,
    partnership,
    security,
    simulate,
    versions,
    web,
)
from rapidreview.config import ConfigError
from rapidreview.observability import configure_logging
from rapidreview.resources import installed_version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapidreview", description="Run statutory Rapid Reviews on a BPMN engine.")
    parser.add_argument("--version", action="version", version=f"rapidreview {installed_version()}")
    parser.add_argument("--env-file", type=Path, metavar="FILE",
                        help="read settings from this file first, as systemd's EnvironmentFile= does (docs/operations.md)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (calendar, simulate, versions, operate, move, web, mail, security, partnership, backup):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.env_file is not None:
            # The file's settings win over the caller's shell, as they do for the services.
            os.environ.update(envfile.load(args.env_file))
        configure_logging()
    except ConfigError as exc:
        print(f"rapidreview: error: {exc}", file=sys.stderr)
        return 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
