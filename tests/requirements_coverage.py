"""`python -m tests.requirements_coverage`: every [auto] requirement is proven by a passing tagged test
or listed in tests/pending.txt, which may only shrink; writes the trace matrix (VAL-01)."""

from __future__ import annotations

import json
import sys

from tests.requirements import ROOT, Requirement, load, pending
from tests.requirements_plugin import RESULTS

MATRIX = ROOT / "test-results" / "trace-matrix.md"


def main() -> int:
    requirements = load()
    if not RESULTS.exists():
        print(f"no test results at {RESULTS.relative_to(ROOT)}: run the whole suite first")
        return 2
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    passed: dict[str, list[str]] = results["passed"]
    failed: dict[str, list[str]] = results["failed"]
    waiting = pending()
    problems = check(requirements, passed, failed, waiting)
    _write_matrix(requirements, passed, waiting)
    auto = [r for r in requirements.values() if r.automated]
    print(
        f"requirements: {sum(1 for r in auto if r.id in passed)} of {len(auto)} automated IDs proven, "
        f"{len(waiting)} pending; trace matrix in {MATRIX.relative_to(ROOT)}"
    )
    for problem in problems:
        print("FAIL", problem)
    return 1 if problems else 0


def check(
    requirements: dict[str, Requirement], passed: dict[str, list[str]], failed: dict[str, list[str]], waiting: list[str]
) -> list[str]:
    """What makes the run fail: an [auto] ID without a passing test and not pending, or a proven ID still pending."""
    problems = [f"{rid} in pending.txt is not a requirement ID" for rid in sorted(set(waiting) - set(requirements))]
    for rid, req in sorted(requirements.items()):
        proven = rid in passed and rid not in failed
        if req.automated and not proven and rid not in waiting:
            problems.append(f"{rid} has no passing tagged test and is not in pending.txt")
        if proven and rid in waiting:
            problems.append(f"{rid} is proven now: remove it from pending.txt (the list only shrinks)")
    return problems


def _write_matrix(requirements: dict[str, object], passed: dict[str, list[str]], waiting: list[str]) -> None:
    lines = ["# Requirement → test trace matrix (generated)", "", "| ID | status | tests |", "|---|---|---|"]
    for rid in sorted(requirements):
        tests = passed.get(rid, [])
        status = "proven" if tests else ("pending" if rid in waiting else "manual/review")
        lines.append(f"| {rid} | {status} | {'<br>'.join(sorted(set(tests)))} |")
    MATRIX.parent.mkdir(exist_ok=True)
    MATRIX.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
