"""Core ports: time, passwords, seals, alerts, accounts, sessions, the audit log and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from ebr.app.context import AuditContext
from ebr.app.ports.batches import BatchRepository
from ebr.app.ports.documents import DocumentRepository
from ebr.app.ports.equipment import (
    DispensingRepository,
    EquipmentRepository,
    EquipmentUseRepository,
    IdentityCheckRepository,
    LogbookRepository,
)
from ebr.app.ports.erp import OutboxRepository
from ebr.app.ports.execution import BatchActionRepository, DeviationRepository, StepValueRepository, YieldRepository
from ebr.app.ports.inbound import InboundMessageRepository
from ebr.app.ports.masterdata import (
    ContainerRepository,
    MaterialLotRepository,
    MaterialRepository,
    ProductionOrderRepository,
)
from ebr.app.ports.operations import IncidentRepository, TerminalRepository, TrainingRepository
from ebr.app.ports.paper_forms import PaperFormRepository
from ebr.app.ports.procedures import ProcedureRepository
from ebr.app.ports.review import DecisionRepository, ReviewRepository
from ebr.app.ports.samples import AttachmentRepository, SampleRepository
from ebr.app.ports.signing import (
    AcknowledgementRepository,
    BadgeRepository,
    ChallengeRepository,
    PolicyRepository,
    SettingChangeRepository,
    SignatureRepository,
    SigningKeyRepository,
)
from ebr.domain.accounts import Role, User
from ebr.domain.audit import Action, AuditEntry, Checkpoint
from ebr.domain.chain_scan import ChainRow


class Clock(Protocol):
    """The only source of time (MISSION.md: Time)."""

    def now(self) -> datetime:
        """The current UTC time, timezone-aware."""
        ...


class PasswordHasher(Protocol):
    """Slow salted hashing (11.300(a)); never called inside a transaction."""

    def hash(self, password: str) -> str:
        """A new salted hash."""
        ...

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when the password matches; False on mismatch or a malformed hash."""
        ...

    @property
    def production_grade(self) -> bool:
        """False for the cheap test profile, which production mode refuses."""
        ...


class Sealer(Protocol):
    """Signs with a key kept in the instance folder, never in the database."""

    def sign(self, message: bytes) -> str:
        """A signature over the message, as text."""
        ...

    def verify(self, message: bytes, signature: str) -> bool:
        """True when the signature was made by the instance key over this message."""
        ...


class CheckpointStore(Protocol):
    """Signed checkpoints of the audit chain head, kept outside the database."""

    def append(self, checkpoint: Checkpoint) -> None:
        """Record one checkpoint durably."""
        ...

    def all(self) -> list[Checkpoint]:
        """Every checkpoint recorded so far, oldest first."""
        ...


@dataclass(frozen=True)
class Alert:
    """A notification for the security contact and QA."""

    id: int
    kind: str
    message: str
    at: datetime


class AlertSink(Protocol):
    """Delivers alerts (e-mail, webhook, log); raises on failure so the worker retries."""

    def send(self, alert: Alert) -> None:
        """Deliver one alert."""
        ...


@dataclass(frozen=True)
class Credentials:
    """A user's password hash and recent history (never leaves the app layer)."""

    password_hash: str
    history: Sequence[str]


@dataclass(frozen=True)
class StoredSession:
    """A server-side session (MISSION.md: sessions are server-side)."""

    token_hash: str
    user_id: int | None
    data: Mapping[str, object]
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    signed_at: datetime | None = None


@dataclass(frozen=True)
class ApiClient:
    """A machine client authenticated by a bearer token."""

    id: int
    name: str
    permissions: frozenset[str]
    revoked: bool


@dataclass(frozen=True)
class AuditFilter:
    """QA's filters over the audit trail (AUD-08)."""

    username: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    batch: str = ""
    since: datetime | None = None
    until: datetime | None = None


class UserRepository(Protocol):
    """Accounts: added, changed, disabled, never deleted."""

    def get(self, user_id: int) -> User: ...
    def by_username(self, username: str) -> User | None: ...
    def list(self) -> list[User]: ...
    def add(
        self, username: str, full_name: str, roles: frozenset[Role], password_hash: str, at: datetime, temporary: bool
    ) -> User: ...
    def set_roles(self, user_id: int, roles: frozenset[Role]) -> None: ...
    def set_active(self, user_id: int, active: bool) -> None: ...
    def set_full_name(self, user_id: int, full_name: str) -> None: ...
    def credentials(self, user_id: int) -> Credentials: ...
    def set_password(self, user_id: int, password_hash: str, temporary: bool, at: datetime, history: int) -> None: ...
    def record_failure(self, user_id: int) -> int: ...
    def reset_failures(self, user_id: int) -> None: ...
    def record_login(self, user_id: int, at: datetime) -> None: ...
    def lock(self, user_id: int, at: datetime) -> None: ...
    def unlock(self, user_id: int) -> None: ...


class SessionRepository(Protocol):
    """Server-side sessions; the cookie carries only a random token whose hash is the key."""

    def get(self, token_hash: str) -> StoredSession | None: ...
    def create(
        self, token_hash: str, user_id: int | None, data: Mapping[str, object], at: datetime, info: Mapping[str, str]
    ) -> None: ...
    def touch(self, token_hash: str, data: Mapping[str, object], at: datetime) -> None: ...
    def end(self, token_hash: str, reason: str, at: datetime) -> None: ...
    def end_all_for_user(self, user_id: int, reason: str, at: datetime) -> int: ...
    def mark_signed(self, token_hash: str, at: datetime) -> None: ...


class LoginAttemptRepository(Protocol):
    """Every failed or successful authentication with the id tried and its source (PWD-06)."""

    def add(
        self,
        username_tried: str,
        user_id: int | None,
        success: bool,
        reason: str,
        at: datetime,
        info: Mapping[str, str],
    ) -> None: ...


class SettingsRepository(Protocol):
    """Stored GMP settings (only those changed from their defaults)."""

    def stored(self) -> dict[str, int]: ...
    def put(self, key: str, value: int, at: datetime) -> None: ...


class AlertRepository(Protocol):
    """Alerts are written in the transaction that raised them, then delivered."""

    def add(self, kind: str, message: str, at: datetime) -> Alert: ...
    def undelivered(self) -> list[Alert]: ...
    def mark_delivered(self, alert_id: int, at: datetime) -> None: ...


class ApiClientRepository(Protocol):
    """Machine clients and their hashed tokens."""

    def add(self, name: str, token_hash: str, permissions: frozenset[str], at: datetime) -> ApiClient: ...
    def by_token_hash(self, token_hash: str) -> ApiClient | None: ...
    def revoke(self, client_id: int, at: datetime) -> None: ...
    def list(self) -> list[ApiClient]: ...


class SystemStateRepository(Protocol):
    """Small facts about the installation (last version that ran)."""

    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def claim(self, key: str, expected: str | None, value: str) -> bool: ...


class AuditLog(Protocol):
    """The append-only trail; appends join the chain when the unit of work commits."""

    def append(
        self,
        action: Action,
        object_type: str,
        object_id: str,
        field: str = "",
        old: str | None = None,
        new: str | None = None,
        reason: str | None = None,
    ) -> None: ...
    def query(self, flt: AuditFilter, limit: int | None = None) -> list[AuditEntry]: ...
    def iter_all(self) -> Iterator[AuditEntry]: ...
    def head(self) -> tuple[int, str]: ...
    def chain_rows(self, chunk: int) -> Iterator[Sequence[ChainRow]]:
        """The whole chain in seq order as plain rows (chain_scan.COLUMNS), `chunk` rows at a time."""
        ...


class UnitOfWork(Protocol):
    """One command = one unit of work = one commit; rolls back unless committed."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def login_attempts(self) -> LoginAttemptRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def api_clients(self) -> ApiClientRepository: ...
    @property
    def system(self) -> SystemStateRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def signing_keys(self) -> SigningKeyRepository: ...
    @property
    def signatures(self) -> SignatureRepository: ...
    @property
    def challenges(self) -> ChallengeRepository: ...
    @property
    def policies(self) -> PolicyRepository: ...
    @property
    def acknowledgements(self) -> AcknowledgementRepository: ...
    @property
    def setting_changes(self) -> SettingChangeRepository: ...
    @property
    def badges(self) -> BadgeRepository: ...
    @property
    def procedures(self) -> ProcedureRepository: ...
    @property
    def materials(self) -> MaterialRepository: ...
    @property
    def lots(self) -> MaterialLotRepository: ...
    @property
    def containers(self) -> ContainerRepository: ...
    @property
    def orders(self) -> ProductionOrderRepository: ...
    @property
    def batches(self) -> BatchRepository: ...
    @property
    def step_values(self) -> StepValueRepository: ...
    @property
    def deviations(self) -> DeviationRepository: ...
    @property
    def batch_actions(self) -> BatchActionRepository: ...
    @property
    def yields(self) -> YieldRepository: ...
    @property
    def incidents(self) -> IncidentRepository: ...
    @property
    def training(self) -> TrainingRepository: ...
    @property
    def terminals(self) -> TerminalRepository: ...
    @property
    def equipment(self) -> EquipmentRepository: ...
    @property
    def logbook(self) -> LogbookRepository: ...
    @property
    def equipment_uses(self) -> EquipmentUseRepository: ...
    @property
    def identity_checks(self) -> IdentityCheckRepository: ...
    @property
    def dispensings(self) -> DispensingRepository: ...
    @property
    def samples(self) -> SampleRepository: ...
    @property
    def attachments(self) -> AttachmentRepository: ...
    @property
    def paper_forms(self) -> PaperFormRepository: ...
    @property
    def reviews(self) -> ReviewRepository: ...
    @property
    def decisions(self) -> DecisionRepository: ...
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def inbound(self) -> InboundMessageRepository: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def commit(self) -> None: ...
    def flush(self) -> None: ...
    def chain(self) -> None:
        """Write this transaction's audit entries now (not yet committed), so a read later in it sees them."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work whose GMP changes are attributed to the given context."""

    def __call__(self, context: AuditContext) -> UnitOfWork: ...
