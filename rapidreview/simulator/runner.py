"""Run one scenario on a virtual clock against a process folder, with a fresh temporary database.

The loop: complete every ready task whose action is due (or that autopilot answers), deliver the
outbox, and when nothing is left to do now, move the clock to the next timer or scheduled action.
Every step goes through the same services as the web app: restore from the database, act, save.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.engine.process import ProcessBundle, user_task_ids
from rapidreview.mail.transports import FileTransport
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import cases, worklist
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.people.demo import seed_simulation
from rapidreview.services.platform import scheduling
from rapidreview.simulator.scenario import MAX_DAY, Action, Scenario, ScenarioError, check_tasks
from rapidreview.store.db import make_engine, transaction
from rapidreview.store.models import AuditEvent, Case, HumanTask

AUTOPILOT, SCENARIO = "simulator (autopilot)", "simulator (scenario)"
MAX_STEPS = 5000


@dataclass
class SimulationResult:
    case: dict[str, Any]
    events: list[dict[str, Any]]
    out_dir: Path

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case, "events": self.events}


def simulate(scenario: Scenario, *, bpmn_dir: Path, forms_dir: Path, templates_dir: Path, out_dir: Path,
             database_url: str | None = None, settings: Settings | None = None) -> SimulationResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = settings or Settings()
    virtual = clock.VirtualClock(scenario.notification.notified_at)
    with tempfile.TemporaryDirectory(prefix="rapidreview-sim-") as scratch, clock.using(virtual):
        url, schema = _fresh_database(database_url, Path(scratch))
        sim_settings = base.with_(database_url=url, data_dir=out_dir, bpmn_dir=bpmn_dir, forms_dir=forms_dir,
                                  templates_dir=templates_dir, mail_transport="file")
        rt = build_runtime(sim_settings, schema=schema)
        try:
            deploy_directory(rt, bpmn_dir, forms_dir, deployed_by="simulator", note=f"simulation of {scenario.name}")
            compiled = rt.compiled(ProcessBundle.from_directory(bpmn_dir), sim_settings.main_process_id)
            check_tasks(scenario, user_task_ids(compiled))
            seed_simulation(rt, scenario.notification.agencies)
            case_id = cases.start_case(rt, scenario.notification, actor=SCENARIO)
            _Loop(rt, scenario, case_id, virtual).run()
            return _result(rt, case_id, out_dir)
        finally:
            rt.close()
            if schema:
                _drop_schema(database_url or "", schema)


class _Loop:
    def __init__(self, rt: Runtime, scenario: Scenario, case_id: int, virtual: clock.VirtualClock) -> None:
        self.rt, self.scenario, self.case_id, self.clock = rt, scenario, case_id, virtual
        self.transport = FileTransport(rt.settings.outbox_dir)
        self.unused: list[Action] = list(scenario.actions)
        self.bound: dict[int, Action | None] = {}  # task row id -> its action (None: autopilot)

    def run(self) -> None:
        with transaction(self.rt.sessions) as s:
            case = s.get(Case, self.case_id)
            assert case is not None
            day_one = case.day_one
        limit = self.rt.calendar.day_at(day_one, MAX_DAY, "23:59")
        self.day_one = day_one
        self._deliver()
        for _ in range(MAX_STEPS):
            if self._act_on_ready_tasks():
                self._deliver()
                continue
            with transaction(self.rt.sessions) as s:
                case = s.get(Case, self.case_id)
                assert case is not None
                finished = rt_finished(case)
                next_timer = case.wake_at  # its next timer, or a task falling overdue
            if finished:
                return
            candidates = [t for t in (next_timer, *self._scheduled_times()) if t is not None]
            if not candidates:
                return  # only "never" tasks remain: nothing will ever happen again
            upcoming = min(candidates)
            if upcoming > limit:
                return
            if upcoming > self.clock.now():
                self.clock.set(upcoming)
            cases.advance_case(self.rt, self.case_id, actor="simulator (clock)")
            self._deliver()
        raise ScenarioError(f"{self.scenario.source}: the case did not settle after {MAX_STEPS} steps (a loop in the model?)")

    def _ready(self) -> list[HumanTask]:
        with transaction(self.rt.sessions) as s:
            return cases.ready_tasks(s, self.case_id)

    def _bind(self, task: HumanTask) -> Action | None:
        if task.id not in self.bound:
            match = next((a for a in self.unused if a.task == task.element_id
                          and (a.partner is None or a.partner == task.partner)
                          and (a.agency is None or a.agency == task.agency_id)), None)
            if match is not None:
                self.unused.remove(match)
            self.bound[task.id] = match
        return self.bound[task.id]

    def _act_on_ready_tasks(self) -> bool:
        ready = self._ready()
        ready_ids = {t.id for t in ready}
        for task_id in [t for t in self.bound if t not in ready_ids]:
            action = self.bound.pop(task_id)
            # A task cancelled before its action happened (e.g. collection closed) gives the action back.
            if action is not None and action.at is not None and not self._completed(task_id):
                self.unused.insert(0, action)
                self.unused.sort(key=lambda a: a.index)
        for task in ready:
            action = self._bind(task)
            if action is not None and action.never:
                continue
            when = action.when(self.rt.calendar, self.day_one) if action else None
            if when is not None and when > self.clock.now():
                continue
            self._complete(task, action)
            return True
        return False

    def _completed(self, task_id: int) -> bool:
        with transaction(self.rt.sessions) as s:
            row = s.get(HumanTask, task_id)
            return row is not None and row.state == "completed"

    def _scheduled_times(self) -> list[datetime]:
        times = []
        for action in self.bound.values():
            if action is not None and not action.never:
                when = action.when(self.rt.calendar, self.day_one)
                if when is not None and when > self.clock.now():
                    times.append(when)
        return times

    def _complete(self, task: HumanTask, action: Action | None) -> None:
        answers = starting_answers(self.rt, task.id, with_examples=True)
        if action is not None:
            answers.update(action.data)
        # Done by a simulated account that may do it, as a person would: documents name who signed.
        eligible = worklist.eligible_users(self.rt, task.id, task.partnership_id)
        who = eligible[0].email if eligible else (SCENARIO if action is not None else AUTOPILOT)
        try:
            cases.complete_task(self.rt, task.id, answers, actor=who)
        except FormAnswersError as exc:
            where = action.describe() if action else f"autopilot answers for {task.element_id}"
            raise ScenarioError(f"{self.scenario.source}: {where}: {exc}") from None

    def _deliver(self) -> None:
        scheduling.deliver_mail(self.rt, self.transport)


def rt_finished(case: Case) -> bool:
    return case.status != cases.OPEN and case.next_timer_due is None


def _fresh_database(database_url: str | None, scratch: Path) -> tuple[str, str | None]:
    if not database_url:
        return f"sqlite:///{scratch / 'simulation.db'}", None
    if make_url(database_url).get_backend_name() == "sqlite":
        return database_url, None
    schema = f"sim_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return database_url, schema


def _drop_schema(database_url: str, schema: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _result(rt: Runtime, case_id: int, out_dir: Path) -> SimulationResult:
    cal = rt.calendar
    with transaction(rt.sessions) as s:
        case = s.get(Case, case_id)
        assert case is not None
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)))
        events = [{"at": e.at.isoformat(), "day": cal.case_day(case.day_one, e.at), "type": e.type, **e.payload}
                  for e in rows]
        submitted_day = cal.case_day(case.day_one, case.submitted_at) if case.submitted_at else None
        end_of_deadline = cal.day_at(case.day_one, 15, "23:59")
        if case.submitted_at is not None:
            late = case.submitted_at > end_of_deadline
        else:
            late = case.status == cases.OPEN and clock.now() > end_of_deadline
        summary = {
            "reference": case.reference, "status": case.status, "day_one": case.day_one.isoformat(),
            "deadline": case.deadline.isoformat(), "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
            "submitted_on_day": submitted_day, "late": late, "lcspr_recommended": case.lcspr_recommended,
        }
    return SimulationResult(case=summary, events=events, out_dir=out_dir)
