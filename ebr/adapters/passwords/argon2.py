"""argon2id password hashing (21 CFR 11.300(a); PWD-01)."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """argon2-cffi with the RFC 9106 low-memory profile; a cheap profile exists for tests only."""

    def __init__(self, fast_for_tests: bool = False) -> None:
        if fast_for_tests:
            # Same algorithm and format, tiny cost: production mode refuses this profile.
            self._impl = _Argon2(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
        else:
            self._impl = _Argon2(type=Type.ID)
        self._fast = fast_for_tests

    @property
    def production_grade(self) -> bool:
        """False for the test profile."""
        return not self._fast

    def hash(self, password: str) -> str:
        """A salted argon2id hash, `$argon2id$...`."""
        return self._impl.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True on a match; False on a mismatch or an unreadable hash (never raises)."""
        try:
            return self._impl.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
