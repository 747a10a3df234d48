"""``python -m bench [--quick]``: run every part, print one table, write bench/results.json (docs/performance.md)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import dashboard, engine_overhead, misc, pages, seed, server
from bench.common import database_url, scratch_schema

RESULTS = Path(__file__).resolve().parent / "results.json"
GOALS = {"engine_overhead_ratio": "<= 2", "worklist_p95_ms": "<= 50", "case_page_p95_ms": "<= 50",
         "worklist_flatness_ratio": "<= 1.5", "timer_lateness_p99_ms": "<= 1000", "dashboard_p95_ms": "<= 200"}


@dataclass(frozen=True)
class Sizes:
    engine_samples: int
    small_cases: int
    large_cases: int
    page_requests: int
    load_levels: tuple[int, ...]
    tasks_per_person: int
    simulated: int
    pdf_samples: int
    timers: int
    timer_spread_s: float


FULL = Sizes(engine_samples=20, small_cases=1_000, large_cases=100_000, page_requests=40, load_levels=(1, 2, 4, 8),
             tasks_per_person=8, simulated=3, pdf_samples=3, timers=1_000, timer_spread_s=59)
# Quick: 2,000 cases (the flatness ratio is 2k/1k), two load steps, ten timers, and the simulator's rate from
# the one happy-path case the scale part runs anyway (the same loop `rapidreview simulate` runs, on PostgreSQL).
QUICK = Sizes(engine_samples=4, small_cases=1_000, large_cases=2_000, page_requests=10, load_levels=(1, 2),
              tasks_per_person=3, simulated=0, pdf_samples=1, timers=10, timer_spread_s=1)


def run(sizes: Sizes, log: list[str]) -> dict[str, float]:
    results: dict[str, float] = {}

    def part(name: str) -> float:
        print(f"[bench] {name}...", file=sys.stderr, flush=True)
        return time.perf_counter()

    started = part("engine overhead")
    with scratch_schema("bench_engine") as scratch:
        results.update(engine_overhead.measure(scratch, samples=sizes.engine_samples))
    log.append(f"engine overhead: {time.perf_counter() - started:.0f} s")

    started = part(f"worklist, case page and dashboard at {sizes.small_cases:,} and {sizes.large_cases:,} cases")
    with scratch_schema("bench_scale") as scratch:
        results.update(seed.prepare(scratch))
        seed.grow_to(scratch, sizes.small_cases)
        agency = pages.busiest_agency(scratch)
        small = pages.measure(scratch, agency, requests=sizes.page_requests)
        seed.grow_to(scratch, sizes.large_cases)
        large = pages.measure(scratch, agency, requests=sizes.page_requests)
        results.update(large)
        results.update(dashboard.measure(scratch, agency, requests=sizes.page_requests))
        results.update({f"{k}@{sizes.small_cases}": v for k, v in small.items()})
        results["worklist_flatness_ratio"] = round(large["worklist_p95_ms"] / small["worklist_p95_ms"], 2)
        results["cases_seeded"] = float(sizes.large_cases)
    log.append(f"scale: {time.perf_counter() - started:.0f} s")

    started = part("tasks per second against gunicorn")
    with scratch_schema("bench_load") as scratch:
        seed.seed_people(scratch)
        results.update(server.measure(scratch, levels=sizes.load_levels, per_person=sizes.tasks_per_person))
    log.append(f"load: {time.perf_counter() - started:.0f} s")

    started = part("simulator")
    if sizes.simulated:
        results.update(misc.simulated_cases(sizes.simulated))
    else:
        results["simulated_cases_per_s"] = round(1 / results["submitted_case_s"], 3)
    log.append(f"simulator: {time.perf_counter() - started:.0f} s")

    started = part("PDF")
    results.update(misc.pdf_times(sizes.pdf_samples))
    log.append(f"pdf: {time.perf_counter() - started:.0f} s")

    started = part(f"timer lateness, {sizes.timers} timers over {sizes.timer_spread_s:g} s")
    results.update(misc.timer_lateness(sizes.timers, sizes.timer_spread_s, schedulers=2))
    log.append(f"timers: {time.perf_counter() - started:.0f} s")
    return results


def table(results: dict[str, float]) -> str:
    width = max(len(k) for k in results)
    lines = [f"{'key'.ljust(width)}  {'value':>10}  goal", f"{'-' * width}  {'-' * 10}  ----"]
    lines += [f"{k.ljust(width)}  {v:>10g}  {GOALS.get(k, '')}" for k, v in results.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under a minute")
    args = parser.parse_args()
    os.environ.setdefault("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt:1024:8:1")
    started = time.perf_counter()
    log: list[str] = []
    results = run(QUICK if args.quick else FULL, log)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    meta = {"mode": "quick" if args.quick else "full", "cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.platform(), "database": database_url().split("@")[-1], "parts": log}
    RESULTS.write_text(json.dumps({**results, "meta": meta}, indent=2) + "\n")
    print(table(results))
    print(f"\n{meta['mode']} run, {meta['cpus']} CPUs, {' / '.join(log)}; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
