"""GMP settings: read, change with a reason, export and diff (VAL-05)."""

from __future__ import annotations

import json
from typing import Any

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.configuration import GmpSettings, diff, spec_for
from ebr.domain.errors import InvalidInput


class SettingsService:
    """The audited admin action that is the only way to change a GMP setting."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def current(self) -> GmpSettings:
        """Every setting now in force."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return GmpSettings.from_stored(uow.settings.stored())

    def change(
        self, actor: Actor, key: str, raw_value: object, reason: str, request: RequestInfo | None = None
    ) -> None:
        """Set one value; the audit entry carries old, new, who, when and why."""
        spec = spec_for(key)
        value = spec.parse(raw_value)
        why = require_reason(reason)
        with self._uow(AuditContext(actor, self._clock.now(), why, request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.SETTINGS_MANAGE)
            stored = uow.settings.stored()
            if key not in stored:
                # Record the default first, so the change itself shows old and new values (VAL-05).
                uow.settings.put(key, spec.default, self._clock.now())
                uow.flush()  # the default's 'create' entry must precede this change's 'update' entry
            uow.settings.put(key, value, self._clock.now())
            uow.commit()

    def export(self) -> str:
        """The configuration as a stable JSON document."""
        return self.current().export()

    def diff_against(self, baseline_json: str) -> list[tuple[str, Any, Any]]:
        """Changes between a baseline export and the configuration now in force."""
        try:
            baseline = json.loads(baseline_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"Baseline is not a configuration export: {exc}") from None
        if not isinstance(baseline, dict):
            raise InvalidInput("Baseline is not a configuration export: expected an object.")
        return diff(baseline, dict(self.current().values))
