"""The validation gate: every reason a procedure cannot be submitted, each naming the element id.

Runs on our own document model, so it works even where SpiffWorkflow would refuse the file. The rules:
elements outside the eBR format (workflows/README.md, ENGINE-NOTES §8.2); steps (form, roles within the site
policy, equipment and device tags, properties, hold times); the shape of each process (lint_flow); code and
templates (lint_code).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ebr.app.ports import LintProblem
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import SitePolicy, check_bundle_roles
from ebr.domain.steps import EquipmentClass, FormDefinition, StepDefinition
from ebr.engine import lint_code, lint_flow, translate
from ebr.engine.documents import Model, Node, Process
from ebr.engine.scripting import SERVICE_OPERATIONS

ALLOWED = (
    "allowed are start and end events, error end events; user, manual, script and service tasks; exclusive and "
    "parallel gateways; call activities; error and timer boundary events; timer intermediate catch events"
)
_ACTIVITIES = frozenset({"userTask", "manualTask", "scriptTask", "serviceTask", "callActivity"})
_GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway"})
# Allowed event definitions per event kind.
_EVENTS: dict[str, frozenset[tuple[str, ...]]] = {
    "startEvent": frozenset({()}),
    "endEvent": frozenset({(), ("errorEventDefinition",)}),
    "boundaryEvent": frozenset({("errorEventDefinition",), ("timerEventDefinition",)}),
    "intermediateCatchEvent": frozenset({("timerEventDefinition",)}),
}


def lint(
    model: Model,
    main: str,
    forms: Mapping[str, FormDefinition],
    equipment: Mapping[str, EquipmentClass],
    policy: SitePolicy | None,
) -> list[LintProblem]:
    """Every problem of the main process and the processes it calls."""
    processes = model.used(main)
    steps = translate.steps(model, main)
    problems: list[LintProblem] = []
    for process in processes:
        problems.extend(_elements(process))
        problems.extend(lint_flow.check(process))
    rules = StepRules(forms, equipment, policy)
    for process in processes:
        for node in process.nodes.values():
            if node.kind == "userTask" and node.id in steps:
                problems.extend(rules.check(node, steps[node.id]))
    problems.extend(lint_code.CodeLinter(model, processes, forms).check(steps))
    return problems


def _elements(process: Process) -> Iterator[LintProblem]:
    for element_id, kind in process.others:
        yield LintProblem(element_id, f"bpmn:{kind} is not supported: {ALLOWED}")
    for node in process.nodes.values():
        reason = _refusal(node)
        if reason:
            yield LintProblem(node.id, reason)
        for reason in translate.unsupported(node.element):
            yield LintProblem(node.id, reason)


def _refusal(node: Node) -> str:
    """Why this node is outside the eBR format ('' when it is inside)."""
    if node.kind in _EVENTS:
        if node.events not in _EVENTS[node.kind]:
            kinds = ", ".join(node.events) or "no event definition"
            return f"a bpmn:{node.kind} with {kinds} is not supported: {ALLOWED}"
        return ""
    if node.kind not in _ACTIVITIES | _GATEWAYS:
        return f"bpmn:{node.kind} is not supported: {ALLOWED}"
    if node.loop:
        return f"bpmn:{node.loop} is not supported: model a loop with a gateway and a counter, or a call activity"
    return _service_refusal(node) if node.kind == "serviceTask" else ""


def _service_refusal(node: Node) -> str:
    operation = translate.extensions(node.element).operation
    if not operation:
        return f"a service task needs an operation ({translate.OPERATOR})"
    if operation not in SERVICE_OPERATIONS:
        return f"the service operation '{operation}' is not on the whitelist (none are yet)"
    return ""


class StepRules:
    """Rules on each step: properties, form, performer and verifier roles, equipment, device tags, hold times."""

    def __init__(
        self,
        forms: Mapping[str, FormDefinition],
        equipment: Mapping[str, EquipmentClass],
        policy: SitePolicy | None,
    ) -> None:
        self.forms = forms
        self.equipment = equipment
        self.policy = policy
        self._forms_seen: set[str] = set()

    def check(self, node: Node, step: StepDefinition) -> list[LintProblem]:
        """Every problem of this step."""
        problems = [LintProblem(step.id, reason) for reason in translate.property_problems(node)]
        problems.extend(self._form(step))
        problems.extend(self._roles(step, "performed", translate.PERFORMER, step.performer_roles))
        problems.extend(self._roles(step, "verified", translate.VERIFIER, step.verifier_roles))
        problems.extend(self._equipment(step))
        problems.extend(lint_code.hold_problems(step))
        return problems

    def _form(self, step: StepDefinition) -> Iterator[LintProblem]:
        if not step.form_id:
            yield LintProblem(step.id, f"a user task needs {translate.FORM} (the form of the step)")
        elif step.form_id not in self.forms:
            yield LintProblem(step.id, f"form '{step.form_id}' is not among the bundle's forms")

    def _roles(self, step: StepDefinition, meaning: str, prop: str, roles: frozenset[str]) -> Iterator[LintProblem]:
        known = {role.value for role in Role}
        unknown = sorted(roles - known)
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            yield LintProblem(step.id, f"{prop} names unknown role {names} (known: {', '.join(sorted(known))})")
        if Role.ADMIN.value in roles:
            yield LintProblem(step.id, f"{prop}: an administrator never signs batch steps (ACC-03)")
        declared = frozenset(Role(role) for role in roles & known)
        if self.policy is None or not declared:
            return
        try:
            check_bundle_roles(self.policy, {("batch_step", meaning): declared})
        except InvalidInput as exc:
            yield LintProblem(step.id, f"{prop}: {exc}")

    def _equipment(self, step: StepDefinition) -> Iterator[LintProblem]:
        if step.equipment_class and step.equipment_class not in self.equipment:
            yield LintProblem(step.id, f"equipment class '{step.equipment_class}' is not in the bundle")
        form = self.forms.get(step.form_id)
        if form is None or form.id in self._forms_seen:
            return
        self._forms_seen.add(form.id)
        for field in form.fields:
            if field.source is None:
                continue
            where = f"field '{field.id}' of form '{form.id}'"
            device = self.equipment.get(field.source.equipment)
            if device is None:
                yield LintProblem(step.id, f"{where}: equipment class '{field.source.equipment}' is not in the bundle")
            elif field.source.tag not in {tag.id for tag in device.tags}:
                yield LintProblem(step.id, f"{where}: equipment class '{device.id}' has no tag '{field.source.tag}'")
