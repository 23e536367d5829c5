"""A step's instructions are filled from the batch's values in a sandbox, escaped as a whole, never executed."""

from __future__ import annotations

from decimal import Decimal

from ebr.web.batches.common import instructions


def test_placeholders_are_filled_from_the_recorded_values() -> None:
    shown = instructions("Label the container with the checked mass ({{ qc_mass }} kg).", {"qc_mass": Decimal("1.005")})
    assert shown == "Label the container with the checked mass (1.005 kg)."


def test_a_value_not_recorded_yet_stays_visible_as_its_placeholder() -> None:
    assert (
        instructions("Failed LOD tests so far: {{ rework_count }}.", {})
        == "Failed LOD tests so far: {{ rework_count }}."
    )


def test_typed_values_and_the_instruction_text_are_both_escaped() -> None:
    shown = instructions("<b>Scan</b> {{ lot }}", {"lot": '<script>alert("x")</script>'})
    assert "<script>" not in shown and "<b>" not in shown
    assert shown == "&lt;b&gt;Scan&lt;/b&gt; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def test_bold_markdown_is_the_one_markup_rendered() -> None:
    shown = instructions("Target **1.000 kg ± 0.010 kg** & no <i>more</i>.", {})
    assert shown == "Target <strong>1.000 kg ± 0.010 kg</strong> &amp; no &lt;i&gt;more&lt;/i&gt;."


def test_a_template_that_fails_or_reaches_outside_the_sandbox_shows_its_raw_text() -> None:
    values = {"qc_mass": Decimal("1"), "x": []}
    assert instructions("Mass {{ qc_mass / 0 }}", values) == "Mass {{ qc_mass / 0 }}"
    assert instructions("Mass {{ qc_mass ", values) == "Mass {{ qc_mass "
    assert instructions("{{ x.append(1) }}", values) == "{{ x.append(1) }}"  # immutable: no side effects
    assert values["x"] == []
    assert instructions("{{ ''.__class__.__mro__ }}", values) == "{{ &#39;&#39;.__class__.__mro__ }}"
