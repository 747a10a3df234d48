"""Server time of the dashboard (/dashboard) through the WSGI app, on the scale part's seeded deployment.

The Partnership Manager and a lead of the partnership of the agency with most open tasks (as ``bench.pages``),
over the default period (the last 12 months: that partnership's reviews notified in it and every open one,
with their task rows); and an administrator's counts across the 150 partnerships. Each request's time is the
test client's call: routing, access checks, the queries, the figures, the charts and template rendering.

``python -m bench.dashboard [--cases N]`` seeds a scratch schema to N cases (default 100,000) and measures
only this.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import insert, select, text
from werkzeug.security import generate_password_hash

from bench.common import Scratch, percentile, scratch_schema
from bench.pages import _get, app_for, client_for
from bench.seed import partnership_of_agency, person
from rapidreview import clock
from rapidreview.store.db import transaction
from rapidreview.store.models import Partnership, User

ADMIN = "admin-000@bench.example"


def _admin(scratch: Scratch) -> str:
    """An administrator of the first bench partnership (the seed makes none)."""
    with transaction(scratch.rt.sessions) as session:
        if session.scalar(select(User.id).where(User.email == ADMIN)) is None:
            partnership = session.scalar(select(Partnership.id).where(Partnership.code == "bp-000"))
            session.execute(insert(User).values(
                email=ADMIN, name="Bench administrator", role="admin", partnership_id=partnership, active=True,
                password_hash=generate_password_hash("bench-password-not-used", method="scrypt:1024:8:1"),
                created_at=clock.now()))
    return ADMIN


def _vacuum_cases(scratch: Scratch) -> None:
    """Vacuum the cases the seed has just bulk-copied, as autovacuum does to a table in service: until then
    PostgreSQL cannot trust an index alone (the administrator's counts use ix_cases_outcomes so)."""
    with scratch.rt.database.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE) cases"))


def measure(scratch: Scratch, agency_id: str, *, requests: int) -> dict[str, float]:
    _vacuum_cases(scratch)
    app = app_for(scratch)
    partnership = partnership_of_agency(agency_id)
    people = {"partnership manager": person("partnership_manager", partnership, 0),
              "lead": person("la_lead", partnership, 1)}
    results: dict[str, float] = {}
    times: list[float] = []
    for who, address in people.items():
        client = client_for(app, scratch, address)
        _get(client, "/dashboard")  # warm: templates compiled, connections pooled, holidays read
        mine = [_get(client, "/dashboard") for _ in range(requests)]
        times += mine
        results[f"dashboard_p95_ms[{who}]"] = round(percentile(mine, 95), 1)
    results["dashboard_p95_ms"] = round(percentile(times, 95), 1)
    admin = client_for(app, scratch, _admin(scratch))
    _get(admin, "/dashboard")
    counts = [_get(admin, "/dashboard") for _ in range(requests)]
    results["dashboard_counts_p95_ms"] = round(percentile(counts, 95), 1)
    return results


def main() -> int:
    from bench import pages, seed

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt:1024:8:1")
    with scratch_schema("bench_dashboard") as scratch:
        seed.prepare(scratch)
        seed.grow_to(scratch, args.cases)
        found = measure(scratch, pages.busiest_agency(scratch), requests=args.requests)
    for key, value in found.items():
        print(f"{key}  {value:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
