"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

# Cheap password hashes: the suite creates a dozen accounts per web test. Set before the application is
# imported, since the hash method is read once, at import.
os.environ.setdefault("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt:1024:8:1")

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.people.demo import seed_demo
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
def runtime(settings: Settings, database: tuple[str, str | None], templates: DatabaseTemplates,
            request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The test's own database, copied from a template migrated once per session: with the bundled process
    deployed and the demo accounts when the test uses ``app`` or ``deployed`` (which then find them)."""
    deployed = bool({"app", "deployed"} & set(request.fixturenames))
    templates.copy_into(database, deployed=deployed)
    rt = build_runtime(settings, schema=database[1], migrate=False)
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
    """The web app on the test's database, which holds the bundled process and the demo accounts (``runtime``
    copied them from the session's template)."""
    return create_app("test", runtime=runtime)


@pytest.fixture
def deployed(runtime: Runtime, virtual_clock: clock.VirtualClock) -> Runtime:
    """The runtime with the bundled process deployed and the demo accounts, without a web app."""
    return runtime


def deploy_bundled(rt: Runtime) -> None:
    """What ``deployed`` holds: the bundled process, deployed at START, and the demo accounts."""
    deploy_directory(rt, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test",
                     templates_dir=PROJECT_ROOT / "templates")
    seed_demo(rt)


class DatabaseTemplates:
    """Two databases made once per test session: migrated, and migrated with the bundled process deployed and
    the demo accounts. Each test copies one into its own fresh database (a file copy on SQLite; on PostgreSQL
    the template schema's dump, renamed), which is what migrating, deploying and seeding would have made,
    without doing it for every test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[bool, Any] = {}

    def _make(self, deployed: bool) -> Any:
        if deployed in self._made:
            return self._made[deployed]
        name = "deployed" if deployed else "migrated"
        if TEST_DATABASE_URL:
            schema = f"tmpl_{name}_{uuid.uuid4().hex[:10]}"
            admin = make_engine(TEST_DATABASE_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            url: str = TEST_DATABASE_URL
        else:
            schema, url = None, f"sqlite:///{self.folder / (name + '.db')}"
        settings = Settings(database_url=url, data_dir=self.folder / f"{name}-data", bpmn_dir=PROJECT_ROOT / "bpmn",
                            forms_dir=PROJECT_ROOT / "forms", templates_dir=PROJECT_ROOT / "templates")
        rt = build_runtime(settings, schema=schema)
        if deployed:
            with clock.using(clock.VirtualClock(START)):
                deploy_bundled(rt)
        rt.close()
        made: Any = self.folder / f"{name}.db" if schema is None else _dump_schema(schema)
        self._made[deployed] = made
        return made

    def copy_into(self, database: tuple[str, str | None], *, deployed: bool) -> None:
        made = self._make(deployed)
        url, schema = database
        if schema is None:
            shutil.copyfile(made, url.removeprefix("sqlite:///"))
            return
        script, token = made
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(script.replace(token, schema))
        finally:
            engine.dispose()


def _dump_schema(schema: str) -> tuple[str, str]:
    """The template schema as SQL (tables, sequences, constraints and rows), naming the schema by a token
    each test replaces with its own schema's name."""
    from sqlalchemy.engine import make_url

    target = make_url(TEST_DATABASE_URL)
    command = ["pg_dump", "--no-owner", "--no-privileges", "--inserts", "--schema", schema,
               "-h", target.host or "127.0.0.1", "-p", str(target.port or 5432), "-U", target.username or "postgres",
               target.database or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": target.password} if target.password else {})}
    dumped = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    # Statements only: no psql meta-commands, no search_path change outliving the copy, no CREATE SCHEMA
    # (each test's schema exists already).
    lines = [line for line in dumped.splitlines()
             if not line.startswith(("\\", "SELECT pg_catalog.set_config('search_path'", "CREATE SCHEMA"))]
    return "\n".join(lines), schema


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    made = DatabaseTemplates(tmp_path_factory.mktemp("templates"))
    yield made
    if TEST_DATABASE_URL:
        admin = make_engine(TEST_DATABASE_URL)
        with admin.begin() as conn:
            for found in made._made.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{found[1]}" CASCADE'))
        admin.dispose()
