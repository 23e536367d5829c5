"""The database-backed `limits` storage: counters shared by every worker, reset when their window expires (PWD-07)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine

from ebr.adapters.db import ratelimit
from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.ratelimit import DatabaseStorage

START = 1_800_000_000.0


class FrozenTime:
    """Stands in for the `time` module inside the storage, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FrozenTime:
    fake = FrozenTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=fake.time))
    return fake


@pytest.fixture
def two_workers(database_url: str) -> Iterator[tuple[DatabaseStorage, DatabaseStorage]]:
    """Two storages on two engines over one database: two worker processes, as far as counting goes."""
    engines: list[Engine] = [make_engine(database_url), make_engine(database_url)]
    try:
        yield DatabaseStorage(engine=engines[0]), DatabaseStorage(engine=engines[1])
    finally:
        for engine in engines:
            engine.dispose()


def test_two_storages_over_one_database_share_one_counter(
    two_workers: tuple[DatabaseStorage, DatabaseStorage], frozen: FrozenTime
) -> None:
    a, b = two_workers

    assert a.incr("login:jdoe", 60) == 1
    assert b.incr("login:jdoe", 60) == 2
    assert a.incr("login:jdoe", 60, amount=3) == 5

    assert a.get("login:jdoe") == b.get("login:jdoe") == 5
    assert b.get_expiry("login:jdoe") == START + 60
    assert b.get("login:other") == 0
    assert a.incr("login:other", 60) == 1


def test_a_counter_resets_once_its_window_has_expired(
    two_workers: tuple[DatabaseStorage, DatabaseStorage], frozen: FrozenTime
) -> None:
    a, b = two_workers
    for _ in range(4):
        a.incr("addr:10.0.0.1", 60)

    frozen.now = START + 59.9
    assert b.get("addr:10.0.0.1") == 4
    frozen.now = START + 60
    assert b.get("addr:10.0.0.1") == 0, "an expired window counts nothing"
    assert b.incr("addr:10.0.0.1", 60) == 1, "the first hit after expiry starts a new window"
    assert a.get_expiry("addr:10.0.0.1") == START + 120


def test_clear_and_reset_remove_counters_for_every_worker(
    two_workers: tuple[DatabaseStorage, DatabaseStorage], frozen: FrozenTime
) -> None:
    a, b = two_workers
    a.incr("k1", 60)
    a.incr("k2", 60)

    b.clear("k1")
    assert a.get("k1") == 0
    assert a.get("k2") == 1
    assert b.reset() == 1
    assert a.get("k2") == 0
    assert a.check() and b.check()


def test_concurrent_hits_from_two_storages_are_never_lost(two_workers: tuple[DatabaseStorage, DatabaseStorage]) -> None:
    a, b = two_workers
    per_thread, threads_per_storage = 20, 3
    errors: list[BaseException] = []

    def hammer(storage: DatabaseStorage) -> None:
        try:
            for _ in range(per_thread):
                storage.incr("burst", 600)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in (a, b) for _ in range(threads_per_storage)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert a.get("burst") == 2 * threads_per_storage * per_thread


def test_the_limiter_refuses_the_hit_beyond_the_limit_whichever_worker_receives_it(
    two_workers: tuple[DatabaseStorage, DatabaseStorage], frozen: FrozenTime
) -> None:
    a, b = two_workers
    limit = RateLimitItemPerMinute(3)
    first, second = FixedWindowRateLimiter(a), FixedWindowRateLimiter(b)

    assert [first.hit(limit, "jdoe"), second.hit(limit, "jdoe"), first.hit(limit, "jdoe")] == [True, True, True]
    assert second.hit(limit, "jdoe") is False
    assert first.hit(limit, "someone-else") is True


def test_the_storage_is_found_by_its_scheme_and_needs_an_engine(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        storage = storage_from_string(f"{ratelimit.SCHEME}://", engine=engine)
        assert isinstance(storage, DatabaseStorage)
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="engine"):
        storage_from_string(f"{ratelimit.SCHEME}://")
