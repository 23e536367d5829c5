"""Reading the template's rows and writing copies with COPY, for the bulk seeder."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from _bulk_clone import Row, Source
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from psycopg import sql

from ebr.adapters.pki.keys import TEST_KDF, SitePki
from ebr.adapters.sealing.ed25519 import Ed25519Sealer
from ebr.app.ports import WrappedKey
from ebr.bootstrap import Runtime

COPIED_ENTRY_TYPES = ("production_order", "batch", "step_record", "step_value", "signature", "batch_step")


def _all(conn: psycopg.Connection[Row], query: str, *params: object) -> list[Row]:
    return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def load_source(conn: psycopg.Connection[Row], batch_pk: int) -> Source:
    """The template batch's rows and the audit entries about them, from its order's creation on."""
    batch = _all(conn, "SELECT * FROM batch WHERE id = %s", batch_pk)[0]
    order = _all(conn, "SELECT * FROM production_order WHERE id = %s", batch["order_id"])[0]
    steps = _all(conn, "SELECT * FROM step_record WHERE batch_id = %s ORDER BY id", batch_pk)
    step_ids = [str(s["id"]) for s in steps]
    signatures = _all(
        conn, "SELECT * FROM signature WHERE object_type = 'batch_step' AND object_id = ANY(%s) ORDER BY id", step_ids
    )
    challenges = _all(
        conn, "SELECT id, content FROM signing_challenge WHERE id = ANY(%s)", [s["challenge_id"] for s in signatures]
    )
    first = _all(
        conn,
        "SELECT min(seq) AS seq FROM audit_entry WHERE object_type = 'production_order' AND object_id = %s",
        str(order["id"]),
    )[0]["seq"]
    entries = _all(
        conn,
        "SELECT * FROM audit_entry WHERE seq >= %s AND object_type = ANY(%s) ORDER BY seq",
        first,
        list(COPIED_ENTRY_TYPES),
    )
    return Source(
        order,
        batch,
        _all(conn, "SELECT * FROM batch_engine_state WHERE batch_id = %s", batch_pk)[0],
        steps,
        _all(conn, "SELECT * FROM step_value WHERE batch_id = %s ORDER BY id", batch_pk),
        signatures,
        {c["id"]: json.loads(c["content"]) for c in challenges},
        entries,
        entries[0]["at"],
        entries[-1]["at"],
    )


def next_ids(conn: psycopg.Connection[Row]) -> dict[str, int]:
    tables = {"order": "production_order", "batch": "batch", "step": "step_record", "value": "step_value"}
    tables["signature"] = "signature"
    found = {}
    for kind, table in tables.items():
        query = sql.SQL("SELECT coalesce(max(id), 0) + 1 AS n FROM {}").format(sql.Identifier(table))
        found[kind] = int(conn.execute(query).fetchone()["n"])  # type: ignore[index]
    return found


def write(conn: psycopg.Connection[Row], table: str, rows: Sequence[Row]) -> None:
    """COPY the rows into the table (every row has the same columns)."""
    if not rows:
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def finish(conn: psycopg.Connection[Row], seq: int, head: str, at: object) -> None:
    """The chain head where the last entry left it; every sequence past the keys written explicitly."""
    conn.execute("UPDATE audit_head SET seq = %s, hash = %s, at = %s WHERE id = 1", (seq, head, at))
    for table in ("production_order", "batch", "step_record", "step_value", "signature"):
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))").format(
                t=sql.Literal(table), i=sql.Identifier(table)
            )
        )


def signer(rt: Runtime, conn: psycopg.Connection[Row], user_id: int, password: str) -> Callable[[bytes], str]:
    """The template signer's key, unwrapped once with their password: ECDSA-SHA256, as SitePki.sign makes it."""
    row = _all(conn, "SELECT * FROM signing_key WHERE user_id = %s AND revoked_at IS NULL", user_id)[0]
    wrapped = WrappedKey(row["kdf_salt"], row["nonce"], row["wrapped_key"], row["kdf_time_cost"], row["kdf_memory_kib"])
    key = SitePki(rt.settings.instance_path, TEST_KDF).unwrap(wrapped, password)

    def sign(payload: bytes) -> str:
        return base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()

    return sign


def sealer(rt: Runtime) -> Callable[[bytes], str]:
    """The instance's audit seal key (the one the application seals with)."""
    return Ed25519Sealer(rt.settings.instance_path / "audit-seal.key").sign


def head(conn: psycopg.Connection[Row]) -> tuple[int, str, Any]:
    row = conn.execute("SELECT seq, hash, at FROM audit_head WHERE id = 1").fetchone()
    assert row is not None
    return int(row["seq"]), str(row["hash"]), row["at"]
