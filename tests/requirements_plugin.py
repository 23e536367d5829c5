"""Pytest plugin: validates @pytest.mark.req IDs and the VAL-03 scenario names, and records which requirements
passing tests prove, per test with its outcome and where it is written (the input of `ebr validation-report`)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from tests.requirements import ROOT, SCENARIOS, load

RESULTS = ROOT / "test-results" / "requirements.json"
_passed: dict[str, list[str]] = defaultdict(list)
_failed: dict[str, list[str]] = defaultdict(list)
_tests: dict[str, dict[str, object]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = load()
    unknown = sorted({m.args[0] for item in items for m in item.iter_markers("req") if m.args[0] not in known})
    if unknown:
        raise pytest.UsageError(f"tests are tagged with unknown requirement IDs: {', '.join(unknown)}")
    for marker, names in SCENARIOS.items():
        wrong = sorted({a for item in items for m in item.iter_markers(marker) for a in m.args if a not in names})
        if wrong:
            raise pytest.UsageError(f"unknown {marker} scenarios: {', '.join(wrong)} (known: {', '.join(names)})")
    for item in items:
        # JUnit reports carry the IDs as <property name="req">, so a JUnit file can feed the trace matrix too.
        item.user_properties.extend(("req", m.args[0]) for m in item.iter_markers("req"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    ids = [m.args[0] for m in item.iter_markers("req")]
    if not ids:
        return None
    if report.when == "call" and report.passed:
        for rid in ids:
            _passed[rid].append(item.nodeid)
    elif report.failed:
        for rid in ids:
            _failed[rid].append(item.nodeid)
    _record(item, report, ids)
    return None


def _record(item: pytest.Item, report: pytest.TestReport, ids: list[str]) -> None:
    path, line, _ = item.location
    entry = _tests.setdefault(
        item.nodeid, {"outcome": "skipped", "requirements": ids, "location": f"{path}:{(line or 0) + 1}"}
    )
    if report.failed:
        entry["outcome"] = "failed"
    elif report.when == "call" and report.passed and entry["outcome"] != "failed":
        entry["outcome"] = "passed"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if getattr(session.config, "workerinput", None) is not None:
        return
    RESULTS.parent.mkdir(exist_ok=True)
    # Only a full run may rewrite the record the coverage check reads.
    if session.config.args and any(Path(a).resolve() != (ROOT / "tests") for a in session.config.args):
        return
    data = {"passed": dict(_passed), "failed": dict(_failed), "tests": _tests}
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
