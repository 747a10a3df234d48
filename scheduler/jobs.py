"""Scheduler jobs: small functions that call one service each."""

from __future__ import annotations

import logging

from app import clock
from app.mail.transports import make_transport
from app.services import cases, outbox
from app.services.runtime import Runtime
from app.store.db import transaction

log = logging.getLogger(__name__)


def advance_due_cases(rt: Runtime) -> int:
    """Advance every case whose next timer is due; one case's failure does not stop the others."""
    with transaction(rt.sessions) as session:
        due = cases.cases_due_for_timers(session, clock.now())
    advanced = 0
    for case_id in due:
        try:
            cases.advance_case(rt, case_id, actor="scheduler")
            advanced += 1
        except Exception:  # recorded and retried on the next run; the case keeps its last good state
            log.exception("could not advance case %s", case_id)
    return advanced


def send_outbox(rt: Runtime) -> int:
    transport = make_transport(rt.settings.mail_transport, rt.settings.outbox_dir)
    return sum(1 for d in outbox.deliver_due(rt, transport) if d.status == "sent")
