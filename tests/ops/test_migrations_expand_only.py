"""Upgrades keep the running release working: a migration only adds (tables, nullable columns, columns with a
server default, indexes), so the previous release's processes keep reading and writing until they are
restarted onto the new one, and an operator can roll back to it without restoring a backup.

A migration that must break that rule says so (``breaks_running_release = True``), and `rapidreview db status`
then tells the operator to stop the services first (docs/operations.md, Upgrading).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from rapidreview.store import schema_revisions
from rapidreview.store.db import make_engine, migrate

Schema = dict[str, dict[str, dict[str, Any]]]


def _schema(engine: Engine) -> Schema:
    found = inspect(engine)
    return {table: {c["name"]: c for c in found.get_columns(table)}
            for table in found.get_table_names() if table != "alembic_version"}


def contractions(before: Schema, after: Schema) -> list[str]:
    """What the previous release, written against ``before``, could trip over in ``after``."""
    problems = []
    for table, columns in before.items():
        if table not in after:
            problems.append(f"table {table} was dropped or renamed")
            continue
        problems += [f"column {table}.{name} was dropped or renamed" for name in columns if name not in after[table]]
        for name, column in after[table].items():
            if name not in columns and not column["nullable"] and column.get("default") is None:
                problems.append(f"column {table}.{name} is new, NOT NULL and has no server default: "
                                "the previous release's inserts fail")
            elif name in columns and columns[name]["nullable"] and not column["nullable"] and column.get("default") is None:
                problems.append(f"column {table}.{name} became NOT NULL without a server default")
    return problems


@pytest.fixture
def engine(database: tuple[str, str | None]) -> Any:
    engine = make_engine(database[0], schema=database[1])
    yield engine
    engine.dispose()


def test_every_migration_keeps_the_previous_release_working_or_says_it_does_not(engine: Engine) -> None:
    undeclared = {}
    declared = {}
    for migration in schema_revisions.between(None, schema_revisions.head()):
        before = _schema(engine)
        assert [m.revision for m in migrate(engine, migration.revision)] == [migration.revision]
        if not before:
            continue  # the first migration creates the schema: there was no previous release
        found = contractions(before, _schema(engine))
        if migration.breaks_running_release:
            declared[migration.revision] = found
        elif found:
            undeclared[migration.revision] = found
    assert undeclared == {}, ("these migrations break the release before them; make them add only (expand now, "
                              f"contract in a later release) or declare breaks_running_release = True: {undeclared}")
    # The declaration is not a blanket excuse: each declared migration does break something, and says why.
    assert all(declared.values()), declared


def test_the_check_catches_what_broke_the_release_before_partnerships(engine: Engine) -> None:
    """0008 added cases.partnership_id NOT NULL without a default: the release before it could no longer start a
    case. The check names exactly that, and the migration declares it."""
    migrate(engine, "0007")
    before = _schema(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO process_versions (number, process_id, sha256, deployed_by, deployed_at, note, "
                          "active) VALUES (1, 'rapid_review', 'x', 't', CURRENT_TIMESTAMP, '', true)"))
    migrate(engine, "0008")
    problems = contractions(before, _schema(engine))
    assert any(p.startswith("column cases.partnership_id is new, NOT NULL") for p in problems)
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the 0007 release's insert of a new case
        conn.execute(text(
            "INSERT INTO cases (reference, process_version_id, status, notified_at, day_one, deadline, notification, "
            "workflow_json, created_at, updated_at, lock_version, engine_attempts, legal_hold) SELECT 'RR-OLD-2', id, "
            "'open', CURRENT_TIMESTAMP, '2026-05-22', '2026-06-12', '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
            "1, 0, false FROM process_versions"))
    assert {m.revision for m in schema_revisions.between("0007", "0008") if m.breaks_running_release} == {"0008"}


def test_db_status_tells_the_operator_to_stop_the_services_for_a_breaking_migration(
        engine: Engine, database: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if database[1] is not None:
        pytest.skip("the command reads DATABASE_URL; one SQLite file is enough to test its words")
    from rapidreview.cli import main

    migrate(engine, "0007")
    monkeypatch.setenv("DATABASE_URL", database[0])
    assert main(["db", "status"]) == 1
    out = capsys.readouterr().out
    assert "database at 0007; this release needs" in out
    assert "0008 partnerships" in out and "stop the services first" in out
    assert "0009 account recovery" in out and "0009 account recovery: an administrator sets a temporary password " \
        "or resets two-factor authentication  (stop" not in out
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("migrated from 0007: applied") and "  0008 partnerships" in out
