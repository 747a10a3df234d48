"""What every service needs, built once per process: settings, calendar, engine, database sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.calendar import WorkingCalendar
from app.config import Settings
from app.engine.process import CompiledProcess, ProcessBundle, compile_bundle
from app.engine.runtime import Engine
from app.store import db


@dataclass
class Runtime:
    settings: Settings
    calendar: WorkingCalendar
    engine: Engine
    database: SqlEngine
    sessions: sessionmaker[Session]
    _compiled: dict[str, CompiledProcess] = field(default_factory=dict)

    def compiled(self, bundle: ProcessBundle, process_id: str) -> CompiledProcess:
        """Parsed specs by bundle hash: parsing costs tens of milliseconds, a step should not pay it."""
        key = f"{bundle.sha256}:{process_id}"
        if key not in self._compiled:
            self._compiled[key] = compile_bundle(bundle, process_id)
        return self._compiled[key]

    def close(self) -> None:
        self.database.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True, schema: str | None = None, **engine_args: Any) -> Runtime:
    calendar = WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)
    database = db.make_engine(settings.database_url, schema=schema)
    if migrate:
        db.migrate(database)
    return Runtime(settings=settings, calendar=calendar, engine=Engine(calendar), database=database,
                   sessions=db.session_factory(database))
