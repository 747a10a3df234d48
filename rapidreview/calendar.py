"""The working-day calendar behind the Rapid Review's 15-working-day clock.

The statutory clock counts England and Wales working days, and the partnership's procedure numbers
them: Day 1 is the (London) date of notification if that is a working day, else the next working day;
Day N is the (N-1)th working day after Day 1; the report is due by the end of Day 15. Getting one day
wrong means a late report to the National Panel, so every rule lives here and nowhere else.

Bank holidays come from the ``holidays`` package, which can be overridden year by year with a copy of
gov.uk's ``bank-holidays.json`` (the authoritative list, published about two years ahead). Dates are
*dates* in Europe/London; instants are timezone-aware and handed out in UTC, as ``rapidreview.clock`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
DEADLINE_DAY = 15
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_DIVISION = "england-and-wales"


class CalendarConfigError(ValueError):
    """The calendar's configuration (override file or closure dates) is unusable.

    A ValueError so callers that only validate input still catch it, but distinct so the CLI and the
    app's start-up can report it as a configuration problem rather than a bug.
    """


LATE_NOTIFICATION = time(13, 0)  # notified after this on Day 1: Day-1 work is due at noon on Day 2


def parse_hhmm(s: str) -> time:
    """Parse a wall-clock time such as ``"09:00"`` or ``"17:30"`` (timer settings are written so)."""
    match = _HHMM.fullmatch(s.strip()) if isinstance(s, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"bad time {s!r}: expected HH:MM")
    return time(int(match[1]), int(match[2]))


def to_london(dt: datetime) -> datetime:
    """The same instant in Europe/London, for display and for finding the London date."""
    if not isinstance(dt, datetime) or dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: every time must carry its offset")
    return dt.astimezone(LONDON)


def london_time(d: date | str, hhmm: str) -> datetime:
    """The UTC instant of wall-clock ``hhmm`` in London on date ``d``.

    zoneinfo picks GMT or BST for that date, so 09:00 is 09:00Z in winter and 08:00Z in summer.
    The clocks only change on Sundays (never working days); for a time in the spring gap or autumn
    overlap zoneinfo's ``fold=0`` rule applies (the earlier offset).
    """
    day = _as_date(d, "date")
    return datetime.combine(day, parse_hhmm(hhmm), tzinfo=LONDON).astimezone(UTC)


def _as_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        raise TypeError(f"{what} must be a date, not a datetime ({value.isoformat()})")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"bad {what} {value!r}: expected YYYY-MM-DD") from None


def _london_date(when: datetime | date) -> date:
    """A datetime's London date (naive refused: it would silently be read as local time)."""
    if isinstance(when, datetime):
        return to_london(when).date()
    return when


def _substitute_name(name: str) -> str:
    # The package says "Boxing Day (observed)"; gov.uk says "Substitute day", and so do users.
    return name.replace("(observed)", "(substitute day)")


@lru_cache(maxsize=64)
def _package_year(year: int) -> dict[date, str]:
    """England and Wales bank holidays of one year from the package (slow to build, so cached)."""
    found = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return {d: _substitute_name(str(name)) for d, name in found.items()}


def load_bank_holidays_file(path: str | Path) -> dict[date, str]:
    """Read the england-and-wales events of a gov.uk ``bank-holidays.json``-style file.

    Substitute days (gov.uk notes "Substitute day") are titled "... (substitute day)". Every
    problem is a CalendarConfigError naming the file, because a quietly ignored file would move
    deadlines without anyone noticing.
    """
    where = str(path)
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalendarConfigError(f"bank holidays file {where}: file not found") from None
    except OSError as exc:
        raise CalendarConfigError(f"bank holidays file {where}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalendarConfigError(f"bank holidays file {where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get(_DIVISION), dict):
        raise CalendarConfigError(f'bank holidays file {where}: missing the "{_DIVISION}" division object')
    events = data[_DIVISION].get("events")
    if not isinstance(events, list):
        raise CalendarConfigError(f'bank holidays file {where}: "{_DIVISION}" has no "events" list')
    result: dict[date, str] = {}
    for i, event in enumerate(events):
        label = f"bank holidays file {where}: {_DIVISION} event {i + 1}"
        if not isinstance(event, dict):
            raise CalendarConfigError(f"{label} is not an object")
        raw, title = event.get("date"), event.get("title", "Bank holiday")
        try:
            day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise CalendarConfigError(f"{label} has a bad date {raw!r}: expected YYYY-MM-DD")
        if not isinstance(title, str) or not title.strip():
            raise CalendarConfigError(f"{label} ({raw}) has no title")
        notes = event.get("notes")
        if isinstance(notes, str) and "substitute" in notes.lower() and "substitute" not in title.lower():
            title = f"{title} (substitute day)"
        result[day] = title.strip()
    return result


class WorkingCalendar:
    """Answers "is this a working day?" and does the day arithmetic of the Rapid Review clock.

    ``override`` is a mapping such as ``load_bank_holidays_file`` returns; for every year in which it
    has a date, it replaces the package entirely (so a dropped holiday really is dropped). Other years
    still come from the package. ``closures`` are extra non-working dates (e.g. a Christmas shutdown).
    """

    def __init__(self, closures: Iterable[date] = (), override: Mapping[date, str] | None = None) -> None:
        self._closures = frozenset(_plain_date(d) for d in closures)
        self._override: dict[int, dict[date, str]] = {}
        for d, name in (override or {}).items():
            self._override.setdefault(d.year, {})[_plain_date(d)] = name
        self._years: dict[int, dict[date, str]] = {}

    @classmethod
    def from_settings(
        cls, bank_holidays_file: str | Path | None, closure_dates: str | Iterable[str | date] = ()
    ) -> WorkingCalendar:
        """Build from configuration values: an optional file path and "YYYY-MM-DD,YYYY-MM-DD" closures."""
        items = closure_dates.split(",") if isinstance(closure_dates, str) else closure_dates
        closures: list[date] = []
        for item in items:
            if isinstance(item, date):
                closures.append(_plain_date(item))
                continue
            text = item.strip() if isinstance(item, str) else item
            if text == "":
                continue  # tolerate "a,,b" and a trailing comma in an environment variable
            try:
                closures.append(_as_date(text, "closure date"))
            except (ValueError, TypeError):
                raise CalendarConfigError(f"closure date {item!r} is not a YYYY-MM-DD date") from None
        path = str(bank_holidays_file).strip() if bank_holidays_file is not None else ""
        override = load_bank_holidays_file(path) if path else None
        return cls(closures, override)

    def bank_holidays(self, year: int) -> dict[date, str]:
        """The bank holidays of ``year`` in force (override file or package), weekend-dated included."""
        found = self._years.get(year)
        if found is None:
            found = self._override[year] if year in self._override else _package_year(year)
            self._years[year] = found
        return found

    def closed_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day, or None if it is one.

        A bank holiday's name wins over the weekday (2026-12-26 is "Boxing Day", and its Monday
        substitute is "Boxing Day (substitute day)"); then the weekend; then a partnership closure.
        """
        d = _plain_date(d)
        name = self.bank_holidays(d.year).get(d)
        if name is not None:
            return name
        if d.weekday() >= 5:
            return _WEEKDAYS[d.weekday()]
        if d in self._closures:
            return "Partnership closure"
        return None

    def is_working_day(self, d: date) -> bool:
        d = _plain_date(d)
        return d.weekday() < 5 and d not in self._closures and d not in self.bank_holidays(d.year)

    def next_working_day(self, d: date, include_same_day: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after it if ``include_same_day`` is False)."""
        d = _plain_date(d)
        if not include_same_day:
            d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``th working day after ``d`` (``d`` itself need not be one; ``n == 0`` returns ``d``)."""
        if n < 0:
            raise ValueError(f"cannot add {n} working days: n must be 0 or more")
        d = _plain_date(d)
        for _ in range(n):
            d = self.next_working_day(d, include_same_day=False)
        return d

    def day_one(self, notified_at: datetime | date) -> date:
        """Day 1 of a review: the London date of notification, moved on to a working day if needed."""
        return self.next_working_day(_london_date(notified_at))

    def day_date(self, day_one: date, n: int) -> date:
        """The date of Day ``n`` (Day 1 is ``day_one`` itself)."""
        if n < 1:
            raise ValueError(f"day numbers start at 1, not {n}")
        return self.add_working_days(self._check_day_one(day_one), n - 1)

    def deadline_date(self, day_one: date) -> date:
        """Day 15: the rapid review report is due to the Panel by the end of this date."""
        return self.day_date(day_one, DEADLINE_DAY)

    def case_day(self, day_one: date, when: datetime | date) -> int:
        """Which day of the review ``when`` falls on: 0 before Day 1; on a non-working day, the number
        of the last working day before it (so a weekend never looks like progress); past Day 15 the
        count simply goes on, which is how overdue reviews are reported."""
        start, end = self._check_day_one(day_one), _london_date(when)
        count, d = 0, start
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += timedelta(days=1)
        return count

    def day_at(self, day_one: date, n: int, hhmm: str) -> datetime:
        """The UTC instant of ``hhmm`` London time on Day ``n``, e.g. a reminder at 09:00 on Day 10."""
        return london_time(self.day_date(day_one, n), hhmm)

    def working_days_after(self, when: datetime | date | str, n: int, hhmm: str) -> datetime:
        """``hhmm`` London time on the ``n``th working day after the London date of ``when``.

        ``when`` may be a date, an aware datetime, or the ISO text of either (timers stored as text).
        """
        if isinstance(when, str):
            text = when.strip()
            try:
                when = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"bad start {when!r}: expected an ISO date or datetime") from None
        return london_time(self.add_working_days(_london_date(when), n), hhmm)

    def first_day_due(self, notified_at: datetime) -> datetime:
        """When Day-1 work is due: 17:00 on Day 1, or 12:00 on Day 2 when the notification arrived on Day 1
        itself after 13:00 London time (a notification on a non-working day leaves all of Day 1)."""
        day_one = self.day_one(notified_at)
        local = to_london(notified_at)
        if local.date() == day_one and local.time() > LATE_NOTIFICATION:
            return london_time(self.day_date(day_one, 2), "12:00")
        return london_time(day_one, "17:00")

    def working_hours_before(self, when: datetime | str, hours: float, opens: str = "09:00",
                             closes: str = "17:00") -> datetime:
        """The moment ``hours`` working hours before ``when``, counting only ``opens``-``closes`` London time on
        working days: two working hours before 10:00 on a Monday is 16:00 on the Friday before."""
        if isinstance(when, str):
            when = datetime.fromisoformat(when.strip())
        if hours < 0:
            raise ValueError(f"cannot count {hours} working hours back: hours must be 0 or more")
        start_of_day, end_of_day = parse_hhmm(opens), parse_hhmm(closes)
        remaining = timedelta(hours=hours)
        local = to_london(when)
        day, moment = local.date(), local.time().replace(tzinfo=None)
        while True:
            if not self.is_working_day(day) or moment <= start_of_day:
                day = self._previous_working_day(day)
                moment = end_of_day
            moment = min(moment, end_of_day)
            available = datetime.combine(day, moment) - datetime.combine(day, start_of_day)
            if remaining <= available:
                local_result = datetime.combine(day, moment) - remaining
                return london_time(local_result.date(), local_result.strftime("%H:%M"))
            remaining -= available
            day, moment = self._previous_working_day(day), end_of_day

    def _previous_working_day(self, d: date) -> date:
        d -= timedelta(days=1)
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def _check_day_one(self, day_one: date) -> date:
        # A non-working Day 1 means the caller passed the notification date instead of day_one().
        if isinstance(day_one, datetime):
            raise TypeError("day_one must be a date (use WorkingCalendar.day_one() to compute it)")
        if not self.is_working_day(day_one):
            raise ValueError(
                f"{day_one.isoformat()} is not a working day ({self.closed_reason(day_one)}), so it cannot be "
                "Day 1: use WorkingCalendar.day_one(notification) to compute it"
            )
        return day_one


def clock_time(when: datetime) -> str:
    """A London time as GOV.UK writes it: 5pm, 9:30am, midday, midnight."""
    local = to_london(when)
    if local.hour == 12 and local.minute == 0:
        return "midday"
    if local.hour == 0 and local.minute == 0:
        return "midnight"
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"


def _plain_date(d: date) -> date:
    """A datetime is a date subclass but never equals one: reduce an aware one to its London date."""
    if isinstance(d, datetime):
        return to_london(d).date()
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {d!r}")
    return d
