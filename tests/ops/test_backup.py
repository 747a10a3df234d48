"""`rapidreview backup` and `restore`: the database and the documents, mode 0600, optionally encrypted to an age
public key; a restore checks every file, refuses a database that is not empty, and does not bring the backed-up
host's scheduler back to life. Runs on SQLite, and on PostgreSQL (pg_dump, pg_restore) with TEST_DATABASE_URL."""

from __future__ import annotations

import stat
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import cases
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.platform import scheduling
from rapidreview.services.platform.backup import BackupError, create_backup, restore_backup
from rapidreview.services.platform.health import readiness
from rapidreview.store.db import make_engine, transaction
from rapidreview.store.models import Case
from tests.conftest import START, TEST_DATABASE_URL


@pytest.fixture
def target_settings(tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    """Another host: its own empty database (a new PostgreSQL database) and its own data folder."""
    data = tmp_path / "elsewhere"
    if not TEST_DATABASE_URL:
        yield settings.with_(database_url=f"sqlite:///{data / 'restored.db'}", data_dir=data)
        return
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        yield settings.with_(database_url=url, data_dir=data)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _a_case_with_a_document(runtime: Runtime) -> None:
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    cases.start_case(runtime, cases.Notification(reference="RR-B-1", notified_at=START, child={"name": "Child B"},
                                                 incident={"date": "2026-05-20", "summary": "x"}), actor="test")
    folder = runtime.settings.documents_dir / "RR-B-1"
    folder.mkdir(parents=True)
    (folder / "report-v1.pdf").write_bytes(b"%PDF-1.7 the signed report")
    scheduling.beat(runtime, "production-host:4242", mode="process", started_at=clock.now(), next_wake_at=None)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_restores_the_database_and_documents_on_another_host(
        runtime: Runtime, database: tuple[str, str | None], target_settings: Settings, tmp_path: Path,
        virtual_clock: clock.VirtualClock) -> None:
    _a_case_with_a_document(runtime)
    backups = tmp_path / "backups"
    backups.mkdir()
    made = create_backup(runtime.settings, backups, schema=database[1])
    assert _mode(made.path) == 0o600 and not made.encrypted and made.documents == 1
    assert [p.name for p in backups.iterdir()] == [made.path.name]  # no scratch files left behind
    with tarfile.open(made.path) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "documents/RR-B-1/report-v1.pdf" in names

    manifest = restore_backup(target_settings, made.path, schema=database[1])
    assert manifest["migration"] == made.revision
    assert (target_settings.documents_dir / "RR-B-1" / "report-v1.pdf").read_bytes() == b"%PDF-1.7 the signed report"
    restored = build_runtime(target_settings, schema=database[1])
    try:
        with transaction(restored.sessions) as session:
            assert session.scalar(select(Case.reference)) == "RR-B-1"
        # The production host's scheduler was alive in the backup; here it is not.
        assert readiness(restored).checks["scheduler"] == "stale"
    finally:
        restored.close()


def test_an_encrypted_backup_needs_the_private_key(runtime: Runtime, database: tuple[str, str | None],
                                                  target_settings: Settings, tmp_path: Path) -> None:
    _a_case_with_a_document(runtime)
    key = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# created for the test\n{key}\n")
    made = create_backup(runtime.settings, tmp_path / "rr.tar.age", schema=database[1],
                         recipients=[str(key.to_public())])
    assert made.encrypted and _mode(made.path) == 0o600
    assert made.path.read_bytes().startswith(b"age-encryption.org/v1")
    assert b"report-v1.pdf" not in made.path.read_bytes()

    with pytest.raises(BackupError, match="encrypted: give the private key"):
        restore_backup(target_settings, made.path, schema=database[1])
    other = tmp_path / "other.txt"
    other.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    with pytest.raises(BackupError, match="could not be decrypted"):
        restore_backup(target_settings, made.path, schema=database[1], identity_file=other)
    restore_backup(target_settings, made.path, schema=database[1], identity_file=key_file)
    assert (target_settings.documents_dir / "RR-B-1" / "report-v1.pdf").is_file()


def test_a_fresh_install_without_documents_backs_up(runtime: Runtime, database: tuple[str, str | None],
                                                    tmp_path: Path) -> None:
    assert not runtime.settings.documents_dir.exists()
    made = create_backup(runtime.settings, tmp_path / "fresh.tar", schema=database[1])
    assert made.documents == 0 and made.path.is_file()


def test_a_restore_refuses_a_database_that_is_not_empty(runtime: Runtime, database: tuple[str, str | None],
                                                       tmp_path: Path) -> None:
    made = create_backup(runtime.settings, tmp_path / "b.tar", schema=database[1])
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(runtime.settings, made.path, schema=database[1])
    with transaction(runtime.sessions) as session:  # and nothing was touched
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_damaged_backup_is_refused_before_anything_is_restored(
        runtime: Runtime, database: tuple[str, str | None], target_settings: Settings, tmp_path: Path) -> None:
    _a_case_with_a_document(runtime)
    made = create_backup(runtime.settings, tmp_path / "b.tar", schema=database[1])
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(made.path) as source, tarfile.open(damaged, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name.endswith("report-v1.pdf"):
                content = b"%PDF-1.7 changed"
                member.size = len(content)
                import io

                out.addfile(member, io.BytesIO(content))
            else:
                out.addfile(member, data)
    with pytest.raises(BackupError, match="damaged: documents/RR-B-1/report-v1.pdf"):
        restore_backup(target_settings, damaged, schema=database[1])
    assert not target_settings.documents_dir.exists()


def test_the_backup_command_reports_the_file_and_refuses_a_bad_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from rapidreview.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'rr.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "upgrade"]) == 0
    assert main(["backup", str(tmp_path), "--recipient", "not-a-key"]) == 2
    assert "not an age public key" in capsys.readouterr().err
    assert main(["backup", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"backup written to {tmp_path}/rapidreview-") and "NOT encrypted" in out
