"""GMP settings: policies that live in the database and change only through an audited action (Annex 11 §10)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ebr.domain.accounts import LockoutPolicy, PasswordPolicy
from ebr.domain.errors import InvalidInput


@dataclass(frozen=True)
class SettingSpec:
    """One GMP setting: its default and the range it may take."""

    key: str
    default: int
    minimum: int
    maximum: int
    description: str

    def parse(self, raw: object) -> int:
        """Accept an integer within range, or refuse with the allowed range."""
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise InvalidInput(f"{self.key}: a whole number is required.") from None
        if not self.minimum <= value <= self.maximum:
            raise InvalidInput(f"{self.key}: must be between {self.minimum} and {self.maximum}.")
        return value


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("password.min_length", 12, 8, 128, "Minimum password length"),
    SettingSpec("password.min_character_classes", 3, 1, 4, "Character classes required"),
    SettingSpec("password.max_age_days", 90, 0, 3650, "Days before a password must be changed (0: never)"),
    SettingSpec("password.history", 5, 0, 50, "Earlier passwords that may not be reused"),
    SettingSpec("lockout.threshold", 5, 1, 20, "Consecutive failed logins or signatures that lock the account"),
    SettingSpec("lockout.lock_minutes", 0, 0, 1440, "Minutes a lock lasts (0: until an admin unlocks)"),
    SettingSpec("session.idle_minutes", 15, 1, 240, "Inactivity after which the server ends a session"),
    SettingSpec("throttle.login_per_minute_account", 10, 1, 1000, "Login attempts per account per minute"),
    SettingSpec("throttle.login_per_minute_address", 30, 1, 10000, "Login attempts per source address per minute"),
    SettingSpec("accounts.dormant_days", 90, 1, 3650, "Days without login after which an account is dormant"),
    SettingSpec("audit.checkpoint_minutes", 15, 1, 1440, "Minutes between signed checkpoints of the audit chain"),
    SettingSpec("clock.max_skew_seconds", 120, 1, 86400, "Allowed difference between application and database clocks"),
    SettingSpec(
        "execution.late_entry_minutes", 30, 1, 1440, "Minutes after a step became ready after which an entry is late"
    ),
    # ERP postings (ERP-05): transient failures are retried with exponential backoff, then the posting goes dead.
    SettingSpec("erp.max_attempts", 12, 1, 100, "Delivery attempts of an ERP posting before it goes dead"),
    SettingSpec("erp.backoff_base_seconds", 10, 1, 3600, "Wait after an ERP posting's first failed attempt"),
    SettingSpec("erp.backoff_cap_seconds", 1800, 1, 86400, "Longest wait between attempts of an ERP posting"),
    # Retention (REC-04): nothing is ever deleted by the application; these say how long a record must at least be
    # kept retrievable, on line or in an archive package, and an archive package carries its own date.
    SettingSpec(
        "retention.batch_record_years",
        5,
        1,
        100,
        "Years a batch record is kept after its release or rejection (EU GMP Ch. 4 §4.11: 5 years after "
        "certification or 1 year after expiry, whichever is longer; 21 CFR 211.180(a): 1 year after expiry). "
        "Set shelf life + 1 year when that is longer",
    ),
    SettingSpec(
        "retention.equipment_log_years",
        5,
        1,
        100,
        "Years an equipment logbook entry is kept (21 CFR 211.180(a) and 211.182: as long as the batch records "
        "it supports; EU GMP Ch. 4 §4.11)",
    ),
    SettingSpec(
        "retention.procedure_years",
        5,
        1,
        100,
        "Years a superseded or retired procedure version is kept (EU GMP Ch. 4 §4.12; at least as long as the "
        "batch records made by it)",
    ),
)

SPEC_BY_KEY: Mapping[str, SettingSpec] = {spec.key: spec for spec in SPECS}


def spec_for(key: str) -> SettingSpec:
    """The spec of a known key, or a clear refusal."""
    try:
        return SPEC_BY_KEY[key]
    except KeyError:
        raise InvalidInput(f"Unknown setting {key!r}.") from None


@dataclass(frozen=True)
class GmpSettings:
    """A snapshot of every GMP setting, defaults filled in."""

    values: Mapping[str, int]

    @classmethod
    def from_stored(cls, stored: Mapping[str, int]) -> GmpSettings:
        """Defaults for anything not yet stored."""
        return cls({spec.key: stored.get(spec.key, spec.default) for spec in SPECS})

    def __getitem__(self, key: str) -> int:
        return self.values[key]

    @property
    def password_policy(self) -> PasswordPolicy:
        """The password rules now in force."""
        return PasswordPolicy(
            min_length=self["password.min_length"],
            min_character_classes=self["password.min_character_classes"],
            max_age_days=self["password.max_age_days"],
            history=self["password.history"],
        )

    @property
    def lockout_policy(self) -> LockoutPolicy:
        """The lockout rule now in force."""
        return LockoutPolicy(threshold=self["lockout.threshold"], lock_minutes=self["lockout.lock_minutes"])

    def export(self) -> str:
        """A stable JSON document of the configuration, for review and diffing (VAL-05)."""
        return json.dumps(dict(sorted(self.values.items())), indent=2) + "\n"


def diff(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, baseline value, current value) for every key that differs."""
    keys = sorted(set(baseline) | set(current))
    return [(k, baseline.get(k), current.get(k)) for k in keys if baseline.get(k) != current.get(k)]
