"""Tasks completed per second by concurrent people against gunicorn on loopback, at p95 <= 200 ms.

Each simulated person is a statutory partner's lead with a signed session cookie (made with the server's
secret key: sign-in is not measured). For each task they claim it (POST /tasks/<id>/claim) and complete it
(POST /tasks/<id> with the form's answers); the completion's round trip is the latency measured. Concurrency
steps up (1, 2, 4, ...); each step completes a fixed number of tasks per person and stops by itself.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from bench.common import Scratch, percentile, start
from bench.seed import partnership_id, person
from rapidreview.config import PROJECT_ROOT
from rapidreview.services.people.roles import PARTNER_ROLES
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask, User

ANSWERS = {"criteria_met": "yes", "rationale": "Known abuse; serious harm.", "immediate_action_needed": "no"}
SECRET = secrets.token_hex(32)
CSRF = secrets.token_urlsafe(16)
WARM_UP = 4  # tasks per warm-up person


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(scratch: Scratch, *, workers: int = 2, threads: int = 4) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": scratch.libpq_url, "RAPIDREVIEW_DATA_DIR": str(scratch.data_dir),
           "RAPIDREVIEW_SECRET_KEY": SECRET}
    log = (scratch.data_dir / "gunicorn.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
                             "--bind", f"127.0.0.1:{port}", "--timeout", "150", 'rapidreview.web:create_app("production")'],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/sign-in", timeout=10)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start; see {scratch.data_dir / 'gunicorn.log'}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _cookie(user_id: int) -> str:
    app = Flask("bench")
    app.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return str(serializer.dumps({"user_id": user_id, "last_seen": time.time(), "csrf": CSRF}))


def _tasks_by_role(scratch: Scratch, count_per_role: int) -> dict[str, list[int]]:
    # In the first bench partnership, whose leads are the people below.
    partnership = partnership_id(scratch, 0)
    cases = [start(scratch.rt, f"LOAD-{n:04}", partnership) for n in range(count_per_role)]
    with transaction(scratch.rt.sessions) as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.case_id.in_(cases), HumanTask.state == "ready"))
        by_role: dict[str, list[int]] = {}
        for row in rows:
            by_role.setdefault(str(row.role), []).append(row.id)
    return by_role


def _user_id(scratch: Scratch, role: str, n: int) -> int:
    with transaction(scratch.rt.sessions) as session:
        found = session.scalar(select(User.id).where(User.email == person(role, 0, n)))
    assert found is not None, person(role, 0, n)
    return found


def _step(base: str, people: list[tuple[str, int]], tasks_each: int,
          by_role: dict[str, list[int]]) -> tuple[list[float], list[str], float]:
    """Each person claims and completes ``tasks_each`` tasks at once with the others: latencies, errors, tasks/s."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def work(role: str, user_id: int) -> None:
        http = requests.Session()
        http.headers["Cookie"] = f"rapidreview_session={_cookie(user_id)}"
        for _ in range(tasks_each):
            with lock:
                task_id = by_role[role].pop()
            form = {"csrf_token": CSRF}
            claimed = http.post(f"{base}/tasks/{task_id}/claim", data=form, allow_redirects=False, timeout=60)
            started = time.perf_counter()
            done = http.post(f"{base}/tasks/{task_id}", data={**ANSWERS, **form}, allow_redirects=False, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                # A claim goes on to the task's page; a completion back to the worklist.
                if "/tasks/" not in claimed.headers.get("Location", "") or done.status_code != 302:
                    errors.append(f"claim {claimed.status_code} {claimed.headers.get('Location')}, "
                                  f"complete {done.status_code}")

    threads = [threading.Thread(target=work, args=person) for person in people]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, len(latencies) / (time.perf_counter() - started)


def measure(scratch: Scratch, *, levels: tuple[int, ...], per_person: int) -> dict[str, float]:
    roles = list(PARTNER_ROLES.values())
    needed = sum(levels) * per_person + WARM_UP  # tasks per role if every person were that role: plenty
    by_role = _tasks_by_role(scratch, needed)
    results: dict[str, float] = {}
    best = 0.0
    with gunicorn(scratch) as base:
        for level in (0, *levels):  # 0: a warm-up, unmeasured, so each worker has parsed specs and schemas
            people = [(roles[n % len(roles)], _user_id(scratch, roles[n % len(roles)], n // len(roles)))
                      for n in range(level or 2)]
            latencies, errors, rate = _step(base, people, per_person if level else WARM_UP, by_role)
            if errors:
                raise SystemExit(f"task completions failed over HTTP ({errors[:5]}); see {scratch.data_dir / 'gunicorn.log'}")
            if not level:
                continue
            p95 = percentile(latencies, 95)
            results[f"tasks_per_s[{level} people]"] = round(rate, 1)
            results[f"task_p95_ms[{level} people]"] = round(p95, 1)
            if p95 <= 200:
                best = max(best, rate)
    return {"tasks_per_s_at_p95_200ms": round(best, 1), **results}


if __name__ == "__main__":  # pragma: no cover - a quick manual run: python -m bench.server
    from bench.common import scratch_schema
    from bench.seed import seed_people

    with scratch_schema() as s:
        seed_people(s)
        print(measure(s, levels=(1, 2), per_person=3))
