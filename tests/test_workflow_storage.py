"""A case's workflow is stored without its process definition, which comes from the case's version."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.engine.process import CompiledProcess
from rapidreview.engine.runtime import EngineError
from rapidreview.engine.service_tasks import SERIALIZER_CONFIG
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.store.db import transaction
from rapidreview.store.models import Case
from tests.test_cases import NOTIFIED, notification, ready

FULL = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG))  # SpiffWorkflow's own form


@pytest.fixture
def started_case(runtime: Runtime) -> Iterator[int]:
    with clock.using(clock.VirtualClock(NOTIFIED)):
        deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
        yield cases.start_case(runtime, notification(), actor="test")


def stored(rt: Runtime, case_id: int) -> str:
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.workflow_json


def test_the_stored_workflow_holds_its_state_not_the_process(runtime: Runtime, started_case: int) -> None:
    saved = json.loads(stored(runtime, started_case))
    assert "spec" not in saved and "subprocess_specs" not in saved
    assert saved["rapidreview_process"] == "rapid_review"
    with transaction(runtime.sessions) as session:
        case = session.get(Case, started_case)
        assert case is not None
        full = FULL.serialize_json(runtime.restore(case)._wf)
    # The process is most of SpiffWorkflow's own serialization: ours is a fraction of it.
    assert len(case.workflow_json) * 3 < len(full)


def test_a_workflow_saved_with_its_spec_embedded_still_restores_and_steps(runtime: Runtime, started_case: int) -> None:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, started_case)
        assert case is not None
        case.workflow_json = FULL.serialize_json(runtime.restore(case)._wf)  # as rows were stored before
    task = ready(runtime, started_case)[0]
    cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor="t")
    assert "spec" not in json.loads(stored(runtime, started_case))
    assert len(ready(runtime, started_case)) == 2  # the two other partners' views are still to come


def test_restoring_without_the_right_process_is_a_clear_error(runtime: Runtime, started_case: int) -> None:
    saved = stored(runtime, started_case)
    with pytest.raises(EngineError, match="stored without its process definition"):
        runtime.engine.restore(saved)
    other = cases.start_case(runtime, notification("RR-T-2"), actor="t")
    with transaction(runtime.sessions) as session:
        case = session.get(Case, other)
        assert case is not None
        process = runtime.process_of(case.process_version_id, session)
    another = CompiledProcess("information_sharing", process.spec, process.subprocess_specs)
    with pytest.raises(EngineError, match="runs process 'rapid_review', not 'information_sharing'"):
        runtime.engine.restore(saved, another)


def test_another_process_restoring_onto_its_own_parsed_specs_finishes_a_multi_instance_task(
        runtime: Runtime, settings: Settings, database: tuple[str, str | None], started_case: int) -> None:
    # The partners' views were created by this runtime; a fresh one (a restarted worker, the scheduler)
    # parses the process itself and must still see the three views complete the multi-instance task.
    fresh = build_runtime(settings, schema=database[1])
    try:
        with clock.using(clock.VirtualClock(NOTIFIED)):
            for task in ready(fresh, started_case):
                cases.complete_task(fresh, task.id, starting_answers(fresh, task.id, with_examples=True), actor="t")
            assert [t.element_id for t in ready(fresh, started_case)] == ["commission_rapid_review"]
    finally:
        fresh.close()
