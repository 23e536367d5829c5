"""SpiffWorkflow's script hooks bridged to the one expression evaluator (ebr.domain.calculations).

Gateway conditions, script tasks, timer and payload expressions and service parameters all reach
`EbrEnvironment.evaluate` / `.execute`, which parse with the allow-list and interpret over Decimal. SpiffWorkflow's
own environments call eval/exec; this one never does, and tests prove the library's eval/exec are never reached.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from ebr.domain.calculations import Expression, Kind, parse
from ebr.domain.errors import DomainError

# Service operations reviewed and shipped with the application; none yet, so every service task is refused.
SERVICE_OPERATIONS: frozenset[str] = frozenset()
_CACHE_SIZE = 512


def source_text(source: str) -> str:
    """Code as written in the XML, with the indentation of the surrounding markup removed from every line."""
    return "\n".join(line.strip() for line in source.strip().splitlines())


class ServiceRefused(DomainError):
    """A service task named an operation that is not on the whitelist."""


class EbrEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Evaluates and runs through the allow-list evaluator only; parsed sources are cached."""

    def __init__(self) -> None:
        super().__init__({})
        self._parsed: dict[tuple[str, Kind], Expression] = {}

    def _parse(self, source: str, kind: Kind) -> Expression:
        key = (source, kind)
        found = self._parsed.get(key)
        if found is None:
            found = parse(source_text(source), kind=kind)
            if len(self._parsed) >= _CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = found
        return found

    def evaluate(
        self, expression: str, context: Mapping[str, object], external_context: Mapping[str, object] | None = None
    ) -> object:
        """The value of a condition or expression; task data wins over the external context, as in SpiffWorkflow."""
        variables = {**(external_context or {}), **context}
        return self._parse(expression, "expression").evaluate(variables)

    def execute(
        self, script: str, context: dict[str, object], external_context: Mapping[str, object] | None = None
    ) -> bool:
        """Run a script ('name = expression' lines); the names it assigns land in the task data."""
        variables = {**(external_context or {}), **context}
        context.update(self._parse(script, "script").run(variables))
        return True

    def call_service(self, context: Mapping[str, object], operation_name: str = "", **kwargs: Any) -> str:
        """Refuse every operation not on the whitelist (it is empty): equipment I/O goes through reviewed code."""
        if operation_name not in SERVICE_OPERATIONS:
            raise ServiceRefused(f"the service operation '{operation_name}' is not on the whitelist (none are yet)")
        raise ServiceRefused(f"the service operation '{operation_name}' has no implementation")


class EbrScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The script engine with our environment; call_service fixed (3.2.0 raises NameError on any error, finding 4)."""

    def __init__(self, environment: EbrEnvironment | None = None) -> None:
        super().__init__(environment=environment or EbrEnvironment())

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """Call the environment; a failure keeps its own message."""
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err


class EbrServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task that calls our environment directly, never PythonScriptEngine.call_service (finding 4)."""

    def _execute(self, task: Any) -> bool:
        environment = task.workflow.script_engine.environment
        params = self.evaluate_params(task)
        try:
            result = environment.call_service(task.data, operation_name=self.operation_name, operation_params=params)
            task.data[self.result_variable] = json.loads(result)  # an answer that is not JSON fails here, named
        except Exception as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err
        return True
