"""The service operators BPMN service tasks call: e-mail, meeting invitations, documents.

They run inside the case's step transaction and only write rows (outbox messages, documents): nothing
leaves the building until the outbox delivers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.engine.scripting import Awaiting, ServiceCall
from rapidreview.errors import Invalid
from rapidreview.mail.invitation import CANCEL_ATTENDEES, CANCEL_MEETING
from rapidreview.mail.templates import render_email_parts
from rapidreview.operator_table import OPERATORS
from rapidreview.process_contract import (
    AGENCIES,
    COMMISSION_TASK,
    MEETING_STARTS_AT,
    MEETING_TASK,
    SUBMISSION_TASK,
)
from rapidreview.runtime import Runtime
from rapidreview.services.casework import documents
from rapidreview.services.casework.case_mail import queue_case_email
from rapidreview.services.definitions import version_templates
from rapidreview.services.people import partnerships
from rapidreview.services.people.roles import PARTNER_NAMES, PARTNER_ROLES
from rapidreview.services.platform import outbox
from rapidreview.services.reading.moments import describe_moments
from rapidreview.store.models import Case, HumanTask, OutboxMessage

ROLE_RECIPIENTS = ("partnership_manager", "la_lead", "police_lead", "icb_lead")
# Every name a recipient list may use besides an e-mail address (the process editor offers them).
NAMED_RECIPIENTS = ("chair", *ROLE_RECIPIENTS, "partner_lead", "statutory_partners", "national_panel",
                    "meeting_attendees", "agency_contacts")
MEETING_PURPOSE = "meeting_invitation"  # invitations, updates and cancellations of the Rapid Review Meeting


class OperatorError(Invalid):
    pass


class CaseOperators:
    def __init__(self, rt: Runtime, session: Session, case: Case) -> None:
        self.rt, self.session, self.case = rt, session, case
        self._partnership_settings: Settings | None = None
        self._templates_dir: Path | None = None

    @property
    def settings(self) -> Settings:
        """The settings as the case's partnership sees them: its name and where its mail goes."""
        if self._partnership_settings is None:
            self._partnership_settings = partnerships.settings_for(self.rt, self.session, self.case.partnership_id)
        return self._partnership_settings

    @property
    def templates_dir(self) -> Path:
        """The templates of the version the case started on: a running case keeps its version's wording."""
        if self._templates_dir is None:
            self._templates_dir = version_templates.folder_for_case(self.rt, self.session, self.case)
        return self._templates_dir

    def call(self, call: ServiceCall) -> dict[str, Any] | Awaiting:
        spec = OPERATORS.get(call.operation)
        if spec is None:
            raise OperatorError(f"{call.element_id}: unknown service operator {call.operation!r}")
        missing, unknown = spec.problems(list(call.params))
        if missing or unknown:
            raise OperatorError(f"{call.element_id}: operator {call.operation} "
                                + (f"needs {', '.join(missing)}" if missing else f"does not take {', '.join(unknown)}"))
        method = getattr(self, call.operation)
        result = method(call, **call.params)
        return result if isinstance(result, Awaiting) else dict(result)

    def outcome(self, key: str) -> dict[str, Any] | None:
        return outbox.delivery_outcome(self.session, key)

    # -- operators ---------------------------------------------------------------------------------
    def send_email(self, call: ServiceCall, template: str, to: Iterable[str], cc: Iterable[str] = (),
                   attachments: Iterable[str] = (), purpose: str = "notification",
                   reply_to: Iterable[str] = ()) -> dict[str, Any] | Awaiting:
        recipients = self.recipients(to, call.data)
        copies = [a for a in self.recipients(cc, call.data) if a not in recipients]
        doc_ids = []
        for kind in attachments:
            doc = documents.latest_document(self.session, self.case.id, kind)
            if doc is None:
                raise OperatorError(f"{call.element_id}: no {kind} document exists yet to attach")
            doc_ids.append(doc.id)
        message = queue_case_email(self.rt, self.session, self.case, template,
                                   self.email_context(call.data, call.times), to=recipients, cc=copies,
                                   attachments=doc_ids, purpose=purpose,
                                   reply_to=self.recipients(reply_to, call.data) if reply_to else (),
                                   templates_dir=self.templates_dir)
        queued = {"outbox_message_id": message.id, "queued_at": clock.now().isoformat()}
        if purpose == outbox.NATIONAL_PANEL_SUBMISSION:
            return outbox.await_delivery(message, queued)  # the submission is done when the Panel's server has it
        return queued

    def invite_to_meeting(self, call: ServiceCall, to: Iterable[str], cancel: bool = False) -> dict[str, Any]:
        """Invite ``to`` to the Rapid Review Meeting. Called again, it moves the same meeting (same UID, next
        SEQUENCE; anyone no longer invited is sent a cancellation); with ``cancel``, it cancels the meeting for
        everyone who was invited (``to`` is then not used)."""
        from rapidreview.documents.report_context import display_datetime

        series = self._meeting_series()
        current = next((c for c in reversed(series) if c.get("cancel") != CANCEL_ATTENDEES), None)
        live = current if current is not None and current.get("cancel") is None else None
        context = self.email_context(call.data, call.times)
        context["meeting"] = {**context["meeting"], "previous_starts_at": "", "for_everyone": True,
                              "reason": (call.data.get("meeting_change") or {}).get("reason", "")}
        if bool(cancel):
            if live is None:
                raise OperatorError(f"{call.element_id}: there is no meeting to cancel")
            context["meeting"].update(starts_at=display_datetime(live["starts_at"]), location=live.get("location", ""))
            sequence = self._next_sequence(series, live["uid"])
            message = self._queue_meeting("meeting_cancellation", live["attendees"], context,
                                          {**live, "sequence": sequence, "cancel": CANCEL_MEETING})
            return {"outbox_message_id": message.id, "uid": live["uid"], "sequence": sequence, "cancelled": True}

        meeting = call.data.get(MEETING_TASK) or {}
        starts = call.data.get(MEETING_STARTS_AT)
        if not starts:
            raise OperatorError(f"{call.element_id}: meeting_starts_at is not set, so there is no meeting to invite to")
        start = datetime.fromisoformat(starts)
        end = start + timedelta(minutes=int(meeting.get("duration_minutes", 120)))
        recipients = self.recipients(to, call.data)
        details = {"location": meeting.get("location", ""), "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                   "attendees": recipients}
        if live is not None and all(live.get(k) == v for k, v in details.items()):
            return {"outbox_message_id": None, "uid": live["uid"], "sequence": live["sequence"], "unchanged": True}
        if live is None:  # a first meeting, or a new one after a cancellation: a new UID
            earlier = len({c["uid"] for c in series})
            domain = self.rt.settings.mail_from.split("@")[-1]
            uid = f"rapid-review-meeting-{self.case.reference}{f'-{earlier + 1}' if earlier else ''}@{domain}"
            sequence, template, summary, dropped = 0, "meeting_invitation", "", []
        else:
            uid, template, summary = live["uid"], "meeting_update", live["summary"]
            sequence = self._next_sequence(series, uid)
            dropped = [a for a in live["attendees"] if a not in recipients]
            context["meeting"]["previous_starts_at"] = display_datetime(live["starts_at"])
        calendar = {"uid": uid, "sequence": sequence, "summary": summary, **details}
        message = self._queue_meeting(template, recipients, context, calendar)
        result: dict[str, Any] = {"outbox_message_id": message.id, "uid": uid, "sequence": sequence}
        if dropped:  # they were invited to the meeting as it was: tell them about that one
            context["meeting"].update(for_everyone=False, starts_at=context["meeting"]["previous_starts_at"])
            withdrawn = self._queue_meeting("meeting_cancellation", dropped, context, {
                **calendar, "summary": (message.calendar or {})["summary"],
                "sequence": sequence + 1, "cancel": CANCEL_ATTENDEES, "attendees": dropped})
            result["withdrawn"] = {"outbox_message_id": withdrawn.id, "attendees": dropped}
        return result

    def _meeting_series(self) -> list[dict[str, Any]]:
        """The calendar details of every meeting mail queued for this case, oldest first."""
        rows = self.session.execute(select(OutboxMessage.calendar, OutboxMessage.to).where(
            OutboxMessage.case_id == self.case.id, OutboxMessage.purpose == MEETING_PURPOSE).order_by(OutboxMessage.id))
        # Invitations queued before attendees were kept in the calendar details went to their recipients.
        return [{"attendees": list(to), **calendar} for calendar, to in rows if calendar]

    @staticmethod
    def _next_sequence(series: list[dict[str, Any]], uid: str) -> int:
        return max(int(c.get("sequence", 0)) for c in series if c["uid"] == uid) + 1

    def _queue_meeting(self, template: str, to: list[str], context: dict[str, Any],
                       calendar: dict[str, Any]) -> OutboxMessage:
        mail = render_email_parts(self.templates_dir, template, context)
        # The calendar entry keeps the first invitation's title; only the e-mail subject says what changed.
        calendar = {**calendar, "summary": calendar.get("summary") or mail.subject, "description": mail.text}
        return outbox.queue(self.session, self.rt, case_id=self.case.id, template=template, to=to, subject=mail.subject,
                            body=mail.text, body_html=mail.html, purpose=MEETING_PURPOSE, calendar=calendar)

    def create_document(self, call: ServiceCall, kind: str) -> dict[str, Any]:
        stored = documents.create_report(self.session, self.rt, self.case, kind, call.data)
        # "missing": the mandatory items the report lacks; a gateway sends an incomplete final report back
        return {"documents": [{"id": d.id, "kind": d.kind, "version": d.version, "sha256": d.sha256} for d in stored],
                "missing": documents.missing_from(stored[0])}

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
        settings = self.settings
        if "@" in name:
            return [name]
        if name == "chair":
            chosen = self._answers(COMMISSION_TASK, data).get("chair_email")
            return [chosen or settings.role_mailboxes["independent_chair"]]
        if name in ROLE_RECIPIENTS:
            return [settings.role_mailboxes[name]]
        if name == "partner_lead":  # the lead of the task's own partner (a sign-off's, say)
            role = PARTNER_ROLES.get(str(data.get("partner") or data.get("signing_partner") or ""))
            if role is None:
                raise OperatorError("partner_lead needs the task's partner (LA, MPS or ICB) in its data")
            return [settings.role_mailboxes[role]]
        if name == "statutory_partners":
            return [settings.role_mailboxes[role] for role in PARTNER_ROLES.values()]
        if name == "national_panel":
            return [settings.national_panel_address]
        if name == "meeting_attendees":
            attendees = self._answers(MEETING_TASK, data).get("attendees", [])
            return [a["email"] for a in attendees if a.get("email")]
        if name == "agency_contacts":
            return [a["contact_email"] for a in (data.get(AGENCIES) or {}).values() if a.get("contact_email")]
        raise OperatorError(f"unknown recipient {name!r}: use an e-mail address or one of "
                            f"{', '.join(NAMED_RECIPIENTS)}")

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

    def moments(self, times: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """Each element's due or firing time as an e-mail says it (rapidreview.services.reading.moments)."""
        return describe_moments(self.rt.calendar, self.case.day_one, times)

    def email_context(self, data: Mapping[str, Any], times: Mapping[str, str] | None = None) -> dict[str, Any]:
        from rapidreview.documents.report_context import display_date, display_datetime

        today = self.rt.calendar.case_day(self.case.day_one, clock.now())
        agency = data.get("agency") if isinstance(data.get("agency"), dict) else {}
        meeting = data.get(MEETING_TASK) or {}
        commission = self._answers(COMMISSION_TASK, data)
        return {
            "case": {"reference": self.case.reference, "day_one": display_date(self.case.day_one),
                     "deadline": display_date(self.case.deadline), "day": today,
                     # e.g. case.days[7] -> "Wednesday 30 December 2026", so e-mails give real dates
                     "days": {n: self.rt.calendar.day_date(self.case.day_one, n).strftime("%A %-d %B %Y")
                              for n in range(1, 16)}},
            "agency": agency,
            "meeting": {"starts_at": display_datetime(data.get(MEETING_STARTS_AT)), "location": meeting.get("location", "")},
            "link": f"{self.rt.settings.base_url.rstrip('/')}/cases/{self.case.reference}",
            "partnership_name": self.settings.partnership_name,
            "chair_name": commission.get("chair_name", "the Independent Chair"),
            "due": self.moments(times or {}),
            "partner_name": PARTNER_NAMES.get(str(data.get("partner") or ""), ""),
            "national_panel_address": self.settings.national_panel_address,
            "submission": self._answers(SUBMISSION_TASK, data),
        }
