"""The interfaces the use cases depend on; adapters implement them and bootstrap wires them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from ebr.app.context import AuditContext
from ebr.domain.accounts import Role, User
from ebr.domain.audit import Action, AuditEntry, Checkpoint
from ebr.domain.materials import Container, Material, MaterialLot
from ebr.domain.orders import ProductionOrder
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.signatures import SitePolicy
from ebr.domain.steps import EquipmentClass, FormDefinition, StepDefinition


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

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def commit(self) -> None: ...
    def flush(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work whose GMP changes are attributed to the given context."""

    def __call__(self, context: AuditContext) -> UnitOfWork: ...


# --- electronic signatures ----------------------------------------------------------------------


class KeyUnavailable(Exception):
    """The user's signing key could not be unlocked (wrong password, or a key that is not theirs)."""


@dataclass(frozen=True)
class WrappedKey:
    """A private key encrypted under a key derived from its owner's password."""

    salt: str
    nonce: str
    ciphertext: str
    time_cost: int
    memory_kib: int


@dataclass(frozen=True)
class Enrollment:
    """A new key pair: its certificate from the site CA and the wrapped private key."""

    serial: str
    certificate_pem: str
    wrapped: WrappedKey


class SigningKeys(Protocol):
    """Per-user keys and the site CA (the CA key lives in the instance folder, never in the database)."""

    def enroll(self, user_id: int, username: str, full_name: str, password: str, now: datetime) -> Enrollment: ...
    def rewrap(self, wrapped: WrappedKey, old_password: str, new_password: str) -> WrappedKey: ...
    def can_unwrap(self, wrapped: WrappedKey, password: str) -> bool: ...
    def sign(self, wrapped: WrappedKey, password: str, payload: bytes) -> str: ...
    def verify(self, certificate_pem: str, payload: bytes, signature: str) -> tuple[str, str] | str: ...
    def ca_certificate_pem(self) -> str: ...


@dataclass(frozen=True)
class StoredKey:
    """A user's enrolled key."""

    id: int
    user_id: int
    serial: str
    certificate_pem: str
    wrapped: WrappedKey
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class StoredSignature:
    """A signature as recorded: the manifestation is stored as it was at signing (SIG-02)."""

    id: int
    object_type: str
    object_id: str
    meaning: str
    meaning_text: str
    content_hash: str
    signer_id: int
    signer_username: str
    signer_name: str
    signed_at: datetime
    policy_hash: str
    challenge_id: str
    signature: str
    certificate_pem: str


@dataclass(frozen=True)
class Challenge:
    """A single-use signing challenge bound to the content hash the signer is shown (SIG-15)."""

    id: str
    session_hash: str
    owner_id: int
    object_type: str
    object_id: str
    meaning: str
    content_hash: str
    content: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class StoredPolicy:
    """A version of the site signature policy."""

    id: int
    version: str
    text: str
    content_hash: str
    status: str
    imported_at: datetime
    effective_at: datetime | None


@dataclass(frozen=True)
class SettingChange:
    """A requested change of a GMP setting, applied when its signature is given."""

    id: int
    key: str
    old_value: int
    new_value: int
    reason: str
    requested_by: int | None
    requested_at: datetime
    applied_at: datetime | None


class SigningKeyRepository(Protocol):
    """Enrolled keys; at most one active per user."""

    def active_for(self, user_id: int) -> StoredKey | None: ...
    def add(self, user_id: int, enrollment: Enrollment, at: datetime) -> StoredKey: ...
    def replace_wrapping(self, key_id: int, wrapped: WrappedKey) -> None: ...
    def revoke(self, key_id: int, reason: str, at: datetime) -> None: ...


class SignatureRepository(Protocol):
    """Append-only signatures."""

    def add(self, signature: StoredSignature) -> StoredSignature: ...
    def for_object(self, object_type: str, object_id: str) -> list[StoredSignature]: ...
    def all(self) -> list[StoredSignature]: ...


class ChallengeRepository(Protocol):
    """Signing challenges."""

    def add(self, challenge: Challenge) -> None: ...
    def get(self, challenge_id: str) -> Challenge | None: ...
    def use(self, challenge_id: str, at: datetime) -> bool: ...


class PolicyRepository(Protocol):
    """Versions of the site signature policy."""

    def add(self, version: str, text: str, content_hash: str, at: datetime) -> StoredPolicy: ...
    def get(self, policy_id: int) -> StoredPolicy: ...
    def effective(self) -> StoredPolicy | None: ...
    def make_effective(self, policy_id: int, at: datetime) -> None: ...
    def list(self) -> list[StoredPolicy]: ...


class AcknowledgementRepository(Protocol):
    """The one-time acknowledgement that an e-signature binds like a handwritten one (11.100(c))."""

    def has(self, user_id: int) -> bool: ...
    def add(self, user_id: int, statement: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class Badge:
    """An issued badge; only the hash of its code is stored."""

    id: int
    user_id: int
    issued_at: datetime
    revoked_at: datetime | None


class BadgeRepository(Protocol):
    """Badges: issued, replaced and revoked, never deleted."""

    def add(self, user_id: int, badge_hash: str, at: datetime) -> Badge: ...
    def by_hash(self, badge_hash: str) -> Badge | None: ...
    def active_for(self, user_id: int) -> list[Badge]: ...
    def revoke(self, badge_id: int, reason: str, at: datetime) -> None: ...


class SettingChangeRepository(Protocol):
    """Requested and applied GMP setting changes."""

    def add(
        self, key: str, old: int, new: int, reason: str, requested_by: int | None, at: datetime
    ) -> SettingChange: ...
    def get(self, change_id: int) -> SettingChange: ...
    def mark_applied(self, change_id: int, at: datetime) -> None: ...


# --- procedure library ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LintProblem:
    """One reason a procedure cannot be submitted, naming the element (or file) it concerns."""

    element_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.element_id}: {self.reason}"


@dataclass(frozen=True)
class DryRunResult:
    """The path a simulated run took (no batch, no posting): step and gateway ids in order."""

    path: tuple[str, ...]
    completed: bool
    waiting_at: tuple[str, ...]
    problems: tuple[str, ...]


class ProcedureLibrary(Protocol):
    """Controlled content (workflows/, forms/, equipment/, reports/) turned into bundles and definitions."""

    def procedure_ids(self) -> list[str]: ...
    def bundle(self, procedure_id: str) -> ProcedureBundle: ...
    def bundle_from_upload(self, filename: str, content: bytes) -> ProcedureBundle: ...
    def forms(self, bundle: ProcedureBundle) -> dict[str, FormDefinition]: ...
    def equipment(self, bundle: ProcedureBundle) -> dict[str, EquipmentClass]: ...
    def problems(self, bundle: ProcedureBundle) -> list[LintProblem]: ...


class ProcedureRuntime(Protocol):
    """The BPMN engine behind the app: reads steps, lints, and simulates a bundle."""

    def steps(self, bundle: ProcedureBundle) -> dict[str, StepDefinition]: ...
    def lint(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        equipment: Mapping[str, EquipmentClass],
        policy: SitePolicy | None,
    ) -> list[LintProblem]: ...
    def dry_run(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        values: Mapping[str, Mapping[str, object]],
        max_steps: int = 5000,
    ) -> DryRunResult: ...


@dataclass(frozen=True)
class StoredVersion:
    """A procedure version as stored (its bundle is loaded separately)."""

    id: int
    procedure_id: str
    version: int
    title: str
    content_hash: str
    status: str
    created_by: int | None
    created_at: datetime
    effective_from: datetime | None
    status_changed_at: datetime
    status_reason: str


class ProcedureRepository(Protocol):
    """Procedure versions, their frozen bundles and the product mapping."""

    def add(self, bundle: ProcedureBundle, created_by: int | None, at: datetime) -> StoredVersion: ...
    def get(self, version_id: int) -> StoredVersion: ...
    def bundle(self, version_id: int) -> ProcedureBundle: ...
    def versions(self, procedure_id: str | None = None) -> list[StoredVersion]: ...
    def by_hash(self, procedure_id: str, content_hash: str) -> StoredVersion | None: ...
    def set_status(
        self, version_id: int, status: str, at: datetime, reason: str, effective_from: datetime | None = None
    ) -> None: ...
    def map_product(self, product_code: str, version_id: int, at: datetime) -> None: ...
    def product_version(self, product_code: str) -> StoredVersion | None: ...
    def products(self) -> list[tuple[str, StoredVersion]]: ...


# --- master data and production orders ---------------------------------------------------------


class MaterialRepository(Protocol):
    """Materials copied from the ERP, keyed by code; never deleted."""

    def get(self, code: str) -> Material | None: ...
    def put(self, material: Material, at: datetime) -> None: ...
    def list(self) -> list[Material]: ...


class MaterialLotRepository(Protocol):
    """Lots keyed by (material code, lot number); never deleted."""

    def get(self, material_code: str, lot_number: str) -> MaterialLot | None: ...
    def put(self, lot: MaterialLot, at: datetime) -> None: ...
    def list(self, material_code: str | None = None) -> list[MaterialLot]: ...


class ContainerRepository(Protocol):
    """Containers keyed by barcode; never deleted."""

    def get(self, barcode: str) -> Container | None: ...
    def put(self, container: Container, at: datetime) -> None: ...
    def list(self) -> list[Container]: ...


@dataclass(frozen=True)
class StoredOrder:
    """A production order as stored, with its id and status history fields."""

    id: int
    order: ProductionOrder
    procedure_version_id: int | None
    created_by: int | None
    created_at: datetime
    status_changed_at: datetime
    status_reason: str


class ProductionOrderRepository(Protocol):
    """Production orders; order number and batch id are unique; never deleted."""

    def add(self, order: ProductionOrder, created_by: int | None, at: datetime) -> StoredOrder: ...
    def get(self, order_id: int) -> StoredOrder: ...
    def by_number(self, order_number: str) -> StoredOrder | None: ...
    def by_batch_id(self, batch_id: str) -> StoredOrder | None: ...
    def set_status(
        self, order_id: int, status: str, at: datetime, reason: str, procedure_version_id: int | None = None
    ) -> None: ...
    def list(self, status: str | None = None) -> list[StoredOrder]: ...
