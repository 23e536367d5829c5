"""The validation gate names every problem with the element id and the reason, and never raises."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebr.app.ports import LintProblem
from ebr.domain.steps import FormDefinition, ReconciliationLine, YieldSpec
from ebr.engine.runtime import SpiffRuntime
from tests.engine.builders import DATA, EQUIPMENT, FORMS, bundle, bundle_of, chain, site_policy

VALID = [
    ("linear", ("linear/procedure.bpmn",), ()),
    ("gateway", ("gateway/procedure.bpmn",), ()),
    ("parallel", ("parallel/procedure.bpmn",), ()),
    ("granulation", ("call/procedure.bpmn",), ("call/line_clearance.bpmn",)),
    ("drying", ("rework/procedure.bpmn",), ()),
    ("release_check", ("boundary/procedure.bpmn",), ("boundary/qa_review.bpmn",)),
    ("settling", ("timer/procedure.bpmn",), ()),
]

# (fixture in data/bad, element, words of the reason, what the rule is)
RULES = [
    ("unsupported", "batch_data", "bpmn:dataObject is not supported", "data objects are not in the format"),
    ("unsupported", "weigh_repeatedly", "standardLoopCharacteristics is not supported", "loop markers are refused"),
    ("unsupported", "weigh_repeatedly", "preScript is not supported: put code in a script task", "no pre-scripts"),
    ("unsupported", "gw_inclusive", "bpmn:inclusiveGateway is not supported", "inclusive gateways are refused"),
    ("unsupported", "embedded", "bpmn:subProcess is not supported", "embedded sub-processes are refused"),
    ("unsupported", "notify", "bpmn:intermediateThrowEvent is not supported", "signals are refused"),
    ("waits", "wait_for_lab", "with messageEventDefinition is not supported", "message events are refused"),
    ("service", "read_scale", "'modbus/ReadHoldingRegisters' is not on the whitelist", "no service is whitelisted"),
    ("forms", "no_form", "a user task needs ebr:form", "every step has a form"),
    ("forms", "unknown_form", "form 'weigh_excipient' is not among the bundle's forms", "the form is in the bundle"),
    ("expressions", "flow_typo", "the condition names unknown variable 'api_mas'", "conditions read known variables"),
    ("expressions", "flow_attack", "the condition refused: ", "conditions pass the evaluator"),
    ("expressions", "escape", "the script refused: import is not allowed", "scripts pass the evaluator"),
    ("expressions", "compute", "the script names unknown variable 'tare'", "scripts read known variables"),
    ("expressions", "weigh_api", "calculated field 'ratio' of form 'calc_bad': names unknown variable", "calc fields"),
    ("expressions", "f2", "a condition is only evaluated on a flow out of an exclusive gateway", "ignored condition"),
    ("equipment", "spin", "equipment class 'centrifuge' is not in the bundle", "the equipment class exists"),
    ("equipment", "weigh_gross", "equipment class 'balance' has no tag 'gross_mass'", "the device tag exists"),
    ("roles", "by_chemist", "ebr:performer names unknown role 'chemist'", "roles are known"),
    ("roles", "verified_by_operator", "cannot widen 'verified' on batch_step to operator", "verifiers narrow"),
    ("roles", "by_qa", "cannot widen 'performed' on batch_step to qa", "performers narrow the policy"),
    ("roles", "by_admin", "an administrator never signs batch steps", "administrators never sign"),
    ("gateways", "gw_no_default", "an exclusive gateway needs a default flow", "a default flow is required"),
    ("gateways", "gw_wrong_default", "the default flow 'f1' does not leave this gateway", "the default leaves it"),
    ("gateways", "flow_bare", "needs a condition or must be its default", "other flows need conditions"),
    ("unreachable", "forgotten", "not reachable from the start event", "everything is reachable"),
    ("unbounded_loop", "gw_dry", "unbounded loop through reset, measure, gw_dry", "loops test a counter"),
    ("templates", "broken_template", "the instructions are not a valid template", "instructions parse"),
    ("templates", "unknown_placeholder", "the instructions name unknown variable 'target_mass'", "placeholders known"),
    ("timers", "unquoted", 'write the timer duration in quotes: "PT2H"', "durations are quoted"),
    ("timers", "in_words", "is not an ISO 8601 duration", "timers are ISO 8601 durations"),
    ("timers", "weeks_and_days", "is not an ISO 8601 duration", "weeks do not mix with days"),
    ("timers", "at_date", "dates and cycles are not supported", "only duration timers"),
    ("holds", "in_words", "ebr:holdMin '30 minutes' is not an ISO 8601 duration", "holds are durations"),
    ("holds", "min_above_max", "ebr:holdMin PT2H is longer than ebr:holdMax PT1H", "minimum within maximum"),
    ("holds", "odd_properties", "unknown property 'ebr:verifer'", "misspelt properties are named"),
    ("holds", "odd_properties", "ebr:critical must be 'true' or 'false', not 'yes'", "critical is true or false"),
    ("duplicate_ids", "end", "the id is used twice", "ids are unique"),
]


def lint(runtime: SpiffRuntime, name: str) -> list[LintProblem]:
    return runtime.lint(bundle(name, f"bad/{name}.bpmn"), FORMS, EQUIPMENT, site_policy())


@pytest.mark.parametrize(("name", "files", "common"), VALID, ids=[v[0] for v in VALID])
def test_the_valid_procedures_pass_against_the_site_policy(
    runtime: SpiffRuntime, name: str, files: tuple[str, ...], common: tuple[str, ...]
) -> None:
    assert runtime.lint(bundle(name, *files, common=common), FORMS, EQUIPMENT, site_policy()) == []


@pytest.mark.parametrize(("name", "element", "words", "rule"), RULES, ids=[r[3] for r in RULES])
def test_each_rule_names_the_element_and_the_reason(
    runtime: SpiffRuntime, name: str, element: str, words: str, rule: str
) -> None:
    problems = lint(runtime, name)
    assert any(p.element_id == element and words in p.reason for p in problems), problems


def test_a_file_the_engine_cannot_load_is_still_linted_for_everything_else(runtime: SpiffRuntime) -> None:
    problems = lint(runtime, "unsupported")
    assert {"batch_data", "weigh_repeatedly", "gw_inclusive", "embedded", "notify", "read_scale", "f3"} <= {
        p.element_id for p in problems
    }


def test_without_a_site_policy_only_known_roles_are_checked(runtime: SpiffRuntime) -> None:
    problems = runtime.lint(bundle("roles", "bad/roles.bpmn"), FORMS, EQUIPMENT, None)
    assert {p.element_id for p in problems} == {"by_chemist", "by_admin"}


def test_a_form_field_bound_to_an_unknown_equipment_class_is_named(runtime: SpiffRuntime) -> None:
    forms = {**FORMS, "weigh_api": FormDefinition("weigh_api", "Probe", FORMS["probe"].fields)}
    problems = runtime.lint(bundle("linear", "linear/procedure.bpmn"), forms, EQUIPMENT, None)
    assert (
        LintProblem(
            "weigh_api", "field 'temperature' of form 'weigh_api': equipment class 'thermometer' is not in the bundle"
        )
        in problems
    )


def test_yield_and_reconciliation_read_known_variables_only(runtime: SpiffRuntime) -> None:
    totals = FormDefinition(
        "record_yield",
        "Record yield",
        FORMS["record_yield"].fields,
        yield_spec=YieldSpec("tablet_mass", "api_mass", "kg", scrap="rejects_mass"),
        reconciliation=(ReconciliationLine("PARA-API", "kg", "issued_mass", "api_mass", returned="api_mass / 100"),),
    )
    problems = runtime.lint(
        bundle("linear", "linear/procedure.bpmn"), {**FORMS, "record_yield": totals}, EQUIPMENT, None
    )
    assert problems == [
        LintProblem("record_yield", "yield produced of form 'record_yield': names unknown variable 'tablet_mass'"),
        LintProblem("record_yield", "yield scrap of form 'record_yield': names unknown variable 'rejects_mass'"),
        LintProblem(
            "record_yield",
            "reconciliation of 'PARA-API' issued of form 'record_yield': names unknown variable 'issued_mass'",
        ),
    ]


def test_yield_and_reconciliation_over_known_variables_lint_clean(runtime: SpiffRuntime) -> None:
    totals = FormDefinition(
        "record_yield",
        "Record yield",
        FORMS["record_yield"].fields,
        yield_spec=YieldSpec("api_mass", "25", "kg", low=Decimal("95"), high=Decimal("100")),
        reconciliation=(ReconciliationLine("PARA-API", "kg", "26", "api_mass", returned="1", waste="yield_pct / 100"),),
    )
    forms = {**FORMS, "record_yield": totals}
    assert runtime.lint(bundle("linear", "linear/procedure.bpmn"), forms, EQUIPMENT, site_policy()) == []


def test_the_engine_and_our_rules_do_not_both_report_one_fault(runtime: SpiffRuntime) -> None:
    problems = lint(runtime, "gateways")
    assert [p.element_id for p in problems].count("flow_bare") == 1


def test_a_path_of_400_elements_passes_and_401_asks_for_call_activities(runtime: SpiffRuntime) -> None:
    assert runtime.lint(bundle_of("chain", chain("chain", 400)), {}, {}, None) == []
    assert runtime.lint(bundle_of("chain", chain("chain", 401)), {}, {}, None) == [
        LintProblem("chain", "path too long: split into call activities (401 elements in a row; the limit is 400)")
    ]


def test_a_loop_counted_by_a_script_in_the_loop_is_bounded(runtime: SpiffRuntime) -> None:
    assert runtime.lint(bundle("drying", "rework/procedure.bpmn"), FORMS, EQUIPMENT, None) == []


def test_the_file_level_problems_are_all_there_is_for_an_unreadable_file(runtime: SpiffRuntime) -> None:
    assert lint(runtime, "billion_laughs") == [
        LintProblem(
            "workflows/billion_laughs/billion_laughs.bpmn",
            "a DTD or entity declaration is not allowed (XML bombs, external entities)",
        )
    ]


def test_a_problem_reads_as_element_then_reason() -> None:
    assert str(LintProblem("gw_dry", "needs a default flow")) == "gw_dry: needs a default flow"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_lint_never_raises_for_damaged_content(data: st.DataObject) -> None:
    original = (DATA / "rework/procedure.bpmn").read_bytes()
    cut = data.draw(st.integers(0, len(original)))
    junk = data.draw(st.binary(max_size=20))
    damaged = original[:cut] + junk + original[cut + len(junk) :]
    problems = SpiffRuntime().lint(bundle_of("drying", damaged), FORMS, EQUIPMENT, site_policy())
    assert all(isinstance(problem, LintProblem) for problem in problems)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_lint_never_raises_for_rewired_procedures(data: st.DataObject) -> None:
    """Well-formed XML with ids swapped at random: dangling flows, new loops, unreachable and duplicate elements."""
    document = (DATA / "rework/procedure.bpmn").read_bytes()
    tokens = sorted(set(re.findall(rb'"([a-z][a-z_0-9]*)"', document)))
    for _ in range(data.draw(st.integers(1, 4))):
        old, new = data.draw(st.sampled_from(tokens)), data.draw(st.sampled_from(tokens))
        document = document.replace(b'"' + old + b'"', b'"' + new + b'"', 1)
    problems = SpiffRuntime().lint(bundle_of("drying", document), FORMS, EQUIPMENT, site_policy())
    assert all(isinstance(problem, LintProblem) for problem in problems)
