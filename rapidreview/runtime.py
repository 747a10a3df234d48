"""What every service needs, built once per process: settings, calendar, engine, database sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, object_session, sessionmaker

from rapidreview import observability
from rapidreview.calendar import WorkingCalendar
from rapidreview.config import Settings
from rapidreview.engine.process import CompiledProcess, ProcessBundle, compile_bundle
from rapidreview.engine.runtime import CaseWorkflow, Engine
from rapidreview.errors import NotFound
from rapidreview.store import db
from rapidreview.store.models import Case, ProcessVersion


@dataclass
class Runtime:
    settings: Settings
    calendar: WorkingCalendar
    engine: Engine
    database: SqlEngine
    sessions: sessionmaker[Session]
    _compiled: dict[str, CompiledProcess] = field(default_factory=dict)
    _by_version: dict[int, CompiledProcess] = field(default_factory=dict)

    def compiled(self, bundle: ProcessBundle, process_id: str) -> CompiledProcess:
        """Parsed specs by bundle hash: parsing costs tens of milliseconds, a step should not pay it."""
        key = f"{bundle.sha256}:{process_id}"
        if key not in self._compiled:
            self._compiled[key] = compile_bundle(bundle, process_id)
        return self._compiled[key]

    def process_of(self, version_id: int, session: Session | None = None) -> CompiledProcess:
        """The parsed process of a stored version. Versions never change, so it is kept for good."""
        found = self._by_version.get(version_id)
        if found is None:
            if session is None:
                with db.transaction(self.sessions) as own:
                    return self.process_of(version_id, own)
            version = session.get(ProcessVersion, version_id)
            if version is None:
                raise NotFound(f"process version {version_id} does not exist")
            files = {f.path.split("/", 1)[1]: f.content for f in version.files if f.path.startswith("bpmn/")}
            found = self._by_version[version_id] = self.compiled(ProcessBundle(files), version.process_id)
        return found

    def restore(self, case: Case) -> CaseWorkflow:
        """The case's workflow, on the process version it runs on."""
        return self.engine.restore(case.workflow_json, self.process_of(case.process_version_id, object_session(case)))

    def close(self) -> None:
        self.database.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True, schema: str | None = None, **engine_args: Any) -> Runtime:
    observability.install()  # case events are logged and counted once committed
    calendar = WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)
    database = db.make_engine(settings.database_url, schema=schema)
    if migrate:
        db.migrate(database)
    return Runtime(settings=settings, calendar=calendar, engine=Engine(calendar), database=database,
                   sessions=db.session_factory(database))
