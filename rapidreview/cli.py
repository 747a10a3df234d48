"""The ``rapidreview`` command."""

from __future__ import annotations

import argparse
import sys

from rapidreview.commands import calendar, mail, move, operate, partnership, security, simulate, web


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapidreview", description="Run statutory Rapid Reviews on a BPMN engine.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (calendar, simulate, operate, move, web, mail, security, partnership):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
