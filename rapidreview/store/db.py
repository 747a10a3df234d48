"""Database engine, sessions and migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from rapidreview import resources
from rapidreview.store.schema_revisions import (
    Migration,
    alembic_config,
    between,
    current,
    current_of,
    head,
    is_known,
)

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = resources.path("migrations")


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``url``; ``schema`` puts every table of a PostgreSQL connection in that schema."""
    parsed = make_url(url)
    kwargs: dict[str, object] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # A connection the server dropped (a restart, a failover) is noticed and replaced before use.
        kwargs["pool_pre_ping"] = True
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def migrate(engine: Engine, target: str = "head") -> list[Migration]:
    """Bring the database to the newest schema (Alembic ``upgrade head``); the migrations applied, oldest first.

    A database a newer release has migrated is left alone: its migrations only added to what this release
    uses (docs/operations.md, Upgrading), which is what lets an operator roll back to this release.
    """
    at = current_of(engine)
    if at is not None and not is_known(at):
        logger.warning("the database is at revision %s, newer than this release's %s: not migrating it", at, head())
        return []
    config = alembic_config()
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            before = current(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, target)
            return between(before, current(connection))
    # SQLite's batch migrations rebuild tables other tables refer to (cases, agencies), which SQLite allows
    # only with foreign keys off; the pragma is ignored inside a transaction, so it is set before one starts,
    # and the keys are checked before the upgrade commits.
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                before = current(connection)
                config.attributes["connection"] = connection
                command.upgrade(config, target)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
                applied = between(before, current(connection))
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    return applied


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
