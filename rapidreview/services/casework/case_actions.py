"""Case actions: what a person may do to a case while it waits for it (move or cancel the meeting), each a
message event in the BPMN with a form and the role that sends it (``sentBy``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapidreview.errors import NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.forms import form_schema, form_uischema
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn
from rapidreview.services.reading.case_views import own_case
from rapidreview.store.db import transaction


@dataclass(frozen=True)
class ActionLink:
    element_id: str
    name: str


@dataclass(frozen=True)
class ActionForm:
    case_reference: str
    element_id: str
    name: str
    schema: Any
    registry: Any
    uischema: dict[str, Any] | None


def available(rt: Runtime, user: SignedIn, reference: str) -> list[ActionLink]:
    """The actions ``user`` may take on the case now (none for a case they may not see)."""
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None:
            return []
        facts = policy.case_facts(session, user, case)
        links = []
        for a in cases.waiting_actions(rt, case):
            if policy.may_send_action(user, case, facts, a.sent_by):
                # The form's title says what the action does ("Move or cancel the Rapid Review Meeting").
                schema = form_schema(session, case.process_version_id, a.form)[0] if a.form else {}
                links.append(ActionLink(a.element_id, str(schema.get("title") or a.name)))
        return links


def action_form(rt: Runtime, user: SignedIn, reference: str, element_id: str) -> ActionForm | None:
    """The form of action ``element_id``; None when the case does not wait for it or it is not the user's."""
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None:
            return None
        facts = policy.case_facts(session, user, case)
        action = next((a for a in cases.waiting_actions(rt, case) if a.element_id == element_id), None)
        if action is None or action.form is None or not policy.may_send_action(user, case, facts, action.sent_by):
            return None
        schema, registry = form_schema(session, case.process_version_id, action.form)
        return ActionForm(case.reference, element_id, action.name, schema, registry,
                          form_uischema(session, case.process_version_id, action.form))


def send(rt: Runtime, user: SignedIn, reference: str, element_id: str, answers: Mapping[str, Any]) -> None:
    """Take the action. NotFound: not the user's to take; FormAnswersError: answers to correct;
    TaskUnavailable: the case stopped waiting for it meanwhile."""
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None:
            raise NotFound(reference)
        facts = policy.case_facts(session, user, case)
        action = next((a for a in cases.waiting_actions(rt, case) if a.element_id == element_id), None)
        if action is None:
            raise cases.TaskUnavailable("The case is no longer waiting for this: see the case page")
        if not policy.may_send_action(user, case, facts, action.sent_by):
            raise NotFound(reference)
        case_id = case.id
    cases.send_case_action(rt, case_id, element_id, answers, actor=user.email)
