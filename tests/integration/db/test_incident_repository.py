"""The incident table on SQLite and PostgreSQL: deduplication never breaks the caller's transaction."""

from __future__ import annotations

import threading
from datetime import timedelta

from ebr.app.context import Actor, AuditContext
from ebr.app.incidents import open_incident
from ebr.app.ports import Incident
from ebr.bootstrap import Runtime
from tests.web.support import last_seq

SYSTEM = Actor.system()


def test_a_duplicate_key_leaves_the_callers_transaction_usable(runtime: Runtime) -> None:
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(SYSTEM, now)) as uow:
        open_incident(uow, "dead-letter:9", "dead_letter", "critical", "Message 9 undeliverable", "ERP down", now)
        uow.commit()
    with runtime.services.uow(AuditContext(SYSTEM, now, "kiosk installed")) as uow:
        assert open_incident(uow, "dead-letter:9", "dead_letter", "critical", "again", "again", now) is None
        # On PostgreSQL a failed INSERT would abort everything after it; this GMP write must still commit.
        uow.terminals.add("Kiosk-1", "", "0" * 64, None, now)
        uow.commit()
    assert [t.name for t in runtime.services.terminals.list()] == ["Kiosk-1"]
    assert [i.subject for i in runtime.services.incidents.open_incidents()] == ["Message 9 undeliverable"]


def test_opening_an_incident_writes_no_audit_entry_as_the_table_is_not_gmp(runtime: Runtime) -> None:
    before = last_seq(runtime)
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(SYSTEM, now)) as uow:
        open_incident(uow, "check:1", "check", "info", "Nightly check", "all fine", now)
        uow.commit()
    assert last_seq(runtime) == before


def test_two_transactions_opening_the_same_key_at_once_store_one_incident(runtime: Runtime) -> None:
    now = runtime.services.clock.now()
    first_opened = threading.Event()
    results: dict[str, Incident | BaseException | None] = {}

    def first() -> None:
        with runtime.services.uow(AuditContext(SYSTEM, now)) as uow:
            results["first"] = open_incident(uow, "hold-overdue:3", "hold_overdue", "warning", "first", "", now)
            first_opened.set()
            threading.Event().wait(0.3)  # the second opener is now waiting on this uncommitted row
            uow.commit()

    def second() -> None:
        first_opened.wait(10)
        try:
            later = now + timedelta(seconds=1)
            with runtime.services.uow(AuditContext(SYSTEM, later)) as uow:
                results["second"] = open_incident(uow, "hold-overdue:3", "hold_overdue", "warning", "second", "", later)
                uow.commit()
        except BaseException as exc:  # reported through the assertion below, not lost in the thread
            results["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(results["first"], Incident)
    assert results["second"] is None
    assert [i.subject for i in runtime.services.incidents.open_incidents()] == ["first"]
