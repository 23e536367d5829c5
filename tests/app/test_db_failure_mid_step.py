"""A database connection that drops in the middle of a step's transaction leaves nothing half-written, and the step
can be submitted again once the database is back (VAL-03 error handling; one command, one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError

from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime
from tests.app.execution_support import Floor, running_batch
from tests.factories import PASSWORD, actor_of

WRITE = ("INSERT", "UPDATE", "DELETE")


def _dropper(engine: Engine, owner_url: str) -> Callable[[Any], None]:
    """How the connection dies: PostgreSQL's server ends the session; SQLite's file handle is closed under it."""
    if engine.dialect.name == "postgresql":

        def terminate(conn: Any) -> None:
            pid = conn.connection.dbapi_connection.info.backend_pid
            admin = create_engine(owner_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.dispose()

        return terminate
    return lambda conn: conn.connection.dbapi_connection.close()


@contextmanager
def connection_dropped_at(engine: Engine, owner_url: str, table: str) -> Iterator[list[str]]:
    """Drop the connection the moment the transaction first writes to table; yields the writes made before it."""
    writes: list[str] = []
    fired: list[bool] = []
    drop = _dropper(engine, owner_url)

    def before(conn: Any, cursor: Any, statement: str, *args: object) -> None:
        words = statement.split()
        if fired or not words or words[0].upper() not in WRITE:
            return
        if table in statement.split("(", maxsplit=1)[0].split():
            fired.append(True)
            drop(conn)
        else:
            writes.append(" ".join(words[:3]))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert fired, f"the transaction never wrote to {table}"


def snapshot(owner_url: str) -> dict[str, int]:
    """Row counts of every table, and the status of every step record, read over a separate connection."""
    engine = create_engine(owner_url)
    with engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        statuses = conn.execute(text("SELECT id, status FROM step_record ORDER BY id")).all()
    engine.dispose()
    counts.update({f"step_record {row.id} {row.status}": 1 for row in statuses})
    return counts


@pytest.fixture
def floor(runtime: Runtime) -> Floor:
    floor = running_batch(runtime)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    return floor


@pytest.mark.error_handling("db_error_mid_step")
@pytest.mark.parametrize("table", ["signature", "audit_entry"])
def test_a_connection_dropped_mid_step_submit_writes_nothing_and_the_step_can_be_submitted_again(
    runtime: Runtime, floor: Floor, owner_url: str, table: str
) -> None:
    who, record = actor_of(floor.operator.user), floor.step("qc_identify").record
    request = runtime.services.signing.request(who, floor.operator.token, "batch_step", str(record.id), "performed")
    before = snapshot(owner_url)
    credentials = Credentials(PASSWORD, floor.operator.user.username, True)
    with pytest.raises(DBAPIError), connection_dropped_at(runtime.engine, owner_url, table) as writes:
        runtime.services.signing.sign(
            who, floor.operator.token, request.challenge.id, request.challenge.content_hash, credentials
        )
    assert writes, "the drop must come after the transaction's first write"
    assert snapshot(owner_url) == before
    assert "qc_identify" in [s.record.step_id for s in floor.open_steps()]
    floor.relogin()
    floor.sign_step("qc_identify")
    assert "qc_identify" not in [s.record.step_id for s in floor.open_steps()]
    assert snapshot(owner_url)["signature"] == before["signature"] + 1
