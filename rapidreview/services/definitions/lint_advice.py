"""bpmnlint's findings in a process owner's words: what is wrong with the step and how to fix it.

bpmnlint reports for modellers ("Element is an implicit end"); someone who owns the Rapid Review and
changes a deadline needs to hear what that means on the diagram and what to do in the modeler.
"""

from __future__ import annotations

ADVICE: dict[str, str] = {
    "no-implicit-end": "this step has no way out: connect it to the next step or to an end event",
    "no-implicit-start": "nothing leads to this step: connect an arrow to it from the step before, or from a start event",
    "no-disconnected": "this element is not connected to anything: connect it with arrows, or delete it",
    "label-required": "this element has no name: give it a name people will understand (e.g. 'Criteria agreed?')",
    "end-event-required": "the process (or sub-process) has no end event: add one where the work finishes",
    "start-event-required": "the process (or sub-process) has no start event: add one where the work begins",
    "conditional-flows": "an arrow out of this step has no condition: give every outgoing arrow a condition, "
    "or mark one of them as the default",
    "no-implicit-split": "more than one arrow leaves this step without a gateway: add a gateway to say "
    "whether all the paths are taken or only one",
    "no-gateway-join-fork": "this gateway both joins and splits paths: use two gateways, one to join and one to split",
    "no-duplicate-sequence-flows": "two arrows connect the same two steps: delete one of them",
    "single-blank-start-event": "there is more than one plain start event: keep one",
    "sub-process-blank-start-event": "the sub-process's start event must be a plain one (no timer or message)",
    "single-event-definition": "this event has more than one trigger: keep one (a timer or a message, not both)",
    "no-complex-gateway": "complex gateways are not supported: use an exclusive or a parallel gateway",
    "no-bpmndi": "this element is not drawn on the diagram: open the file in the modeler, place it and save",
    "event-based-gateway": "an event-based gateway must lead only to events (a timer or a message)",
    "event-sub-process-typed-start-event": "an event sub-process must start with a timer or a message event",
    "link-event": "each link event must have a matching link with the same name",
    "ad-hoc-sub-process": "an ad-hoc sub-process must contain tasks only",
}


def advice_for(rule: str, message: str) -> str:
    """The owner's words for a rule, with bpmnlint's own text kept at the end for reference."""
    words = ADVICE.get(rule)
    return f"{words} (bpmnlint: {message})" if words else f"{message} (bpmnlint rule {rule})"
