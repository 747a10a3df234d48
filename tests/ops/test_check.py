"""`rapidreview check` after a deploy: it really sends the e-mail and converts the PDF, and exits non-zero
naming what failed."""

from __future__ import annotations

import os
import shutil
from email import message_from_bytes
from pathlib import Path

import pytest

from rapidreview import clock
from rapidreview.cli import main
from rapidreview.config import from_environment
from rapidreview.runtime import build_runtime
from rapidreview.services.platform import scheduling


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data / 'rr.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(data))
    monkeypatch.setenv("RAPIDREVIEW_MAIL_TRANSPORT", "file")
    return data


def test_check_names_the_scheduler_when_none_runs_and_passes_once_one_does(
        deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["check", "--no-pdf", "--mail-to", "ops@council.example"]) == 1
    captured = capsys.readouterr()
    assert "FAILED scheduler: no scheduler has beaten its heart" in captured.out
    assert "ok     mail: sent to ops@council.example through file" in captured.out
    assert "check failed: scheduler" in captured.err
    (eml,) = (deployment / "outbox").glob("*.eml")
    assert message_from_bytes(eml.read_bytes())["To"] == "ops@council.example"

    rt = build_runtime(from_environment(), migrate=False)
    scheduling.beat(rt, "host:1", mode="process", started_at=clock.now(), next_wake_at=None)
    rt.close()
    assert main(["check", "--no-pdf", "--mail-to", "ops@council.example"]) == 0


def test_check_names_pending_migrations(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-pdf"]) == 1
    out = capsys.readouterr().out
    assert "FAILED migrations: the database is at nothing, this release needs" in out
    assert "note: mail was not checked" in out


@pytest.mark.skipif(shutil.which("soffice") is None and os.environ.get("CI") != "true",
                    reason="LibreOffice is not installed")
def test_check_converts_a_real_pdf(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    main(["check"])
    assert "ok     pdf: converted in" in capsys.readouterr().out


def test_a_failing_pdf_converter_is_named(deployment: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", str(deployment / "no-such-soffice"))
    monkeypatch.delenv("RAPIDREVIEW_UNOSERVER", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert main(["check"]) == 1
    assert "FAILED pdf:" in capsys.readouterr().out
