"""Server time of the worklist (/tasks) and the case page (/cases/<reference>) through the WSGI app.

Signed in as an agency practitioner, a statutory partner's lead and a Partnership Manager, all three of the
partnership of the agency with most open tasks (the session is set directly: sign-in is not what is measured). Each request's time is the test client's call: routing,
access checks, the service's queries, template rendering.
"""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from bench.common import Scratch, percentile
from bench.seed import email, partnership_of_agency, person
from rapidreview import clock
from rapidreview.store.db import transaction
from rapidreview.store.models import User
from rapidreview.web import create_app


def people(agency_id: str) -> dict[str, str]:
    partnership = partnership_of_agency(agency_id)
    return {"agency practitioner": email("agency_practitioner", agency_id), "lead": person("la_lead", partnership, 1),
            "partnership manager": person("partnership_manager", partnership, 0)}


def busiest_agency(scratch: Scratch) -> str:
    """The agency with the most open tasks: its practitioner has a worklist and cases to open."""
    with scratch.rt.database.connect() as conn:
        found = conn.scalar(text("""SELECT agency_id FROM human_tasks WHERE state = 'ready' AND agency_id LIKE 'ag-%'
                                    GROUP BY agency_id ORDER BY count(*) DESC, agency_id LIMIT 1"""))
    return str(found or "ag-000-0")


def app_for(scratch: Scratch) -> Flask:
    return create_app("test", runtime=scratch.rt)


def client_for(app: Flask, scratch: Scratch, address: str) -> FlaskClient:
    with transaction(scratch.rt.sessions) as session:
        user_id = session.scalar(select(User.id).where(User.email == address))
    assert user_id is not None, address
    client = app.test_client()
    with client.session_transaction() as s:
        s["user_id"] = user_id
        s["last_seen"] = clock.now().timestamp()
    return client


def _get(client: FlaskClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    return elapsed * 1000


def visible_open_cases(scratch: Scratch, agency_id: str, limit: int) -> list[str]:
    """Open seeded cases the practitioner's agency has tasks in (so every person may see them)."""
    with scratch.rt.database.connect() as conn:
        return list(conn.scalars(text("""
            SELECT c.reference FROM cases c WHERE c.status = 'open' AND c.reference LIKE 'B%'
              AND EXISTS (SELECT 1 FROM human_tasks h WHERE h.case_id = c.id AND h.agency_id = :a)
            ORDER BY c.id DESC LIMIT :n"""), {"a": agency_id, "n": limit}))


def measure(scratch: Scratch, agency_id: str, *, requests: int) -> dict[str, float]:
    app = app_for(scratch)
    clients = {who: client_for(app, scratch, address) for who, address in people(agency_id).items()}
    references = visible_open_cases(scratch, agency_id, 20)
    worklist: list[float] = []
    page: list[float] = []
    per_person: dict[str, float] = {}
    for who, client in clients.items():
        _get(client, "/tasks")  # warm: templates compiled, connections pooled
        mine = [_get(client, "/tasks") for _ in range(requests)]
        worklist += mine
        per_person[f"worklist_p95_ms[{who}]"] = round(percentile(mine, 95), 1)
        if references:
            _get(client, f"/cases/{references[0]}")
            views = [_get(client, f"/cases/{references[n % len(references)]}") for n in range(requests)]
            page += views
            per_person[f"case_page_p95_ms[{who}]"] = round(percentile(views, 95), 1)
    return {"worklist_p95_ms": round(percentile(worklist, 95), 1),
            "case_page_p95_ms": round(percentile(page, 95), 1) if page else -1.0, **per_person}
