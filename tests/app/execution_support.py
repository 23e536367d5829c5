"""A running batch for execution tests: policy in force, people with sessions, the quick check started."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_corrections import Entry
from ebr.app.execution_views import StepLine
from ebr.app.ports import StoredValue
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.materials import Container, Material, MaterialLot, QcStatus
from ebr.domain.orders import ProductionOrder
from ebr.domain.steps import FieldDefinition, FormDefinition
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
    plant: SimulatedPlant | None = None  # where device-bound fields are captured from; None: typed over

    def capture(self, step_id: str, field_id: str, person: Person | None = None) -> StoredValue:
        """Press Capture on a device-bound field."""
        who = person or self.operator
        record = self.step(step_id).record
        return self.rt.services.capture.capture(actor_of(who.user), self.batch_id, record.id, field_id, KIOSK)

    def relogin(self) -> None:
        """New sessions for everyone, as after a shift break: an idle session cannot sign."""
        for who in (self.operator, self.supervisor, self.qa):
            who.token = session_token(self.rt, who.user)

    def open_steps(self) -> list[StepLine]:
        return self.rt.services.execution.batch(self.batch_id).open_steps

    def step(self, step_id: str) -> StepLine:
        found = [line for line in self.open_steps() if line.record.step_id == step_id]
        assert found, f"{step_id} is not open: {[line.record.step_id for line in self.open_steps()]}"
        return found[-1]

    def enter(self, step_id: str, person: Person | None = None, /, **values: str | Entry) -> list[StoredValue]:
        who = person or self.operator
        record = self.step(step_id).record
        stored = []
        for field_id, value in values.items():
            entry = value if isinstance(value, Entry) else Entry(field_id, value)
            stored.append(self.rt.services.execution.enter(actor_of(who.user), self.batch_id, record.id, entry, KIOSK))
        return stored

    def check_in(self, step_id: str, barcode: str, person: Person | None = None) -> object:
        """The step's own equipment scan."""
        who = person or self.operator
        record = self.step(step_id).record
        return self.rt.services.capture.check_in(actor_of(who.user), self.batch_id, record.id, barcode, KIOSK)

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


def person(rt: Runtime, *roles: Role) -> Person:
    user = make_user(rt, *roles)
    return Person(user, session_token(rt, user))


def running_batch(
    rt: Runtime,
    procedure_id: str = "quick_check",
    product: str = "QC-SAMPLE",
    *properties: str,
    endpoint: Endpoint | None = None,
) -> Floor:
    """Policy approved, procedure effective (with extra properties on its first step), order released, started."""
    effective_policy(rt)
    if properties:
        effective_variant(rt, product, *properties)
    else:
        make_procedure_effective(rt, product, procedure_id)
    operator, supervisor, qa = person(rt, Role.OPERATOR), person(rt, Role.SUPERVISOR), person(rt, Role.QA)
    order = ProductionOrder("PO-9001", product, Decimal("10"), "kg", "B-9001")
    stored = rt.services.orders.create(actor_of(supervisor.user), order)
    rt.services.orders.release(actor_of(supervisor.user), stored.id)
    rt.services.batches.start(actor_of(operator.user), stored.id)
    seed_floor(rt, endpoint)
    return Floor(rt, order.batch_id, operator, supervisor, qa)


LIBRARY = Path(__file__).parents[2]
FAR = datetime(2099, 12, 31, tzinfo=UTC)


def instance_code(class_id: str) -> str:
    """The seeded instance of an equipment class."""
    return f"EQ-{class_id.upper()}"


def library_materials() -> list[str]:
    """Every material code a form of the library scans for."""
    found = set()
    for path in (LIBRARY / "forms").glob("*.json"):
        found |= {f["material"] for f in json.loads(path.read_text("utf-8"))["fields"] if "material" in f}
    return sorted(found)


def seed_floor(rt: Runtime, endpoint: Endpoint | None = None) -> None:
    """A clean, calibrated instance of every equipment class of the library, and a released container of every
    material its forms scan for; seeding again changes nothing."""
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test floor set-up")) as uow:
        classes = sorted((LIBRARY / "equipment" / "classes").glob("*.toml"))
        for path, code in [(p, instance_code(p.stem)) for p in classes] + [(LIBRARY / "balance", "BAL-1")]:
            if uow.equipment.get(code) is None:
                device = endpoint if path.stem in DEVICE_UNITS and endpoint else None
                if device is not None:
                    device = replace(device, unit_id=DEVICE_UNITS[path.stem])
                instance = EquipmentInstance(
                    code, path.stem, "test floor", "room 1", device, True, True, FAR, FAR.date()
                )
                uow.equipment.add(instance, now)
        for code in library_materials():
            if uow.materials.get(code) is None:
                uow.materials.put(Material(code, f"material {code}", "kg"), now)
            if uow.lots.get(code, f"L-{code}") is None:
                uow.lots.put(MaterialLot(code, f"L-{code}", QcStatus.RELEASED, FAR.date(), Decimal("1000")), now)
            if uow.containers.get(f"C-{code}") is None:
                uow.containers.put(Container(f"C-{code}", code, f"L-{code}", Decimal("100"), "kg"), now)
        for barcode in [f"LOT-{n}" for n in range(1, 10)]:  # the quick check's sample containers tests scan
            if uow.containers.get(barcode) is None:
                uow.containers.put(Container(barcode, "MCC-101", "L-MCC-101", Decimal("5"), "kg"), now)
        uow.commit()


# The simulated plant's unit ids (ebr.adapters.modbus.devices).
DEVICE_UNITS = {"balance": 1, "temperature_probe": 2, "ph_probe": 3, "granulator": 4, "fluid_bed_dryer": 5}


def _midpoint(field: FieldDefinition) -> Decimal:
    limit = field.limit
    low = getattr(limit, "minimum", None) if limit else None
    high = getattr(limit, "maximum", None) if limit else None
    target = getattr(limit, "target", None) if limit else None
    if target is not None:
        value = Decimal(target)
    elif low is not None and high is not None:
        value = (Decimal(low) + Decimal(high)) / 2
    elif high is not None:
        value = Decimal(high) / 2
    elif low is not None:
        value = Decimal(low) + 1
    else:
        value = Decimal(1)
    places = field.precision if field.precision is not None else 0
    return value.quantize(Decimal(1).scaleb(-places))


def scanned(field: FieldDefinition, step_class: str = "") -> str:
    """The barcode that passes a field's identity check among what seed_floor puts."""
    if field.check == "equipment":
        return instance_code(field.equipment or step_class or "balance")
    if field.check == "material_lot":
        return f"C-{field.material}"
    return f"{field.id.upper()}-1"


def typical(field: FieldDefinition, now: datetime, step_class: str = "") -> Entry | None:
    """A value within limits for any field a person enters; None for a calculated one or a file (uploaded)."""
    if field.type in ("calculated", "attachment"):
        return None
    text = {
        "boolean": "yes",
        "choice": field.choices[0] if field.choices else "",
        "datetime": now.isoformat(),
        "text": "as instructed",
        "barcode": scanned(field, step_class),
    }.get(field.type)
    if text is None:
        text = str(_midpoint(field))
    reason = "device not connected in this test" if field.source is not None else ""
    repeat = text if field.double_entry else None
    return Entry(field.id, text, field.unit, False, repeat, reason)


TARE = Decimal("0.500")


def weighed(form: FormDefinition) -> dict[str, str]:
    """A dispensing's tare and gross typed as the scale would show them: the net on its target."""
    if form.dispense is None:
        return {}
    net = form.field(form.dispense.net)
    assert net is not None
    return {form.dispense.tare: str(TARE), form.dispense.gross: str(_midpoint(net) + TARE)}


def show(plant: SimulatedPlant, form: FormDefinition, given: dict[str, str]) -> None:
    """Set the simulated devices to what the step should read: the dispense target with a tare, a given value, or
    mid-limit."""
    if form.dispense is not None:
        net = form.field(form.dispense.net)
        assert net is not None
        plant.place(gross=_midpoint(net) + TARE, tare=TARE)
        return
    for field in form.fields:
        if field.source is None:
            continue
        reading = Decimal(given[field.id]) if field.id in given else _midpoint(field)
        if field.source.equipment == "balance":
            plant.place(gross=reading, tare=Decimal(0))
        else:
            plant.set_value(DEVICE_UNITS[field.source.equipment], field.source.tag, reading)


def fill(floor: Floor, step_id: str, now: datetime, **given: str) -> None:
    """Enter a typical value for every field of the step, with the given texts instead where named."""
    line = floor.step(step_id)
    view = floor.rt.services.execution.step(floor.batch_id, line.record.id)
    if view.step.equipment_class and view.in_use is None:
        floor.check_in(step_id, instance_code(view.step.equipment_class))
    if floor.plant is not None:
        show(floor.plant, view.form, given)
    given = {**({} if floor.plant else weighed(view.form)), **given}  # the plant shows them itself
    for field in view.form.fields:
        if floor.plant is not None and field.source is not None:
            floor.capture(step_id, field.id)
            continue
        entry = typical(field, now, view.step.equipment_class)
        if entry is None:
            continue
        if field.id in given:
            entry = Entry(
                field.id,
                given[field.id],
                field.unit,
                True,
                given[field.id] if field.double_entry else None,
                entry.override_reason,
            )
        floor.enter(step_id, **{field.id: entry})


QUICK_CHECK = Path(__file__).parents[2] / "workflows" / "quick_check" / "procedure.bpmn"
IDENTIFY_PROPERTIES = '<spiffworkflow:property name="ebr:form" value="qc_identify" />'


def effective_variant(rt: Runtime, product: str, *properties: str, title: str = "") -> int:
    """A revised quick check, effective for the product, whose identification step carries more properties."""
    text = QUICK_CHECK.read_text(encoding="utf-8")
    extra = "".join(
        f'<spiffworkflow:property name="{name}" value="{value}" />'
        for name, value in (p.split("=", 1) for p in properties)
    )
    text = text.replace(IDENTIFY_PROPERTIES, IDENTIFY_PROPERTIES + extra)
    if title:
        text = text.replace('name="Identify material and balance"', f'name="{title}"')
    engineer = make_user(rt, Role.ENGINEER)
    version = rt.services.procedures.import_upload(actor_of(engineer), "procedure.bpmn", text.encode())
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        uow.procedures.set_status(version.id, "effective", now, "test set-up", now)
        uow.procedures.map_product(product, version.id, now)
        uow.commit()
    return version.id


def run_next(floor: Floor, now: datetime, **given: str) -> StepLine:
    """Do what the first open step needs: verify it, or fill and sign it as someone with a performer role."""
    line = floor.open_steps()[0]
    view = floor.rt.services.execution.step(floor.batch_id, line.record.id)
    if line.record.status == "performed":
        verifier = floor.supervisor if "supervisor" in view.step.verifier_roles else floor.qa
        floor.sign_step(line.record.step_id, "verified", verifier)
        return line
    roles = view.step.performer_roles
    performer = floor.operator if not roles or "operator" in roles else floor.supervisor
    fill(floor, line.record.step_id, now, **given)
    floor.sign_step(line.record.step_id, "performed", performer)
    return line


def advance_to(floor: Floor, now: datetime, step_id: str) -> None:
    """Run the procedure until the step is the first open one, ready."""
    for _ in range(100):
        first = floor.open_steps()[0].record
        if first.step_id == step_id and first.status == "ready":
            return
        run_next(floor, now)
    raise AssertionError(f"{step_id} never became ready")
