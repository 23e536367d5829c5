"""Faults, with real processes: kill -9 of a web worker while entries stream in, of the ERP dispatcher while a posting
is in flight, of the worker while it renders, and a database connection dropped inside a signing transaction.

Afterwards nothing is half-written, nothing acknowledged is lost, and the full verifier (`ebr verify`) is clean."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, text

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.execution_corrections import Entry
from ebr.app.ports import PostingStatus
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.demo.fake_erp import FakeErp
from ebr.domain.audit import Action
from tests.app.execution_support import Floor, running_batch
from tests.app.masterdata_support import trail
from tests.app.review_support import in_review
from tests.factories import actor_of, login
from tests.fakes import FakeClock
from tests.integration.erp.support import enqueue_all, posting
from tests.system.support import (
    BIN,
    REPO,
    Browser,
    assert_verify_clean,
    ebr,
    ebr_env,
    follow,
    gunicorn,
    kill_hard,
    stop,
    wait_for,
)
from tests.web.support import post, sign_dialog

pytestmark = [pytest.mark.slow, pytest.mark.error_handling]


def at_label_step(rt: Runtime) -> tuple[Floor, int]:
    """A quick check run up to its label step, whose container number holds a first value."""
    floor = running_batch(rt)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.005", "kg", override_reason="balance offline"))
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    floor.enter("qc_label", qc_container="CN-0")
    return floor, floor.step("qc_label").record.id


@dataclass
class Stream:
    """What one client sent and what it was told about each entry."""

    saved: list[str] = field(default_factory=list)  # answered 200: the client may rely on them
    lost: list[str] = field(default_factory=list)  # no answer (the worker died): stored or not, never twice
    refused: list[tuple[str, int]] = field(default_factory=list)
    saved_after_kill: int = 0


def stream_entries(browser: Browser, batch: str, pk: int, killed: threading.Event, out: Stream) -> None:
    """Correct the container number again and again until ten more entries are saved after the kill."""
    token = browser.token(f"/batches/{batch}")
    deadline = time.monotonic() + 150  # bounded, and roomy: a loaded machine respawns a worker slowly
    n = 0
    while out.saved_after_kill < 10 and time.monotonic() < deadline:
        n += 1
        value = f"CN-{n}"
        body = {"field": "qc_container", "value": value, "change_reason": f"label reprinted ({n})"}
        was_killed = killed.is_set()
        try:
            answer = browser.http.post(
                f"/api/batches/{batch}/steps/{pk}/values", json=body, headers={"X-CSRFToken": token}
            )
        except httpx.TransportError:
            out.lost.append(value)
            continue
        if answer.status_code != 200:
            out.refused.append((value, answer.status_code))
            continue
        out.saved.append(value)
        out.saved_after_kill += was_killed


def test_a_web_worker_killed_mid_stream_loses_no_acknowledged_entry_and_stores_none_twice(
    live: Runtime, settings: Settings, tmp_path: Path
) -> None:
    floor, pk = at_label_step(live)
    out, killed = Stream(), threading.Event()
    with gunicorn(settings, tmp_path / "gunicorn.log") as server:
        browser = Browser(server.url)
        browser.login(floor.operator.user.username)
        client = threading.Thread(target=stream_entries, args=(browser, floor.batch_id, pk, killed, out))
        client.start()
        try:
            wait_for(lambda: len(out.saved) >= 5, 30, "the first entries to be saved")
            before = server.workers()
            kill_hard(min(before))
            killed.set()
            wait_for(lambda: len(server.workers() - before) == 1, 60, "gunicorn to replace the killed worker")
        finally:
            client.join(180)
            browser.close()
        assert server.process.poll() is None  # the master survived and kept serving
    assert out.saved_after_kill >= 10 and not out.refused, (out, server.log.read_text()[-3000:])
    history = next(f for f in live.services.execution.step(floor.batch_id, pk).fields if f.field.id == "qc_container")
    stored = Counter(value.value for value in history.history)
    assert all(stored[value] == 1 for value in out.saved), stored
    assert set(stored) <= {"CN-0", *out.saved, *out.lost} and max(stored.values()) == 1
    audited = {e.draft.object_id for e in trail(live, "step_value") if e.draft.action is Action.CREATE}
    assert {str(value.id) for value in history.history} <= audited  # no entry without its audit entry
    assert_verify_clean(settings)


@pytest.mark.req("ERP-02")
def test_a_dispatcher_killed_with_a_posting_in_flight_delivers_it_once_in_effect_after_its_lease(
    live: Runtime, settings: Settings, tmp_path: Path
) -> None:
    item = posting("B-FAULT")
    enqueue_all(live, [item])
    key = item.key
    with FakeErp() as erp:
        erp.delay_s = 4.0  # slow: the posting is still in flight when its sender dies
        env = ebr_env(settings, EBR_ERP_URL=erp.url)
        log = (tmp_path / "dispatch.log").open("w")
        command = [str(BIN / "ebr"), "dispatch", "--interval", "0.2"]
        sender = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: erp.deliveries[key] == 1, 60, "the posting to reach the ERP")
            kill_hard(sender.pid)
            sender.wait(15)
        finally:
            stop(sender, log)
        erp.delay_s = 0.0
        again = ebr(settings, "dispatch", "--once", EBR_ERP_URL=erp.url)
        assert "0 sent, 0 to retry, 0 dead" in again.stdout, again.stdout + again.stderr  # the lease still holds
        wait_for(lambda: erp.applied[key] == 1, 60, "the ERP to finish the posting it was sent")
        restarted = build(settings.with_(erp_url=erp.url), clock=FakeClock(past_lease(live, erp.url)))
        try:
            report = restarted.services.dispatcher.drain()
            restarted.services.dispatcher.close()
        finally:
            restarted.engine.dispose()
        assert report.sent == 1, report
        received = erp.received()["keys"][key]  # the fake ERP's idempotency ledger
        assert received["applied"] == 1 and received["deliveries"] == 2 and len(received["sha256"]) == 1, received
    assert live.services.outbox.counts()[PostingStatus.SENT] == 1
    assert_verify_clean(settings)


def past_lease(rt: Runtime, erp_url: str) -> datetime:
    """A moment after the lease a dispatcher of these settings takes has run out."""
    probe = build(rt.settings.with_(erp_url=erp_url))
    try:
        lease = probe.services.dispatcher.settings.lease
        probe.services.dispatcher.close()
    finally:
        probe.engine.dispose()
    return datetime.now(UTC) + lease + timedelta(minutes=1)


def test_a_worker_killed_mid_render_stores_no_document_and_a_rerun_renders_it_whole(
    live: Runtime, settings: Settings, plant: SimulatedPlant
) -> None:
    floor = in_review(live, plant)
    command = [str(BIN / "ebr"), "worker", "--once"]
    env = ebr_env(settings)
    worker = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert worker.stderr is not None
    lines = follow(worker.stderr)  # the worker logs to stderr
    try:
        # WeasyPrint announces its layout step: the PDF is being made, nothing of it is stored yet.
        wait_for(lambda: any("Creating layout" in line for line in lines), 60, "the worker to start rendering")
        kill_hard(worker.pid)
        worker.wait(15)
    finally:
        stop(worker)
    assert live.services.documents.documents(floor.batch_id) == []
    assert not list(settings.instance_path.rglob("*.pdf"))
    rerun = ebr(settings, "worker", "--once")
    assert "documents: 1" in rerun.stdout, rerun.stdout + rerun.stderr
    (stored,) = live.services.documents.documents(floor.batch_id)
    content = live.services.documents.download(actor_of(floor.qa.user), stored.id, floor.batch_id)
    assert (
        content.startswith(b"%PDF")
        and content.rstrip().endswith(b"%%EOF")
        and sha256(content).hexdigest() == stored.sha256
    )
    assert_verify_clean(settings)


class DropInside:
    """Terminates the application's own database connection from another one, inside the signing transaction:
    after the signature row is written, just before the audit entry that would follow it."""

    def __init__(self, rt: Runtime, owner_url: str) -> None:
        self._engine = rt.engine
        self._admin = create_engine(owner_url, isolation_level="AUTOCOMMIT")
        self.signature_written = False
        self.dropped: int | None = None

    def __enter__(self) -> DropInside:
        event.listen(self._engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._hook)
        self._admin.dispose()

    def _hook(self, conn: Any, cursor: Any, statement: str, *rest: object) -> None:
        if self.dropped is not None:
            return
        if statement.startswith("INSERT INTO signature "):
            self.signature_written = True
        elif self.signature_written and statement.startswith("INSERT INTO audit_entry"):
            pid = cursor.connection.info.backend_pid
            with self._admin.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                wait_for(lambda: admin.execute(gone, {"pid": pid}).scalar() == 0, 10, "the backend to end")
            self.dropped = pid


@pytest.mark.pg
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_dropped_inside_a_signing_transaction_stores_nothing_of_it_and_a_retry_signs(
    live: Runtime, settings: Settings, owner_url: str
) -> None:
    from ebr.web.app import create_app

    floor, pk = at_label_step(live)
    floor.enter("qc_label", qc_label_applied="yes")
    browser = create_app(runtime=live).test_client()
    assert login(browser, floor.operator.user.username) == 302
    page = f"/batches/{floor.batch_id}/steps/{pk}"
    opened = post(browser, f"{page}/perform", token_from=page)
    assert opened.status_code == 302 and "/sign/" in opened.location
    before = len(trail(live, "batch")) + len(trail(live, "batch_step"))
    with DropInside(live, owner_url) as drop:
        answer = sign_dialog(browser, opened.location, floor.operator.user.username)
    assert drop.dropped is not None
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 500 and 'id="correlation-id"' in shown, shown[:2000]
    assert answer.headers["X-Request-ID"] in shown  # the person can quote the id the log and the incident carry
    assert live.services.signing.signatures_on("batch_step", str(pk)) == []
    assert len(trail(live, "batch")) + len(trail(live, "batch_step")) == before
    assert floor.step("qc_label").record.id == pk  # still open: the engine did not move
    retried = sign_dialog(browser, opened.location, floor.operator.user.username)
    assert retried.status_code == 302, retried.get_data(as_text=True)[:2000]
    assert len(live.services.signing.signatures_on("batch_step", str(pk))) == 1
    assert [line.record.step_id for line in floor.open_steps()] == ["qc_confirm"]
    assert_verify_clean(settings)
