"""Seeding a deployment at scale in bulk: real cases made through the services, copied with SQL.

Real rows first: a case run to submission by the simulator's loop (the closed-case template: its task
rows and audit events, with a small shared workflow JSON, since nothing restores a closed case) and open
cases stopped at four stages (their real workflow JSON, task rows and events). Then ``INSERT ... SELECT``
copies them, server side, to any number of cases: 10% open, the rest submitted over the past years.
The copies are spread over 150 partnerships, each with its own staff and agencies (as England's); within
a case's partnership its agencies, the assignee of claimed tasks and the appointed chair vary by case so each
person sees a share.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from werkzeug.security import generate_password_hash

from bench.common import SCENARIO, Scratch, complete_first, start
from rapidreview import clock
from rapidreview.services.people.roles import PARTNER_ROLES
from rapidreview.simulator.runner import _Loop
from rapidreview.simulator.scenario import load_scenario
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Case, Partnership, User

PARTNERSHIPS = 150  # about as many as England has
AGENCIES = 4  # per partnership: 600 in all
# Per partnership: 12 people (a lead and two deputies per statutory partner), plus a practitioner and a manager
# per agency: 20 a partnership, 3,000 in all.
PER_ROLE = {"partnership_manager": 1, "independent_chair": 2, "la_lead": 3, "police_lead": 3, "icb_lead": 3,
            "la_officer": 1}
STAGES = (0, 3, 5, 10)  # tasks completed: partners' views; commissioning; meeting and agency forms; chair drafts
CLOSED_JSON = '{"closed": true}'


def email(role: str, n: int | str) -> str:
    return f"{role}-{n}@bench.example"


def person(role: str, partnership: int, n: int) -> str:
    """The e-mail of the n-th person of ``role`` in bench partnership number ``partnership``."""
    return email(role, f"{partnership:03}-{n}")


def agency_id(partnership: int, a: int) -> str:
    return f"ag-{partnership:03}-{a}"


def partnership_of_agency(agency: str) -> int:
    return int(agency.split("-")[1])


def seed_people(scratch: Scratch) -> None:
    """The partnerships bp-000..bp-149 with their people and agencies; bench_partnerships maps number -> id."""
    password = generate_password_hash("bench-password-not-used", method="scrypt:1024:8:1")
    now = clock.now()
    with transaction(scratch.rt.sessions) as session:
        session.execute(insert(Partnership), [{"code": f"bp-{p:03}", "name": f"Bench partnership {p}", "active": True,
                                               "created_at": now} for p in range(PARTNERSHIPS)])
        ids = {int(code[3:]): pid for code, pid in session.execute(
            select(Partnership.code, Partnership.id).where(Partnership.code.like("bp-%")))}
        agencies: list[dict[str, Any]] = [{"id": agency_id(p, a), "name": f"Agency {p}-{a}", "contact_email": f"contact-{p}-{a}@bench.example",
                     "manager_email": f"manager-{p}-{a}@bench.example", "active": True, "partnership_id": ids[p]}
                    for p in range(PARTNERSHIPS) for a in range(AGENCIES)]
        users = [{"email": person(role, p, n), "name": f"{role} {p}-{n}", "role": role, "agency_id": None,
                  "partnership_id": ids[p]}
                 for p in range(PARTNERSHIPS) for role, count in PER_ROLE.items() for n in range(count)]
        users += [{"email": email(role, agency["id"]), "name": f"{role} {agency['id']}", "role": role,
                   "agency_id": agency["id"], "partnership_id": agency["partnership_id"]}
                  for agency in agencies for role in ("agency_practitioner", "agency_manager")]
        session.execute(insert(Agency), agencies)
        session.execute(insert(User), [{**u, "password_hash": password, "active": True, "created_at": now} for u in users])
    with scratch.rt.database.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_partnerships (k int PRIMARY KEY, id int)"))
        conn.execute(text("INSERT INTO bench_partnerships VALUES (:k, :id)"),
                     [{"k": k, "id": pid} for k, pid in ids.items()])


def partnership_id(scratch: Scratch, number: int) -> int:
    with transaction(scratch.rt.sessions) as session:
        found = session.scalar(select(Partnership.id).where(Partnership.code == f"bp-{number:03}"))
    assert found is not None, number
    return found


def submitted_case(scratch: Scratch) -> int:
    """The happy path to submission, on a virtual clock, through the services (as `rapidreview simulate`)."""
    scenario = load_scenario(SCENARIO)
    virtual = clock.VirtualClock(scenario.notification.notified_at)
    with clock.using(virtual):
        from rapidreview.services.casework import cases

        case_id = cases.start_case(scratch.rt, scenario.notification, actor="bench")
        _Loop(scratch.rt, scenario, case_id, virtual).run()
    return case_id


def open_templates(scratch: Scratch) -> list[int]:
    ids = []
    for stage, completions in enumerate(STAGES):
        case_id = start(scratch.rt, f"TEMPLATE-{stage}")
        for _ in range(completions):
            if complete_first(scratch.rt, case_id, avoid=("sign_off_final_report",)) is None:
                break
        ids.append(case_id)
    return ids


def bytes_of_case(scratch: Scratch, case_id: int) -> dict[str, float]:
    """On-disk bytes (PostgreSQL, TOAST-compressed) of a case's rows, and its raw workflow JSON."""
    sizes = {}
    with scratch.rt.database.begin() as conn:
        sizes["workflow_json_bytes_submitted_case"] = float(conn.scalar(
            text("SELECT octet_length(workflow_json) FROM cases WHERE id = :c"), {"c": case_id}) or 0)
        total = 0
        for table, key in (("cases", "id"), ("human_tasks", "case_id"), ("audit_events", "case_id"),
                           ("outbox_messages", "case_id"), ("documents", "case_id")):
            total += conn.scalar(text(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE {key} = :c"),
                                 {"c": case_id}) or 0
        sizes["bytes_per_submitted_case"] = float(total)
    return sizes


def _template_tables(scratch: Scratch, closed: int, opened: list[int]) -> None:
    """bench_templates: template number -> real case; 0 is the closed one, 1.. the open stages."""
    with scratch.rt.database.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_templates (tmpl int PRIMARY KEY, case_id int)"))
        conn.execute(text("DELETE FROM bench_templates"))
        for tmpl, case_id in enumerate([closed, *opened]):
            conn.execute(text("INSERT INTO bench_templates VALUES (:t, :c)"), {"t": tmpl, "c": case_id})


def prepare(scratch: Scratch) -> dict[str, float]:
    seed_people(scratch)
    started = time.perf_counter()
    closed = submitted_case(scratch)
    sizes = {**bytes_of_case(scratch, closed), "submitted_case_s": round(time.perf_counter() - started, 2)}
    _template_tables(scratch, closed, open_templates(scratch))
    return sizes


def _days(scratch: Scratch, conn: Connection, now: datetime, count: int) -> None:
    """bench_days: k days ago -> that notification time, its Day 1 and deadline (working days, bank holidays)."""
    if conn.scalar(text("SELECT to_regclass('bench_days')")) is not None:
        return
    conn.execute(text("CREATE TABLE bench_days (k int PRIMARY KEY, at timestamptz, day_one date, deadline date)"))
    rows = []
    for k in range(count):
        at = now - timedelta(days=k)
        day_one = scratch.rt.calendar.day_one(at)
        rows.append({"k": k, "at": at, "day_one": day_one, "deadline": scratch.rt.calendar.deadline_date(day_one)})
    conn.execute(text("INSERT INTO bench_days VALUES (:k, :at, :day_one, :deadline)"), rows)


def grow_to(scratch: Scratch, total: int) -> None:
    """Add copies until the deployment holds ``total`` cases (plus the templates), 10% of them open."""
    with transaction(scratch.rt.sessions) as session:
        have = session.scalar(select(func.count()).select_from(Case).where(Case.reference.like("B%"))) or 0
    if total <= have:
        return
    now = clock.now()
    years = 5 * 365
    params = {"first": have, "last": total - 1, "now": now, "closed_json": CLOSED_JSON, "stages": len(STAGES),
              "years": years}
    with scratch.rt.database.begin() as conn:
        _days(scratch, conn, now, years + 30)
        # Every tenth case is open (template 1..4, notified in the last three weeks); the rest were submitted.
        # Each case's partnership by hash (a modulus would put every open case, g % 10 = 0, in a few partnerships).
        conn.execute(text(f"""
            INSERT INTO cases (reference, process_version_id, status, notified_at, day_one, deadline, notification,
                               workflow_json, next_timer_due, submitted_at, lcspr_recommended, chair_email, created_at,
                               updated_at, lock_version, wake_at, engine_attempts, partnership_id)
            SELECT 'B' || CASE WHEN g % 10 = 0 THEN 1 + (g / 10) % CAST(:stages AS int) ELSE 0 END || '-' || g,
                   t.process_version_id,
                   CASE WHEN g % 10 = 0 THEN t.status ELSE 'submitted' END,
                   w.at, w.day_one, w.deadline, t.notification,
                   CASE WHEN g % 10 = 0 THEN t.workflow_json ELSE :closed_json END,
                   CASE WHEN g % 10 = 0 THEN t.next_timer_due END,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE w.at + interval '14 days' END,
                   t.lcspr_recommended,
                   CASE WHEN t.chair_email IS NOT NULL THEN 'independent_chair-' || lpad(bp.k::text, 3, '0') || '-'
                        || abs(hashtext(g || 'chair')) % {PER_ROLE['independent_chair']} || '@bench.example' END,
                   w.at, w.at, 1,
                   CASE WHEN g % 10 = 0 THEN t.wake_at END, 0, bp.id
            FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g
            JOIN bench_partnerships bp ON bp.k = abs(hashtext(g || 'partnership')) % {PARTNERSHIPS}
            JOIN bench_templates bt ON bt.tmpl = CASE WHEN g % 10 = 0 THEN 1 + (g / 10) % CAST(:stages AS int) ELSE 0 END
            JOIN cases t ON t.id = bt.case_id
            JOIN bench_days w ON w.k = CASE WHEN g % 10 = 0 THEN g % 21 ELSE 30 + g % CAST(:years AS int) END
        """), params)
        copied = """
            FROM cases c
            JOIN bench_templates bt ON bt.tmpl = CAST(split_part(substr(c.reference, 2), '-', 1) AS int)
            JOIN cases t ON t.id = bt.case_id
            JOIN {table} ON {alias}.case_id = t.id
            JOIN bench_partnerships bp ON bp.id = c.partnership_id
            WHERE c.reference LIKE 'B%' AND CAST(split_part(c.reference, '-', 2) AS int) BETWEEN :first AND :last
        """
        # Hashed, not c.id % n: open cases' ids step by ten, so a modulus would pile them on a few people. Agencies
        # and assignees are the case's partnership's.
        agency = f"'ag-' || lpad(bp.k::text, 3, '0') || '-' || abs(hashtext(c.id || h.agency_id)) % {AGENCIES}"
        lead = " ".join(f"WHEN '{p}' THEN '{r}'" for p, r in PARTNER_ROLES.items())
        role = f"coalesce(CASE h.partner {lead} END, h.role)"
        people = " ".join(f"WHEN '{r}' THEN {n}" for r, n in PER_ROLE.items())
        conn.execute(text(f"""
            INSERT INTO human_tasks (case_id, engine_task_id, element_id, name, process_id, lane, role, form, partner,
                                     agency_id, agency_name, state, assignee, due_at, created_at, completed_at,
                                     completed_by, answers, draft, partnership_id)
            SELECT c.id, h.engine_task_id, h.element_id, h.name, h.process_id, h.lane, h.role, h.form, h.partner,
                   CASE WHEN h.agency_id IS NOT NULL THEN {agency} END, h.agency_name, h.state,
                   CASE WHEN h.state = 'ready' AND abs(hashtext(c.id || h.engine_task_id)) % 2 = 0 THEN
                        CASE WHEN h.agency_id IS NOT NULL THEN h.role || '-' || {agency}
                             ELSE {role} || '-' || lpad(bp.k::text, 3, '0') || '-'
                                  || abs(hashtext(c.id || 'lead')) % (CASE {role} {people} ELSE 1 END)
                        END || '@bench.example'
                   END,
                   c.notified_at + (h.due_at - t.notified_at), c.notified_at + (h.created_at - t.notified_at),
                   c.notified_at + (h.completed_at - t.notified_at), h.completed_by, h.answers, h.draft,
                   c.partnership_id
            {copied.format(table="human_tasks h", alias="h")}
            ORDER BY c.id, h.id
        """), params)
        conn.execute(text(f"""
            INSERT INTO audit_events (case_id, at, type, actor, payload)
            SELECT c.id, c.notified_at + (e.at - t.notified_at), e.type, e.actor, e.payload
            {copied.format(table="audit_events e", alias="e")}
            ORDER BY c.id, e.id
        """), params)
    with scratch.rt.database.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))

