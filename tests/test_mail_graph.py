"""The graph transport: the real msal and requests, talking HTTPS to a fake Microsoft Entra ID and Graph that
refuses what Graph refuses (tests/test_mail_graph_support.py). The tests read the requests it received."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, GraphSettings
from rapidreview.mail.graph import CHUNK, GraphTransport, clear_token_cache
from rapidreview.mail.meetings import MemoryMeetingItems
from rapidreview.mail.message import Attachment
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from rapidreview.runtime import Runtime
from rapidreview.services.platform import outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, Document, OutboxMessage, ProcessVersion
from tests.test_mail_graph_support import MAILBOX, REQUEST_LIMIT, USER, FakeMicrosoft, serve_microsoft
from tests.test_mail_support import (
    PANEL,
    PDF,
    START,
    TlsFiles,
    invitation,
    make_certificate,
    meeting_mail,
    outgoing,
)

SENT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
IMMUTABLE = 'IdType="ImmutableId"'


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture(scope="module")
def server(tls: TlsFiles) -> Iterator[FakeMicrosoft]:
    with serve_microsoft(tls) as fake:
        yield fake


@pytest.fixture
def microsoft(server: FakeMicrosoft) -> FakeMicrosoft:
    server.reset()
    clear_token_cache()
    return server


def transport(fake: FakeMicrosoft, tls: TlsFiles, meetings: MemoryMeetingItems | None = None,
              **changes: Any) -> GraphTransport:
    settings = GraphSettings(tenant_id="contoso-tenant", client_id="app-id-1", client_secret="shh",
                             authority_host=fake.base, endpoint=f"{fake.base}/v1.0", ca_file=tls.certificate,
                             timeout_s=10)
    return GraphTransport(replace(settings, **changes), mailbox=MAILBOX, meetings=meetings or MemoryMeetingItems())


def pdf(size: int, name: str = "Rapid Review Report RR-2026-014.pdf") -> Attachment:
    return Attachment(name, "application/pdf", (bytes(range(256)) * (size // 256 + 1))[:size])


@dataclass
class KeptProgress:
    """What the outbox keeps between attempts (services/platform/outbox.py), in memory."""

    draft_id: str | None = None
    handovers: int = 0
    kept: list[str | None] = field(default_factory=list)

    def keep_draft(self, draft_id: str | None) -> None:
        self.draft_id = draft_id
        self.kept.append(draft_id)

    def handing_over(self) -> None:
        self.handovers += 1


def received_attachments(fake: FakeMicrosoft) -> dict[str, bytes]:
    [sent] = fake.messages("sentitems")
    return {a["name"]: base64.b64decode(a["contentBytes"]) for a in sent.attachments}


# -- sending mail ------------------------------------------------------------------------------------------

def test_the_national_panel_email_is_one_sendmail_with_a_client_credentials_token(microsoft: FakeMicrosoft,
                                                                                  tls: TlsFiles) -> None:
    mail = outgoing()
    assert transport(microsoft, tls).send(mail, SENT_AT) == mail.message_id
    token = next(c for c in microsoft.calls if c.path.endswith("/oauth2/v2.0/token"))
    form = parse_qs(token.body.decode())
    assert form["grant_type"] == ["client_credentials"] and form["client_id"] == ["app-id-1"]
    assert form["scope"] == [f"{microsoft.base}/.default"]
    assert token.path == "/contoso-tenant/oauth2/v2.0/token"
    [send] = microsoft.of("POST", f"{USER}/sendMail")
    assert send.headers["Authorization"].startswith("Bearer ey")
    body = send.json()
    assert body["saveToSentItems"] is True
    message = body["message"]
    assert message["toRecipients"] == [{"emailAddress": {"address": PANEL}}]
    assert message["ccRecipients"] == [{"emailAddress": {"address": "chair@partnership.example"}}]
    assert message["internetMessageId"] == mail.message_id and message["subject"] == mail.subject
    assert message["body"] == {"contentType": "HTML", "content": mail.html}
    [attached] = message["attachments"]
    assert attached["@odata.type"] == "#microsoft.graph.fileAttachment" and attached["contentType"] == "application/pdf"
    assert attached["name"] == "Rapid Review Report RR-2026-014.pdf" and base64.b64decode(attached["contentBytes"]) == PDF
    assert microsoft.graph_calls() == ["POST /sendMail"]


def test_a_second_message_reuses_the_cached_token(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    transport(microsoft, tls).send(outgoing(), SENT_AT)
    transport(microsoft, tls).send(outgoing(message_id="<two@x>"), SENT_AT)
    assert sum(c.path.endswith("/token") for c in microsoft.calls) == 1


def test_a_message_over_the_request_limit_is_a_draft_with_an_upload_session_then_sent(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    big = pdf(3_600_000)
    mail = outgoing(attachments=[big, Attachment("agenda.pdf", "application/pdf", PDF)])
    transport(microsoft, tls).send(mail, SENT_AT)
    assert microsoft.graph_calls() == ["POST /messages", "POST /messages/{id}/attachments/createUploadSession",
                                       "POST /messages/{id}/attachments", "POST /messages/{id}/send"]
    [draft] = microsoft.of("POST", f"{USER}/messages")
    assert draft.json()["internetMessageId"] == mail.message_id and "attachments" not in draft.json()
    assert draft.headers["Prefer"] == IMMUTABLE
    [session] = [c for c in microsoft.calls if c.path.endswith("/createUploadSession")]
    assert session.json()["AttachmentItem"] == {"attachmentType": "file", "name": big.filename,
                                                "size": len(big.content), "contentType": "application/pdf"}
    chunks = [c for c in microsoft.calls if c.method == "PUT"]
    assert [c.headers["Content-Range"] for c in chunks] == [
        f"bytes 0-{CHUNK - 1}/{len(big.content)}", f"bytes {CHUNK}-{len(big.content) - 1}/{len(big.content)}"]
    assert all("Authorization" not in c.headers for c in chunks)  # the upload URL carries its own token
    assert received_attachments(microsoft) == {big.filename: big.content, "agenda.pdf": PDF}
    assert microsoft.messages("drafts") == []


def test_a_file_just_under_3_mib_whose_base64_is_over_4_mb_is_not_sent_in_one_sendmail(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    near = pdf(3_145_727)  # base64 makes it 4,194,304 bytes: with the JSON around it, over Graph's 4 MB
    transport(microsoft, tls).send(outgoing(attachments=[near]), SENT_AT)
    assert microsoft.of("POST", f"{USER}/sendMail") == []
    assert max(c.size for c in microsoft.calls) <= REQUEST_LIMIT
    assert received_attachments(microsoft) == {near.filename: near.content}

    microsoft.reset()  # while attachments that fit one request, with room to spare, still go in one sendMail
    files = [pdf(1_000_000, f"part {n}.pdf") for n in range(3)]  # 3 MB raw, 4 MB as base64
    transport(microsoft, tls).send(outgoing(attachments=files), SENT_AT)
    assert microsoft.graph_calls() == ["POST /sendMail"]
    assert REQUEST_LIMIT - 200_000 < microsoft.calls[-1].size <= REQUEST_LIMIT


def test_each_attachment_is_posted_or_uploaded_by_the_size_of_its_own_request(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    near, small = pdf(3_145_727, "report.pdf"), pdf(900_000, "appendix.pdf")
    transport(microsoft, tls).send(outgoing(attachments=[near, small]), SENT_AT)
    assert microsoft.graph_calls() == ["POST /messages", "POST /messages/{id}/attachments/createUploadSession",
                                       "POST /messages/{id}/attachments", "POST /messages/{id}/send"]
    assert max(c.size for c in microsoft.calls) <= REQUEST_LIMIT
    assert received_attachments(microsoft) == {"report.pdf": near.content, "appendix.pdf": small.content}


def test_find_sent_filters_sent_items_by_internet_message_id(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    graph = transport(microsoft, tls)
    graph.send(outgoing(message_id="<sent@x>"), SENT_AT)
    [sent] = microsoft.messages("sentitems")
    assert graph.find_sent("<sent@x>") == sent.immutable_id
    assert graph.find_sent("<never@x>") is None
    call = microsoft.of("GET", f"{USER}/mailFolders/sentitems/messages")[0]
    assert call.query["$filter"] == ["internetMessageId eq '<sent@x>'"] and call.query["$select"] == ["id"]


# -- permissions -------------------------------------------------------------------------------------------

def test_a_large_report_needs_mail_readwrite_and_the_error_names_exactly_that(microsoft: FakeMicrosoft,
                                                                              tls: TlsFiles) -> None:
    microsoft.roles = ["Mail.Send", "Calendars.ReadWrite", "Mail.ReadBasic"]  # what the set-up used to grant
    with pytest.raises(PermanentMailError) as caught:
        transport(microsoft, tls).send(outgoing(attachments=[pdf(3_600_000)]), SENT_AT)
    message = str(caught.value)
    assert message.startswith(f"Microsoft Graph POST {USER}/messages answered 403 ErrorAccessDenied")
    assert f"needs the application permission Mail.ReadWrite on {MAILBOX}, which the app lacks" in message
    assert "Mail.Send" not in message  # the app has that: telling the administrator to grant it would mislead
    assert microsoft.graph_calls() == ["POST /messages"]


def test_a_missing_send_permission_is_permanent_and_names_it(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.roles = ["Mail.ReadWrite", "Calendars.ReadWrite"]
    with pytest.raises(PermanentMailError, match="403 ErrorAccessDenied.*sending mail needs the application "
                                                 "permission Mail.Send on"):
        transport(microsoft, tls).send(outgoing(), SENT_AT)


def test_a_mailbox_outside_the_application_access_policy_is_named_as_such(microsoft: FakeMicrosoft,
                                                                          tls: TlsFiles) -> None:
    microsoft.policy_mailboxes = {"someone.else@partnership.example"}
    with pytest.raises(PermanentMailError, match=f"an application access policy keeps the app out of {MAILBOX}"):
        transport(microsoft, tls).send(outgoing(), SENT_AT)


def documented_permissions() -> tuple[list[str], list[str]]:
    """The application permissions docs/mail.md tells administrators to grant: its table, and its RBAC roles."""
    text = (PROJECT_ROOT / "docs" / "mail.md").read_text()
    table = text.split("| permission (application) | why |")[1].split("\n\n")[0]
    rows = re.findall(r"^\s*\| `([A-Za-z.]+)` \|", table, re.MULTILINE)
    roles = re.findall(r'-Role "Application ([A-Za-z.]+)"', text)
    return rows, roles


def test_the_permissions_in_docs_mail_md_are_exactly_the_ones_everything_the_app_does_needs(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    table, rbac = documented_permissions()
    assert sorted(table) == sorted(rbac) == ["Calendars.ReadWrite", "Mail.ReadWrite", "Mail.Send"]

    def everything(roles: list[str]) -> list[str]:
        """Every kind of request the app makes; the errors it got."""
        microsoft.reset()
        microsoft.roles = roles
        clear_token_cache()
        graph, errors = transport(microsoft, tls), []
        moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
        for mail in (outgoing(), outgoing(message_id="<big@x>", attachments=[pdf(3_600_000)]), meeting_mail(),
                     meeting_mail(invitation=moved, message_id="<moved@x>"),
                     meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<c@x>")):
            try:
                graph.send(mail, SENT_AT)
            except PermanentMailError as exc:
                errors.append(str(exc))
        try:
            graph.find_sent("<elsewhere@x>")
        except PermanentMailError as exc:
            errors.append(str(exc))
        return errors

    assert everything(table) == []
    for missing in table:
        errors = everything([r for r in table if r != missing])
        assert errors and all(f"needs the application permission {missing} on" in e for e in errors), missing


# -- meetings ----------------------------------------------------------------------------------------------

def test_a_meeting_is_an_event_with_required_attendees_in_utc_then_moved_then_cancelled(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    meetings = MemoryMeetingItems()
    graph = transport(microsoft, tls, meetings)
    assert graph.send(meeting_mail(), SENT_AT) == "AAkALgAAevent1"
    [create] = microsoft.of("POST", f"{USER}/events")
    event = create.json()
    assert event["subject"] == "Rapid Review Meeting: RR-2026-014"
    assert event["start"] == {"dateTime": "2026-06-03T09:00:00", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2026-06-03T11:00:00", "timeZone": "UTC"}
    assert event["attendees"] == [{"emailAddress": {"address": "dsl@oak-school.example"}, "type": "required"},
                                  {"emailAddress": {"address": "lead@police.example"}, "type": "required"}]
    assert event["location"] == {"displayName": "Civic Centre, Room 2"} and event["transactionId"]

    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    assert graph.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT) == "AAkALgAAevent1"
    [patch] = microsoft.of("PATCH", f"{USER}/events/AAkALgAAevent1")
    assert patch.json()["start"] == {"dateTime": "2026-06-04T09:00:00", "timeZone": "UTC"}
    assert len(microsoft.events()) == 1  # the same event, not a second one

    graph.send(meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<c@x>"), SENT_AT)
    [cancel] = microsoft.of("POST", f"{USER}/events/AAkALgAAevent1/cancel")
    assert "comment" in cancel.json() and microsoft.events()[0].cancelled
    stored = meetings.get(moved.uid)
    assert stored is not None and stored.cancelled and graph.find_sent("<c@x>") == "AAkALgAAevent1"
    assert all(c.headers.get("Prefer") == IMMUTABLE for c in microsoft.calls if "/events" in c.path)


def test_a_meeting_someone_moved_in_outlook_is_still_updated_and_cancelled_without_a_second_invitation(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    meetings = MemoryMeetingItems()
    graph = transport(microsoft, tls, meetings)
    graph.send(meeting_mail(), SENT_AT)
    [event] = microsoft.events()
    event.move()  # dragged to another calendar in Outlook: its regular id changes
    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    graph.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT)
    event.move()
    graph.send(meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<c@x>"), SENT_AT)
    assert microsoft.graph_calls() == ["POST /events", "PATCH /events/{id}", "POST /events/{id}/cancel"]
    assert microsoft.events() == [event] and event.cancelled
    assert event.data["start"] == {"dateTime": "2026-06-04T09:00:00", "timeZone": "UTC"}


def test_a_meeting_whose_stored_id_finds_nothing_is_looked_up_by_its_icaluid_before_anyone_is_invited_again(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    meetings = MemoryMeetingItems()
    graph = transport(microsoft, tls, meetings)
    graph.send(meeting_mail(), SENT_AT)
    [event] = microsoft.events()
    stored = meetings.get(invitation().uid)
    assert stored is not None and stored.provider_uid == event.ical_uid
    meetings.put(replace(stored, item_id=event.regular_id))  # an id kept before immutable ids were asked for
    event.move()
    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    assert graph.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT) == event.immutable_id
    assert microsoft.graph_calls() == ["POST /events", "PATCH /events/{id}", "GET /events", "PATCH /events/{id}"]
    [lookup] = microsoft.of("GET", f"{USER}/events")
    assert lookup.query["$filter"] == [f"iCalUId eq '{event.ical_uid}'"] and lookup.headers["Prefer"] == IMMUTABLE
    assert microsoft.events() == [event]
    assert meetings.get(moved.uid).item_id == event.immutable_id  # type: ignore[union-attr]

    meetings.put(replace(meetings.get(moved.uid), item_id="AAMkAGI2gone"))  # type: ignore[arg-type]
    graph.send(meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<c@x>"), SENT_AT)
    assert event.cancelled and microsoft.graph_calls()[-3:] == [
        "POST /events/{id}/cancel", "GET /events", "POST /events/{id}/cancel"]


def test_a_meeting_deleted_from_the_calendar_is_looked_for_then_invited_afresh(microsoft: FakeMicrosoft,
                                                                              tls: TlsFiles) -> None:
    meetings = MemoryMeetingItems()
    graph = transport(microsoft, tls, meetings)
    graph.send(meeting_mail(), SENT_AT)
    microsoft.items.clear()  # deleted in Outlook (which sent the cancellations)
    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    assert graph.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT) == "AAkALgAAevent2"
    assert microsoft.graph_calls() == ["POST /events", "PATCH /events/{id}", "GET /events", "POST /events"]


# -- a failed send is retried with the same draft ----------------------------------------------------------

def test_when_the_final_send_fails_the_retry_sends_the_same_draft_and_leaves_none_behind(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    progress = KeptProgress()
    mail = replace(outgoing(attachments=[pdf(3_600_000)]), progress=progress)
    microsoft.fail.append(("POST", f"{USER}/messages/AAkALgAAmessage1/send", 503, {"Retry-After": "30"},
                           {"error": {"code": "ServiceUnavailable", "message": "Try again"}}))
    with pytest.raises(TemporaryMailError, match="503"):
        transport(microsoft, tls).send(mail, SENT_AT)
    [draft] = microsoft.messages("drafts")
    assert progress.draft_id == draft.immutable_id and progress.handovers == 1

    transport(microsoft, tls).send(mail, SENT_AT)
    assert microsoft.graph_calls().count("POST /messages") == 1  # no second draft
    assert microsoft.graph_calls()[-2:] == ["GET /messages/{id}", "POST /messages/{id}/send"]
    assert microsoft.messages("drafts") == [] and microsoft.messages("sentitems") == [draft]


def test_a_one_off_send_that_fails_leaves_no_draft_behind(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.roles = ["Mail.ReadWrite", "Calendars.ReadWrite"]  # no Mail.Send: the draft is built, the send refused
    with pytest.raises(PermanentMailError, match="Mail.Send"):
        transport(microsoft, tls).send(outgoing(attachments=[pdf(3_600_000)]), SENT_AT)  # as `mail test` sends
    assert microsoft.graph_calls()[-2:] == ["POST /messages/{id}/send", "DELETE /messages/{id}"]
    assert microsoft.messages("drafts") == []


def test_a_draft_left_half_built_by_an_attempt_that_died_is_deleted_and_built_again(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    progress = KeptProgress()
    mail = replace(outgoing(attachments=[pdf(3_600_000), Attachment("agenda.pdf", "application/pdf", PDF)]),
                   progress=progress)
    graph = transport(microsoft, tls)
    half = microsoft.new("message", "drafts", {"internetMessageId": mail.message_id})
    half.attachments.append({"name": "agenda.pdf"})  # the big one never finished uploading
    progress.draft_id = half.immutable_id
    graph.send(mail, SENT_AT)
    assert half not in microsoft.items and microsoft.messages("drafts") == []
    [sent] = microsoft.messages("sentitems")
    assert sorted(a["name"] for a in sent.attachments) == ["Rapid Review Report RR-2026-014.pdf", "agenda.pdf"]
    assert progress.kept == [None, sent.immutable_id]


def test_a_draft_that_went_out_before_the_attempt_died_is_not_sent_again(microsoft: FakeMicrosoft,
                                                                         tls: TlsFiles) -> None:
    progress = KeptProgress()
    mail = replace(outgoing(attachments=[pdf(3_600_000)]), progress=progress)
    transport(microsoft, tls).send(mail, SENT_AT)
    before = microsoft.graph_calls()
    transport(microsoft, tls).send(mail, SENT_AT)  # as if the outbox had not recorded the first attempt
    assert microsoft.graph_calls()[len(before):] == ["GET /messages/{id}"]
    assert len(microsoft.messages("sentitems")) == 1


def test_through_the_outbox_a_retried_send_reuses_the_draft_kept_with_the_message(
        microsoft: FakeMicrosoft, tls: TlsFiles, runtime: Runtime) -> None:
    virtual = clock.VirtualClock(SENT_AT)
    big = pdf(3_600_000)
    with clock.using(virtual):
        with transaction(runtime.sessions) as session:
            version = ProcessVersion(number=1, process_id="rapid_review", sha256="0" * 64, deployed_by="test")
            session.add(version)
            session.flush()
            case = Case(reference="RR-2026-014", process_version_id=version.id, notified_at=SENT_AT,
                        day_one=date(2026, 6, 1), deadline=date(2026, 6, 19), notification={}, workflow_json="{}")
            session.add(case)
            session.flush()
            runtime.settings.documents_dir.mkdir(parents=True, exist_ok=True)
            (runtime.settings.documents_dir / "report.pdf").write_bytes(big.content)
            document = Document(case_id=case.id, kind="signed_report_pdf", version=1, filename=big.filename,
                                media_type="application/pdf", path="report.pdf", size=len(big.content),
                                sha256=hashlib.sha256(big.content).hexdigest(), author="test")
            session.add(document)
            session.flush()
            message_id = outbox.queue(session, runtime, case_id=case.id, template="national_panel_submission",
                                      to=[PANEL], subject="Rapid Review report", body="Attached.",
                                      attachments=[document.id]).id
        microsoft.fail.append(("POST", f"{USER}/messages/AAkALgAAmessage1/send", 503, {"Retry-After": "5"},
                               {"error": {"code": "ServiceUnavailable", "message": "Try again"}}))
        graph = transport(microsoft, tls)
        assert [d.status for d in outbox.deliver_due(runtime, graph)] == ["pending"]
        with transaction(runtime.sessions) as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None and row.provider_draft_id == "AAkALgAAmessage1"
        virtual.set(SENT_AT + timedelta(seconds=5))
        assert [d.status for d in outbox.deliver_due(runtime, graph)] == ["sent"]
    assert microsoft.graph_calls().count("POST /messages") == 1
    assert microsoft.messages("drafts") == [] and received_attachments(microsoft) == {big.filename: big.content}


# -- failures ----------------------------------------------------------------------------------------------

def test_throttling_is_a_temporary_error_carrying_retry_after(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", f"{USER}/sendMail", 429, {"Retry-After": "17"},
                           {"error": {"code": "ApplicationThrottled", "message": "Too many requests"}}))
    with pytest.raises(TemporaryMailError, match="429 ApplicationThrottled") as caught:
        transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert caught.value.retry_after == 17 and not caught.value.in_doubt  # Graph said no: it was not sent
    transport(microsoft, tls).send(outgoing(), SENT_AT)  # and the retry goes through
    assert len(microsoft.of("POST", f"{USER}/sendMail")) == 2


def test_a_gateway_timeout_after_the_hand_over_leaves_the_message_in_doubt(microsoft: FakeMicrosoft,
                                                                           tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", f"{USER}/sendMail", 504, {}, {"error": {"code": "GatewayTimeout", "message": ""}}))
    with pytest.raises(TemporaryMailError, match="504") as caught:
        transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert caught.value.in_doubt


def test_a_bad_client_secret_is_permanent(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", "/contoso-tenant/oauth2/v2.0/token", 401, {},
                           {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}))
    with pytest.raises(PermanentMailError, match="invalid_client: AADSTS7000215"):
        transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert microsoft.of("POST", f"{USER}/sendMail") == []


def test_an_untrusted_certificate_is_permanent(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    with pytest.raises(PermanentMailError, match="TLS"):
        transport(microsoft, tls, ca_file=None).send(outgoing(), SENT_AT)


def test_replies_go_where_the_message_says(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    transport(microsoft, tls).send(outgoing(reply_to=["pm@partnership.example"]), SENT_AT)
    [send] = microsoft.of("POST", f"{USER}/sendMail")
    assert send.json()["message"]["replyTo"] == [{"emailAddress": {"address": "pm@partnership.example"}}]
    transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert "replyTo" not in microsoft.of("POST", f"{USER}/sendMail")[-1].json()["message"]
