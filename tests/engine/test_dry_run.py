"""A dry run walks a procedure with given or default values and reports the path, waits and problems."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebr.domain.limits import Limit
from ebr.domain.steps import FieldDefinition, FormDefinition
from ebr.engine.dryrun import DRY_RUN_TEXT, DRY_RUN_TIME, RECURSION, StepValueError, default_number, default_value, fill
from ebr.engine.runtime import SpiffRuntime
from tests.engine.builders import DATA, FORMS, bundle, bundle_of

LINEAR = bundle("linear", "linear/procedure.bpmn")
GATEWAY = bundle("gateway", "gateway/procedure.bpmn")
REWORK = bundle("drying", "rework/procedure.bpmn")
REVIEW = bundle("release_check", "boundary/procedure.bpmn", common=("boundary/qa_review.bpmn",))


def test_a_linear_procedure_runs_to_its_end(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(LINEAR, FORMS, {})
    assert result.path == ("weigh_api", "record_yield", "end")
    assert result.completed
    assert result.waiting_at == ()
    assert result.problems == ()


def test_default_values_take_the_nominal_branch_of_a_gateway(runtime: SpiffRuntime) -> None:
    assert runtime.dry_run(GATEWAY, FORMS, {}).path == ("weigh_api", "gw_mass_ok", "blend", "end_ok")


def test_a_value_out_of_tolerance_takes_the_deviation_branch(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(GATEWAY, FORMS, {"weigh_api": {"api_mass": "25.051"}})
    assert result.path == ("weigh_api", "gw_mass_ok", "record_deviation", "end_deviation")
    assert result.completed


def test_parallel_branches_are_taken_in_document_order(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("parallel", "parallel/procedure.bpmn"), FORMS, {})
    assert result.path == ("split", "check_room", "check_scale", "join", "sign_off", "end")


def test_the_steps_of_a_called_sub_procedure_come_where_it_is_called(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(
        bundle("granulation", "call/procedure.bpmn", common=("call/line_clearance.bpmn",)), FORMS, {}
    )
    assert result.path == ("clear_line", "lc_end", "weigh_api", "end")
    assert result.completed


def test_a_rework_loop_ends_at_its_counter_bound(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(REWORK, FORMS, {"measure": {"moisture": "7"}})
    assert result.path.count("measure") == 3
    assert result.path.count("count_rework") == 3
    assert result.path[-2:] == ("record_deviation", "end_deviation")
    assert result.completed


def test_a_dry_measurement_needs_no_rework(runtime: SpiffRuntime) -> None:
    assert runtime.dry_run(REWORK, FORMS, {}).path == ("init_count", "measure", "gw_dry", "end_ok")


def test_an_error_in_a_called_process_is_caught_by_the_boundary_event(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(REVIEW, FORMS, {"qa_decision": {"decision": "reject"}})
    assert result.path == (
        "qa_decision",
        "gw_decision",
        "qa_end_rejected",
        "review_rejected",
        "record_rejection",
        "end_rejected",
    )
    assert result.completed


def test_the_first_choice_is_the_default_and_takes_the_normal_end(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(REVIEW, FORMS, {})
    assert result.path[-2:] == ("qa_end_accepted", "end_ok")


def test_a_timer_wait_is_due_at_once_and_a_boundary_timer_never_fires(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("settling", "timer/procedure.bpmn"), FORMS, {})
    assert result.path == ("weigh_api", "settle", "verify_mass", "end")
    assert result.completed


def test_a_run_stops_at_max_steps_and_says_what_is_ready(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(REWORK, FORMS, {"measure": {"moisture": "7"}}, max_steps=2)
    assert not result.completed
    assert result.waiting_at == ("measure",)
    assert result.problems == ("procedure: stopped after 2 steps",)


def test_a_run_that_waits_for_an_outside_event_says_what_it_waits_for(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("waits", "bad/waits.bpmn"), FORMS, {})
    assert not result.completed
    assert result.waiting_at == ("wait_for_lab",)


def test_an_expression_error_is_a_problem_naming_the_gateway(runtime: SpiffRuntime) -> None:
    forms = {**FORMS, "weigh_api": FormDefinition("weigh_api", "Weigh", (FieldDefinition("mass", "Mass", "number"),))}
    result = runtime.dry_run(GATEWAY, forms, {})
    assert not result.completed
    assert result.path == ("weigh_api",)
    assert result.problems == (
        "gw_mass_ok: Error evaluating expression 'within(api_mass, 25, 0.05)': unknown name 'api_mass'",
    )


def test_a_value_that_does_not_fit_its_field_is_a_problem_naming_the_step(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(LINEAR, FORMS, {"weigh_api": {"api_mass": "heavy"}})
    assert result.problems == ("weigh_api: field 'api_mass' needs a number, not 'heavy'",)
    assert not result.completed


def test_a_value_for_a_field_the_form_does_not_have_is_a_problem(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(LINEAR, FORMS, {"weigh_api": {"api_mas": "25"}})
    assert result.problems == ("weigh_api: form 'weigh_api' has no field 'api_mas'",)


def test_a_step_whose_form_is_missing_is_a_problem(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("forms", "bad/forms.bpmn"), FORMS, {})
    assert result.problems == ("no_form: the step names no form",)


def test_a_loop_that_would_outgrow_spiffworkflows_iterator_fails_loudly(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("long_loop", "bad/long_loop.bpmn"), FORMS, {})
    assert not result.completed
    (problem,) = result.problems
    assert re.fullmatch(r"(count|gw_again): the task tree is 90\d deep here \(limit 900\).*", problem)


def test_a_loop_without_a_gateway_is_a_problem_not_a_crash(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("endless", "bad/endless.bpmn"), FORMS, {})
    assert result.problems == (f"procedure: {RECURSION}",)


def test_a_bundle_that_does_not_parse_reports_why(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("not_xml", "bad/not_xml.bpmn"), FORMS, {})
    assert result.path == ()
    assert not result.completed
    assert result.problems[0].startswith("workflows/not_xml/not_xml.bpmn: not XML")


def test_an_error_nothing_catches_is_a_problem(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("unsupported", "bad/unsupported.bpmn"), FORMS, {})
    assert "procedure: the event 'done' was thrown and nothing caught it" in result.problems


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, Decimal(1)),
        (Limit(target=Decimal("25.000"), tolerance=Decimal("0.05")), Decimal("25.000")),
        (Limit(minimum=Decimal(10), maximum=Decimal(20)), Decimal(15)),
        (Limit(minimum=Decimal(10)), Decimal(10)),
        (Limit(minimum=Decimal(10), min_exclusive=True), Decimal(11)),
        (Limit(maximum=Decimal("0.5")), Decimal("0.5")),
        (Limit(maximum=Decimal(5), max_exclusive=True), Decimal(4)),
    ],
)
def test_a_default_number_lies_within_its_limit(limit: Limit | None, expected: Decimal) -> None:
    assert default_number(limit) == expected
    if limit is not None:
        assert limit.evaluate(default_number(limit)).within


def test_text_barcode_boolean_choice_and_time_have_defaults() -> None:
    assert default_value(FieldDefinition("lot", "Lot", "barcode")) == DRY_RUN_TEXT
    assert default_value(FieldDefinition("note", "Note", "text")) == DRY_RUN_TEXT
    assert default_value(FieldDefinition("ok", "OK", "boolean")) is True
    assert default_value(FieldDefinition("pick", "Pick", "choice", choices=("b", "a"))) == "b"
    assert default_value(FieldDefinition("at", "At", "datetime")) == DRY_RUN_TIME


def test_calculated_fields_are_evaluated_from_the_step_and_earlier_data() -> None:
    form = FormDefinition(
        "yield",
        "Yield",
        (
            FieldDefinition("out_mass", "Out", "quantity"),
            FieldDefinition("yield_pct", "Yield", "calculated", expression="out_mass / in_mass * 100"),
        ),
    )
    values = fill(form, {"out_mass": "24.5", "yield_pct": "999"}, {"in_mass": Decimal(25)})
    assert values == {"out_mass": Decimal("24.5"), "yield_pct": Decimal("98.0")}


def test_the_values_of_a_step_are_exactly_its_fields() -> None:
    assert set(fill(FORMS["weigh_api"], {}, {})) == {"api_lot", "api_mass", "yield_pct"}


def test_given_booleans_may_be_written_as_text() -> None:
    assert fill(FORMS["room"], {"room_clean": "False"}, {}) == {"room_clean": False}
    with pytest.raises(StepValueError, match="needs true or false"):
        fill(FORMS["room"], {"room_clean": "maybe"}, {})


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_dry_run_never_raises_for_a_rewired_procedure(data: st.DataObject) -> None:
    document = (DATA / "parallel/procedure.bpmn").read_bytes()
    tokens = sorted(set(re.findall(rb'"([a-z][a-z_0-9]*)"', document)))
    for _ in range(data.draw(st.integers(1, 4))):
        old, new = data.draw(st.sampled_from(tokens)), data.draw(st.sampled_from(tokens))
        document = document.replace(b'"' + old + b'"', b'"' + new + b'"', 1)
    result = SpiffRuntime().dry_run(bundle_of("parallel", document), FORMS, {}, max_steps=50)
    assert result.completed or result.problems or result.waiting_at


def test_values_for_a_step_the_procedure_does_not_have_are_named(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(LINEAR, FORMS, {"weigh_apii": {"api_mass": "30"}})
    assert result.problems == ("weigh_apii: values were given for a step the procedure does not have",)
    assert result.completed
