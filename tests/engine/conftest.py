"""One runtime per test module: parsed bundles are cached by content hash, as in production."""

from __future__ import annotations

import pytest

from ebr.engine.runtime import SpiffRuntime


@pytest.fixture(scope="module")
def runtime() -> SpiffRuntime:
    return SpiffRuntime()
