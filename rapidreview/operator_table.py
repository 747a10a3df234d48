"""The service operators a BPMN service task may call, with their parameters and the name process owners see.

A leaf module: the engine's host (``services/casework/operators.py``) runs them, validation checks a process
against them, and the browser editor offers them, all from this one table. Adding an operator means a row
here and its implementation in ``CaseOperators``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    label: str  # what the process editor shows
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.required + self.optional

    def problems(self, given: set[str] | list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
        """(required parameters missing, parameters it does not take) for the parameters ``given``."""
        return [p for p in self.required if p not in given], [p for p in given if p not in self.parameters]


OPERATORS: dict[str, Operator] = {
    "send_email": Operator("Send an e-mail (send_email)", ("template", "to"),
                           ("cc", "attachments", "purpose", "reply_to")),
    "invite_to_meeting": Operator("Invite to the meeting (invite_to_meeting)", ("to",), ("cancel",)),
    "create_document": Operator("Create a document (create_document)", ("kind",)),
}
