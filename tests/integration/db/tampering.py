"""What someone holding the database owner's credentials can do to the audit trail: raw SQL with the guards off.

The application never runs any of this; tests use it to prove that the verifier sees every such change (AUD-06,
VAL-02).  Only raw SQL and SQLAlchemy Core are used, so no application guard is involved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.models import AuditEntryRow, AuditHeadRow
from ebr.bootstrap import Runtime
from ebr.domain.audit import GENESIS_HASH, Action, EntryDraft, entry_hash

ENTRY = AuditEntryRow.__table__
HEAD = AuditHeadRow.__table__
# Every stored column of an entry except its position in the chain.
CONTENT_COLUMNS = tuple(c.name for c in ENTRY.columns if c.name != "seq")
SQLITE_TRIGGERS = ("audit_entry_no_update", "audit_entry_no_delete")


def chain_head(rt: Runtime) -> tuple[int, str]:
    """The head as the application reads it."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one()
    return int(row.seq), str(row.hash)


@contextmanager
def as_owner(owner_url: str, sqlite_triggers: tuple[str, ...] = SQLITE_TRIGGERS) -> Iterator[Connection]:
    """One transaction as the owner with the guarding triggers out of the way (dropped on SQLite, bypassed on PG)."""
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                for trigger in sqlite_triggers:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
            else:
                # A superuser session that skips ordinary triggers: what a DBA or an intruder holding the owner can do.
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield conn
    finally:
        engine.dispose()


def rows(conn: Connection) -> list[Mapping[str, Any]]:
    """Every entry as stored, oldest first."""
    return list(conn.execute(select(ENTRY).order_by(ENTRY.c.seq)).mappings())


def draft_of(row: Mapping[str, Any]) -> EntryDraft:
    """The domain draft behind a stored row (what the hash covers)."""
    return EntryDraft(
        at=row["at"],
        user_id=row["user_id"],
        username=row["username"],
        user_name=row["user_name"],
        action=Action(row["action"]),
        object_type=row["object_type"],
        object_id=row["object_id"],
        field=row["field"],
        old_value=row["old_value"],
        new_value=row["new_value"],
        reason=row["reason"],
        context=json.loads(row["context"]),
    )


def rechain(conn: Connection) -> None:
    """Recompute every hash and previous-hash link and move the head: a forger's best effort without the key."""
    stored = rows(conn)
    prev = GENESIS_HASH
    for row in stored:
        own = entry_hash(row["seq"], draft_of(row), row["clock_anomaly"], prev)
        conn.execute(update(ENTRY).where(ENTRY.c.seq == row["seq"]).values(prev_hash=prev, hash=own))
        prev = own
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=stored[-1]["seq"], hash=prev, at=stored[-1]["at"]))


def edit_and_rehash(owner_url: str, seq: int, new_value: str) -> None:
    """Change one entry's new value, then make the whole chain consistent again."""
    with as_owner(owner_url) as conn:
        conn.execute(update(ENTRY).where(ENTRY.c.seq == seq).values(new_value=new_value))
        rechain(conn)


def edit_in_place(owner_url: str, seq: int, new_value: str) -> None:
    """Change one entry's new value and nothing else."""
    with as_owner(owner_url) as conn:
        conn.execute(update(ENTRY).where(ENTRY.c.seq == seq).values(new_value=new_value))


def set_column(owner_url: str, seq: int, **values: object) -> None:
    """Overwrite stored columns of one entry and nothing else."""
    with as_owner(owner_url) as conn:
        conn.execute(update(ENTRY).where(ENTRY.c.seq == seq).values(**values))


def delete_entry(owner_url: str, seq: int) -> None:
    """Remove one entry from the middle of the chain."""
    with as_owner(owner_url) as conn:
        conn.execute(delete(ENTRY).where(ENTRY.c.seq == seq))


def swap_contents(owner_url: str, first: int, second: int) -> None:
    """Exchange two entries' complete contents (hashes and seals included), keeping their positions: a reordering."""
    with as_owner(owner_url) as conn:
        by_seq = {r["seq"]: r for r in rows(conn)}
        for target, source in ((first, second), (second, first)):
            values = {c: by_seq[source][c] for c in CONTENT_COLUMNS}
            conn.execute(update(ENTRY).where(ENTRY.c.seq == target).values(**values))


def insert_forged(owner_url: str, seq: int, reason: str) -> None:
    """Slip an invented entry in at this position: later entries move up one, every hash is recomputed."""
    with as_owner(owner_url) as conn:
        stored = rows(conn)
        for row in reversed([r for r in stored if r["seq"] >= seq]):
            conn.execute(update(ENTRY).where(ENTRY.c.seq == row["seq"]).values(seq=row["seq"] + 1))
        template = next(r for r in stored if r["seq"] == seq)
        # A plausible copy of its neighbour, with a seal lifted from a genuine entry: the forger has no key.
        conn.execute(insert(ENTRY).values({**template, "seq": seq, "reason": reason}))
        rechain(conn)


def delete_tail(owner_url: str, count: int) -> list[int]:
    """Remove the last entries and set the head back to what is left, as if they had never been written."""
    with as_owner(owner_url) as conn:
        stored = rows(conn)
        kept, removed = stored[:-count], stored[-count:]
        conn.execute(delete(ENTRY).where(ENTRY.c.seq.in_([r["seq"] for r in removed])))
        last = kept[-1]
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=last["seq"], hash=last["hash"], at=last["at"]))
    return [r["seq"] for r in removed]
