"""Retention periods per record type are GMP settings (REC-04): shown on the settings page with the rule they come
from, changed only with a reason and a signature like every other GMP setting."""

from __future__ import annotations

import html

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import effective_policy
from tests.web.support import change_setting, entries, request_setting_change, sign_in

RETENTION = {"retention.batch_record_years": 5, "retention.equipment_log_years": 5, "retention.procedure_years": 5}


@pytest.mark.req("REC-04")
def test_the_retention_periods_are_listed_with_their_defaults_and_sources(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    page = html.unescape(browser.get("/admin/settings").get_data(as_text=True))

    assert {k: runtime.services.settings.current()[k] for k in RETENTION} == RETENTION
    assert all(key in page for key in RETENTION)
    assert "EU GMP Ch. 4 §4.11" in page and "21 CFR 211.180(a)" in page


@pytest.mark.req("REC-04")
def test_a_retention_period_changes_only_with_a_reason_and_a_signature(app: Flask, runtime: Runtime) -> None:
    effective_policy(runtime)
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    refused = request_setting_change(browser, "retention.batch_record_years", "7", "")
    assert refused.status_code == 422
    assert runtime.services.settings.current()["retention.batch_record_years"] == 5

    reason = "shelf life 6 years: keep expiry + 1 year"
    assert change_setting(browser, admin, "retention.batch_record_years", "7", reason).status_code == 302

    assert runtime.services.settings.current()["retention.batch_record_years"] == 7
    [entry] = [e.draft for e in entries(runtime, object_id="retention.batch_record_years") if e.draft.field == "value"]
    assert (entry.old_value, entry.new_value, entry.reason, entry.user_id) == ("5", "7", reason, admin.id)
