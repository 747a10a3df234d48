"""The ews transport: the real exchangelib, talking to a fake Exchange at the HTTP boundary (requests_mock,
as exchangelib's own tests do). The tests read the SOAP requests exchangelib actually sends."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import requests_mock
from exchangelib.protocol import close_connections
from lxml import etree

from rapidreview.config import EwsSettings
from rapidreview.mail.ews import EwsTransport, clear_account_cache
from rapidreview.mail.meetings import MemoryMeetingItems
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from tests.test_mail_support import PANEL, PDF, START, invitation, meeting_mail, outgoing

URL = "https://mail.council.example/EWS/Exchange.asmx"
SHARED = "rapid.review@council.example"
SENT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"s": S, "m": M, "t": T}
VERSION = ('<s:Header><t:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" '
           'MinorBuildNumber="4" Version="V2017_07_11"/></s:Header>')


def envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}">'
            f'{VERSION}<s:Body>{body}</s:Body></s:Envelope>')


def success(op: str, inner: str = "") -> str:
    return envelope(f'<m:{op}Response><m:ResponseMessages><m:{op}ResponseMessage ResponseClass="Success">'
                    f'<m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{op}ResponseMessage></m:ResponseMessages>'
                    f'</m:{op}Response>')


def failure(op: str, code: str) -> str:
    return envelope(f'<m:{op}Response><m:ResponseMessages><m:{op}ResponseMessage ResponseClass="Error">'
                    f'<m:MessageText>{code} from the fake</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>'
                    f'<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:{op}ResponseMessage></m:ResponseMessages>'
                    f'</m:{op}Response>')


SERVER_BUSY = envelope(
    f'<s:Fault><faultcode xmlns:a="{T}">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot '
    f'service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="{E}">ErrorServerBusy'
    f'</e:ResponseCode><e:Message xmlns:e="{E}">The server cannot service this request right now. Try again later.'
    f'</e:Message><t:MessageXml><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml></detail></s:Fault>')


@dataclass
class FakeExchange:
    """Answers each EWS operation like Exchange 2019 would; keeps every request it got."""

    requests: list[tuple[str, Any, Any]] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)  # operation -> response body to give instead
    drop: set[str] = field(default_factory=set)  # operations whose connection breaks after Exchange got them
    deleted: set[str] = field(default_factory=set)
    created: int = 0

    def __call__(self, request: Any, context: Any) -> str:
        body = etree.fromstring(request.body).find(f"{{{S}}}Body")[0]
        op = etree.QName(body).localname
        self.requests.append((op, body, request))
        context.headers["Content-Type"] = "text/xml; charset=utf-8"
        if op in self.drop:
            raise requests.exceptions.ConnectionError("Connection reset by peer")
        if op in self.fail:
            context.status_code = 500 if "Fault" in self.fail[op] else 200
            return self.fail[op]
        if op == "ConvertId":  # exchangelib's version probe: only the header matters
            return failure(op, "ErrorInvalidIdMalformed")
        if op == "GetFolder":
            name = body.find(".//t:DistinguishedFolderId", NS).get("Id")
            kind = "CalendarFolder" if name == "calendar" else "Folder"
            return success(op, f'<m:Folders><t:{kind}><t:FolderId Id="{name}-id" ChangeKey="AQ"/>'
                               f'<t:DisplayName>{name}</t:DisplayName><t:TotalCount>0</t:TotalCount>'
                               f'<t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:{kind}>'
                               f'</m:Folders>')
        if op == "CreateItem" and body.find(".//t:CalendarItem", NS) is not None:
            self.created += 1
            return success(op, f'<m:Items><t:CalendarItem><t:ItemId Id="AAMk-meeting-{self.created}" ChangeKey="DwAA"/>'
                               f'</t:CalendarItem></m:Items>')
        if op == "CreateItem":  # a message sent, or a cancellation: Exchange returns no id
            return success(op, "<m:Items/>")
        if op == "GetItem":
            item_id = body.find(".//t:ItemId", NS).get("Id")
            if item_id in self.deleted:
                return failure(op, "ErrorItemNotFound")
            return success(op, f'<m:Items><t:CalendarItem><t:ItemId Id="{item_id}" ChangeKey="DwAB-now"/>'
                               f'<t:Subject>Rapid Review Meeting</t:Subject></t:CalendarItem></m:Items>')
        if op == "UpdateItem":
            item_id = body.find(".//t:ItemId", NS).get("Id")
            return success(op, f'<m:Items><t:CalendarItem><t:ItemId Id="{item_id}" ChangeKey="DwAC"/></t:CalendarItem>'
                               f'</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>')
        if op == "FindItem":
            wanted = body.find(".//t:Constant", NS).get("Value")
            items = '<t:Message><t:ItemId Id="AAMk-sent-1" ChangeKey="CQAA"/></t:Message>' if wanted == "<sent@x>" else ""
            return success(op, f'<m:RootFolder TotalItemsInView="{1 if items else 0}" IncludesLastItemInRange="true">'
                               f'<t:Items>{items}</t:Items></m:RootFolder>')
        raise AssertionError(f"the fake does not know {op}")

    def sent(self, op: str) -> list[Any]:
        return [body for name, body, _ in self.requests if name == op]


@pytest.fixture
def exchange() -> Iterator[FakeExchange]:
    fake = FakeExchange()
    clear_account_cache()
    with requests_mock.Mocker() as mocker:
        mocker.post(URL, text=fake)
        yield fake
    clear_account_cache()
    close_connections()


def transport(meetings: MemoryMeetingItems | None = None, **changes: Any) -> EwsTransport:
    settings = replace(EwsSettings(url=URL, auth="basic", username="COUNCIL\\svc-rapidreview", password="s3cret"), **changes)
    return EwsTransport(settings, mailbox=SHARED, meetings=meetings or MemoryMeetingItems())


def texts(element: Any, path: str) -> list[str]:
    return [e.text for e in element.iterfind(path, NS)]


def test_the_national_panel_email_is_sent_from_the_shared_mailbox_with_its_pdf(exchange: FakeExchange) -> None:
    mail = outgoing()
    assert transport().send(mail, SENT_AT) == mail.message_id
    [create] = exchange.sent("CreateItem")
    assert create.get("MessageDisposition") == "SendAndSaveCopy"
    assert create.find("m:SavedItemFolderId/t:DistinguishedFolderId", NS).get("Id") == "sentitems"
    assert texts(create, "m:SavedItemFolderId//t:EmailAddress") == [SHARED]
    message = create.find("m:Items/t:Message", NS)
    assert texts(message, "t:From//t:EmailAddress") == [SHARED]
    assert texts(message, "t:ToRecipients//t:EmailAddress") == [PANEL]
    assert texts(message, "t:CcRecipients//t:EmailAddress") == ["chair@partnership.example"]
    assert texts(message, "t:InternetMessageId") == [mail.message_id]
    assert texts(message, "t:Subject") == [mail.subject]
    assert message.find("t:Body", NS).get("BodyType") == "HTML"
    [attachment] = message.findall("t:Attachments/t:FileAttachment", NS)
    assert texts(attachment, "t:Name") == ["Rapid Review Report RR-2026-014.pdf"]
    assert base64.b64decode(texts(attachment, "t:Content")[0]) == PDF
    request = exchange.requests[-1][2]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"COUNCIL\\svc-rapidreview:s3cret").decode()


def test_a_meeting_is_a_calendar_item_with_required_attendees_and_utc_times(exchange: FakeExchange) -> None:
    meetings = MemoryMeetingItems()
    assert transport(meetings).send(meeting_mail(), SENT_AT) == "AAMk-meeting-1"
    [create] = exchange.sent("CreateItem")
    assert create.get("SendMeetingInvitations") == "SendToAllAndSaveCopy"
    assert texts(create, "m:SavedItemFolderId//t:EmailAddress") == [SHARED]
    item = create.find("m:Items/t:CalendarItem", NS)
    assert texts(item, "t:UID") == [invitation().uid]
    assert texts(item, "t:Subject") == ["Rapid Review Meeting: RR-2026-014"]
    assert texts(item, "t:Start") == ["2026-06-03T09:00:00Z"] and texts(item, "t:End") == ["2026-06-03T11:00:00Z"]
    assert texts(item, "t:Location") == ["Civic Centre, Room 2"]
    assert texts(item, "t:RequiredAttendees/t:Attendee/t:Mailbox/t:EmailAddress") == [
        "dsl@oak-school.example", "lead@police.example"]
    stored = meetings.get(invitation().uid)
    assert stored is not None and (stored.item_id, stored.sequence, stored.transport) == ("AAMk-meeting-1", 0, "ews")


def test_rescheduling_updates_the_same_calendar_item_and_cancelling_cancels_it(exchange: FakeExchange) -> None:
    meetings = MemoryMeetingItems()
    ews = transport(meetings)
    ews.send(meeting_mail(), SENT_AT)
    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=1),
                       attendees=["dsl@oak-school.example", "nurse@icb.example"])
    assert ews.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT) == "AAMk-meeting-1"
    [update] = exchange.sent("UpdateItem")
    assert update.get("SendMeetingInvitationsOrCancellations") == "SendToAllAndSaveCopy"
    assert update.find(".//t:ItemId", NS).attrib == {"Id": "AAMk-meeting-1", "ChangeKey": "DwAB-now"}
    assert texts(update, ".//t:Start") == ["2026-06-04T09:00:00Z"] and texts(update, ".//t:End") == ["2026-06-04T10:00:00Z"]
    assert texts(update, ".//t:RequiredAttendees//t:EmailAddress") == ["dsl@oak-school.example", "nurse@icb.example"]
    assert exchange.created == 1  # no second meeting

    ews.send(meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<cancel@x>"), SENT_AT)
    [cancel] = [c for c in exchange.sent("CreateItem") if c.find(".//t:CancelCalendarItem", NS) is not None]
    assert cancel.find(".//t:ReferenceItemId", NS).get("Id") == "AAMk-meeting-1"
    assert cancel.get("MessageDisposition") == "SendAndSaveCopy"
    stored = meetings.get(moved.uid)
    assert stored is not None and stored.cancelled and stored.sequence == 2


def test_a_meeting_sent_again_after_a_crash_is_not_sent_twice(exchange: FakeExchange) -> None:
    meetings = MemoryMeetingItems()
    mail = meeting_mail()
    transport(meetings).send(mail, SENT_AT)
    before = len(exchange.requests)
    assert transport(meetings).find_sent(mail.message_id) == "AAMk-meeting-1"
    assert transport(meetings).send(mail, SENT_AT) == "AAMk-meeting-1"
    older = meeting_mail(message_id="<older@x>")  # sequence 0 again: must not move the meeting back
    assert transport(meetings).send(older, SENT_AT) == "AAMk-meeting-1"
    assert len(exchange.requests) == before


def test_a_meeting_deleted_from_the_calendar_is_invited_afresh_when_moved(exchange: FakeExchange) -> None:
    meetings = MemoryMeetingItems()
    transport(meetings).send(meeting_mail(), SENT_AT)
    exchange.deleted.add("AAMk-meeting-1")
    assert transport(meetings).send(meeting_mail(invitation=invitation(sequence=1), message_id="<m2@x>"), SENT_AT) \
        == "AAMk-meeting-2"
    assert exchange.sent("UpdateItem") == []


def test_find_sent_searches_sent_items_by_internet_message_id(exchange: FakeExchange) -> None:
    ews = transport()
    assert ews.find_sent("<sent@x>") == "AAMk-sent-1"
    assert ews.find_sent("<never@x>") is None
    find = exchange.sent("FindItem")[0]
    assert find.find(".//t:FieldURI", NS).get("FieldURI") == "message:InternetMessageId"
    assert find.find("m:ParentFolderIds/t:DistinguishedFolderId", NS).get("Id") == "sentitems"


def test_a_busy_server_is_a_temporary_error_with_its_back_off(exchange: FakeExchange) -> None:
    exchange.fail["CreateItem"] = SERVER_BUSY
    with pytest.raises(TemporaryMailError, match="busy") as caught:
        transport().send(outgoing(), SENT_AT)
    assert caught.value.retry_after == pytest.approx(297.749)
    assert len(exchange.sent("CreateItem")) == 1  # exchangelib did not sleep and retry by itself
    assert not caught.value.in_doubt  # Exchange answered: it did not send it


def test_a_connection_lost_while_exchange_sends_leaves_the_message_in_doubt(exchange: FakeExchange) -> None:
    marks: list[str] = []

    class Progress:
        draft_id = None

        def keep_draft(self, draft_id: str | None) -> None:
            raise AssertionError("EWS keeps no drafts")

        def handing_over(self) -> None:
            marks.append("handed over")

    exchange.drop.add("CreateItem")
    with pytest.raises(TemporaryMailError) as caught:
        transport().send(replace(outgoing(), progress=Progress()), SENT_AT)
    assert caught.value.in_doubt and marks == ["handed over"]


@pytest.mark.parametrize("code", ["ErrorSendAsDenied", "ErrorAccessDenied", "ErrorInvalidRecipients"])
def test_refusals_are_permanent(exchange: FakeExchange, code: str) -> None:
    exchange.fail["CreateItem"] = failure("CreateItem", code)
    with pytest.raises(PermanentMailError, match=code):
        transport().send(outgoing(), SENT_AT)


def test_wrong_credentials_are_permanent() -> None:
    clear_account_cache()
    with requests_mock.Mocker() as mocker:
        mocker.post(URL, status_code=401, text="")
        with pytest.raises(PermanentMailError, match="refused our credentials"):
            transport(password="wrong").send(outgoing(), SENT_AT)
    clear_account_cache()
    close_connections()


def test_oauth2_gets_a_token_from_entra_id_and_impersonates_the_mailbox(exchange: FakeExchange) -> None:
    with requests_mock.Mocker(real_http=False) as mocker:
        mocker.post(URL, text=exchange)
        token = mocker.post("https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token",
                            json={"access_token": "tok-123", "token_type": "Bearer", "expires_in": 3600})
        transport(auth="oauth2", tenant_id="tenant-1", client_id="app-1", client_secret="shh").send(outgoing(), SENT_AT)
    assert "client_id=app-1" in token.last_request.text and "grant_type=client_credentials" in token.last_request.text
    op, _body, request = exchange.requests[-1]
    assert op == "CreateItem" and request.headers["Authorization"] == "Bearer tok-123"
    envelope_ = etree.fromstring(request.body)
    assert texts(envelope_, "s:Header/t:ExchangeImpersonation//t:PrimarySmtpAddress") == [SHARED]


def test_replies_go_where_the_message_says(exchange: FakeExchange) -> None:
    mail = outgoing(reply_to=["pm@partnership.example"])
    transport().send(mail, SENT_AT)
    [create] = exchange.sent("CreateItem")
    message = create.find("m:Items/t:Message", NS)
    assert texts(message, "t:ReplyTo//t:EmailAddress") == ["pm@partnership.example"]
