"""Test results as the trace matrix reads them (VAL-01): one outcome per test, with the requirement IDs it proves."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ebr.domain.errors import InvalidInput

_DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_LIMIT = 50_000_000  # characters: a report of a whole suite is a few MB; more is not a results file


@dataclass(frozen=True, order=True)
class TestResult:
    """One test: its id, outcome (passed, failed, skipped), where it is written, and the IDs it is tagged with."""

    __test__ = False  # a record of a test, not a test for pytest to collect

    node: str
    outcome: str
    location: str
    requirements: tuple[str, ...]


def parse_junit(text: str) -> list[TestResult]:
    """The testcases of a JUnit XML report; the requirement IDs come from its 'req' properties."""
    if len(text) > _LIMIT or _DOCTYPE.search(text):
        raise InvalidInput("The JUnit file is too large or declares a DTD: refused.")
    try:
        # The text carries no DTD (checked above), so no entity can expand or fetch anything.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise InvalidInput(f"The JUnit file is not well-formed XML: {exc}.") from None
    if root.tag not in {"testsuites", "testsuite"}:
        raise InvalidInput(f"The JUnit file's root is <{root.tag}>, not <testsuites> or <testsuite>.")
    return [_case(case) for case in root.iter("testcase")]


def _case(case: ET.Element) -> TestResult:
    name = case.get("name", "")
    classname = case.get("classname", "")
    if not name:
        raise InvalidInput("A <testcase> in the JUnit file has no name.")
    if case.find("failure") is not None or case.find("error") is not None:
        outcome = "failed"
    elif case.find("skipped") is not None:
        outcome = "skipped"
    else:
        outcome = "passed"
    ids = tuple(p.get("value", "") for p in case.iter("property") if p.get("name") == "req")
    where = f"{case.get('file')}:{case.get('line')}" if case.get("file") else ""
    node = f"{classname}::{name}" if classname else name
    return TestResult(node, outcome, where, tuple(dict.fromkeys(i for i in ids if i)))
