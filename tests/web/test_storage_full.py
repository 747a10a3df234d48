"""A full disk while a step writes its report: the 507 page, the form again with every answer, nothing changed."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, Document, HumanTask
from tests.test_documents_versions import drive, start
from tests.web.conftest import post, sign_in


def _mount_tiny_tmpfs(folder: Path) -> bool:
    """A real full file system where the machine allows it (root, as in CI): 16 KiB, too small for a report."""
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.fixture
def full_documents_store(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    folder = runtime.settings.documents_dir
    folder.mkdir(parents=True, exist_ok=True)
    if _mount_tiny_tmpfs(folder):
        try:
            yield "tmpfs"
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        return

    def no_room(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("docx.document.Document.save", no_room)  # where rendering writes the .docx
    yield "injected"


def test_a_full_disk_shows_507_and_the_form_again_with_everything_typed(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock, full_documents_store: str) -> None:
    case_id = start(runtime)
    task = drive(runtime, virtual_clock, case_id, "prepare_draft_report")
    chair = sign_in(app, "chair@demo.example")
    post(chair, f"/tasks/{task.id}/claim")
    long_text = "The school noticed bruising on 3 occasions and referred each time. " * 20
    form = {"action": "submit", "summary_of_facts": long_text, "harm_type": "seriously_harmed",
            "concerns": "Nobody asked the child.", "what_worked_well": "Prompt referrals.",
            "provisional_view": "Likely to be met", "child_ethnicity": "Not known", "nature_of_harm": "Head injury",
            "family_structure": "Lives with mother", "health_and_disability": "None known",
            "other_children_safeguarding": "None", "immediate_learning_and_actions": "None yet"}
    with transaction(runtime.sessions) as session:
        version_before = session.get(Case, case_id).lock_version  # type: ignore[union-attr]
        documents_before = session.query(Document).filter(Document.case_id == case_id).count()
    response = post(chair, f"/tasks/{task.id}", form, page=f"/tasks/{task.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 507, (full_documents_store, html[:500])
    assert "no room to store files" in html
    assert long_text.strip()[:60] in html and "Nobody asked the child." in html
    with transaction(runtime.sessions) as session:
        row = session.get(HumanTask, task.id)
        assert row is not None and row.state == "ready" and row.assignee == "chair@demo.example"
        assert row.draft and "Nobody asked the child." in str(row.draft)
        assert session.get(Case, case_id).lock_version == version_before  # type: ignore[union-attr]
        assert session.query(Document).filter(Document.case_id == case_id).count() == documents_before
