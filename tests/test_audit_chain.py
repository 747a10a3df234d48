"""The audit trail is append-only and hash-chained: tampering shows in `rapidreview audit verify`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from rapidreview.commands import security as security_cmd
from rapidreview.runtime import Runtime
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent
from tests.conftest import TEST_DATABASE_URL


def record_events(runtime: Runtime, n: int, case_id: int | None = None) -> None:
    for i in range(n):
        with transaction(runtime.sessions) as session:
            audit.record(session, case_id, "test_event", actor="tester", n=i, note="Ünïcode & <b>")


def verification(runtime: Runtime) -> audit.Verification:
    with transaction(runtime.sessions) as session:
        return audit.verify(session)


def run_cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(security_cmd, "build_runtime", lambda _settings: runtime)
    from rapidreview.cli import main

    return main(list(args))


def test_each_event_links_to_the_one_before_and_the_chain_verifies(runtime: Runtime) -> None:
    record_events(runtime, 5)
    with transaction(runtime.sessions) as session:
        events = list(session.query(AuditEvent).order_by(AuditEvent.id))
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    result = verification(runtime)
    assert result.ok and result.events == 5


def test_a_changed_event_is_named_by_verify(runtime: Runtime) -> None:
    record_events(runtime, 4)
    with runtime.database.begin() as conn:
        third = conn.execute(text("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 2")).scalar_one()
        conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE id = :id"), {"id": third})
    result = verification(runtime)
    assert result.broken_event_id == third and "changed" in result.reason


def test_a_deleted_event_breaks_the_chain_at_the_next_one(runtime: Runtime) -> None:
    record_events(runtime, 4)
    with runtime.database.begin() as conn:
        ids = list(conn.execute(text("SELECT id FROM audit_events ORDER BY id")).scalars())
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
    assert verification(runtime).broken_event_id == ids[2]


def test_removing_the_newest_events_shows_against_the_chain_head(runtime: Runtime) -> None:
    record_events(runtime, 3)
    with runtime.database.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events)"))
    result = verification(runtime)
    assert not result.ok and "chain head" in result.reason


def test_the_application_cannot_update_or_delete_an_event(runtime: Runtime) -> None:
    record_events(runtime, 1)
    with pytest.raises(audit.AuditTampering), transaction(runtime.sessions) as session:
        session.query(AuditEvent).one().actor = "x"
    with pytest.raises(audit.AuditTampering), transaction(runtime.sessions) as session:
        session.delete(session.query(AuditEvent).one())
    assert verification(runtime).ok


def test_a_rolled_back_transaction_leaves_the_chain_whole(runtime: Runtime) -> None:
    record_events(runtime, 2)
    with pytest.raises(RuntimeError), transaction(runtime.sessions) as session:
        audit.record(session, None, "never_committed")
        raise RuntimeError("crash before commit")
    record_events(runtime, 1)
    assert verification(runtime).ok


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="concurrent writers: PostgreSQL only (SQLite serialises writers)")
def test_concurrent_writers_append_in_turn_on_postgresql(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            record_events(runtime, 8)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verification(runtime)
    assert result.ok and result.events == 32


def test_audit_verify_command_exits_1_naming_the_broken_event(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    record_events(runtime, 3)
    assert run_cli(runtime, monkeypatch, "audit", "verify") == 0
    assert "intact: 3 events" in capsys.readouterr().out
    with runtime.database.begin() as conn:
        first = conn.execute(text("SELECT MIN(id) FROM audit_events")).scalar_one()
        conn.execute(text("UPDATE audit_events SET type = 'forged' WHERE id = :id"), {"id": first})
    assert run_cli(runtime, monkeypatch, "audit", "verify") == 1
    assert f"event {first} (forged)" in capsys.readouterr().err


def test_audit_export_writes_json_lines_for_all_or_one_case(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    from tests.test_retention import start_case

    case_id = start_case(runtime, "RR-A-1")
    record_events(runtime, 2)
    out = tmp_path / "audit.jsonl"
    assert run_cli(runtime, monkeypatch, "audit", "export", "--output", str(out)) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"id", "case_id", "at", "type", "actor", "payload", "prev_hash", "hash"} <= set(lines[0])
    assert [e["id"] for e in lines] == sorted(e["id"] for e in lines)
    assert run_cli(runtime, monkeypatch, "audit", "export", "--case", "RR-A-1", "--output", str(out)) == 0
    case_lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert case_lines and all(e["case_id"] == case_id for e in case_lines)
    assert len(case_lines) < len(lines)
