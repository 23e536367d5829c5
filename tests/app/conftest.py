"""Fixtures of the application tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant


@pytest.fixture
def plant() -> Iterator[SimulatedPlant]:
    """A simulated plant on a free loopback port whose values hold still, so each test knows what devices answer."""
    simulated = SimulatedPlant(moving=False, settle_s=0.0)
    simulated.start()
    try:
        yield simulated
    finally:
        simulated.stop()
