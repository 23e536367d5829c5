"""GMP settings: read, request a change with a reason, apply it with a signature; export and diff (VAL-05)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.policy import effective_policy
from ebr.app.ports import Clock, SettingChange, StoredSignature, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.audit import to_utc_text
from ebr.domain.configuration import GmpSettings, diff, spec_for
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.signatures import SitePolicy


class SettingsService:
    """Changing a GMP setting is a signed admin action with a reason; reading and exporting are free."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def current(self) -> GmpSettings:
        """Every setting now in force."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return GmpSettings.from_stored(uow.settings.stored())

    def request_change(
        self, actor: Actor, key: str, raw_value: object, reason: str, request: RequestInfo | None = None
    ) -> SettingChange:
        """Record the wanted change; it takes effect when signed ('approved' on setting_change)."""
        spec = spec_for(key)
        value = spec.parse(raw_value)
        why = require_reason(reason)
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, why, request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.SETTINGS_MANAGE)
            effective_policy(uow)  # refuse now rather than leave a request nobody can sign
            old = GmpSettings.from_stored(uow.settings.stored())[key]
            if old == value:
                raise InvalidInput(f"{key} is already {value}.")
            change = uow.setting_changes.add(key, old, value, why, actor.user_id, now)
            uow.commit()
        return change

    def pending(self, change_id: int) -> SettingChange:
        """One requested change."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.setting_changes.get(change_id)

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


def apply_setting(uow: UnitOfWork, key: str, value: int, clock: Clock) -> None:
    """Store one value; the audit guard records old and new with the unit of work's who/when/why."""
    stored = uow.settings.stored()
    if key not in stored:
        # Record the default first, so the change itself shows old and new values (VAL-05).
        uow.settings.put(key, spec_for(key).default, clock.now())
        uow.flush()  # the default's 'create' entry must precede this change's 'update' entry
    uow.settings.put(key, value, clock.now())


class SettingChangeSignable:
    """A signed setting change: the signature covers key, old and new value, reason and requester."""

    object_type = "setting_change"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        change = uow.setting_changes.get(int(object_id))
        # The requester's user id, not a database key: the signer must recognise who asked.
        requester = uow.users.get(change.requested_by).username if change.requested_by else "system"
        return {
            "object": "setting_change",
            "id": change.id,
            "key": change.key,
            "old": change.old_value,
            "new": change.new_value,
            "reason": change.reason,
            "requested_by": requester,
            "requested_at": to_utc_text(change.requested_at),
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        return uow.setting_changes.get(int(object_id)).reason

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        change = uow.setting_changes.get(int(object_id))
        if change.applied_at is not None:
            raise Conflict("This setting change was already applied.")
        if GmpSettings.from_stored(uow.settings.stored())[change.key] != change.old_value:
            raise Conflict(f"{change.key} changed since this request was made: request it again.")
        apply_setting(uow, change.key, change.new_value, self._clock)
        uow.setting_changes.mark_applied(change.id, ctx.at)
