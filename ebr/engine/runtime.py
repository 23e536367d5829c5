"""SpiffRuntime: the BPMN engine behind the app (ports.ProcedureRuntime): steps, lint and dry run of a bundle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ebr.app.ports import DryRunResult, LintProblem, ProcedureRuntime
from ebr.domain.errors import InvalidInput
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.signatures import SitePolicy
from ebr.domain.steps import EquipmentClass, FormDefinition, StepDefinition
from ebr.engine import lint, translate, workarounds
from ebr.engine.dryrun import Simulation
from ebr.engine.parser import BundleParser, ParsedBundle


class SpiffRuntime:
    """SpiffWorkflow 3.2.0 behind our port; parsed bundles are cached by content hash."""

    def __init__(self, cache_size: int = 32) -> None:
        workarounds.install()
        self._parser = BundleParser(cache_size)

    def parse(self, bundle: ProcedureBundle) -> ParsedBundle:
        """The parsed bundle (model, engine specs, parse problems), cached."""
        return self._parser.parse(bundle)

    def steps(self, bundle: ProcedureBundle) -> dict[str, StepDefinition]:
        """Every step of the procedure, called sub-procedures included; refused when the bundle does not parse."""
        parsed = self.parse(bundle)
        if parsed.model is None or parsed.problems:
            problems = "; ".join(str(problem) for problem in parsed.problems)
            raise InvalidInput(f"The procedure {bundle.procedure_id!r} cannot be read: {problems}.")
        return translate.steps(parsed.model, bundle.procedure_id)

    def lint(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        equipment: Mapping[str, EquipmentClass],
        policy: SitePolicy | None,
    ) -> list[LintProblem]:
        """Parse problems and lint problems, each naming its element; never raises for bad content."""
        parsed = self.parse(bundle)
        if parsed.model is None or bundle.procedure_id not in parsed.model.processes:
            return list(parsed.problems)
        found = lint.lint(parsed.model, bundle.procedure_id, forms, equipment, policy)
        named = {problem.element_id for problem in found}
        # Where our rules name the element too, SpiffWorkflow's own wording of the same fault adds nothing.
        engine = [problem for problem in parsed.problems if problem.element_id not in named]
        return list(dict.fromkeys([*engine, *found]))

    def dry_run(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        values: Mapping[str, Mapping[str, object]],
        max_steps: int = 5000,
    ) -> DryRunResult:
        """Simulate the procedure with values[step_id] or defaults; problems in the result, not exceptions."""
        parsed = self.parse(bundle)
        if parsed.model is None or parsed.spec is None:
            return DryRunResult((), False, (), tuple(str(problem) for problem in parsed.problems))
        steps = translate.steps(parsed.model, bundle.procedure_id)
        return Simulation(parsed, steps, forms, values).run(max_steps)


if TYPE_CHECKING:
    _conforms: ProcedureRuntime = SpiffRuntime()  # mypy checks the port's signatures here
