"""Reads the site signature policy from the controlled library folder (signatures/policy.toml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ebr.domain.errors import NotFound

POLICY_FILE = Path("signatures") / "policy.toml"


def reader(library_dir: Path) -> Callable[[], str]:
    """A function returning the policy text as it is in the library now."""

    def read() -> str:
        path = library_dir / POLICY_FILE
        if not path.is_file():
            raise NotFound(f"The library has no {POLICY_FILE}.")
        return path.read_text(encoding="utf-8")

    return read
