"""``rapidreview mail test --to ADDRESS`` as whoever sets up mail runs it."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from rapidreview.cli import main
from tests.test_mail_support import free_port


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("RAPIDREVIEW_MAIL_TRANSPORT", "RAPIDREVIEW_SMTP_HOST", "RAPIDREVIEW_SMTP_PORT", "RAPIDREVIEW_MAIL_FROM"):
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
