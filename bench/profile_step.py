"""Where the time of one ``cases.complete_task`` goes, on PostgreSQL (docs/performance.md, engine overhead).

``python -m bench.profile_step [--samples N] [--sort tottime] [--ratio N] [--lz4]`` (BENCH_DATABASE_URL as
``make bench``): in a scratch schema (dropped afterwards), completes the first task of N fresh cases, as
:mod:`bench.engine_overhead` does, and prints each SQL statement's median time, then a cProfile listing.
``--ratio N`` also runs the bench's engine part (N samples) on the same schema, so a change can be checked
in one run. ``--lz4`` is an experiment, to see what it would change: it switches the scratch schema's
``cases.workflow_json`` to lz4 TOAST compression (PostgreSQL 14+; the default, pglz, is slower to compress).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import event, text

from bench import engine_overhead
from bench.common import Scratch, ready, scratch_schema, start
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers


def _statement_timer(scratch: Scratch) -> dict[str, float]:
    """Seconds per statement (first 70 characters) while the listeners stay, summed until cleared."""
    spent: dict[str, float] = defaultdict(float)
    started: list[float] = [0.0]

    def before(*_args: Any) -> None:
        started[0] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        spent[" ".join(statement.split())[:70]] += time.perf_counter() - started[0]

    event.listen(scratch.rt.database, "before_cursor_execute", before)
    event.listen(scratch.rt.database, "after_cursor_execute", after)
    return spent


def profile(scratch: Scratch, samples: int, sort: str) -> None:
    rt = scratch.rt
    prepared = []
    for n in range(samples + 2):
        task = ready(rt, start(rt, f"PROFILE-{n:04}"))[0]
        prepared.append((task.id, starting_answers(rt, task.id, with_examples=True)))
    for task_id, answers in prepared[:2]:  # warm the caches (parsed specs, validators), as the bench does
        cases.complete_task(rt, task_id, answers, actor="bench")
    spent = _statement_timer(scratch)
    per_statement: dict[str, list[float]] = defaultdict(list)
    wall: list[float] = []
    for task_id, answers in prepared[2:]:  # unprofiled: wall time and statements
        spent.clear()
        started = time.perf_counter()
        cases.complete_task(rt, task_id, answers, actor="bench")
        wall.append(time.perf_counter() - started)
        for statement, spent_s in spent.items():
            per_statement[statement].append(spent_s)
    print(f"complete_task: median {statistics.median(wall) * 1000:.1f} ms over {samples} cases")
    print(f"{len(per_statement)} distinct SQL statements a step (median ms, as the driver returns):")
    for statement, times in per_statement.items():
        print(f"  {statistics.median(times) * 1000:6.2f}  {statement}")
    profiler = cProfile.Profile()
    for n in range(samples):
        task = ready(rt, start(rt, f"PROFILED-{n:04}"))[0]
        answers = starting_answers(rt, task.id, with_examples=True)
        profiler.enable()
        cases.complete_task(rt, task.id, answers, actor="bench")
        profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(sort).print_stats(40)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime, ...")
    parser.add_argument("--ratio", type=int, default=0, metavar="N", help="also run the bench's engine part")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--lz4", action="store_true", help="lz4 TOAST compression for cases.workflow_json")
    args = parser.parse_args()
    with scratch_schema("bench_profile") as scratch:
        if args.lz4:
            with scratch.rt.database.begin() as conn:
                conn.execute(text("ALTER TABLE cases ALTER COLUMN workflow_json SET COMPRESSION lz4"))
        if not args.no_profile:
            profile(scratch, args.samples, args.sort)
        if args.ratio:
            print(engine_overhead.measure(scratch, samples=args.ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
