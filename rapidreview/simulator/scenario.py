"""Scenario files: one case, its agencies, and what people do when (see docs/simulator.md).

Every problem is reported with the file and the field path, e.g.
``late.json: actions[2].at: expected "day N HH:MM" or an ISO date-time with an offset``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rapidreview.calendar import WorkingCalendar
from rapidreview.services.casework.cases import Notification, reference_problem
from rapidreview.services.people.roles import PARTNERS

AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DAY_AT = re.compile(r"^day\s+(\d{1,2})\s+([01]?\d|2[0-3]):([0-5]\d)$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DAY = 25


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Action:
    index: int
    task: str
    partner: str | None = None
    agency: str | None = None
    at: str | None = None
    never: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        who = f" ({self.partner or self.agency})" if self.partner or self.agency else ""
        return f"actions[{self.index}] {self.task}{who}"

    def when(self, calendar: WorkingCalendar, day_one: date) -> datetime | None:
        if self.at is None:
            return None
        match = DAY_AT.match(self.at.strip())
        if match:
            return calendar.day_at(day_one, int(match.group(1)), f"{int(match.group(2)):02d}:{match.group(3)}")
        return datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    notification: Notification
    actions: list[Action]


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def obj(self, value: Any, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(path, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        for name in sorted(required):
            if name not in value:
                raise self.fail(f"{path}.{name}" if path else name, "is required")
        return value

    def text(self, value: Any, path: str, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "expected a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(path, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def aware(self, value: Any, path: str) -> datetime:
        text = self.text(value, path)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(path, f"{text!r} is not an ISO-8601 date-time such as 2026-12-18T10:30:00+00:00") from None
        if when.tzinfo is None:
            raise self.fail(path, f"{text!r} has no UTC offset; add one, e.g. +00:00")
        return when


def parse_scenario(raw: Any, source: str = "scenario") -> Scenario:
    r = _Reader(source)
    top = r.obj(raw, "", {"name", "description", "notification", "agencies", "actions"}, {"notification"})
    n = r.obj(top["notification"], "notification", {"notified_at", "reference", "child", "incident", "referral"},
              {"notified_at", "reference", "child", "incident"})
    notified_at = r.aware(n["notified_at"], "notification.notified_at")
    reference = r.text(n["reference"], "notification.reference")
    if (problem := reference_problem(reference)) is not None:
        raise r.fail("notification.reference", f"{reference!r} is not valid: {problem[0].lower()}{problem[1:]}")
    child = r.obj(n["child"], "notification.child", {"name", "date_of_birth", "sex", "ethnicity", "disability"}, {"name"})
    r.text(child["name"], "notification.child.name")
    if "date_of_birth" in child:
        try:
            date.fromisoformat(r.text(child["date_of_birth"], "notification.child.date_of_birth"))
        except ValueError:
            raise r.fail("notification.child.date_of_birth", "expected a date like 2019-03-02") from None
    incident = r.obj(n["incident"], "notification.incident", {"date", "summary"}, {"date", "summary"})
    try:
        date.fromisoformat(r.text(incident["date"], "notification.incident.date"))
    except ValueError:
        raise r.fail("notification.incident.date", "expected a date like 2026-12-16") from None
    r.text(incident["summary"], "notification.incident.summary")
    referral = r.obj(n.get("referral", {}), "notification.referral", {"source", "received_at", "summary"})

    agencies_raw = top.get("agencies", [])
    if not isinstance(agencies_raw, list):
        raise r.fail("agencies", "expected a list of agencies")
    agencies: list[dict[str, Any]] = []
    for i, a in enumerate(agencies_raw):
        p = f"agencies[{i}]"
        a = r.obj(a, p, {"id", "name", "contact_name", "contact_email", "manager_name", "manager_email"},
                  {"id", "name", "contact_email", "manager_email"})
        r.text(a["id"], f"{p}.id", pattern=AGENCY_ID, hint="use lower-case letters, digits, - or _")
        r.text(a["name"], f"{p}.name")
        r.text(a["contact_email"], f"{p}.contact_email", pattern=EMAIL, hint="expected an e-mail address")
        r.text(a["manager_email"], f"{p}.manager_email", pattern=EMAIL, hint="expected an e-mail address")
        if any(a["id"] == b["id"] for b in agencies):
            raise r.fail(f"{p}.id", f"agency id {a['id']!r} is used twice")
        agencies.append(dict(a))
    agency_ids = {a["id"] for a in agencies}

    actions_raw = top.get("actions", [])
    if not isinstance(actions_raw, list):
        raise r.fail("actions", "expected a list of actions")
    actions = []
    for i, a in enumerate(actions_raw):
        p = f"actions[{i}]"
        a = r.obj(a, p, {"task", "partner", "agency", "at", "never", "data", "note"}, {"task"})
        task = r.text(a["task"], f"{p}.task")
        partner = a.get("partner")
        if partner is not None and partner not in PARTNERS:
            raise r.fail(f"{p}.partner", f"{partner!r} is not a statutory partner; use one of {', '.join(PARTNERS)}")
        agency = a.get("agency")
        if agency is not None and agency not in agency_ids:
            raise r.fail(f"{p}.agency", f"{agency!r} is not one of the scenario's agencies ({', '.join(sorted(agency_ids)) or 'none'})")
        at = a.get("at")
        if at is not None:
            r.text(at, f"{p}.at")
            match = DAY_AT.match(at.strip())
            if match:
                if not 1 <= int(match.group(1)) <= MAX_DAY:
                    raise r.fail(f"{p}.at", f"day must be between 1 and {MAX_DAY}")
            elif _looks_iso(at):
                r.aware(at, f"{p}.at")
            else:
                raise r.fail(f"{p}.at", f"{at!r}: expected \"day N HH:MM\" (London time) or an ISO date-time with an offset")
        never = a.get("never", False)
        if not isinstance(never, bool):
            raise r.fail(f"{p}.never", "expected true or false")
        data = a.get("data", {})
        if not isinstance(data, dict):
            raise r.fail(f"{p}.data", "expected an object of form answers")
        if never and (data or at):
            raise r.fail(p, "an action with never: true takes no at and no data")
        actions.append(Action(index=i, task=task, partner=partner, agency=agency, at=at, never=never, data=dict(data)))

    name = top.get("name") or Path(source).stem
    notification = Notification(reference=reference, notified_at=notified_at, child=dict(child), incident=dict(incident),
                                agencies=agencies, referral=dict(referral))
    return Scenario(name=str(name), source=source, notification=notification, actions=actions)


def _looks_iso(text: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", text.strip()))


def load_scenario(path: Path) -> Scenario:
    source = path.name
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: not UTF-8 text") from None
    return parse_scenario(raw, source)


def check_tasks(scenario: Scenario, user_tasks: set[str]) -> None:
    """Refuse actions naming tasks the process does not have (usually a typo)."""
    for action in scenario.actions:
        if action.task not in user_tasks:
            raise ScenarioError(f"{scenario.source}: actions[{action.index}].task: {action.task!r} is not a user task "
                                f"of this process (known: {', '.join(sorted(user_tasks))})")
