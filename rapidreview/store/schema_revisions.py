"""Which migrations a database has had and which it still needs, in words an operator can act on.

A migration may declare ``breaks_running_release = True`` when the release before it cannot run on the
migrated schema (it drops or renames something that release uses, or adds a NOT NULL column it does not
write). Upgrading across such a migration needs the services stopped first (docs/operations.md, Upgrading);
every other migration only adds, so the running release keeps working until it is restarted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from rapidreview import resources


@dataclass(frozen=True)
class Migration:
    revision: str
    title: str  # the first line of the migration's docstring
    breaks_running_release: bool

    def __str__(self) -> str:
        return f"{self.revision} {self.title}"


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.path("migrations")))
    return config


def scripts() -> ScriptDirectory:
    return _scripts(str(resources.path("migrations")))


@functools.lru_cache(maxsize=4)
def _scripts(location: str) -> ScriptDirectory:
    # Reading the folder imports every migration: once per process is enough.
    config = AlembicConfig()
    config.set_main_option("script_location", location)
    return ScriptDirectory.from_config(config)


def head() -> str:
    found = scripts().get_current_head()
    if found is None:
        raise RuntimeError("the migrations folder has no head revision")
    return found


def current(connection: Connection) -> str | None:
    """The database's revision, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def current_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return current(connection)


def between(older: str | None, newer: str | None) -> list[Migration]:
    """The migrations after ``older`` up to ``newer``, oldest first."""
    if newer is None or older == newer:
        return []
    found = []
    for script in scripts().iterate_revisions(newer, older or "base"):
        title = (script.doc or "").strip().splitlines()[0] if script.doc else ""
        found.append(Migration(script.revision, title, bool(getattr(script.module, "breaks_running_release", False))))
    return list(reversed(found))


def pending(engine: Engine) -> list[Migration]:
    """What ``rapidreview db upgrade`` would apply. A database newer than this release (its revision unknown
    here) raises LookupError: the release is older than the database, so it must not migrate it."""
    at = current_of(engine)
    if at is not None and scripts().get_revision(at) is None:
        raise LookupError(f"the database is at revision {at}, which this release does not know: "
                          "it was migrated by a newer release")
    return between(at, head())


def is_known(revision: str) -> bool:
    try:
        return scripts().get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for an unknown id
        return False
