"""The service operators BPMN service tasks call: e-mail, meeting invitations, documents.

They run inside the case's step transaction and only write rows (outbox messages, documents): nothing
leaves the building until the outbox delivers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.engine.scripting import ServiceCall
from app.mail.templates import render_email
from app.services import documents, outbox
from app.services.roles import PARTNER_ROLES
from app.services.runtime import Runtime
from app.store.models import Case, HumanTask

OPERATORS = {
    "send_email": {"required": ("template", "to"), "optional": ("cc", "attachments", "purpose")},
    "invite_to_meeting": {"required": ("to",), "optional": ()},
    "create_document": {"required": ("kind",), "optional": ()},
}
ROLE_RECIPIENTS = ("partnership_manager", "la_lead", "police_lead", "icb_lead")


class OperatorError(ValueError):
    pass


class CaseOperators:
    def __init__(self, rt: Runtime, session: Session, case: Case) -> None:
        self.rt, self.session, self.case = rt, session, case

    def call(self, call: ServiceCall) -> dict[str, Any]:
        spec = OPERATORS.get(call.operation)
        if spec is None:
            raise OperatorError(f"{call.element_id}: unknown service operator {call.operation!r}")
        missing = [p for p in spec["required"] if p not in call.params]
        unknown = [p for p in call.params if p not in spec["required"] + spec["optional"]]
        if missing or unknown:
            raise OperatorError(f"{call.element_id}: operator {call.operation} "
                                + (f"needs {', '.join(missing)}" if missing else f"does not take {', '.join(unknown)}"))
        method = getattr(self, call.operation)
        return dict(method(call, **call.params))

    # -- operators ---------------------------------------------------------------------------------
    def send_email(self, call: ServiceCall, template: str, to: Iterable[str], cc: Iterable[str] = (),
                   attachments: Iterable[str] = (), purpose: str = "notification") -> dict[str, Any]:
        recipients = self.recipients(to, call.data)
        copies = [a for a in self.recipients(cc, call.data) if a not in recipients]
        doc_ids = []
        for kind in attachments:
            doc = documents.latest_document(self.session, self.case.id, kind)
            if doc is None:
                raise OperatorError(f"{call.element_id}: no {kind} document exists yet to attach")
            doc_ids.append(doc.id)
        subject, body = render_email(self.rt.settings.templates_dir, template, self.email_context(call.data))
        message = outbox.queue(self.session, self.rt, case_id=self.case.id, template=template, to=recipients,
                               cc=copies, subject=subject, body=body, attachments=doc_ids, purpose=purpose)
        return {"outbox_message_id": message.id, "queued_at": clock.now().isoformat()}

    def invite_to_meeting(self, call: ServiceCall, to: Iterable[str]) -> dict[str, Any]:
        meeting = call.data.get("schedule_rapid_review_meeting") or {}
        starts = call.data.get("meeting_starts_at")
        if not starts:
            raise OperatorError(f"{call.element_id}: meeting_starts_at is not set, so there is no meeting to invite to")
        start = datetime.fromisoformat(starts)
        end = start + timedelta(minutes=int(meeting.get("duration_minutes", 120)))
        recipients = self.recipients(to, call.data)
        subject, body = render_email(self.rt.settings.templates_dir, "meeting_invitation", self.email_context(call.data))
        sequence = int((call.data.get("meeting_invitation") or {}).get("sequence", -1)) + 1
        uid = f"rapid-review-meeting-{self.case.reference}@{self.rt.settings.mail_from.split('@')[-1]}"
        message = outbox.queue(
            self.session, self.rt, case_id=self.case.id, template="meeting_invitation", to=recipients, subject=subject,
            body=body, purpose="meeting_invitation",
            calendar={"uid": uid, "sequence": sequence, "summary": subject, "description": body,
                      "location": meeting.get("location", ""), "starts_at": start.isoformat(), "ends_at": end.isoformat()},
        )
        return {"outbox_message_id": message.id, "uid": uid, "sequence": sequence}

    def create_document(self, call: ServiceCall, kind: str) -> dict[str, Any]:
        stored = documents.create_report(self.session, self.rt, self.case, kind, call.data)
        return {"documents": [{"id": d.id, "kind": d.kind, "version": d.version, "sha256": d.sha256} for d in stored]}

    # -- helpers -------------------------------------------------------------------------------------
    def recipients(self, names: Iterable[str], data: Mapping[str, Any]) -> list[str]:
        if isinstance(names, str):
            names = [names]
        out: list[str] = []
        for name in names:
            for address in self._resolve(str(name), data):
                if address and address not in out:
                    out.append(address)
        return out

    def _resolve(self, name: str, data: Mapping[str, Any]) -> list[str]:
        settings = self.rt.settings
        if "@" in name:
            return [name]
        if name == "chair":
            chosen = self._answers("commission_rapid_review", data).get("chair_email")
            return [chosen or settings.role_mailboxes["independent_chair"]]
        if name in ROLE_RECIPIENTS:
            return [settings.role_mailboxes[name]]
        if name == "statutory_partners":
            return [settings.role_mailboxes[role] for role in PARTNER_ROLES.values()]
        if name == "national_panel":
            return [settings.national_panel_address]
        if name == "meeting_attendees":
            attendees = self._answers("schedule_rapid_review_meeting", data).get("attendees", [])
            return [a["email"] for a in attendees if a.get("email")]
        if name == "agency_contacts":
            return [a["contact_email"] for a in (data.get("agencies") or {}).values() if a.get("contact_email")]
        raise OperatorError(f"unknown recipient {name!r}: use an e-mail address or one of chair, "
                            f"{', '.join(ROLE_RECIPIENTS)}, statutory_partners, national_panel, meeting_attendees, agency_contacts")

    def _answers(self, element_id: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """A task's answers from the data, else from its latest completion on record.

        A boundary timer's branch sees the data as it was when its activity started (before, say, the
        chair was appointed), so alerts look the answers up rather than trust stale data.
        """
        if isinstance(data.get(element_id), dict):
            return dict(data[element_id])
        row = self.session.scalars(
            select(HumanTask.answers).where(HumanTask.case_id == self.case.id, HumanTask.element_id == element_id,
                                            HumanTask.state == "completed").order_by(HumanTask.id.desc()).limit(1)
        ).first()
        return dict(row or {})

    def email_context(self, data: Mapping[str, Any]) -> dict[str, Any]:
        from app.documents.report_context import display_date, display_datetime

        today = self.rt.calendar.case_day(self.case.day_one, clock.now())
        agency = data.get("agency") if isinstance(data.get("agency"), dict) else {}
        meeting = data.get("schedule_rapid_review_meeting") or {}
        commission = self._answers("commission_rapid_review", data)
        return {
            "case": {"reference": self.case.reference, "day_one": display_date(self.case.day_one),
                     "deadline": display_date(self.case.deadline), "day": today,
                     # e.g. case.days[7] -> "Wednesday 30 December 2026", so e-mails give real dates
                     "days": {n: self.rt.calendar.day_date(self.case.day_one, n).strftime("%A %-d %B %Y")
                              for n in range(1, 16)}},
            "agency": agency,
            "meeting": {"starts_at": display_datetime(data.get("meeting_starts_at")), "location": meeting.get("location", "")},
            "link": f"{self.rt.settings.base_url.rstrip('/')}/cases/{self.case.reference}",
            "partnership_name": self.rt.settings.partnership_name,
            "chair_name": commission.get("chair_name", "the Independent Chair"),
        }
