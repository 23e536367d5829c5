"""A `limits` storage backed by the application database, so Flask-Limiter's counters are shared
by every worker without requiring Redis (MISSION.md: lockout and rate-limit counters are shared)."""

from __future__ import annotations

import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ebr.adapters.db.models import RateLimitRow

SCHEME = "ebr+db"


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit` table; one atomic upsert per hit."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        engine = options.get("engine")
        if not isinstance(engine, Engine):
            raise ValueError("DatabaseStorage needs storage option engine=<sqlalchemy Engine>")
        self._engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        expired = RateLimitRow.expires_at <= now
        stmt = dialect.insert(RateLimitRow).values(key=key, count=amount, expires_at=now + expiry)
        upsert = stmt.on_conflict_do_update(
            index_elements=[RateLimitRow.key],
            set_={
                "count": case((expired, amount), else_=RateLimitRow.count + amount),
                "expires_at": case((expired, now + expiry), else_=RateLimitRow.expires_at),
            },
        ).returning(RateLimitRow.count)
        with self._engine.begin() as conn:
            return int(conn.execute(upsert).scalar_one())

    def get(self, key: str) -> int:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(RateLimitRow.count, RateLimitRow.expires_at).where(RateLimitRow.key == key)
            ).one_or_none()
        return int(row[0]) if row and row[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        with self._engine.connect() as conn:
            expires = conn.execute(select(RateLimitRow.expires_at).where(RateLimitRow.key == key)).scalar()
        return float(expires) if expires is not None else time.time()

    def check(self) -> bool:
        with self._engine.connect() as conn:
            conn.execute(select(1))
        return True

    def reset(self) -> int | None:
        with self._engine.begin() as conn:
            result = conn.execute(delete(RateLimitRow))
        return int(result.rowcount)

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(RateLimitRow).where(RateLimitRow.key == key))
