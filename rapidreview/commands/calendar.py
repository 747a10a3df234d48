"""``rapidreview calendar``: check the working-day arithmetic from the command line.

Business support staff use this to answer "when is Day 15?" without opening a case, and to check that
an override bank-holidays file or closure dates were picked up. Configuration comes from the same
environment variables the app reads: RAPIDREVIEW_BANK_HOLIDAYS_FILE and RAPIDREVIEW_CLOSURE_DATES.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date

from rapidreview.calendar import DEADLINE_DAY, WorkingCalendar

ENV_FILE = "RAPIDREVIEW_BANK_HOLIDAYS_FILE"
ENV_CLOSURES = "RAPIDREVIEW_CLOSURE_DATES"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``calendar`` command (and its ``day``, ``deadline``, ``holidays`` sub-commands)."""
    parser = subparsers.add_parser(
        "calendar",
        help="working-day arithmetic (Day N, deadline, bank holidays)",
        description=f"Working days exclude weekends, England and Wales bank holidays and the closure "
        f"dates in {ENV_CLOSURES}; {ENV_FILE} may name a gov.uk bank-holidays.json override.",
    )
    commands = parser.add_subparsers(dest="calendar_command", metavar="COMMAND", required=True)

    day = commands.add_parser("day", help="print the date of Day N of a review")
    day.add_argument("n", type=int, metavar="N", help="day number (1 or more)")
    day.add_argument("--from", dest="notified", required=True, metavar="YYYY-MM-DD", help="notification date")
    day.set_defaults(handler=_guarded(_day))

    deadline = commands.add_parser("deadline", help=f"print Day 1 and Day {DEADLINE_DAY} of a review")
    deadline.add_argument(
        "--from", dest="notified", required=True, metavar="YYYY-MM-DD", help="notification date"
    )
    deadline.set_defaults(handler=_guarded(_deadline))

    hols = commands.add_parser("holidays", help="list the weekdays of a year that are not working days")
    hols.add_argument("--year", type=int, required=True, metavar="YYYY")
    hols.set_defaults(handler=_guarded(_holidays))


def _guarded(func: Callable[[argparse.Namespace, WorkingCalendar], int]) -> Callable[[argparse.Namespace], int]:
    """Build the calendar from the environment and turn any bad input into exit code 2 with a message."""

    def handler(args: argparse.Namespace) -> int:
        try:
            calendar = WorkingCalendar.from_settings(
                os.environ.get(ENV_FILE) or None, os.environ.get(ENV_CLOSURES, "")
            )
            return func(args, calendar)
        except (ValueError, TypeError, OverflowError) as exc:  # CalendarConfigError is a ValueError
            print(f"rapidreview: error: {exc}", file=sys.stderr)
            return 2

    return handler


def _notification_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"bad --from date {text!r}: expected YYYY-MM-DD") from None


def _day(args: argparse.Namespace, calendar: WorkingCalendar) -> int:
    if args.n < 1:
        raise ValueError(f"day numbers start at 1, not {args.n}")
    day_one = calendar.day_one(_notification_date(args.notified))
    print(calendar.day_date(day_one, args.n).isoformat())
    return 0


def _deadline(args: argparse.Namespace, calendar: WorkingCalendar) -> int:
    day_one = calendar.day_one(_notification_date(args.notified))
    due = calendar.deadline_date(day_one)
    print(f"Day 1: {day_one.isoformat()} {day_one:%A}")
    print(f"Day {DEADLINE_DAY}: {due.isoformat()} {due:%A} (report due by the end of the day)")
    return 0


def _holidays(args: argparse.Namespace, calendar: WorkingCalendar) -> int:
    if not 1 <= args.year <= 9998:
        raise ValueError(f"bad --year {args.year}: expected a four-digit year")
    d = date(args.year, 1, 1)
    while d.year == args.year:
        reason = calendar.closed_reason(d) if d.weekday() < 5 else None
        if reason is not None:
            print(f"{d.isoformat()} {d:%A} {reason}")
        d = date.fromordinal(d.toordinal() + 1)
    return 0
