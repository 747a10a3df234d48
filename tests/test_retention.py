"""Retention: export a case, purge expired ones (never those on legal hold), all audited."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.platform import retention
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, DigestItem, Document, DraftComment, HumanTask, User
from tests.conftest import START


def start_case(runtime: Runtime, reference: str) -> int:
    from rapidreview.config import PROJECT_ROOT
    from rapidreview.services.definitions.process_versions import deploy_directory

    with transaction(runtime.sessions) as session:
        deployed = session.scalar(select(AuditEvent.id).where(AuditEvent.type == "process_deployed"))
    if deployed is None:
        deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    notification = cases.Notification(
        reference=reference, notified_at=START, child={"name": "Child R"}, incident={"date": "2026-05-20", "summary": "x"},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}])
    return cases.start_case(runtime, notification, actor="test")


def close_case(runtime: Runtime, case_id: int, days_ago: int, *, with_document: bool = True) -> Path | None:
    path = None
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status = "submitted"
        case.submitted_at = clock.now() - timedelta(days=days_ago)
        if with_document:
            path = runtime.settings.documents_dir / case.reference / "report.docx"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"report")
            session.add(Document(case_id=case.id, kind="report", version=1, filename="report.docx",
                                 media_type="application/octet-stream", path=f"{case.reference}/report.docx",
                                 sha256="0" * 64, size=6, author="test"))
    return path


POLICY = retention.RetentionPolicy({**retention.DEFAULT_DAYS, "case": 30})


@pytest.mark.usefixtures("virtual_clock")
def test_purge_deletes_expired_cases_and_their_files_but_not_held_or_recent_ones(runtime: Runtime) -> None:
    old = start_case(runtime, "RR-P-OLD")
    held = start_case(runtime, "RR-P-HELD")
    recent = start_case(runtime, "RR-P-NEW")
    still_open = start_case(runtime, "RR-P-OPEN")
    old_file = close_case(runtime, old, 31)
    held_file = close_case(runtime, held, 400)
    close_case(runtime, recent, 5, with_document=False)
    retention.set_legal_hold(runtime, "RR-P-HELD", True, actor="records@council", reason="inquest")
    with transaction(runtime.sessions) as session:  # a digest line and a draft comment point at the old case
        user = User(email="pm@purge.example", name="Pat", role="partnership_manager", password_hash="x",
                    partnership_id=session.get(Case, old).partnership_id)  # type: ignore[union-attr]
        session.add(user)
        session.flush()
        task = session.scalars(select(HumanTask).where(HumanTask.case_id == old)).first()
        assert task is not None
        session.add(DigestItem(user_id=user.id, task_id=task.id, case_id=old, created_at=clock.now()))
        session.add(DraftComment(case_id=old, author_id=user.id, author_name="Pat", author_role="Partnership Manager",
                                 body="A comment", created_at=clock.now()))

    purged = retention.purge_expired(runtime, actor="test", policy=POLICY)

    assert [p.reference for p in purged] == ["RR-P-OLD"]
    assert old_file is not None and not old_file.exists()
    assert held_file is not None and held_file.exists()
    with transaction(runtime.sessions) as session:
        assert session.get(Case, old) is None
        assert {session.get(Case, c) is not None for c in (held, recent, still_open)} == {True}
        assert session.scalars(select(HumanTask).where(HumanTask.case_id == old)).first() is None
        assert session.scalars(select(DigestItem).where(DigestItem.case_id == old)).first() is None
        assert session.scalars(select(DraftComment).where(DraftComment.case_id == old)).first() is None
        types = [e.type for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id == old))]
        assert "case_purged" in types and "case_started" in types  # the trail outlives the case
        from rapidreview.services.platform import audit

        assert audit.verify(session).ok


@pytest.mark.usefixtures("virtual_clock")
def test_a_dry_run_purges_nothing(runtime: Runtime) -> None:
    old = start_case(runtime, "RR-P-DRY")
    close_case(runtime, old, 100, with_document=False)
    assert [p.reference for p in retention.purge_expired(runtime, actor="t", policy=POLICY, dry_run=True)] == ["RR-P-DRY"]
    with transaction(runtime.sessions) as session:
        assert session.get(Case, old) is not None


@pytest.mark.usefixtures("virtual_clock")
def test_export_writes_the_case_and_its_documents_and_is_audited(runtime: Runtime, tmp_path: Path) -> None:
    case_id = start_case(runtime, "RR-X-1")
    close_case(runtime, case_id, 1)
    target = retention.export_case(runtime, "RR-X-1", tmp_path / "out.zip", actor="records@council")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("case.json"))
    assert any(n.startswith("documents/") for n in names)
    assert data["case"]["reference"] == "RR-X-1" and data["tasks"] and data["audit"]
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.type == "case_exported")) is not None


def test_retention_periods_come_from_the_environment() -> None:
    policy = retention.RetentionPolicy.from_environment({"RAPIDREVIEW_RETAIN_CASE_DAYS": "10"})
    assert policy.period("case") == timedelta(days=10)
    with pytest.raises(retention.RetentionError, match="RAPIDREVIEW_RETAIN_CASE_DAYS"):
        retention.RetentionPolicy.from_environment({"RAPIDREVIEW_RETAIN_CASE_DAYS": "ten"})


@pytest.mark.usefixtures("virtual_clock")
def test_export_and_purge_commands(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from rapidreview.cli import main
    from rapidreview.commands import security as security_cmd

    monkeypatch.setattr(security_cmd, "build_runtime", lambda _settings: runtime)
    monkeypatch.setenv("RAPIDREVIEW_RETAIN_CASE_DAYS", "30")
    case_id = start_case(runtime, "RR-C-1")
    close_case(runtime, case_id, 60)
    assert main(["export", "RR-C-1", "--to", str(tmp_path / "folder")]) == 0
    assert (tmp_path / "folder" / "case.json").is_file()
    assert main(["purge", "--expired"]) == 0
    assert "purged RR-C-1" in capsys.readouterr().out
    assert main(["export", "RR-C-1", "--to", str(tmp_path / "again")]) == 2
