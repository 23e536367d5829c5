"""A running batch for execution tests: policy in force, people with sessions, the quick check started."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ebr.app.context import RequestInfo
from ebr.app.execution_corrections import Entry
from ebr.app.execution_views import StepLine
from ebr.app.ports import StoredValue
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.orders import ProductionOrder
from tests.app.masterdata_support import make_procedure_effective
from tests.factories import actor_of, effective_policy, make_user, session_token, sign

KIOSK = RequestInfo("10.0.0.7", "kiosk-7", "req-1")


@dataclass
class Person:
    """A user with an open session."""

    user: User
    token: str


@dataclass
class Floor:
    """A batch in progress and the people around it."""

    rt: Runtime
    batch_id: str
    operator: Person
    supervisor: Person
    qa: Person

    def open_steps(self) -> list[StepLine]:
        return self.rt.services.execution.batch(self.batch_id).open_steps

    def step(self, step_id: str) -> StepLine:
        found = [line for line in self.open_steps() if line.record.step_id == step_id]
        assert found, f"{step_id} is not open: {[line.record.step_id for line in self.open_steps()]}"
        return found[-1]

    def enter(self, step_id: str, person: Person | None = None, **values: str | Entry) -> list[StoredValue]:
        who = person or self.operator
        record = self.step(step_id).record
        stored = []
        for field_id, value in values.items():
            entry = value if isinstance(value, Entry) else Entry(field_id, value)
            stored.append(self.rt.services.execution.enter(actor_of(who.user), self.batch_id, record.id, entry, KIOSK))
        return stored

    def sign_step(self, step_id: str, meaning: str = "performed", person: Person | None = None) -> object:
        who = person or (self.operator if meaning == "performed" else self.supervisor)
        record = self.step(step_id).record
        return sign(self.rt, who.user, who.token, "batch_step", str(record.id), meaning)

    def perform(self, step_id: str, **values: str | Entry) -> None:
        self.enter(step_id, **values)
        self.sign_step(step_id)

    def act(self, kind: str, by: Person, meaning: str, reason: str = "as decided", **kw: object) -> object:
        action = self.rt.services.execution.request_action(
            actor_of(by.user),
            self.batch_id,
            kind,
            reason,
            KIOSK,
            **kw,  # type: ignore[arg-type]
        )
        return sign(self.rt, by.user, by.token, "batch_action", str(action.id), meaning)


def person(rt: Runtime, role: Role) -> Person:
    user = make_user(rt, role)
    return Person(user, session_token(rt, user))


def running_batch(rt: Runtime, procedure_id: str = "quick_check", product: str = "QC-SAMPLE") -> Floor:
    """Policy approved, procedure effective, order released, batch started by the operator."""
    effective_policy(rt)
    make_procedure_effective(rt, product, procedure_id)
    operator, supervisor, qa = person(rt, Role.OPERATOR), person(rt, Role.SUPERVISOR), person(rt, Role.QA)
    order = ProductionOrder("PO-9001", product, Decimal("10"), "kg", "B-9001")
    stored = rt.services.orders.create(actor_of(supervisor.user), order)
    rt.services.orders.release(actor_of(supervisor.user), stored.id)
    rt.services.batches.start(actor_of(operator.user), stored.id)
    return Floor(rt, order.batch_id, operator, supervisor, qa)
