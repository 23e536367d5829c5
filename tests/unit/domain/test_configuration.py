"""GMP settings: ranges, defaults, export and diff (VAL-05)."""

from __future__ import annotations

import json

import pytest

from ebr.domain.configuration import SPECS, GmpSettings, diff, spec_for
from ebr.domain.errors import InvalidInput


def test_every_setting_has_a_default_within_its_range() -> None:
    for spec in SPECS:
        assert spec.minimum <= spec.default <= spec.maximum, spec.key


@pytest.mark.parametrize("raw", ["0", "21", "abc", "", "3.5"])
def test_out_of_range_or_malformed_values_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="lockout.threshold"):
        spec_for("lockout.threshold").parse(raw)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown setting"):
        spec_for("audit.enabled")


@pytest.mark.req("AUD-07")
def test_no_setting_can_switch_the_audit_trail_off() -> None:
    assert not [s.key for s in SPECS if "audit" in s.key and s.key != "audit.checkpoint_minutes"]


def test_export_is_stable_json_and_diff_names_the_change() -> None:
    before = GmpSettings.from_stored({})
    after = GmpSettings.from_stored({"lockout.threshold": 3})
    assert json.loads(before.export())["lockout.threshold"] == 5
    assert diff(json.loads(before.export()), json.loads(after.export())) == [("lockout.threshold", 5, 3)]
