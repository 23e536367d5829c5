"""The requirement → test → result trace matrix (VAL-01), built from the requirements text, the test results and the
map of where the evidence of reviewed and procedural items lives. Callers read the files; this module only parses.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ebr.app.validation_results import TestResult, parse_junit
from ebr.domain.errors import InvalidInput

__all__ = [
    "Requirement",
    "Row",
    "Status",
    "TestResult",
    "TraceMatrix",
    "build_matrix",
    "parse_evidence",
    "parse_junit",
    "parse_requirements",
    "parse_results_json",
]

# A numbered requirement: "12. **AUD-05** · source"; the body runs to the next one.
_HEADER = re.compile(r"^\s*\d+\.\s+\*\*([A-Z]+-\d+)\*\*", re.MULTILINE)
_ID = re.compile(r"[A-Z]+-\d+")
_OUTCOMES = frozenset({"passed", "failed", "skipped"})


class Status(StrEnum):
    """Where a requirement stands in the matrix."""

    PASSED = "passed"
    FAILED = "failed"
    UNTESTED = "untested"  # an [auto] check without any recorded test: a gap the report flags
    REVIEW = "review"  # no automated check: the evidence is a document a reviewer reads


@dataclass(frozen=True)
class Requirement:
    """One numbered requirement and the kinds of check it names: [auto], [review] and (P)."""

    id: str
    title: str
    auto: bool
    review: bool
    procedural: bool


@dataclass(frozen=True)
class Row:
    """One requirement with its tests, their outcome and, for reviewed or procedural items, its evidence."""

    requirement: Requirement
    tests: tuple[TestResult, ...]
    status: Status
    evidence: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        """An automated check that failed or was never run: the matrix is not clean."""
        return self.status in {Status.FAILED, Status.UNTESTED}


@dataclass(frozen=True)
class TraceMatrix:
    """Every requirement in document order, plus results that name an ID the requirements do not have."""

    rows: tuple[Row, ...]
    unknown_ids: tuple[str, ...]

    def count(self, status: Status) -> int:
        """How many requirements stand at this status."""
        return sum(1 for row in self.rows if row.status is status)

    @property
    def flagged(self) -> tuple[Row, ...]:
        """The failed and untested automated requirements."""
        return tuple(row for row in self.rows if row.flagged)


def parse_requirements(text: str) -> list[Requirement]:
    """The numbered requirements of a requirements document; an empty list is refused."""
    parts = _HEADER.split(text)
    found: list[Requirement] = []
    for i in range(1, len(parts), 2):
        body = parts[i + 1].split("\n#", 1)[0]  # a section heading ends the last item of a section
        source = body.split("\n", 1)[0]
        check = body.split("**Check:**", 1)[1] if "**Check:**" in body else ""
        statement = body.split("**Requirement:**", 1)[1] if "**Requirement:**" in body else body
        title = " ".join(statement.split("**Check:**")[0].split())
        found.append(Requirement(parts[i], title, "[auto]" in check, "[review]" in check, "(P)" in source))
    if not found:
        raise InvalidInput("The requirements file holds no numbered requirement such as '1. **VAL-01** · ...'.")
    return found


def parse_results_json(text: str) -> list[TestResult]:
    """The results file the test run writes: per-test outcomes, or the older passed/failed lists by ID."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"The results file is not JSON: {exc.msg} (line {exc.lineno}).") from None
    if not isinstance(data, dict) or not ({"tests", "passed", "failed"} & data.keys()):
        raise InvalidInput("The results file needs a 'tests' object (or 'passed'/'failed' lists by requirement ID).")
    if "tests" in data:
        return _per_test(data["tests"])
    return _by_requirement(data)


def _per_test(tests: object) -> list[TestResult]:
    if not isinstance(tests, dict):
        raise InvalidInput("'tests' in the results file must map test ids to their outcome.")
    results = []
    for node, entry in tests.items():
        if not isinstance(entry, dict) or entry.get("outcome") not in _OUTCOMES:
            raise InvalidInput(f"Test {node}: the outcome must be one of {', '.join(sorted(_OUTCOMES))}.")
        ids = entry.get("requirements", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidInput(f"Test {node}: 'requirements' must be a list of requirement IDs.")
        location = entry.get("location", "")
        results.append(TestResult(str(node), str(entry["outcome"]), str(location), tuple(ids)))
    return results


def _by_requirement(data: Mapping[str, object]) -> list[TestResult]:
    outcomes: dict[str, str] = {}
    ids: dict[str, list[str]] = {}
    for outcome in ("passed", "failed"):
        lists = data.get(outcome, {})
        if not isinstance(lists, dict):
            raise InvalidInput(f"'{outcome}' in the results file must map requirement IDs to test ids.")
        for rid, nodes in lists.items():
            if not isinstance(nodes, list):
                raise InvalidInput(f"'{outcome}' → {rid} must be a list of test ids.")
            for node in map(str, nodes):
                outcomes[node] = "failed" if outcome == "failed" else outcomes.get(node, "passed")
                ids.setdefault(node, []).append(rid)
    return [TestResult(node, outcomes[node], "", tuple(dict.fromkeys(ids[node]))) for node in outcomes]


def parse_evidence(text: str) -> dict[str, tuple[str, ...]]:
    """The evidence map: requirement ID = [documents]; read from TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"The evidence file is not valid TOML: {exc}.") from None
    found: dict[str, tuple[str, ...]] = {}
    for rid, where in data.items():
        paths = [where] if isinstance(where, str) else where
        if not _ID.fullmatch(rid) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InvalidInput(f'Evidence entry {rid!r}: write ID = ["path", ...].')
        found[rid] = tuple(paths)
    return found


def build_matrix(
    requirements: Iterable[Requirement], results: Iterable[TestResult], evidence: Mapping[str, tuple[str, ...]]
) -> TraceMatrix:
    """Join requirements with the tests tagged with them and with their evidence (VAL-01)."""
    listed = list(requirements)
    known = {r.id for r in listed}
    unknown_evidence = sorted(set(evidence) - known)
    if unknown_evidence:
        raise InvalidInput(f"The evidence map names IDs that are not requirements: {', '.join(unknown_evidence)}.")
    tagged: dict[str, list[TestResult]] = {}
    for result in results:
        for rid in result.requirements:
            tagged.setdefault(rid, []).append(result)
    rows = tuple(_row(r, tuple(sorted(tagged.get(r.id, []))), evidence.get(r.id, ())) for r in listed)
    return TraceMatrix(rows, tuple(sorted(set(tagged) - known)))


def _row(requirement: Requirement, tests: tuple[TestResult, ...], evidence: tuple[str, ...]) -> Row:
    outcomes = {t.outcome for t in tests}
    if "failed" in outcomes:
        status = Status.FAILED
    elif "passed" in outcomes:
        status = Status.PASSED
    elif requirement.auto:
        status = Status.UNTESTED
    else:
        status = Status.REVIEW
    return Row(requirement, tests, status, evidence)
