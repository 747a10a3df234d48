"""Our step against the bare engine: ``cases.complete_task`` on a real case vs SpiffWorkflow alone in memory.

Ours: load and lock the case, validate the answers, restore, complete the task, run the engine, save the
JSON, sync the task rows, audit, commit (PostgreSQL). Bare: deserialize the same case as SpiffWorkflow's
own serializer saves it (the process embedded; ours stores the state only), put the same answers on the
same task, run it, refresh timers, do engine steps, serialize. Both use the same script engine (the
BPMN's expressions call its working-day functions) and the first task of a fresh case (a partner's view on
the criteria), whose completion sends nothing, so the comparison is of the layers, not of e-mail or PDFs.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from bench.common import Scratch, median, ready, start, timed
from rapidreview.engine import runtime as _runtime  # noqa: F401 - installs the timer clock patch, as the app does
from rapidreview.engine.scripting import CaseScriptEngine, ServiceCall
from rapidreview.engine.service_tasks import SERIALIZER_CONFIG
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.store.db import transaction
from rapidreview.store.models import Case

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG))


class _NoServices:
    def call(self, call: ServiceCall) -> dict[str, Any]:
        return {}

    def outcome(self, key: str) -> dict[str, Any] | None:
        return None


def bare_step(serialized: str, engine_task_id: str, element_id: str, answers: dict[str, Any], engine: CaseScriptEngine) -> str:
    wf = SERIALIZER.deserialize_json(serialized)
    wf.script_engine = engine
    engine.environment.host = _NoServices()
    task = wf.get_task_from_id(UUID(engine_task_id))
    task.data[element_id] = dict(answers)
    task.run()
    wf.refresh_timers()
    wf.do_engine_steps()
    return str(SERIALIZER.serialize_json(wf))


def measure(scratch: Scratch, *, samples: int) -> dict[str, float]:
    rt = scratch.rt
    ours: list[float] = []
    bare: list[float] = []
    engine = CaseScriptEngine(rt.calendar)
    for n in range(samples + 2):  # the first two warm caches (parsed specs, schemas) and are dropped
        case_id = start(rt, f"ENGINE-{n:04}")
        task = ready(rt, case_id)[0]
        answers = starting_answers(rt, task.id, with_examples=True)
        stamped = {**answers, "completed_at": "2026-01-01T00:00:00+00:00", "completed_by": "bench"}
        with transaction(rt.sessions) as session:
            case = session.get(Case, case_id)
            assert case is not None
            stored = case.workflow_json
            # Bare SpiffWorkflow saves a workflow its own way, with the whole process embedded; we store
            # the state only (rapidreview/engine/storage.py). Each side works on its own form of the same case.
            serialized = str(SERIALIZER.serialize_json(rt.restore(case)._wf))
        b = [timed(partial(bare_step, serialized, task.engine_task_id, task.element_id, stamped, engine))
             for _ in range(3)]
        o = timed(partial(cases.complete_task, rt, task.id, answers, actor="bench"))
        if n >= 2:
            bare.extend(b)
            ours.append(o)
    return {
        "engine_overhead_ratio": round(median(ours) / median(bare), 2),
        "engine_ours_ms": round(median(ours) * 1000, 1),
        "engine_bare_ms": round(median(bare) * 1000, 1),
        "workflow_json_bytes_fresh_case": float(len(stored)),
        "workflow_json_bytes_fresh_case_spiff": float(len(serialized)),
    }
