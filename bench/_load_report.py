"""The load bench's checks after the run and its table: per action count, rate, percentiles and errors."""

from __future__ import annotations

import math
import subprocess
from collections import Counter
from collections.abc import Sequence

import psycopg
from _load_client import Log, Sample
from _load_setup import REPO, VENV_BIN

SIGNING = ("sign (",)  # the signatures pay the password check and the key unwrap on purpose


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def table(samples: list[Sample]) -> list[str]:
    """One row per action, in order of first appearance; the window is the whole run's."""
    if not samples:
        return ["no requests were made"]
    window = max(s.started + s.ms / 1000 for s in samples) - min(s.started for s in samples)
    lines = [
        f"window {window:.1f} s, {len(samples)} requests, {len(samples) / window:.1f} requests/s",
        "| action | n | per s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = list(dict.fromkeys(s.action for s in samples))
    for name in names:
        mine = [s for s in samples if s.action == name]
        ms = sorted(s.ms for s in mine)
        errors = sum(1 for s in mine if s.status >= 400)
        lines.append(
            f"| {name} | {len(ms)} | {len(ms) / window:.2f} | {percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} "
            f"| {percentile(ms, 99):.0f} | {ms[-1]:.0f} | {errors} |"
        )
    return lines


def verdict(samples: list[Sample], goal_ms: float = 300) -> list[str]:
    """The goal: p95 of every non-signing action under goal_ms; each miss named."""
    misses = []
    for name in dict.fromkeys(s.action for s in samples):
        if name.startswith(SIGNING):
            continue
        p95 = percentile(sorted(s.ms for s in samples if s.action == name), 95)
        if p95 > goal_ms:
            misses.append(f"{name} ({p95:.0f} ms)")
    if misses:
        return [f"p95 <= {goal_ms:.0f} ms for non-signing actions: MISSED by {', '.join(misses)}"]
    return [f"p95 <= {goal_ms:.0f} ms for non-signing actions: met"]


def signatures_in_db(database: str) -> Counter[tuple[str, str, str]]:
    """(batch id, step id, meaning) of every step signature of the bench's batches, as stored."""
    query = """
        SELECT b.batch_id, r.step_id, s.meaning FROM signature s
        JOIN step_record r ON s.object_type = 'batch_step' AND s.object_id = CAST(r.id AS TEXT)
        JOIN batch b ON b.id = r.batch_id WHERE b.batch_id LIKE 'B-L%'"""
    with psycopg.connect(database) as conn:
        return Counter((str(a), str(b), str(c)) for a, b, c in conn.execute(query))


def step_records(database: str) -> tuple[Counter[tuple[str, str]], dict[str, str]]:
    """How many records each (batch, step) has, and each bench batch's status."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT b.batch_id, r.step_id FROM step_record r JOIN batch b ON b.id = r.batch_id"
            " WHERE b.batch_id LIKE 'B-L%'"
        ).fetchall()
        statuses = conn.execute("SELECT batch_id, status FROM batch WHERE batch_id LIKE 'B-L%'").fetchall()
    return Counter((str(a), str(b)) for a, b in rows), {str(a): str(b) for a, b in statuses}


def integrity(log: Log, database: str) -> list[str]:
    """Every signature the clients saw exactly once in the database, nothing more; one record per step;
    every batch the clients completed is completed. Problems, or an empty list."""
    problems = []
    client, stored = Counter(log.signed), signatures_in_db(database)
    for key in sorted(set(client) | set(stored)):
        if client[key] != 1 or stored[key] != 1:
            problems.append(f"signature {key}: client saw {client[key]}, database holds {stored[key]}")
    records, statuses = step_records(database)
    problems += [f"step {key}: {n} records" for key, n in sorted(records.items()) if n != 1]
    finished = [b for b in log.completed if statuses.get(b) != "completed"]
    problems += [f"batch {b}: {statuses.get(b)} after its last signature" for b in finished]
    return problems


def documents(database: str) -> int:
    """Record PDFs the worker rendered and stored during the run (it shares the two cores with the web)."""
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM batch_document").fetchone()
    return int(row[0]) if row else 0


def ebr_verify(env: dict[str, str]) -> tuple[int, str]:
    """`ebr verify` (audit chain, signatures, documents): its exit code and output."""
    done = subprocess.run(  # noqa: S603
        [str(VENV_BIN / "ebr"), "verify"], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()
