"""How late do timers fire? Real ``rapidreview scheduler`` processes, N timers, lateness percentiles.

    .venv/bin/python bench/timer_lateness.py                        # 100 timers over 10 s, SQLite, 1 scheduler
    .venv/bin/python bench/timer_lateness.py --timers 200 --spread 0 --schedulers 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test  # a burst, in a scratch schema

Lateness is what each ``timer_fired`` event records: the time the step ran, minus the timer's due time.
Cases are created before their timers fall due, on a clock an hour slow, so that only the schedulers fire them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from rapidreview import clock  # noqa: E402
from rapidreview.config import Settings  # noqa: E402
from rapidreview.runtime import build_runtime  # noqa: E402
from rapidreview.services.casework import cases  # noqa: E402
from rapidreview.services.definitions.process_versions import deploy_directory  # noqa: E402
from rapidreview.store.db import make_engine, transaction  # noqa: E402
from rapidreview.store.models import AuditEvent, SchedulerHeartbeat  # noqa: E402

TEST_PROCESS = PROJECT_ROOT / "tests" / "fixtures" / "scheduler"


def percentile(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=100)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which the timers fall due (0: all at once)")
    parser.add_argument("--schedulers", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the percentiles as one JSON line last (bench/)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="rapidreview-bench-"))
    url, schema = args.database_url or f"sqlite:///{scratch / 'bench.db'}", None
    env_url = url
    if make_url(url).get_backend_name() == "postgresql":
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with make_engine(url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        env_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    rt = build_runtime(Settings(database_url=url, data_dir=scratch / "data"), schema=schema)
    deploy_directory(rt, TEST_PROCESS, PROJECT_ROOT / "forms", deployed_by="bench")
    env = {**os.environ, "DATABASE_URL": env_url, "RAPIDREVIEW_DATA_DIR": str(scratch / "data")}
    processes = [subprocess.Popen([sys.executable, "-m", "rapidreview.cli", "scheduler", "--poll", "600"], cwd=PROJECT_ROOT,
                                  env=env, stdout=(scratch / f"scheduler-{n}.log").open("w"), stderr=subprocess.STDOUT)
                 for n in range(args.schedulers)]
    try:
        names = {f"{socket.gethostname()}:{p.pid}" for p in processes}
        deadline = time.monotonic() + 60
        while True:
            with transaction(rt.sessions) as session:
                ready = set(session.scalars(select(SchedulerHeartbeat.name))) >= names
            if ready:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"the schedulers did not start; see {scratch}")
            time.sleep(0.1)

        first_due = clock.now() + timedelta(seconds=5 + args.timers * 0.08)  # time to create the cases first
        step = timedelta(seconds=args.spread / max(1, args.timers - 1)) if args.spread else timedelta(0)
        with clock.using(clock.VirtualClock(clock.now() - timedelta(hours=1))):
            for n in range(args.timers):
                due = first_due + n * step
                cases.start_case(rt, cases.Notification(
                    reference=f"BENCH-{n:05}", notified_at=clock.now(), child={}, incident={},
                    referral={"timer_at": due.isoformat()}), actor="bench")
        print(f"{args.timers} timers due from {first_due.isoformat()} over {args.spread:g} s; "
              f"{args.schedulers} scheduler(s) on {rt.database.dialect.name}", flush=True)
        deadline = time.monotonic() + 120 + args.spread + args.timers * 0.1
        while True:
            with transaction(rt.sessions) as session:
                fired = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "timer_fired"))
            if fired >= args.timers or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        with transaction(rt.sessions) as session:
            late = [e.payload["late_ms"] for e in session.scalars(select(AuditEvent).where(AuditEvent.type == "timer_fired"))]
        print(f"fired {len(late)} of {args.timers}; late by p50 {percentile(late, 50)} ms, p95 {percentile(late, 95)} ms, "
              f"p99 {percentile(late, 99)} ms, max {max(late)} ms; min {min(late)} ms", flush=True)
        if args.json:
            print(json.dumps({"fired": len(late), "p50": percentile(late, 50), "p95": percentile(late, 95),
                              "p99": percentile(late, 99), "max": max(late)}))
        return 0 if len(late) == args.timers else 1
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
        rt.close()
        if schema:
            with make_engine(url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
