"""A second application instance over the same database: another worker, as far as the data is concerned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from tests.fakes import FakeClock


@pytest.fixture
def second_runtime(settings: Settings, clock: FakeClock) -> Iterator[Runtime]:
    """Services built again from the same settings: own engine, own pool, same database and clock."""
    rt = build(settings, clock=clock, alert_sink=RecordingAlertSink())
    yield rt
    rt.engine.dispose()


@pytest.fixture
def second_app(app: Flask, second_runtime: Runtime) -> Flask:
    """A second Flask app (a second worker) created after the first one."""
    from ebr.web.app import create_app

    other = create_app(runtime=second_runtime)
    other.config["TESTING"] = True
    return other
