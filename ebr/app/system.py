"""The installation itself: version identity, start-up and upgrade entries, clock checks (VAL-04, TIME-02)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ebr.app.alerts import raise_alert
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import Clock, UnitOfWorkFactory
from ebr.domain.audit import Action, to_utc_text
from ebr.domain.configuration import SPECS, GmpSettings


@dataclass(frozen=True)
class Version:
    """The exact software identity: semantic version and build commit."""

    version: str
    commit: str

    def __str__(self) -> str:
        return f"{self.version}+{self.commit}"


class SystemService:
    """Start-up bookkeeping and self-checks."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, version: Version) -> None:
        self._uow = uow
        self._clock = clock
        self.version = version

    def record_startup(self, component: str) -> str | None:
        """Write 'upgraded from A to B' once when the running version differs from the last one."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            previous = uow.system.get("version")
            current = str(self.version)
            if previous == current:
                return None
            if not uow.system.claim("version", previous, current):
                return None  # another process of this installation, started at the same time, recorded it
            stored = uow.settings.stored()
            for spec in SPECS:
                if spec.key not in stored:  # the initial configuration enters the trail with its values
                    uow.settings.put(spec.key, spec.default, now)
            if previous is None:
                uow.audit.append(
                    Action.SYSTEM_START,
                    "system",
                    "ebr",
                    field="version",
                    new=current,
                    reason=f"first start ({component})",
                )
            else:
                uow.audit.append(
                    Action.SYSTEM_UPGRADE,
                    "system",
                    "ebr",
                    field="version",
                    old=previous,
                    new=current,
                    reason=f"system upgraded from {previous} to {current}",
                )
            uow.commit()
            return previous or ""

    def mark_demo_seeded(self) -> None:
        """Remember that demo data entered this database: production mode then refuses to start (ACC-05)."""
        with self._uow(AuditContext(Actor.system(), self._clock.now(), "demo plant seed")) as uow:
            if uow.system.get("demo_seeded") is None:
                uow.system.put("demo_seeded", to_utc_text(self._clock.now()))
                uow.audit.append(Action.STATE_CHANGE, "system", "ebr", field="demo_seeded", new="true")
                uow.commit()

    def demo_seeded(self) -> bool:
        """True once the demo plant was seeded into this database."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.system.get("demo_seeded") is not None

    def check_clock(self, database_now: datetime) -> bool:
        """Alert when the application clock and the database clock drift apart (TIME-02); True when in step."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            limit = GmpSettings.from_stored(uow.settings.stored())["clock.max_skew_seconds"]
            skew = abs((now - database_now).total_seconds())
            if skew <= limit:
                return True
            uow.audit.append(
                Action.CLOCK_ANOMALY,
                "system",
                "clock",
                old=to_utc_text(database_now),
                new=to_utc_text(now),
                reason=f"application and database clocks differ by {skew:.0f} s",
            )
            raise_alert(uow, "clock", f"Clock skew of {skew:.0f} s between application and database.", self._clock)
            uow.commit()
            return False
