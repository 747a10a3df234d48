"""``rapidreview mail check`` against a fake Microsoft Graph that enforces permissions, a real SMTP server, a fake
Exchange at the HTTP boundary, and a folder: it names what is missing and exits 2, else 0."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests_mock
from exchangelib.protocol import close_connections

from rapidreview import clock
from rapidreview.cli import main
from rapidreview.mail.ews import clear_account_cache
from rapidreview.mail.graph import clear_token_cache
from tests.test_mail_ews import URL as EWS_URL
from tests.test_mail_ews import FakeExchange, failure
from tests.test_mail_graph_support import MAILBOX, USER, FakeMicrosoft, serve_microsoft
from tests.test_mail_support import (
    PANEL,
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    TlsFiles,
    make_certificate,
    serve_smtp,
)

ALL_ROLES = ["Mail.Send", "Mail.ReadWrite", "Calendars.ReadWrite"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("check-tls"))


@pytest.fixture(scope="module")
def graph_server(tls: TlsFiles) -> Iterator[FakeMicrosoft]:
    with serve_microsoft(tls) as fake:
        yield fake


@pytest.fixture(scope="module")
def smtp_server(tls: TlsFiles) -> Iterator[SmtpServer]:
    with serve_smtp(tls, starttls=True) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(__import__("os").environ):
        if name.startswith("RAPIDREVIEW_") and name != "RAPIDREVIEW_PASSWORD_HASH_METHOD":
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAPIDREVIEW_MAIL_FROM", MAILBOX)
    return monkeypatch


@pytest.fixture
def microsoft(graph_server: FakeMicrosoft, env: pytest.MonkeyPatch, tls: TlsFiles) -> Iterator[FakeMicrosoft]:
    graph_server.reset()
    clear_token_cache()
    for name, value in {"RAPIDREVIEW_MAIL_TRANSPORT": "graph", "RAPIDREVIEW_GRAPH_TENANT_ID": "contoso-tenant",
                        "RAPIDREVIEW_GRAPH_CLIENT_ID": "app-id-1", "RAPIDREVIEW_GRAPH_CLIENT_SECRET": "shh",
                        "RAPIDREVIEW_GRAPH_AUTHORITY_HOST": graph_server.base,
                        "RAPIDREVIEW_GRAPH_ENDPOINT": f"{graph_server.base}/v1.0",
                        "RAPIDREVIEW_GRAPH_CA_FILE": str(tls.certificate)}.items():
        env.setenv(name, value)
    with clock.using(clock.VirtualClock(clock.now())):
        yield graph_server
    clear_token_cache()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["mail", "check", *args])
    out, err = capsys.readouterr()
    return code, out + err


def lines(output: str) -> list[str]:
    """The verdict lines, without their details (nor any log lines)."""
    return [line.strip() for line in output.splitlines() if re.match(r"  (ok {7}|MISSING {2}|TRY AGAIN) ", line)]


# -- Microsoft Graph ---------------------------------------------------------------------------------------

def test_graph_with_every_permission_exercises_each_and_leaves_one_message_to_itself(
        microsoft: FakeMicrosoft, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys)
    assert code == 0, output
    assert lines(output) == [
        "ok        a token from Microsoft Entra ID",
        f"ok        Mail.ReadWrite: a draft with an attachment in {MAILBOX}",
        f"ok        Mail.Send: sending it to {MAILBOX} itself",
        "ok        Mail.ReadWrite: looking in Sent Items",
        "ok        Calendars.ReadWrite: an event without attendees, found by its iCalUId, then deleted"]
    assert "application permissions granted in Entra ID: Calendars.ReadWrite, Mail.ReadWrite, Mail.Send" in output
    [sent] = microsoft.messages("sentitems")
    assert sent.data["toRecipients"] == [{"emailAddress": {"address": MAILBOX}}]
    assert [a["name"] for a in sent.attachments] == ["mail-check.txt"]
    assert microsoft.messages("drafts") == [] and microsoft.events() == []  # nothing else left behind
    [event] = microsoft.of("POST", f"{USER}/events")
    assert event.json()["attendees"] == []  # nobody invited


def test_graph_set_up_as_the_old_instructions_said_is_told_exactly_that_mail_readwrite_is_missing(
        microsoft: FakeMicrosoft, capsys: pytest.CaptureFixture[str]) -> None:
    microsoft.roles = ["Mail.Send", "Calendars.ReadWrite", "Mail.ReadBasic"]
    code, output = run(capsys)
    assert code == 2
    assert lines(output) == [
        "ok        a token from Microsoft Entra ID",
        f"MISSING   Mail.ReadWrite: a draft with an attachment in {MAILBOX}",
        f"ok        Mail.Send: a message to {MAILBOX} itself",
        "ok        Mail.ReadWrite: looking in Sent Items",  # Mail.ReadBasic is enough to look
        "ok        Calendars.ReadWrite: an event without attendees, found by its iCalUId, then deleted"]
    assert f"needs the application permission Mail.ReadWrite on {MAILBOX}, which the app lacks" in output
    assert "(not needed: Mail.ReadBasic)" in output


@pytest.mark.parametrize("missing", ALL_ROLES)
def test_graph_names_each_missing_permission(microsoft: FakeMicrosoft, capsys: pytest.CaptureFixture[str],
                                             missing: str) -> None:
    microsoft.roles = [r for r in ALL_ROLES if r != missing]
    code, output = run(capsys)
    problems = [line for line in lines(output) if line.startswith("MISSING")]
    assert code == 2 and problems and all(f"MISSING   {missing}:" in p for p in problems)
    assert f"needs the application permission {missing} on {MAILBOX}" in output


def test_graph_with_rbac_for_applications_passes_though_the_token_carries_no_permissions(
        microsoft: FakeMicrosoft, capsys: pytest.CaptureFixture[str]) -> None:
    microsoft.roles, microsoft.exchange_roles = [], list(ALL_ROLES)
    code, output = run(capsys)
    assert code == 0, output
    assert "it carries no application permissions: fine with RBAC for Applications" in output


def test_graph_outside_the_application_access_policy_says_so(microsoft: FakeMicrosoft,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    microsoft.policy_mailboxes = {"someone.else@partnership.example"}
    code, output = run(capsys)
    assert code == 2 and output.count(f"an application access policy keeps the app out of {MAILBOX}") == 4


def test_graph_with_a_wrong_secret_stops_at_the_token(microsoft: FakeMicrosoft,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    microsoft.fail.append(("POST", "/contoso-tenant/oauth2/v2.0/token", 401, {},
                           {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}))
    code, output = run(capsys)
    assert code == 2 and lines(output) == ["MISSING   a token from Microsoft Entra ID"]
    assert "AADSTS7000215" in output and microsoft.graph_calls() == []


# -- SMTP ----------------------------------------------------------------------------------------------------

@pytest.fixture
def smtp(smtp_server: SmtpServer, env: pytest.MonkeyPatch) -> SmtpServer:
    smtp_server.handler.reset()
    for name, value in {"RAPIDREVIEW_MAIL_TRANSPORT": "smtp", "RAPIDREVIEW_SMTP_HOST": "127.0.0.1",
                        "RAPIDREVIEW_SMTP_PORT": str(smtp_server.port), "RAPIDREVIEW_SMTP_USERNAME": SMTP_USER,
                        "RAPIDREVIEW_SMTP_PASSWORD": SMTP_PASSWORD,
                        "RAPIDREVIEW_SMTP_CA_FILE": str(smtp_server.tls.certificate)}.items():
        env.setenv(name, value)
    return smtp_server


def test_smtp_connects_logs_in_and_tries_the_envelope_without_sending_anything(
        smtp: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys)
    assert code == 0, output
    assert lines(output) == ["ok        connected to 127.0.0.1:" + str(smtp.port), f"ok        login as {SMTP_USER}",
                             f"ok        the sender {MAILBOX} (MAIL FROM)", f"ok        the recipient {PANEL} (RCPT TO)"]
    assert "encrypted (TLSv1." in output
    assert smtp.handler.received == [] and smtp.handler.refused_bodies == 0  # no DATA


def test_smtp_names_a_refused_recipient_and_a_wrong_password(smtp: SmtpServer, env: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    smtp.handler.refuse["dsl@oak.example"] = "550 5.7.1 Relaying denied"
    code, output = run(capsys, "--to", "dsl@oak.example")
    assert code == 2 and "MISSING   the recipient dsl@oak.example (RCPT TO)" in lines(output)
    assert "550 5.7.1 Relaying denied" in output
    env.setenv("RAPIDREVIEW_SMTP_PASSWORD", "wrong")
    code, output = run(capsys)
    assert code == 2 and f"MISSING   login as {SMTP_USER}" in lines(output) and "refused the login" in output


# -- Exchange (EWS) and files ------------------------------------------------------------------------------

@pytest.fixture
def exchange(env: pytest.MonkeyPatch) -> Iterator[FakeExchange]:
    for name, value in {"RAPIDREVIEW_MAIL_TRANSPORT": "ews", "RAPIDREVIEW_EWS_URL": EWS_URL,
                        "RAPIDREVIEW_EWS_AUTH": "basic", "RAPIDREVIEW_EWS_USERNAME": "COUNCIL\\svc-rapidreview",
                        "RAPIDREVIEW_EWS_PASSWORD": "s3cret"}.items():
        env.setenv(name, value)
    fake = FakeExchange()
    clear_account_cache()
    with requests_mock.Mocker() as mocker:
        mocker.post(EWS_URL, text=fake)
        yield fake
    clear_account_cache()
    close_connections()


def test_ews_logs_in_and_finds_the_mailboxs_folders(exchange: FakeExchange, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys)
    assert code == 0, output
    assert lines(output) == [f"ok        logged in and found the Sent Items of {MAILBOX}",
                             f"ok        found the Calendar of {MAILBOX}"]
    assert "GetFolder" in [op for op, _, _ in exchange.requests]
    assert "CreateItem" not in [op for op, _, _ in exchange.requests]


def test_ews_without_access_to_the_mailbox_names_the_rights_it_needs(exchange: FakeExchange,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    exchange.fail["GetFolder"] = failure("GetFolder", "ErrorAccessDenied")
    code, output = run(capsys)
    assert code == 2 and "Full Access" in output and "ErrorAccessDenied" in output


def test_file_checks_the_outbox_folder_can_be_written(env: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys)
    assert code == 0 and (tmp_path / "data" / "outbox").is_dir() and list((tmp_path / "data" / "outbox").iterdir()) == []
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    env.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "blocked"))
    code, output = run(capsys)
    assert code == 2 and "MISSING   the outbox folder" in output
