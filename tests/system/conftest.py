"""Fixtures of the system tests: the application on the real clock, which the processes under test share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.bootstrap import Runtime, build
from ebr.config import Settings


@pytest.fixture
def live(settings: Settings) -> Iterator[Runtime]:
    """The application as the test's own process sees it: same database, real clock (the servers use it too)."""
    rt = build(settings, alert_sink=RecordingAlertSink())
    yield rt
    rt.engine.dispose()
