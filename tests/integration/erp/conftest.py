"""Fixtures of the ERP tests: the fake ERP on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ebr.demo.fake_erp import FakeErp


@pytest.fixture
def erp() -> Iterator[FakeErp]:
    """A fake ERP listening on 127.0.0.1, deterministic chaos (seeded)."""
    with FakeErp(seed=7) as fake:
        yield fake
