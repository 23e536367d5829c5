"""Batches at review: a clean quick check run on the simulated plant and submitted, the review acts QA signs,
and a release candidate check that always passes (the real one compares the rendered record PDF)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from decimal import Decimal

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import UnitOfWork
from ebr.app.ports.review import BatchDecision, ReviewMark, TrailReview
from ebr.app.ports.signing import StoredSignature
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.accounts import Role
from ebr.domain.batch import BatchStatus
from ebr.domain.equipment import Endpoint
from ebr.domain.orders import ProductionOrder
from tests.app.equipment_support import endpoint_of
from tests.app.execution_support import QUICK_CHECK, Floor, Person, person, run_next, running_batch, seed_floor
from tests.factories import actor_of, effective_policy, make_user, sign
from tests.fakes import FakeClock, RecordingNotifier


class CandidateReady:
    """A release candidate check that finds the candidate matching, whatever the batch."""

    def blocker(self, uow: UnitOfWork, batch_pk: int) -> str | None:
        return None


def ready_runtime(
    settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """The application wired as bootstrap does, with a release candidate that always matches."""
    rt = build(settings, clock=clock, alert_sink=alerts, notifier=notifier, release_check=CandidateReady())
    yield rt
    rt.engine.dispose()


def run_to_completion(floor: Floor) -> None:
    """Run every open step until the procedure ends."""
    for _ in range(50):
        if not floor.open_steps():
            break
        run_next(floor, floor.rt.services.clock.now())
    assert floor.rt.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.COMPLETED


def completed_batch(rt: Runtime, plant: SimulatedPlant) -> Floor:
    """A quick check whose weight is captured from the plant within its limits: a batch without exceptions."""
    floor = running_batch(rt, endpoint=endpoint_of(plant))
    floor.plant = plant
    run_to_completion(floor)
    return floor


def submit(floor: Floor, by: Person | None = None) -> None:
    """The supervisor hands the completed record to QA."""
    who = by or floor.supervisor
    floor.rt.services.review.submit_for_review(actor_of(who.user), floor.batch_id, "batch completed, record checked")


def in_review(rt: Runtime, plant: SimulatedPlant) -> Floor:
    """A clean quick check, completed and submitted for review."""
    floor = completed_batch(rt, plant)
    submit(floor)
    return floor


def reviewer(rt: Runtime) -> Person:
    """A QA person who signed no step of the batch (the policy keeps reviewer and performer apart)."""
    return person(rt, Role.QA)


def acknowledge_all(floor: Floor, qa: Person, comment: str = "checked against the record") -> list[ReviewMark]:
    """QA acknowledges every exception the review lists."""
    review = floor.rt.services.review
    keys = [line.exception.key for line in review.review(floor.batch_id).exceptions]
    return [review.acknowledge(actor_of(qa.user), floor.batch_id, key, comment) for key in keys]


def review_trail(floor: Floor, qa: Person) -> tuple[TrailReview, StoredSignature]:
    """QA opens the batch's audit trail and signs it 'reviewed'."""
    opened = floor.rt.services.review.open_trail_review(actor_of(qa.user), floor.batch_id)
    signed = sign(floor.rt, qa.user, qa.token, "batch_review", str(opened.id), "reviewed")
    assert isinstance(signed, StoredSignature)
    return opened, signed


def decide(floor: Floor, qa: Person, decision: str = "release", reason: str = "record complete, reviewed") -> object:
    """QA requests the decision and signs it; returns the signature (or raises the refusal)."""
    requested = request(floor, qa, decision, reason)
    meaning = "released" if decision == "release" else "rejected"
    return sign(floor.rt, qa.user, qa.token, "batch_release", str(requested.id), meaning)


def request(floor: Floor, qa: Person, decision: str = "release", reason: str = "record complete") -> BatchDecision:
    """QA requests a release or rejection, pending its signature."""
    return floor.rt.services.release.request_decision(actor_of(qa.user), floor.batch_id, decision, reason)


def ready_for_release(rt: Runtime, plant: SimulatedPlant) -> tuple[Floor, Person]:
    """A clean batch in review whose exceptions are acknowledged and whose trail is reviewed."""
    floor = in_review(rt, plant)
    qa = reviewer(rt)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    return floor, qa


def _flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    body = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"{body if condition else ''}</bpmn:sequenceFlow>"
    )


def _node(tag: str, node_id: str, incoming: list[str], outgoing: list[str], body: str = "", attrs: str = "") -> str:
    flows = "".join(f"<bpmn:incoming>{i}</bpmn:incoming>" for i in incoming)
    flows += "".join(f"<bpmn:outgoing>{o}</bpmn:outgoing>" for o in outgoing)
    return f'<bpmn:{tag} id="{node_id}"{attrs}>{flows}{body}</bpmn:{tag}>'


SCRIPT = ' scriptFormat="python"'
# After weighing: label the container again until the label is applied (at most three times): a rework loop.
RELABEL_LOOP = "".join(
    [
        _node("scriptTask", "rl_init", ["rl_in"], ["rl_go"], "<bpmn:script>relabel_count = 0</bpmn:script>", SCRIPT),
        _node("exclusiveGateway", "rl_gw", ["rl_check"], ["rl_ok", "rl_count_in"], attrs=' default="rl_count_in"'),
        _node(
            "scriptTask",
            "rl_count",
            ["rl_count_in"],
            ["rl_again_in"],
            "<bpmn:script>relabel_count = relabel_count + 1</bpmn:script>",
            SCRIPT,
        ),
        _node(
            "exclusiveGateway", "rl_again", ["rl_again_in"], ["rl_back", "rl_give_up"], attrs=' default="rl_give_up"'
        ),
        _flow("rl_in", "gw_qc_mass", "rl_init", "within(qc_mass, 1.000, 0.010)"),
        _flow("rl_go", "rl_init", "qc_label"),
        _flow("rl_check", "qc_label", "rl_gw"),
        _flow("rl_ok", "rl_gw", "qc_confirm", "qc_label_applied"),
        _flow("rl_count_in", "rl_gw", "rl_count"),
        _flow("rl_again_in", "rl_count", "rl_again"),
        _flow("rl_back", "rl_again", "qc_label", "relabel_count &lt; 3"),
        _flow("rl_give_up", "rl_again", "qc_confirm"),
    ]
)


def relabel_variant() -> bytes:
    """The quick check with its labelling step in a rework loop."""
    text = QUICK_CHECK.read_text(encoding="utf-8")
    text = re.sub(r'<bpmn:sequenceFlow id="flow_gw_qc_mass_to_qc_label".*?</bpmn:sequenceFlow>', "", text, flags=re.S)
    text = re.sub(
        r'<bpmndi:BPMNEdge id="[^"]*" bpmnElement="flow_(gw_qc_mass_to_qc_label|qc_label_to_qc_confirm)">'
        r".*?</bpmndi:BPMNEdge>",
        "",
        text,
        flags=re.S,
    )
    replacements = {
        '<bpmn:sequenceFlow id="flow_qc_label_to_qc_confirm" sourceRef="qc_label" targetRef="qc_confirm" />': (
            RELABEL_LOOP
        ),
        "<bpmn:outgoing>flow_gw_qc_mass_to_qc_label</bpmn:outgoing>": "<bpmn:outgoing>rl_in</bpmn:outgoing>",
        "<bpmn:incoming>flow_gw_qc_mass_to_qc_label</bpmn:incoming>": (
            "<bpmn:incoming>rl_go</bpmn:incoming><bpmn:incoming>rl_back</bpmn:incoming>"
        ),
        "<bpmn:outgoing>flow_qc_label_to_qc_confirm</bpmn:outgoing>": "<bpmn:outgoing>rl_check</bpmn:outgoing>",
        "<bpmn:incoming>flow_qc_label_to_qc_confirm</bpmn:incoming>": (
            "<bpmn:incoming>rl_ok</bpmn:incoming><bpmn:incoming>rl_give_up</bpmn:incoming>"
        ),
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def relabel_batch(rt: Runtime, endpoint: Endpoint) -> Floor:
    """A started batch of the quick check with its relabelling loop, its devices at the given endpoint."""
    effective_policy(rt)
    engineer = make_user(rt, Role.ENGINEER)
    version = rt.services.procedures.import_upload(actor_of(engineer), "procedure.bpmn", relabel_variant())
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        uow.procedures.set_status(version.id, "effective", now, "test set-up", now)
        uow.procedures.map_product("QC-RELABEL", version.id, now)
        uow.commit()
    operator, supervisor, qa = person(rt, Role.OPERATOR), person(rt, Role.SUPERVISOR), person(rt, Role.QA)
    order = ProductionOrder("PO-9101", "QC-RELABEL", Decimal("10"), "kg", "B-9101")
    stored = rt.services.orders.create(actor_of(supervisor.user), order)
    rt.services.orders.release(actor_of(supervisor.user), stored.id)
    rt.services.batches.start(actor_of(operator.user), stored.id)
    seed_floor(rt, endpoint)
    return Floor(rt, order.batch_id, operator, supervisor, qa)


def dead_endpoint() -> Endpoint:
    """A loopback port nothing listens on: every read is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Endpoint("127.0.0.1", port, 1, 0.2, 0)
