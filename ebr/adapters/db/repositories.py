"""Row ⇄ domain translation for every repository port."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ebr.adapters.db.models import (
    AlertRow,
    ApiClientRow,
    AuditEntryRow,
    AuditHeadRow,
    GmpSettingRow,
    LoginAttemptRow,
    SessionRow,
    UserRow,
)
from ebr.app.context import AuditContext
from ebr.app.ports import Alert, ApiClient, AuditFilter, Credentials, StoredSession
from ebr.domain.accounts import Role, User
from ebr.domain.audit import Action, AuditEntry, EntryDraft
from ebr.domain.chain_scan import COLUMNS as CHAIN_COLUMNS
from ebr.domain.chain_scan import ChainRow
from ebr.domain.errors import NotFound


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        full_name=row.full_name,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        active=row.active,
        must_change_password=row.must_change_password,
        password_changed_at=row.password_changed_at,
        failed_attempts=row.failed_attempts,
        locked_at=row.locked_at,
        last_login_at=row.last_login_at,
        created_at=row.created_at,
    )


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(str(r) for r in roles))


class SqlUserRepository:
    """Accounts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, user_id: int) -> UserRow:
        row = self._s.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"No user with id {user_id}.")
        return row

    def get(self, user_id: int) -> User:
        return _user(self._row(user_id))

    def by_username(self, username: str) -> User | None:
        row = self._s.scalars(select(UserRow).where(UserRow.username == username.lower())).one_or_none()
        return _user(row) if row else None

    def list(self) -> list[User]:
        return [_user(r) for r in self._s.scalars(select(UserRow).order_by(UserRow.username))]

    def add(
        self, username: str, full_name: str, roles: frozenset[Role], password_hash: str, at: datetime, temporary: bool
    ) -> User:
        row = UserRow(
            username=username,
            full_name=full_name,
            roles=_roles_text(roles),
            active=True,
            must_change_password=temporary,
            password_hash=password_hash,
            password_history="[]",  # noqa: S106  # an empty history list, not a secret
            password_changed_at=at,
            failed_attempts=0,
            created_at=at,
        )
        self._s.add(row)
        self._s.flush()  # the new id is needed by the caller and by the audit entry
        return _user(row)

    def set_roles(self, user_id: int, roles: frozenset[Role]) -> None:
        self._row(user_id).roles = _roles_text(roles)

    def set_active(self, user_id: int, active: bool) -> None:
        self._row(user_id).active = active

    def set_full_name(self, user_id: int, full_name: str) -> None:
        self._row(user_id).full_name = full_name

    def credentials(self, user_id: int) -> Credentials:
        row = self._row(user_id)
        return Credentials(row.password_hash, tuple(json.loads(row.password_history)))

    def set_password(self, user_id: int, password_hash: str, temporary: bool, at: datetime, history: int) -> None:
        row = self._row(user_id)
        previous = [row.password_hash, *json.loads(row.password_history)] if history else []
        row.password_history = json.dumps(previous[:history])
        row.password_hash = password_hash
        row.must_change_password = temporary
        row.password_changed_at = at

    def record_failure(self, user_id: int) -> int:
        # An atomic increment: two workers counting failures never lose one.
        self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(failed_attempts=UserRow.failed_attempts + 1)
        )
        row = self._row(user_id)
        self._s.refresh(row, ["failed_attempts"])
        return row.failed_attempts

    def reset_failures(self, user_id: int) -> None:
        self._row(user_id).failed_attempts = 0

    def record_login(self, user_id: int, at: datetime) -> None:
        row = self._row(user_id)
        row.last_login_at = at
        row.failed_attempts = 0

    def lock(self, user_id: int, at: datetime) -> None:
        self._row(user_id).locked_at = at

    def unlock(self, user_id: int) -> None:
        row = self._row(user_id)
        row.locked_at = None
        row.failed_attempts = 0


class SqlSessionRepository:
    """Server-side sessions."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, token_hash: str) -> StoredSession | None:
        row = self._s.get(SessionRow, token_hash)
        if row is None:
            return None
        return StoredSession(
            row.token_hash,
            row.user_id,
            json.loads(row.data),
            row.created_at,
            row.last_seen_at,
            row.ended_at,
            row.signed_at,
        )

    def create(
        self, token_hash: str, user_id: int | None, data: Mapping[str, object], at: datetime, info: Mapping[str, str]
    ) -> None:
        self._s.add(
            SessionRow(
                token_hash=token_hash,
                user_id=user_id,
                data=json.dumps(dict(data)),
                created_at=at,
                last_seen_at=at,
                address=info.get("address", "")[:64],
                workstation=info.get("workstation", "")[:200],
            )
        )

    def touch(self, token_hash: str, data: Mapping[str, object], at: datetime) -> None:
        row = self._s.get(SessionRow, token_hash)
        if row is not None and row.ended_at is None:
            row.data = json.dumps(dict(data))
            row.last_seen_at = at

    def end(self, token_hash: str, reason: str, at: datetime) -> None:
        row = self._s.get(SessionRow, token_hash)
        if row is not None and row.ended_at is None:
            row.ended_at, row.end_reason = at, reason

    def mark_signed(self, token_hash: str, at: datetime) -> None:
        row = self._s.get(SessionRow, token_hash)
        if row is not None and row.signed_at is None:
            row.signed_at = at

    def end_all_for_user(self, user_id: int, reason: str, at: datetime) -> int:
        result = self._s.execute(
            update(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.ended_at.is_(None))
            .values(ended_at=at, end_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE has rowcount


class SqlLoginAttemptRepository:
    """Authentication attempts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        username_tried: str,
        user_id: int | None,
        success: bool,
        reason: str,
        at: datetime,
        info: Mapping[str, str],
    ) -> None:
        self._s.add(
            LoginAttemptRow(
                at=at,
                username_tried=username_tried[:64],
                user_id=user_id,
                success=success,
                reason=reason,
                address=info.get("address", "")[:64],
                workstation=info.get("workstation", "")[:200],
            )
        )


class SqlSettingsRepository:
    """GMP settings."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def stored(self) -> dict[str, int]:
        return {r.key: r.value for r in self._s.scalars(select(GmpSettingRow))}

    def put(self, key: str, value: int, at: datetime) -> None:
        row = self._s.get(GmpSettingRow, key)
        if row is None:
            self._s.add(GmpSettingRow(key=key, value=value, updated_at=at))
        else:
            row.value, row.updated_at = value, at


class SqlAlertRepository:
    """Alerts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, kind: str, message: str, at: datetime) -> Alert:
        row = AlertRow(kind=kind, message=message, at=at)
        self._s.add(row)
        self._s.flush()  # the id identifies the alert to its sink
        return Alert(row.id, kind, message, at)

    def undelivered(self) -> list[Alert]:
        rows = self._s.scalars(select(AlertRow).where(AlertRow.delivered_at.is_(None)).order_by(AlertRow.id))
        return [Alert(r.id, r.kind, r.message, r.at) for r in rows]

    def mark_delivered(self, alert_id: int, at: datetime) -> None:
        row = self._s.get(AlertRow, alert_id)
        if row is not None:
            row.delivered_at = at


class SqlApiClientRepository:
    """Machine clients."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @staticmethod
    def _client(row: ApiClientRow) -> ApiClient:
        return ApiClient(
            row.id, row.name, frozenset(p for p in row.permissions.split(",") if p), row.revoked_at is not None
        )

    def add(self, name: str, token_hash: str, permissions: frozenset[str], at: datetime) -> ApiClient:
        row = ApiClientRow(name=name, token_hash=token_hash, permissions=",".join(sorted(permissions)), created_at=at)
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return self._client(row)

    def by_token_hash(self, token_hash: str) -> ApiClient | None:
        row = self._s.scalars(select(ApiClientRow).where(ApiClientRow.token_hash == token_hash)).one_or_none()
        return self._client(row) if row else None

    def revoke(self, client_id: int, at: datetime) -> None:
        row = self._s.get(ApiClientRow, client_id)
        if row is None:
            raise NotFound(f"No API client {client_id}.")
        row.revoked_at = at

    def list(self) -> list[ApiClient]:
        return [self._client(r) for r in self._s.scalars(select(ApiClientRow).order_by(ApiClientRow.id))]


def _entry(row: AuditEntryRow) -> AuditEntry:
    context = json.loads(row.context)
    if row.batch != context.get("batch", ""):
        # The batch column is an unsealed filter copy of context["batch"] (batch review selects by it): a copy that
        # disagrees is read as the entry's context, so the entry no longer matches its seal and verify names it.
        context["batch"] = row.batch
    draft = EntryDraft(
        at=row.at,
        user_id=row.user_id,
        username=row.username,
        user_name=row.user_name,
        action=Action(row.action),
        object_type=row.object_type,
        object_id=row.object_id,
        field=row.field,
        old_value=row.old_value,
        new_value=row.new_value,
        reason=row.reason,
        context=context,
    )
    return AuditEntry(row.seq, draft, row.clock_anomaly, row.prev_hash, row.hash, row.seal)


class SqlAuditLog:
    """Appends go to the unit of work's drafts and are chained at commit; reads come from the table."""

    def __init__(self, session: Session, context: AuditContext) -> None:
        self._s = session
        self._ctx = context

    def append(
        self,
        action: Action,
        object_type: str,
        object_id: str,
        field: str = "",
        old: str | None = None,
        new: str | None = None,
        reason: str | None = None,
    ) -> None:
        draft = self._ctx.draft(
            action=action,
            object_type=object_type,
            object_id=object_id,
            field=field,
            old_value=old,
            new_value=new,
            reason=reason,
        )
        self._s.info["ebr_audit_drafts"].append(draft)

    def query(self, flt: AuditFilter, limit: int | None = None) -> list[AuditEntry]:
        stmt = _filtered(select(AuditEntryRow), flt).order_by(AuditEntryRow.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_entry(r) for r in self._s.scalars(stmt)]

    def iter_all(self) -> Iterator[AuditEntry]:
        stmt = select(AuditEntryRow).order_by(AuditEntryRow.seq)
        for row in self._s.scalars(stmt, execution_options={"yield_per": 1000}):
            yield _entry(row)

    def chain_rows(self, chunk: int) -> Iterator[Sequence[ChainRow]]:
        # Plain rows, streamed (a server-side cursor on PostgreSQL): no entry objects, memory flat in the chain size.
        columns = [AuditEntryRow.__table__.c[name] for name in CHAIN_COLUMNS]
        stmt = select(*columns).order_by(AuditEntryRow.seq)
        yield from self._s.execute(stmt, execution_options={"yield_per": chunk}).partitions()

    def head(self) -> tuple[int, str]:
        head = self._s.get(AuditHeadRow, 1)
        assert head is not None, "the initial migration creates the chain head"
        return head.seq, head.hash


def _filtered(stmt: Select[AuditEntryRow], flt: AuditFilter) -> Select[AuditEntryRow]:
    conditions = []
    if flt.username:
        conditions.append(AuditEntryRow.username == flt.username.lower())
    if flt.object_type:
        conditions.append(AuditEntryRow.object_type == flt.object_type)
    if flt.object_id:
        conditions.append(AuditEntryRow.object_id == flt.object_id)
    if flt.action:
        conditions.append(AuditEntryRow.action == flt.action)
    if flt.batch:
        conditions.append(AuditEntryRow.batch == flt.batch)
    if flt.since is not None:
        conditions.append(AuditEntryRow.at >= flt.since)
    if flt.until is not None:
        conditions.append(AuditEntryRow.at <= flt.until)
    return stmt.where(*conditions)
