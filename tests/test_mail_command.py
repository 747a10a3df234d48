"""``rapidreview mail test --to ADDRESS`` as whoever sets up mail runs it."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from rapidreview.cli import main
from tests.test_mail_support import (
    ACCEPTED,
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    free_port,
    make_certificate,
    serve_smtp,
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("RAPIDREVIEW_MAIL_TRANSPORT", "RAPIDREVIEW_SMTP_HOST", "RAPIDREVIEW_SMTP_PORT", "RAPIDREVIEW_MAIL_FROM",
                 "RAPIDREVIEW_SMTP_USERNAME", "RAPIDREVIEW_SMTP_PASSWORD", "RAPIDREVIEW_SMTP_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAPIDREVIEW_PARTNERSHIP_NAME", "Riverside Safeguarding Children Partnership")
    return monkeypatch


def test_a_test_message_goes_out_through_the_configured_transport(env: pytest.MonkeyPatch, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "test", "--to", "it.support@council.example"]) == 0
    out = capsys.readouterr().out
    assert "Sent a test message to it.support@council.example through file" in out
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert f"Provider id: {eml}" in out
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "it.support@council.example"
    # .strip(): Python reads a subject folded onto its own line back with a leading space
    assert message["Subject"].strip() == "Test message from Riverside Safeguarding Children Partnership Rapid Review"
    html = message.get_body(("html",))
    assert html is not None and "email from the system is reaching you" in html.get_content()


def test_a_server_that_cannot_be_reached_exits_75_try_again_later(env: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("RAPIDREVIEW_MAIL_TRANSPORT", "smtp")
    env.setenv("RAPIDREVIEW_SMTP_HOST", "127.0.0.1")
    env.setenv("RAPIDREVIEW_SMTP_PORT", str(free_port()))
    assert main(["mail", "test", "--to", "it.support@council.example"]) == 75
    assert "temporary failure, try again later: cannot reach the SMTP server 127.0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize(("setting", "to", "error"), [
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "smtp"}, "a@x.example", "RAPIDREVIEW_SMTP_HOST must be set"),
    ({}, "not an address", "--to must be one e-mail address"),
])
def test_bad_settings_or_addresses_exit_2_with_a_message(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                         setting: dict[str, str], to: str, error: str) -> None:
    for name, value in setting.items():
        env.setenv(name, value)
    assert main(["mail", "test", "--to", to]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rapidreview: error: ") and error in err and "Traceback" not in err


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with serve_smtp(make_certificate(tmp_path_factory.mktemp("command-smtp-tls")), starttls=True) as server:
        yield server


@pytest.fixture
def smtp_env(env: pytest.MonkeyPatch, smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.handler.reset()
    for name, value in {"RAPIDREVIEW_MAIL_TRANSPORT": "smtp", "RAPIDREVIEW_SMTP_HOST": "127.0.0.1",
                        "RAPIDREVIEW_SMTP_PORT": str(smtp_server.port), "RAPIDREVIEW_SMTP_USERNAME": SMTP_USER,
                        "RAPIDREVIEW_SMTP_PASSWORD": SMTP_PASSWORD,
                        "RAPIDREVIEW_SMTP_CA_FILE": str(smtp_server.tls.certificate)}.items():
        env.setenv(name, value)
    return smtp_server


def test_a_message_the_smtp_server_refuses_exits_2_with_the_servers_words_and_never_says_sent(
        smtp_env: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    smtp_env.handler.data_reply = "554 5.7.1 Service unavailable; client host blocked"
    assert main(["mail", "test", "--to", "it.support@council.example"]) == 2
    out, err = capsys.readouterr()
    assert "Sent" not in out
    assert ("rapidreview: error: the SMTP server 127.0.0.1 refused the message: "
            "554 5.7.1 Service unavailable; client host blocked") in err.splitlines()  # (log lines may come too)
    smtp_env.handler.data_reply = ACCEPTED  # once the server takes it, the same command says so
    assert main(["mail", "test", "--to", "it.support@council.example"]) == 0
    assert f"Provider id: {ACCEPTED}" in capsys.readouterr().out
    [got] = smtp_env.handler.received
    assert got.recipients == ["it.support@council.example"]


def test_a_message_the_smtp_server_defers_exits_75_try_again_later(
        smtp_env: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    smtp_env.handler.data_reply = "451 4.7.1 Greylisted, please try again"
    assert main(["mail", "test", "--to", "it.support@council.example"]) == 75
    out, err = capsys.readouterr()
    assert "Sent" not in out and "451 4.7.1 Greylisted, please try again" in err
