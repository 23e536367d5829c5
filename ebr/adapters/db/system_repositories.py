"""Installation facts (system_state), written so that processes starting together cannot both claim a change."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ebr.adapters.db.models import SystemStateRow


class SqlSystemStateRepository:
    """Installation facts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, key: str) -> str | None:
        row = self._s.get(SystemStateRow, key)
        return row.value if row else None

    def put(self, key: str, value: str) -> None:
        row = self._s.get(SystemStateRow, key)
        if row is None:
            self._s.add(SystemStateRow(key=key, value=value))
        else:
            row.value = value

    def claim(self, key: str, expected: str | None, value: str) -> bool:
        """Set key to value only if it still holds expected (None: absent); False when another transaction won.

        Web workers boot side by side: the loser's insert waits for the winner's commit and then meets the key
        (caught in a savepoint, so its transaction stays usable); the loser's update then matches no row."""
        if expected is None:
            try:
                with self._s.begin_nested():
                    self._s.add(SystemStateRow(key=key, value=value))
                    self._s.flush()
            except IntegrityError:
                return False
            return True
        stmt = update(SystemStateRow).where(SystemStateRow.key == key, SystemStateRow.value == expected)
        done = self._s.execute(stmt.values(value=value).execution_options(synchronize_session=False))
        self._s.expire_all()
        return bool(getattr(done, "rowcount", 0) == 1)
