"""BPMN user tasks ⇄ domain steps: the only module that knows the extension names (ebr:*, spiffworkflow:*)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ebr.domain.steps import StepDefinition
from ebr.engine.documents import Model, Node, local

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

FORM = "ebr:form"
PERFORMER = "ebr:performer"
VERIFIER = "ebr:verifier"
EQUIPMENT = "ebr:equipment"
CRITICAL = "ebr:critical"
HOLD_MIN = "ebr:holdMin"
HOLD_MAX = "ebr:holdMax"
TRAINING = "ebr:training"
TERMINAL = "ebr:terminal"
STEP_PROPERTIES = (FORM, PERFORMER, VERIFIER, EQUIPMENT, CRITICAL, HOLD_MIN, HOLD_MAX, TRAINING, TERMINAL)
OPERATOR = "spiffworkflow:serviceTaskOperator"

# Extension elements the eBR format uses; any other spiffworkflow:* element is refused by the linter.
_KNOWN = frozenset({"properties", "instructionsForEndUser", "serviceTaskOperator", "payloadExpression", "variableName"})


@dataclass(frozen=True)
class Extensions:
    """What an element's spiffworkflow extension elements say."""

    properties: Mapping[str, str] = field(default_factory=dict)
    instructions: str = ""
    operation: str | None = None  # a service task's operation name
    parameters: Mapping[str, str] = field(default_factory=dict)  # service parameter id → expression
    payload: str | None = None  # an error's payload expression
    variable: str | None = None  # where an error's payload lands in the data
    unsupported: tuple[str, ...] = ()  # extension elements outside the eBR format, e.g. preScript


def _spiff(element: Any, name: str) -> list[Any]:
    return [child for child in element if child.tag == f"{{{SPIFF_NS}}}{name}"]


def extensions(element: Any) -> Extensions:
    """The extension elements of a BPMN element (flow node or bpmn:error)."""
    holders = [child for child in element if local(child.tag) == "extensionElements"]
    found = [child for holder in holders for child in holder if isinstance(child.tag, str)]
    ours = [child for child in found if child.tag.startswith(f"{{{SPIFF_NS}}}")]
    properties = {
        prop.get("name", ""): prop.get("value", "")
        for holder in ours
        if local(holder.tag) == "properties"
        for prop in _spiff(holder, "property")
    }
    texts = {local(child.tag): child.text or "" for child in ours}
    operation = next((child for child in ours if local(child.tag) == "serviceTaskOperator"), None)
    parameters = {}
    if operation is not None:
        parameters = {
            p.get("id", ""): p.get("value", "")
            for holder in _spiff(operation, "parameters")
            for p in _spiff(holder, "parameter")
        }
    return Extensions(
        properties=properties,
        instructions=texts.get("instructionsForEndUser", ""),
        operation=operation.get("id", "") if operation is not None else None,
        parameters=parameters,
        payload=texts.get("payloadExpression"),
        variable=texts.get("variableName"),
        unsupported=tuple(sorted({local(child.tag) for child in ours} - _KNOWN)),
    )


_ADVICE = {"preScript": "put code in a script task", "postScript": "put code in a script task"}


def unsupported(element: Any) -> list[str]:
    """Why each extension element outside the eBR format is refused."""
    return [
        f"spiffworkflow:{name} is not supported: {_ADVICE.get(name, 'the eBR format does not use it')}"
        for name in extensions(element).unsupported
    ]


def roles(value: str) -> frozenset[str]:
    """Comma-separated role names."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def step(node: Node) -> StepDefinition:
    """The domain step a user task defines."""
    ext = extensions(node.element)
    props = ext.properties
    return StepDefinition(
        id=node.id,
        name=node.name or node.id,
        process_id=node.process_id,
        form_id=props.get(FORM, "").strip(),
        performer_roles=roles(props.get(PERFORMER, "")),
        verifier_roles=roles(props.get(VERIFIER, "")),
        equipment_class=props.get(EQUIPMENT, "").strip(),
        critical=props.get(CRITICAL, "").strip().lower() == "true",
        hold_min=props.get(HOLD_MIN, "").strip(),
        hold_max=props.get(HOLD_MAX, "").strip(),
        instructions=ext.instructions,
        training=props.get(TRAINING, "").strip(),
        registered_terminal=props.get(TERMINAL, "").strip().lower() == "registered",
    )


def property_problems(node: Node) -> list[str]:
    """Unknown ebr:* properties and malformed values (durations are checked by the linter)."""
    props = extensions(node.element).properties
    problems = [
        f"unknown property '{name}' (known: {', '.join(STEP_PROPERTIES)})"
        for name in props
        if name.startswith("ebr:") and name not in STEP_PROPERTIES
    ]
    critical = props.get(CRITICAL)
    if critical is not None and critical.strip().lower() not in ("true", "false"):
        problems.append(f"{CRITICAL} must be 'true' or 'false', not {critical!r}")
    terminal = props.get(TERMINAL)
    if terminal is not None and terminal.strip().lower() not in ("registered", "any"):
        problems.append(f"{TERMINAL} must be 'registered' or 'any', not {terminal!r}")
    return problems


def steps(model: Model, main: str) -> dict[str, StepDefinition]:
    """Every step of the procedure: the main process's user tasks in document order, a called process's steps
    in place of the call activity that first calls it."""
    found: dict[str, StepDefinition] = {}
    visited: set[str] = set()
    pending: list[Node | str] = [main]
    while pending:
        item = pending.pop(0)
        if isinstance(item, str):
            if item in visited or item not in model.processes:
                continue
            visited.add(item)
            pending[0:0] = list(model.processes[item].nodes.values())
        elif item.kind == "userTask":
            found[item.id] = step(item)
        elif item.kind == "callActivity":
            pending.insert(0, item.element.get("calledElement", ""))
    return found
