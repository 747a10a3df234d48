"""Migration 0008 (partnerships) on a database holding data, the models kept in step with the migrations, and
the `rapidreview partnership` and `create-user --partnership` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.people.users import get_user
from rapidreview.store.db import MIGRATIONS_DIR, make_engine, migrate
from rapidreview.store.models import Base, Case, HumanTask, Partnership, User


def _upgrade_to(engine: object, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:  # type: ignore[attr-defined]
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_the_upgrade_puts_existing_people_agencies_cases_and_tasks_in_the_default_partnership(
        database: tuple[str, str | None]) -> None:
    engine = make_engine(database[0], schema=database[1])
    _upgrade_to(engine, "0007")
    with engine.begin() as conn:  # a deployment from before partnerships: an agency, two people, a case, tasks
        conn.execute(text("INSERT INTO process_versions (number, process_id, sha256, deployed_by, deployed_at, note, "
                          "active) VALUES (1, 'rapid_review', 'x', 't', CURRENT_TIMESTAMP, '', true)"))
        conn.execute(text("INSERT INTO agencies VALUES ('school', 'Oak School', 'dsl@oak.example', 'head@oak.example', "
                          "true)"))
        for email, role, agency in (("lead@old.example", "la_lead", None), ("sam@oak.example", "agency_practitioner",
                                                                             "school")):
            conn.execute(text("INSERT INTO users (email, name, role, agency_id, password_hash, active, created_at) "
                              "VALUES (:e, 'N', :r, :a, 'hash', true, CURRENT_TIMESTAMP)"), {"e": email, "r": role, "a": agency})
        conn.execute(text(
            "INSERT INTO cases (reference, process_version_id, status, notified_at, day_one, deadline, notification, "
            "workflow_json, created_at, updated_at, lock_version, engine_attempts, legal_hold) VALUES ('RR-OLD-1', 1, "
            "'open', CURRENT_TIMESTAMP, '2026-05-22', '2026-06-12', '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, "
            "0, false)"))
        for n, (role, agency, state) in enumerate((("la_lead", None, "ready"), ("agency_practitioner", "school", "ready"),
                                                   ("la_lead", None, "completed"))):
            conn.execute(text("INSERT INTO human_tasks (case_id, engine_task_id, element_id, name, process_id, role, "
                              "agency_id, state, created_at) SELECT id, :t, 'e', 'Task', 'rapid_review', :r, :a, :s, "
                              "CURRENT_TIMESTAMP FROM cases"), {"t": f"t{n}", "r": role, "a": agency, "s": state})
        conn.execute(text("INSERT INTO documents (case_id, kind, version, filename, media_type, path, sha256, size, "
                          "author, created_at, origin, task_id) SELECT case_id, 'draft_report', 1, 'f.docx', 'm', "
                          "'p', 's', 1, 'a', CURRENT_TIMESTAMP, 'generated', min(id) FROM human_tasks GROUP BY case_id"))
    migrate(engine)
    with engine.connect() as conn:
        [default] = conn.execute(select(Partnership.id, Partnership.code, Partnership.name, Partnership.active)).all()
        assert default[1:] == ("default", "Default partnership", True)
        for table in ("users", "agencies", "cases", "human_tasks"):
            assert conn.scalars(text(f"SELECT DISTINCT partnership_id FROM {table}")).all() == [default.id], table
        assert conn.scalar(select(text("count(*)")).select_from(HumanTask)) == 3
        assert conn.scalar(select(text("count(*)")).select_from(text("documents"))) == 1
        assert conn.scalar(select(Case.reference)) == "RR-OLD-1"
        assert conn.scalars(select(User.email).order_by(User.email)).all() == ["lead@old.example", "sam@oak.example"]
        columns = {c["name"]: c for c in inspect(conn).get_columns("human_tasks")}
        assert columns["partnership_id"]["nullable"] is False and not columns["partnership_id"].get("default")
        ready = next(i for i in inspect(conn).get_indexes("human_tasks") if i["name"] == "ix_human_tasks_ready")
        assert ready["column_names"] == ["partnership_id", "role", "due_at"]
    engine.dispose()


def test_the_models_match_the_migrations(database: tuple[str, str | None]) -> None:
    engine = make_engine(database[0], schema=database[1])
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def _rapidreview(database: tuple[str, str | None], tmp_path: Path, *args: str,
                 stdin: str = "") -> subprocess.CompletedProcess[str]:
    url, schema = database
    if schema:
        url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "RAPIDREVIEW_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "rapidreview.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=env, timeout=120)


def test_partnerships_and_their_people_are_added_from_the_command_line(database: tuple[str, str | None],
                                                                       tmp_path: Path) -> None:
    added = _rapidreview(database, tmp_path, "partnership", "add", "northbridge", "Northbridge Safeguarding Partnership")
    assert added.returncode == 0, added.stderr
    again = _rapidreview(database, tmp_path, "partnership", "add", "northbridge", "Again")
    assert again.returncode == 2 and "already a partnership 'northbridge'" in again.stderr
    listed = _rapidreview(database, tmp_path, "partnership", "list")
    assert listed.returncode == 0 and "northbridge" in listed.stdout and "Default partnership" in listed.stdout
    password = "a long enough passphrase\n"
    created = _rapidreview(database, tmp_path, "create-user", "--email", "admin@northbridge.example", "--name", "Ada",
                           "--role", "admin", "--partnership", "northbridge", "--password-stdin", stdin=password)
    assert created.returncode == 0, created.stderr
    unknown = _rapidreview(database, tmp_path, "create-user", "--email", "x@southgate.example", "--name", "X",
                           "--role", "admin", "--partnership", "southgate", "--password-stdin", stdin=password)
    assert unknown.returncode == 2 and "no partnership 'southgate'" in unknown.stderr and "northbridge" in unknown.stderr
    plain = _rapidreview(database, tmp_path, "create-user", "--email", "lee@default.example", "--name", "Lee",
                         "--role", "la_lead", "--password-stdin", stdin=password)
    assert plain.returncode == 0, plain.stderr
    engine = make_engine(database[0], schema=database[1])
    with engine.connect() as conn:
        rows = dict(conn.execute(select(User.email, Partnership.code).join(Partnership,
                                                                          Partnership.id == User.partnership_id)).all())
    assert rows == {"admin@northbridge.example": "northbridge", "lee@default.example": "default"}
    # A deactivated partnership's people are signed out and cannot sign in; its data stays.
    assert _rapidreview(database, tmp_path, "partnership", "deactivate", "northbridge").returncode == 0
    assert "inactive" in _rapidreview(database, tmp_path, "partnership", "list").stdout
    with Session(engine) as session:
        admin = session.scalars(select(User).where(User.email == "admin@northbridge.example")).one()
        lee = session.scalars(select(User).where(User.email == "lee@default.example")).one()
        assert get_user(session, admin.id) is None and get_user(session, lee.id) is not None
    engine.dispose()
