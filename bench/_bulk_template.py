"""The bulk seeder's template: one batch of the generated procedure run to its end through the application.

The set-up and the template run on a clock set back in time, so the cloned batches that follow it in the audit
chain keep its times increasing and still lie before the present (no clock anomaly, now or later).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from execution_step_cost import FIELDS, KIOSK, PASSWORD, library, start_batch, step_values
from sqlalchemy import text

from ebr.app.context import Actor
from ebr.app.execution_corrections import Entry
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime, build, migrate
from ebr.config import Settings
from ebr.domain.accounts import User


class ShiftedClock:
    """The real clock moved back by a fixed offset: time passes, but in the past."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset


@dataclass(frozen=True)
class Template:
    """The finished template batch and what cloning it needs."""

    rt: Runtime
    settings: Settings
    operator: User
    batch_id: str
    batch_pk: int


def units_for(steps: int) -> tuple[int, int]:
    """Unit procedures and steps per unit for about this many steps (units of at most 50, as the engine bench)."""
    units = max(1, -(-steps // 50))
    return units, max(4, steps // units)


def settings_for(folder: Path, database_url: str) -> Settings:
    return Settings(
        env="development",
        instance_path=folder / "instance",
        database_url=database_url,
        library_dir=folder / "library",
        fast_password_hashing=True,
        build_commit="bench",
    )


def run_template(folder: Path, database_url: str, steps: int, offset: timedelta) -> Template:
    """Library, schema, set-up and one batch completed step by step: five values, request, signature."""
    (folder / "library").mkdir()
    library(folder / "library", *units_for(steps))
    settings = settings_for(folder, database_url)
    migrate(settings)
    rt = build(settings, clock=ShiftedClock(offset))
    operator, batch_id, pk = start_batch(rt)
    who = Actor(operator.id, operator.username, operator.full_name)
    token = rt.services.auth.login(operator.username, PASSWORD, KIOSK).token
    n = 0
    while (record := _open_record(rt, pk)) is not None:
        n += 1
        for field_id, value in step_values(n).items():
            rt.services.execution.enter(who, batch_id, record, Entry(field_id, value), KIOSK)
        dialog = rt.services.signing.request(who, token, "batch_step", str(record), "performed", KIOSK)
        given = Credentials(PASSWORD, operator.username, True)
        rt.services.signing.sign(who, token, dialog.challenge.id, dialog.challenge.content_hash, given, KIOSK)
    rt.services.auth.logout(token, who, KIOSK)
    assert len(FIELDS) == 5
    return Template(rt, settings, operator, batch_id, pk)


def _open_record(rt: Runtime, batch_pk: int) -> int | None:
    with rt.engine.connect() as conn:
        row = conn.execute(
            text("SELECT id FROM step_record WHERE batch_id = :b AND status = 'ready' ORDER BY id LIMIT 1"),
            {"b": batch_pk},
        ).first()
    return None if row is None else int(row[0])


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="ebr-bulk-"))
