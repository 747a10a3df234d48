"""What every bench part shares: a scratch PostgreSQL schema, a runtime on it, real cases, percentiles."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.simulator.scenario import load_scenario
from rapidreview.store.db import make_engine, transaction
from rapidreview.store.models import HumanTask

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCENARIO = PROJECT_ROOT / "scenarios" / "happy_path.json"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn`` took."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Scratch:
    url: str
    schema: str
    rt: Runtime
    data_dir: Path

    @property
    def libpq_url(self) -> str:
        """``url`` with the schema on the search path, for processes we start (gunicorn, schedulers)."""
        return (make_url(self.url).update_query_dict({"options": f"-csearch_path={self.schema}"})
                .render_as_string(hide_password=False))


@contextmanager
def scratch_schema(prefix: str = "bench") -> Iterator[Scratch]:
    """A fresh schema in the bench database, migrated, with bpmn/ deployed; dropped afterwards whatever happens."""
    url = database_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    data = Path(tempfile.mkdtemp(prefix="rapidreview-bench-"))
    rt = None
    try:
        settings = Settings(database_url=url, data_dir=data, bpmn_dir=PROJECT_ROOT / "bpmn",
                            forms_dir=PROJECT_ROOT / "forms", templates_dir=PROJECT_ROOT / "templates")
        rt = build_runtime(settings, schema=schema)
        deploy_directory(rt, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="bench")
        yield Scratch(url, schema, rt, data)
    finally:
        if rt is not None:
            rt.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(data, ignore_errors=True)


def notification(reference: str) -> cases.Notification:
    """The happy-path scenario's notification, notified now, with its agencies."""
    scenario = load_scenario(SCENARIO)
    n = scenario.notification
    return cases.Notification(reference=reference, notified_at=clock.now() - timedelta(minutes=1), child=n.child,
                              incident=n.incident, agencies=n.agencies, referral=n.referral)


def start(rt: Runtime, reference: str, partnership_id: int | None = None) -> int:
    return cases.start_case(rt, notification(reference), actor="bench", partnership_id=partnership_id)


def ready(rt: Runtime, case_id: int) -> list[HumanTask]:
    with transaction(rt.sessions) as session:
        return cases.ready_tasks(session, case_id)


def complete_first(rt: Runtime, case_id: int, *, avoid: tuple[str, ...] = ()) -> str | None:
    """Complete the case's first ready task with its form's example answers (as the simulator's autopilot)."""
    for task in ready(rt, case_id):
        if task.element_id in avoid:
            continue
        cases.complete_task(rt, task.id, starting_answers(rt, task.id, with_examples=True), actor="bench")
        return task.element_id
    return None


def task_ids(rt: Runtime, case_id: int) -> list[int]:
    with transaction(rt.sessions) as session:
        return list(session.scalars(select(HumanTask.id).where(HumanTask.case_id == case_id)))
