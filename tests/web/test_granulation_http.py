"""The demo's long procedure start to finish through the HTTP interface: every value POSTed as the step page
does, every signature given in the signing dialog, holds and dispositions through the batch page's forms, and
the worker's poller for the overdue hold. It has a rework loop, a deviation and its disposition, a hold, a
minimum and an overdue maximum hold time, dual signatures and a yield step."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.bootstrap import Runtime
from ebr.domain.accounts import User
from ebr.worker.loop import JOBS, run_once
from tests.app.execution_support import Floor, instance_code, running_batch, typical, weighed
from tests.fakes import FakeClock
from tests.web.batch_support import browser_of, enter_json, text_of
from tests.web.support import post, sign_dialog

BATCH = "B-9001"
LOD = {1: "2.50", 2: "1.50"}  # too wet after the first drying: the loop dries again


@dataclass
class Shift:
    """The people at the line, each with a browser logged in through the login form."""

    app: Flask
    floor: Floor
    browsers: dict[int, FlaskClient] = field(default_factory=dict)

    def of(self, user: User) -> FlaskClient:
        if user.id not in self.browsers:
            self.browsers[user.id] = browser_of(self.app, user.username)
        return self.browsers[user.id]

    def new_shift(self) -> None:
        """After a long wait the sessions have idled out: everyone logs in again."""
        self.browsers.clear()

    def sign(self, user: User, path: str, token_from: str, data: dict[str, str] | None = None) -> int:
        """Open a signing request with a form POST, then sign it in the dialog; the dialog's status."""
        browser = self.of(user)
        opened = post(browser, path, data or {}, token_from=token_from)
        assert opened.status_code == 302 and "/sign/" in opened.location, (path, opened.status_code, text_of(opened))
        return sign_dialog(browser, opened.location, user.username).status_code


def _enter_all(shift: Shift, user: User, pk: int, clock: FakeClock, given: dict[str, str]) -> None:
    view = shift.floor.rt.services.execution.step(BATCH, pk)
    page = f"/batches/{BATCH}/steps/{pk}"
    if view.step.equipment_class and view.in_use is None:  # scan the step's equipment label first
        scanned = post(shift.of(user), f"{page}/equipment", {"barcode": instance_code(view.step.equipment_class)}, page)
        assert scanned.status_code == 302 and "Refused" not in text_of(shift.of(user).get(page))
    given = {**weighed(view.form), **given}
    for definition in view.form.fields:
        entry = typical(definition, clock.now(), view.step.equipment_class)
        if entry is None:
            continue
        text = given.get(definition.id, entry.text)
        body = {"field": definition.id, "value": text, "unit": entry.unit, "override_reason": entry.override_reason}
        body |= {"repeat": text} if definition.double_entry else {}
        answer = enter_json(shift.of(user), BATCH, pk, body)
        if answer.status_code == 409 and "outside" in answer.get_data(as_text=True):
            answer = enter_json(shift.of(user), BATCH, pk, body | {"confirmed": True})
        assert answer.status_code == 200, (definition.id, answer.status_code, answer.get_data(as_text=True))


def _step(shift: Shift, clock: FakeClock, tablets: str, seen: list[str]) -> None:
    floor = shift.floor
    line = floor.open_steps()[0]
    pk, step_page = line.record.id, f"/batches/{BATCH}/steps/{line.record.id}"
    view = floor.rt.services.execution.step(BATCH, pk)
    if line.record.status == "performed":
        verifier = floor.supervisor if "supervisor" in view.step.verifier_roles else floor.qa
        assert shift.sign(verifier.user, f"{step_page}/verify", step_page) == 302
        return
    roles = view.step.performer_roles
    performer = floor.operator if not roles or "operator" in roles else floor.supervisor
    given = {"lod_pct": LOD[line.record.iteration], "tablets_mass": tablets}
    _enter_all(shift, performer.user, pk, clock, given)
    if line.record.hold_earliest is not None and clock.now() < line.record.hold_earliest:
        assert shift.sign(performer.user, f"{step_page}/perform", step_page) == 409  # the minimum hold
        clock.set(line.record.hold_earliest)
        shift.new_shift()
    assert shift.sign(performer.user, f"{step_page}/perform", step_page) == 302
    seen.append(f"{line.record.step_id}#{line.record.iteration}")


def _hold_and_resume(shift: Shift) -> None:
    supervisor = shift.floor.supervisor.user
    page = f"/batches/{BATCH}"
    assert shift.sign(supervisor, f"{page}/actions", page, {"kind": "hold", "reason": "granulator alarm"}) == 302
    assert "on hold" in text_of(shift.of(supervisor).get(page)).lower()
    assert shift.sign(supervisor, f"{page}/actions", page, {"kind": "resume", "reason": "alarm cleared"}) == 302


def _overdue(shift: Shift, clock: FakeClock) -> None:
    """Nobody touches the batch for more than the maximum hold: the worker opens the deviation."""
    clock.advance(hours=3, minutes=1)
    shift.new_shift()
    jobs = tuple(job for job in JOBS if job.name == "holds")
    assert run_once(shift.floor.rt, jobs) == {"holds": 1}


def _disposition(shift: Shift, deviation_pk: int) -> None:
    qa, page = shift.floor.qa.user, f"/batches/{BATCH}"
    decided = {"disposition": "rework", "impact": "dried again, LOD within limit", "reason": "per SOP"}
    assert shift.sign(qa, f"{page}/deviations/{deviation_pk}/disposition", page, decided) == 302
    closed = {"reason": "second drying passed"}
    assert shift.sign(qa, f"{page}/deviations/{deviation_pk}/close", page, closed) == 302


@pytest.mark.slow
def test_the_granulation_procedure_runs_start_to_finish_through_http(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    shift = Shift(app, running_batch(runtime, "granulation", "PARA-500"))
    seen: list[str] = []
    held = overdue = False
    for _ in range(200):
        if not shift.floor.open_steps():
            break
        first = shift.floor.open_steps()[0].record
        if first.step_id == "dry_mix" and not held:
            _hold_and_resume(shift)
            held = True
        if first.step_id == "sample_lod" and first.status == "ready" and not overdue:
            _overdue(shift, clock)
            overdue = True
        _step(shift, clock, "117.300", seen)
    view = runtime.services.execution.batch(BATCH)
    assert str(view.batch.batch.status) == "completed"
    assert "dry_granules#2" in seen and "sample_lod#2" in seen  # each pass of the loop is its own record
    lod = next(d for d in view.deviations if d.field_id == "lod_pct")
    _disposition(shift, lod.id)
    after = runtime.services.execution.batch(BATCH)
    assert [(d.status, d.disposition) for d in after.deviations if d.id == lod.id] == [("closed", "rework")]
    assert {"hold_exceeded", "out_of_limit"} <= {d.kind for d in after.deviations}
    assert len(after.yields) == 1 and after.yields[0].within and after.reconciliations
    assert [a.kind for a in after.actions if a.status == "applied"][:2] == ["hold", "resume"]
    page = text_of(shift.of(shift.floor.qa.user).get(f"/batches/{BATCH}"))
    assert "completed" in page.lower() and lod.number in page
