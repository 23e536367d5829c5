"""Roles, permissions, segregation of duties, password policy and the lockout rule (21 CFR 11.300)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ebr.domain.errors import InvalidInput


class Role(StrEnum):
    """The roles of MISSION.md; a user holds one or more."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    QA = "qa"
    ENGINEER = "engineer"
    ADMIN = "admin"


class Permission(StrEnum):
    """Server-side authority checks (11.10(g)); every route names one."""

    SELF = "self"  # own profile and password: every authenticated user
    BATCH_VIEW = "batch.view"
    BATCH_EXECUTE = "batch.execute"
    BATCH_VERIFY = "batch.verify"
    BATCH_HOLD = "batch.hold"
    PROCEDURE_AUTHOR = "procedure.author"
    PROCEDURE_APPROVE = "procedure.approve"
    BATCH_REVIEW = "batch.review"
    BATCH_RELEASE = "batch.release"
    DEVIATION_DISPOSITION = "deviation.disposition"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    USERS_MANAGE = "users.manage"
    SETTINGS_MANAGE = "settings.manage"
    SYSTEM_READ = "system.read"
    POLICY_MANAGE = "policy.manage"
    PROCEDURE_VIEW = "procedure.view"
    ERP_INBOUND = "erp.inbound"
    MASTERDATA_MANAGE = "masterdata.manage"
    ORDER_MANAGE = "order.manage"
    TRAINING_MANAGE = "training.manage"
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge"
    TERMINAL_MANAGE = "terminal.manage"
    EQUIPMENT_VIEW = "equipment.view"
    EQUIPMENT_MANAGE = "equipment.manage"
    EQUIPMENT_LOG = "equipment.log"
    ERP_MONITOR = "erp.monitor"
    ERP_REPLAY = "erp.replay"


_VIEW = {Permission.SELF, Permission.BATCH_VIEW, Permission.SYSTEM_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(_VIEW | {Permission.BATCH_EXECUTE}),
    Role.SUPERVISOR: frozenset(
        _VIEW | {Permission.BATCH_EXECUTE, Permission.BATCH_VERIFY, Permission.BATCH_HOLD, Permission.PROCEDURE_VIEW}
    ),
    Role.QA: frozenset(
        _VIEW
        | {
            Permission.BATCH_VERIFY,
            Permission.BATCH_HOLD,
            Permission.PROCEDURE_APPROVE,
            Permission.BATCH_REVIEW,
            Permission.BATCH_RELEASE,
            Permission.DEVIATION_DISPOSITION,
            Permission.AUDIT_READ,
            Permission.AUDIT_EXPORT,
            Permission.POLICY_MANAGE,
            Permission.PROCEDURE_VIEW,
        }
    ),
    Role.ENGINEER: frozenset(_VIEW | {Permission.PROCEDURE_AUTHOR, Permission.PROCEDURE_VIEW}),
    # An admin manages people and configuration but never enters, changes or signs batch data (ACC-03).
    Role.ADMIN: frozenset(
        {
            Permission.SELF,
            Permission.SYSTEM_READ,
            Permission.USERS_MANAGE,
            Permission.SETTINGS_MANAGE,
            Permission.AUDIT_READ,
        }
    ),
}
# Master data copies and production orders are the supervisor's; QA reads them (BATCH_VIEW); never the admin's (ACC-03).
ROLE_PERMISSIONS[Role.SUPERVISOR] |= {Permission.MASTERDATA_MANAGE, Permission.ORDER_MANAGE}
# Training is attested by a supervisor or QA, never by the admin, who could otherwise qualify anyone (ACC-03, ACC-09).
ROLE_PERMISSIONS[Role.SUPERVISOR] |= {Permission.TRAINING_MANAGE, Permission.INCIDENT_ACKNOWLEDGE}
ROLE_PERMISSIONS[Role.QA] |= {Permission.TRAINING_MANAGE, Permission.INCIDENT_ACKNOWLEDGE}
# Incidents include failed deliveries and integrity findings the admin must see; terminals are configuration.
ROLE_PERMISSIONS[Role.ADMIN] |= {Permission.INCIDENT_ACKNOWLEDGE, Permission.TERMINAL_MANAGE}
# Equipment instances and their endpoints are configuration (admin) and shop-floor master data (supervisor); everyone
# may look an instance up. Its logbook (cleaning, calibration, qualification) is entered by the people who do the work
# and signed under the site policy, never by the admin (ACC-03).
ROLE_PERMISSIONS.update({role: granted | {Permission.EQUIPMENT_VIEW} for role, granted in ROLE_PERMISSIONS.items()})
ROLE_PERMISSIONS[Role.ADMIN] |= {Permission.EQUIPMENT_MANAGE}
ROLE_PERMISSIONS[Role.SUPERVISOR] |= {Permission.EQUIPMENT_MANAGE, Permission.EQUIPMENT_LOG}
ROLE_PERMISSIONS[Role.OPERATOR] |= {Permission.EQUIPMENT_LOG}
ROLE_PERMISSIONS[Role.QA] |= {Permission.EQUIPMENT_LOG}
# Outbound ERP postings: the admin, QA and supervisors watch them; a dead one is replayed by a signed act of QA or a
# supervisor, who answer for what the ERP is told about a batch, never by the admin (ACC-03).
ROLE_PERMISSIONS[Role.ADMIN] |= {Permission.ERP_MONITOR}
ROLE_PERMISSIONS[Role.SUPERVISOR] |= {Permission.ERP_MONITOR, Permission.ERP_REPLAY}
ROLE_PERMISSIONS[Role.QA] |= {Permission.ERP_MONITOR, Permission.ERP_REPLAY}

# Pairs of roles one account may never hold together (FDA DI Q&A Q4; PIC/S 9.5).
INCOMPATIBLE_ROLES: frozenset[frozenset[Role]] = frozenset(
    {
        frozenset({Role.ADMIN, Role.QA}),
        frozenset({Role.ADMIN, Role.OPERATOR}),
        frozenset({Role.ADMIN, Role.SUPERVISOR}),
        frozenset({Role.ADMIN, Role.ENGINEER}),
    }
)

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Union of the permissions the roles grant."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def check_role_combination(roles: frozenset[Role]) -> None:
    """Refuse role sets that break segregation of duties (ACC-03)."""
    if not roles:
        raise InvalidInput("A user needs at least one role.")
    for pair in INCOMPATIBLE_ROLES:
        if pair <= roles:
            names = " and ".join(sorted(pair))
            raise InvalidInput(f"Segregation of duties: one account cannot hold both {names}.")


def normalise_username(raw: str) -> str:
    """User ids are compared case-insensitively and never reused (11.100(a), 11.300(a))."""
    username = raw.strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidInput("User id: 2-32 characters, a letter first, then letters, digits, '.', '_' or '-'.")
    return username


@dataclass(frozen=True)
class PasswordPolicy:
    """The configurable password rules (PWD-02)."""

    min_length: int = 12
    min_character_classes: int = 3
    max_age_days: int = 90
    history: int = 5

    def check(self, password: str, username: str) -> None:
        """Raise InvalidInput naming every rule the new password breaks."""
        problems: list[str] = []
        if len(password) < self.min_length:
            problems.append(f"at least {self.min_length} characters")
        if _character_classes(password) < self.min_character_classes:
            problems.append(f"at least {self.min_character_classes} of: lower case, upper case, digit, symbol")
        if username and username.lower() in password.lower():
            problems.append("must not contain the user id")
        if len(password) > 256:
            problems.append("at most 256 characters")
        if problems:
            raise InvalidInput("Password: " + "; ".join(problems) + ".")

    def is_expired(self, changed_at: datetime | None, now: datetime) -> bool:
        """A password older than max_age_days must be changed before anything else (11.300(b))."""
        if self.max_age_days <= 0:
            return False
        return changed_at is None or now - changed_at > timedelta(days=self.max_age_days)


def _character_classes(password: str) -> int:
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in string.punctuation or c.isspace() for c in password),
    ]
    return sum(classes)


@dataclass(frozen=True)
class LockoutPolicy:
    """Consecutive failures (login or signing) that lock the account (PWD-05)."""

    threshold: int = 5
    lock_minutes: int = 0  # 0: only an admin unlocks

    def locks_after(self, consecutive_failures: int) -> bool:
        """True once the failures reach the threshold."""
        return consecutive_failures >= self.threshold

    def still_locked(self, locked_at: datetime | None, now: datetime) -> bool:
        """A lock holds until an admin clears it, or until the configured lock period ends."""
        if locked_at is None:
            return False
        if self.lock_minutes <= 0:
            return True
        return now - locked_at < timedelta(minutes=self.lock_minutes)


@dataclass(frozen=True)
class User:
    """An account: never deleted, only disabled; its id is never reused."""

    id: int
    username: str
    full_name: str
    roles: frozenset[Role]
    active: bool
    must_change_password: bool
    password_changed_at: datetime | None
    failed_attempts: int
    locked_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the user's roles allow; nothing while disabled."""
        return permissions_of(self.roles) if self.active else frozenset()
