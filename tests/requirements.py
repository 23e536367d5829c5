"""The requirement IDs of docs/REQUIREMENTS.md and which of them an automated test must prove."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docs" / "REQUIREMENTS.md"
PENDING = Path(__file__).resolve().parent / "pending.txt"
HEADER = re.compile(r"^\s*\d+\.\s+\*\*([A-Z]+-\d+)\*\*", re.MULTILINE)


@dataclass(frozen=True)
class Requirement:
    id: str
    automated: bool
    title: str


def load() -> dict[str, Requirement]:
    """Every numbered requirement; automated when its Check names [auto]."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    parts = HEADER.split(text)
    found: dict[str, Requirement] = {}
    for i in range(1, len(parts), 2):
        body = parts[i + 1]
        check = body.split("**Check:**", 1)[1] if "**Check:**" in body else ""
        requirement = body.split("**Requirement:**", 1)[1] if "**Requirement:**" in body else body
        title = " ".join(requirement.split("**Check:**")[0].split())[:140]
        found[parts[i]] = Requirement(parts[i], "[auto]" in check, title)
    return found


def pending() -> list[str]:
    """IDs not yet proven, one per line; '#' starts a comment."""
    if not PENDING.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in PENDING.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


# VAL-03: the scenarios a boundary or error-handling test names, as @pytest.mark.limits("exclusive_edge").
SCENARIOS: dict[str, tuple[str, ...]] = {
    "limits": ("min", "max", "target_tolerance", "inclusive_edge", "exclusive_edge", "units", "precision"),
    "error_handling": ("device_timeout", "db_error_mid_step", "erp_5xx", "erp_4xx", "tsa_unavailable"),
}
