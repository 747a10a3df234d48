"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

# Cheap password hashes: the suite creates a dozen accounts per web test. Set before the application is
# imported, since the hash method is read once, at import.
os.environ.setdefault("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt:1024:8:1")

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.services.demo import seed_demo
from rapidreview.services.process_versions import deploy_directory
from rapidreview.services.runtime import Runtime, build_runtime
from rapidreview.store.db import make_engine
from rapidreview.web import create_app

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None


def pytest_report_header() -> str:
    return f"database: {TEST_DATABASE_URL or 'SQLite (temporary files)'}"


requires_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None and os.environ.get("CI") != "true",
    reason="LibreOffice is not installed (make setup installs it when run as root)",
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """A fresh, empty database: a SQLite file, or a new schema in the PostgreSQL test database."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'test.db'}", None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield TEST_DATABASE_URL, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database: tuple[str, str | None]) -> Settings:
    url, _schema = database
    return Settings(database_url=url, data_dir=tmp_path / "data", bpmn_dir=PROJECT_ROOT / "bpmn",
                    forms_dir=PROJECT_ROOT / "forms", templates_dir=PROJECT_ROOT / "templates")


@pytest.fixture
def runtime(settings: Settings, database: tuple[str, str | None]) -> Iterator[Runtime]:
    rt = build_runtime(settings, schema=database[1])
    yield rt
    rt.close()


START = datetime(2026, 5, 22, 8, 0, tzinfo=UTC)  # Friday 22 May 2026, 09:00 London


@pytest.fixture
def virtual_clock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(START)
    with clock.using(virtual):
        yield virtual


@pytest.fixture
def app(runtime: Runtime, virtual_clock: clock.VirtualClock) -> Flask:
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    seed_demo(runtime)
    return create_app("test", runtime=runtime)


@pytest.fixture
def deployed(runtime: Runtime, virtual_clock: clock.VirtualClock) -> Runtime:
    """The runtime with the bundled process deployed and the demo accounts, without a web app."""
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    seed_demo(runtime)
    return runtime
