"""Fakes for the I/O ports: real classes, not mocks (ARCHITECTURE.md style rule 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ebr.app.ports import DeliveryFailed, Incident


class FakeClock:
    """A clock the test moves by hand; the only time the application sees."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class RecordingNotifier:
    """Keeps the incidents it is sent; `failing = True` makes every delivery fail, as a dead relay would."""

    def __init__(self) -> None:
        self.received: list[Incident] = []
        self.failing = False

    def send(self, incident: Incident) -> None:
        if self.failing:
            raise DeliveryFailed(f"recording notifier set to fail (incident {incident.id})")
        self.received.append(incident)
