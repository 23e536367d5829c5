"""Workflow state ⇄ JSON with the spec stored by reference (ENGINE-NOTES §2.4, §8.5).

The state names its process and called processes; the specs themselves come from the parsed bundle the batch is
pinned to, so each save and load skips the spec (about half of a small instance's JSON and time).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter

from ebr.domain.errors import Conflict
from ebr.engine.parser import ParsedBundle
from ebr.engine.scripting import EbrScriptEngine, EbrServiceTask


class SpecByReferenceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes process ids instead of specs; restores with the specs the caller passes."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        """The workflow's state, its specs named by id only."""
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocess_specs"] = sorted(workflow.subprocess_specs)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        """The workflow, rebuilt on the given specs; refused when the state names other processes."""
        named, called = dct.pop("spec"), set(dct.pop("subprocess_specs", []))
        if spec is None or spec.name != named or not called <= set(subprocess_specs or {}):
            raise Conflict(f"The saved state belongs to process {named!r}, not to this procedure version.")
        workflow = self.target_class(spec, dict(subprocess_specs or {}), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> Any:
    registry = DefaultRegistry()
    registry.register(Decimal, lambda value: {"value": str(value)}, lambda dct: Decimal(dct["value"]))
    config = dict(SPIFF_CONFIG)
    config[EbrServiceTask] = ServiceTaskConverter
    config[BpmnWorkflow] = SpecByReferenceConverter
    return BpmnWorkflowSerializer.configure(config, registry)


class StateSerializer:
    """Saves and restores running procedures; task data holds routing variables (Decimal, bool, text) only."""

    def __init__(self) -> None:
        self._serializer = BpmnWorkflowSerializer(_registry())

    @property
    def version(self) -> str:
        """The serialization format version written into every state."""
        return str(self._serializer.VERSION)

    def dumps(self, workflow: Any) -> str:
        """The workflow's state as JSON, without its specs."""
        return str(self._serializer.serialize_json(workflow))

    def loads(self, state: str, parsed: ParsedBundle) -> Any:
        """A workflow from its saved state on the bundle's specs, with our script engine."""
        dct = json.loads(state)
        self._serializer.migrate(dct)
        workflow = self._serializer.registry.restore(dct, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs)
        workflow.script_engine = EbrScriptEngine()
        return workflow

    def dump_specs(self, parsed: ParsedBundle) -> str:
        """The process and called-process specs as JSON, to store once per approved version."""
        specs = {"spec": parsed.spec, "subprocess_specs": dict(parsed.subprocess_specs)}
        return json.dumps(self._serializer.registry.convert(specs))

    def load_specs(self, stored: str) -> tuple[Any, dict[str, Any]]:
        """The specs back from dump_specs, with our task classes."""
        specs = self._serializer.registry.restore(json.loads(stored))
        return specs["spec"], specs["subprocess_specs"]
