"""QA's audit trail: filters, exports with every column, the export's own entry (AUD-08)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from ebr.app.context import RequestInfo
from ebr.app.ports import AuditFilter
from ebr.app.trail import COLUMNS
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput
from tests.factories import PASSWORD, actor_of, make_user
from tests.fakes import FakeClock


def _activity(runtime: Runtime, clock: FakeClock) -> None:
    admin = make_user(runtime, Role.ADMIN, username="ada")
    olivia = make_user(runtime, Role.OPERATOR, username="olivia")
    clock.advance(minutes=5)
    runtime.services.auth.login("olivia", PASSWORD, RequestInfo("10.1.1.1"))
    runtime.services.accounts.set_roles(actor_of(admin), olivia.id, frozenset({Role.SUPERVISOR}), "promotion")


@pytest.mark.req("AUD-08")
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_holds_every_matching_entry_with_all_columns_and_is_itself_audited(
    runtime: Runtime, clock: FakeClock, fmt: str
) -> None:
    _activity(runtime, clock)
    quinn = make_user(runtime, Role.QA)
    flt = AuditFilter(username="olivia")
    expected = runtime.services.trail.query(flt, None)
    export = runtime.services.trail.export(actor_of(quinn), flt, fmt, RequestInfo("10.9.9.9"))
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(export.content.decode())))
        assert tuple(rows[0].keys()) == COLUMNS
    else:
        rows = json.loads(export.content)["entries"]
        assert set(rows[0]) == set(COLUMNS)
    assert len(rows) == export.count == len(expected) > 0
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    logged = runtime.services.trail.query(AuditFilter(action="export", username=quinn.username))
    assert len(logged) == 1 and logged[0].draft.object_id == fmt
    assert f"{len(expected)} entries" in (logged[0].draft.new_value or "")


@pytest.mark.req("AUD-08")
def test_the_pdf_export_lists_every_entry_with_utc_times_and_page_numbers(runtime: Runtime, clock: FakeClock) -> None:
    _activity(runtime, clock)
    quinn = make_user(runtime, Role.QA)
    flt = AuditFilter(object_type="user")
    expected = runtime.services.trail.query(flt, None)
    export = runtime.services.trail.export(actor_of(quinn), flt, "pdf")
    assert export.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(export.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"{len(expected)} entries" in text
    assert "Page 1 of" in text and "UTC" in text
    assert "promotion" in text and "0.1.0+abc123def456" in text


@pytest.mark.req("AUD-08")
def test_filters_narrow_by_user_action_object_and_time(runtime: Runtime, clock: FakeClock) -> None:
    start = clock.now()
    _activity(runtime, clock)
    trail = runtime.services.trail
    assert {e.draft.action for e in trail.query(AuditFilter(action="login"))} == {"login"}
    assert {e.draft.username for e in trail.query(AuditFilter(username="ada"))} == {"ada"}
    late = trail.query(AuditFilter(since=start.replace(minute=start.minute + 1)))
    assert late and all(e.draft.at > start for e in late)
    assert trail.query(AuditFilter(until=start)) == [e for e in trail.query(AuditFilter()) if e.draft.at <= start]


def test_an_unknown_export_format_is_refused_and_nothing_is_logged(runtime: Runtime) -> None:
    quinn = make_user(runtime, Role.QA)
    with pytest.raises(InvalidInput, match="csv, json or pdf"):
        runtime.services.trail.export(actor_of(quinn), AuditFilter(), "xlsx")
    assert not runtime.services.trail.query(AuditFilter(action="export"))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is installed by the test command")
def test_pdf_export_text_is_readable_by_a_standard_tool(runtime: Runtime, clock: FakeClock, tmp_path: object) -> None:
    _activity(runtime, clock)
    quinn = make_user(runtime, Role.QA)
    export = runtime.services.trail.export(actor_of(quinn), AuditFilter(), "pdf")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=export.content, capture_output=True, check=True)
    assert b"Audit trail export" in out.stdout or b"entries" in out.stdout
