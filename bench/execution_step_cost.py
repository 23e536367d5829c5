"""What one step submit costs through the application, early and late in a 500-step batch: a table, not a test.

The engine bench (engine_step_cost.py) times the facade alone. This one runs the same generated procedure (10 call
activities of 50 user tasks, one per unit procedure, shaped like granulation) through the real application: a
Runtime from ebr.bootstrap.build on a migrated SQLite file, the procedure imported from a library folder through
the importer's lint, made effective, an order released and a batch started. Each step is then submitted the way
the browser does it: five values entered one by one (ExecutionService.enter, one transaction each), a signing
request for "performed" (SigningService.request) and the signature (SigningService.sign), which re-authenticates,
signs with the operator's key, records, completes the engine task and stores the new state. Every call is timed in
wall time and in this process's CPU time (which leaves out the fsync of each commit and other processes' load).
Before each request the session is loaded as the web layer does (SessionService.load); that is timed apart.

Configurations: "cold" replaces the engine facade bootstrap wired into BatchService, StepSignable and
BatchActionSignable with Execution(cache_size=0), so every step restores the state from the database bytes;
"cached" keeps bootstrap's Execution() (loaded workflows cached per process, keyed by the SHA-256 of the state
read from the database); "2 workers" builds two Runtimes on one database and alternates every request between
them, so each request finds a stale entry (or none) in its process and must miss: the version check at work.

Run from the repository root:

    .venv/bin/python bench/execution_step_cost.py            # 500 steps, three configurations (about 5 minutes)
    .venv/bin/python bench/execution_step_cost.py --quick    # 60 steps (2 units of 30), cold and cached
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine_step_cost import procedure, table  # bench/ is sys.path[0] when run as a script
from sqlalchemy import text

from ebr.adapters.passwords.argon2 import Argon2Hasher
from ebr.adapters.pki.keys import PRODUCTION_KDF, TEST_KDF, SitePki
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_corrections import Entry
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime, build, migrate
from ebr.config import Settings
from ebr.domain.accounts import Role, User
from ebr.domain.orders import ProductionOrder
from ebr.engine.execution import Execution

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-Horse-9"  # noqa: S105  # a bench user's password; satisfies the default policy
PRODUCT = "BENCH-500"
FORM = "bench_step"
FIELDS = ("f1", "f2", "f3", "f4", "f5")
KIOSK = RequestInfo("10.0.0.7", "kiosk-7", "bench")
EARLY, SAME_PLACE, LATE = (5, 15), (455, 465), (490, 500)  # 455-465: where 5-15 is, in the last unit
PARTS = ("session", *(f"enter {f}" for f in FIELDS), "request", "sign", "hash", "kdf", "engine")


# --- the library: the engine bench's procedure, with one shared five-field form -------------------------------------


def library(folder: Path, units: int, steps: int) -> None:
    """workflows/bench/procedure.bpmn calling workflows/common/u00.bpmn..., forms/bench_step.json and the
    repository's signature policy."""
    xml = procedure(units, steps).files["workflows/bench/procedure.bpmn"].decode()
    # The engine bench gives every step its own form and routes each unit's gateway on that unit's last step; the
    # application needs real form files, so every step shares one form and every gateway reads its field f1.
    xml = re.sub(r'name="ebr:form" value="[^"]+"', f'name="ebr:form" value="{FORM}"', xml)
    xml = re.sub(r"u\d+_s\d+_f0 &gt;= 0", "f1 &gt;= 0", xml)
    # The library holds one procedure per file and reusable sub-procedures in workflows/common/, one file each.
    head, _, rest = xml.partition("<bpmn:process ")
    processes = ["<bpmn:process " + p for p in rest.removesuffix("</bpmn:definitions>").split("<bpmn:process ")]
    for process in processes:
        process_id = re.match(r'<bpmn:process id="([^"]+)"', process).group(1)  # type: ignore[union-attr]
        named = process.replace(f'id="{process_id}"', f'id="{process_id}" name="Bench {process_id}"', 1)
        path = Path("workflows", "bench", "procedure.bpmn") if process_id == "bench" else Path("workflows", "common")
        path = path if process_id == "bench" else path / f"{process_id}.bpmn"
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        document = head.replace('id="bench_definitions"', f'id="{process_id}_definitions"')
        (folder / path).write_text(f"{document}{named}</bpmn:definitions>", encoding="utf-8")
    fields = [{"id": f, "label": f"Value {f}", "type": "number", "required": True, "precision": 3} for f in FIELDS]
    form = {"id": FORM, "title": "Bench step", "fields": fields}
    (folder / "forms").mkdir()
    (folder / "forms" / f"{FORM}.json").write_text(json.dumps(form, indent=2), encoding="utf-8")
    (folder / "signatures").mkdir()
    shutil.copy(REPO / "signatures" / "policy.toml", folder / "signatures" / "policy.toml")


def step_values(step: int) -> dict[str, str]:
    """The five values of one step, as typed."""
    return {f: f"{n + 1}.{step % 1000:03d}" for n, f in enumerate(FIELDS)}


# --- timing: proxies around the password hash, the key derivation and the engine ------------------------------------


@dataclass
class Stopwatch:
    """Wall and CPU seconds per named part of the step in progress (CPU: this process, so no disk or lock wait)."""

    parts: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.parts, self.cpu, self.calls = {}, {}, Counter()

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        began, began_cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - began
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - began_cpu
            self.calls[name] += 1

    def timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.time(name):
                return call(*args, **kwargs)

        return wrapper


class TimedEngine:
    """The engine facade with `complete` timed; the app sees the same BatchEngine port."""

    def __init__(self, inner: Execution, watch: Stopwatch) -> None:
        self._inner = inner
        self.start = inner.start
        self.ready = inner.ready
        self.complete = watch.timed("engine", inner.complete)


def instrument(rt: Runtime, execution: Execution, watch: Stopwatch) -> None:
    """Put `execution` where bootstrap wired its own (BatchService, StepSignable, BatchActionSignable) and time the
    signature's deliberate costs: the password hash check and the key derivation that unwraps the signing key."""
    engine = TimedEngine(execution, watch)
    codec = execution._codec  # counts the states restored from bytes: the cache misses
    codec.loads = watch.timed("decode", codec.loads)  # type: ignore[method-assign]
    rt.services.batches._engine = engine  # a bench swaps the composition root's choice
    signing = rt.services.signing
    for kind in ("batch_step", "batch_action"):
        signing._signables[kind]._engine = engine  # type: ignore[attr-defined]
    hasher = signing._hasher
    hasher.verify = watch.timed("hash", hasher.verify)  # type: ignore[method-assign]
    keys = signing._keys
    keys._derive = watch.timed("kdf", keys._derive)  # type: ignore[attr-defined]


# --- the set-up, as tests/app/execution_support.running_batch arranges it (copied: bench/ does not import tests/) ----


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.full_name)


def make_user(rt: Runtime, role: Role, name: str) -> User:
    return rt.services.accounts.create_user(
        Actor.system(), name, f"Bench {name.title()}", frozenset({role}), PASSWORD, "bench set-up", temporary=False
    )


def session_token(rt: Runtime, user: User) -> str:
    return rt.services.auth.login(user.username, PASSWORD, KIOSK).token


def approve_policy(rt: Runtime) -> None:
    """The repository's signature policy, approved by QA with a signature."""
    qa = make_user(rt, Role.QA, "policyqa")
    stored = rt.services.policy.import_text(actor_of(qa), (REPO / "signatures" / "policy.toml").read_text("utf-8"))
    token = session_token(rt, qa)
    request = rt.services.signing.request(actor_of(qa), token, "signature_policy", str(stored.id), "approved")
    rt.services.signing.sign(
        actor_of(qa),
        token,
        request.challenge.id,
        request.challenge.content_hash,
        Credentials(PASSWORD, qa.username, True),
    )


def start_batch(rt: Runtime) -> tuple[User, str, int]:
    """Policy approved, the bench procedure imported (through the lint) and effective, order released, batch
    started by the operator; returns the operator, the batch id and its primary key."""
    approve_policy(rt)
    engineer = make_user(rt, Role.ENGINEER, "engineer")
    version = rt.services.procedures.import_from_library(actor_of(engineer), "bench")
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "bench set-up")) as uow:
        uow.procedures.set_status(version.id, "effective", now, "bench set-up", now)
        uow.procedures.map_product(PRODUCT, version.id, now)
        uow.commit()
    supervisor, operator = make_user(rt, Role.SUPERVISOR, "supervisor"), make_user(rt, Role.OPERATOR, "operator")
    order = ProductionOrder("PO-500", PRODUCT, Decimal("10"), "kg", "B-500")
    stored = rt.services.orders.create(actor_of(supervisor), order)
    rt.services.orders.release(actor_of(supervisor), stored.id)
    batch = rt.services.batches.start(actor_of(operator), stored.id)
    return operator, order.batch_id, batch.id


# --- one run ----------------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One step: wall and CPU seconds per part, audit entries written, database and engine state bytes after it."""

    parts: dict[str, float]
    cpu: dict[str, float]
    calls: Counter[str]
    audit: int
    db_bytes: int
    state_bytes: int

    def ms(self, name: str, cpu: bool = False) -> float:
        return (self.cpu if cpu else self.parts).get(name, 0.0) * 1000

    def enter_ms(self, cpu: bool = False) -> float:
        return sum(self.ms(f"enter {f}", cpu) for f in FIELDS)

    def one_enter_ms(self) -> float:
        return statistics.median(self.ms(f"enter {f}") for f in FIELDS)

    def sign_ms(self, cpu: bool = False) -> float:
        """The signature excluding the deliberate password hash check."""
        return self.ms("sign", cpu) - self.ms("hash", cpu)

    def submit_ms(self, cpu: bool = False) -> float:
        """Server time of one step submit: five entries, the signing request, the signature; no password hash."""
        return self.enter_ms(cpu) + self.ms("request", cpu) + self.sign_ms(cpu)


def scalar(rt: Runtime, sql: str, **params: object) -> Any:
    with rt.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def db_bytes(rt: Runtime) -> int:
    return int(scalar(rt, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"))


def table_bytes(rt: Runtime) -> Counter[str]:
    """Bytes per table, its indexes included (SQLite's dbstat)."""
    with rt.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
                "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
            )
        ).all()
    return Counter({str(name): int(size) for name, size in rows})


@dataclass
class Run:
    name: str
    samples: list[Sample]
    audit_kinds: Counter[str]  # the audit entries of one mid-run step, by action and object
    tables: Counter[str]  # growth per table over the run
    db_start: int
    db_end: int
    seconds: float


class Floor:
    """The operator at the kiosk, on one Runtime (or alternating between several: the workers)."""

    def __init__(self, runtimes: list[Runtime], watches: list[Stopwatch], operator: User, batch_id: str, pk: int):
        self.runtimes, self.watches = runtimes, watches
        self.operator, self.actor, self.batch_id, self.pk = operator, actor_of(operator), batch_id, pk
        self.token = session_token(runtimes[0], operator)
        self.turn = 0
        self.signed = False

    def _next(self) -> tuple[Runtime, Stopwatch]:
        """The worker that takes the next request: round robin."""
        index = self.turn % len(self.runtimes)
        self.turn += 1
        return self.runtimes[index], self.watches[index]

    def open_record(self) -> int | None:
        """The first ready step record (not timed: the browser already shows it)."""
        with self.runtimes[0].engine.connect() as conn:
            row = conn.execute(
                text("SELECT id FROM step_record WHERE batch_id = :b AND status = 'ready' ORDER BY id LIMIT 1"),
                {"b": self.pk},
            ).first()
        return None if row is None else int(row[0])

    def request(self, name: str, call: Callable[[Runtime], Any]) -> Any:
        """One browser request: the web layer loads the session, then the use case runs."""
        rt, watch = self._next()
        with watch.time("session"):
            assert rt.services.sessions.load(self.token, KIOSK) is not None, "the session ended"
        with watch.time(name):
            return call(rt)

    def submit(self, record: int, step: int) -> tuple[dict[str, float], dict[str, float], Counter[str]]:
        """Five values, the signing request and the signature of one step; wall and CPU seconds and calls per part."""
        for watch in self.watches:
            watch.reset()
        for field_id, value in step_values(step).items():
            entry = Entry(field_id, value)

            def enter(rt: Runtime, entry: Entry = entry) -> object:
                return rt.services.execution.enter(self.actor, self.batch_id, record, entry, KIOSK)

            self.request(f"enter {field_id}", enter)
        token = self.token
        dialog = self.request(
            "request",
            lambda rt: rt.services.signing.request(self.actor, token, "batch_step", str(record), "performed", KIOSK),
        )
        # The session's first signature needs the user id and the acknowledgement; later ones the password alone.
        given = Credentials(PASSWORD) if self.signed else Credentials(PASSWORD, self.operator.username, True)
        challenge = dialog.challenge
        self.request(
            "sign",
            lambda rt: rt.services.signing.sign(self.actor, token, challenge.id, challenge.content_hash, given, KIOSK),
        )
        self.signed = True
        wall: Counter[str] = Counter()
        cpu: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        for watch in self.watches:
            wall.update(watch.parts)
            cpu.update(watch.cpu)
            calls.update(watch.calls)
        return dict(wall), dict(cpu), calls


def settings_for(folder: Path) -> Settings:
    return Settings(
        env="test",
        instance_path=folder / "instance",
        database_url=f"sqlite:///{folder / 'ebr.sqlite3'}",
        library_dir=folder / "library",
        fast_password_hashing=True,
        build_commit="bench",
    )


def run(name: str, units: int, steps: int, workers: int, cache: bool, keep: Path | None) -> Run:
    """A fresh database, library and batch; the whole batch submitted step by step."""
    folder = Path(tempfile.mkdtemp(prefix="ebr-bench-", dir=keep))
    try:
        (folder / "library").mkdir()
        library(folder / "library", units, steps)
        settings = settings_for(folder)
        migrate(settings)
        runtimes = [build(settings) for _ in range(workers)]
        watches = [Stopwatch() for _ in runtimes]
        for rt, watch in zip(runtimes, watches, strict=True):
            instrument(rt, Execution() if cache else Execution(cache_size=0), watch)
        operator, batch_id, pk = start_batch(runtimes[0])
        floor = Floor(runtimes, watches, operator, batch_id, pk)
        rt = runtimes[0]
        head = "SELECT seq FROM audit_head WHERE id = 1"
        audit_before, db_start, tables_start = scalar(rt, head), db_bytes(rt), table_bytes(rt)
        samples: list[Sample] = []
        kinds: Counter[str] = Counter()
        gc.collect()
        began = time.perf_counter()
        while (record := floor.open_record()) is not None:
            wall, cpu, calls = floor.submit(record, len(samples) + 1)
            audit_after = scalar(rt, head)
            state = scalar(rt, "SELECT length(state) FROM batch_engine_state WHERE batch_id = :b", b=pk)
            if len(samples) + 1 == 10:
                kinds = audit_kinds(rt, audit_before, audit_after)
            samples.append(Sample(wall, cpu, calls, audit_after - audit_before, db_bytes(rt), int(state)))
            audit_before = audit_after
        seconds = time.perf_counter() - began
        status = scalar(rt, "SELECT status FROM batch WHERE id = :b", b=pk)
        assert status == "completed", f"the batch ended {status} after {len(samples)} steps"
        tables = table_bytes(rt)
        tables.subtract(tables_start)
        result = Run(name, samples, kinds, tables, db_start, db_bytes(rt), seconds)
        for each in runtimes:
            each.engine.dispose()
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"  {name}: {len(samples)} steps in {seconds:.1f} s", file=sys.stderr)
    return result


def audit_kinds(rt: Runtime, after_seq: int, last_seq: int) -> Counter[str]:
    with rt.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, object_type, field FROM audit_entry WHERE seq > :a AND seq <= :b"),
            {"a": after_seq, "b": last_seq},
        ).all()
    return Counter(f"{action} {obj}" + (f".{fld}" if fld and action != "create" else "") for action, obj, fld in rows)


# --- the report -------------------------------------------------------------------------------------------------------


def windows(count: int) -> list[tuple[int, int]]:
    """Steps 5-15, the middle, 455-465 and 490-500; a shorter run ends with its last eleven steps instead."""
    middle = ((count // 2) - 5, (count // 2) + 5)
    if count >= LATE[1]:
        return [EARLY, middle, SAME_PLACE, LATE]
    return [EARLY, middle, (count - 10, count)]


def median(samples: list[Sample], low: int, high: int, value: Callable[[Sample], float]) -> float:
    return statistics.median(value(s) for s in samples[low - 1 : high])


def rows(result: Run) -> list[dict[str, Any]]:
    """One row per measure: the median per window and the late/early ratio."""
    measures: list[tuple[str, Callable[[Sample], float]]] = [
        ("step submit, no hash (ms)", lambda s: s.submit_ms()),
        ("  5 value entries (ms)", lambda s: s.enter_ms()),
        ("    one value entry (ms)", lambda s: s.one_enter_ms()),
        ("  signing request (ms)", lambda s: s.ms("request")),
        ("  sign, no hash (ms)", lambda s: s.sign_ms()),
        ("    of which signing-key unwrap KDF (ms)", lambda s: s.ms("kdf")),
        ("    of which engine complete (ms)", lambda s: s.ms("engine")),
        ("step submit CPU, no hash (ms)", lambda s: s.submit_ms(cpu=True)),
        ("  5 value entries CPU (ms)", lambda s: s.enter_ms(cpu=True)),
        ("  signing request CPU (ms)", lambda s: s.ms("request", cpu=True)),
        ("  sign CPU, no hash (ms)", lambda s: s.sign_ms(cpu=True)),
        ("    of which engine complete CPU (ms)", lambda s: s.ms("engine", cpu=True)),
        ("    engine states restored from bytes", lambda s: float(s.calls["decode"])),
        ("password hash check (ms)", lambda s: s.ms("hash")),
        ("7 session loads, web layer (ms)", lambda s: s.ms("session")),
        ("audit entries per step", lambda s: float(s.audit)),
        ("engine state (bytes)", lambda s: float(s.state_bytes)),
    ]
    spans = windows(len(result.samples))
    late = [spans[-1], *([SAME_PLACE] if SAME_PLACE in spans else [])]
    out = []
    for label, value in measures:
        row: dict[str, Any] = {"measure": label}
        for low, high in spans:
            row[f"{low}-{high}"] = median(result.samples, low, high, value)
        first = row[f"{EARLY[0]}-{EARLY[1]}"]
        for low, high in late:
            last = row[f"{low}-{high}"]
            row[f"ratio {low}-{high}"] = last / first if first else None
        out.append(row)
    return out


def report(result: Run) -> str:
    steps = len(result.samples)
    growth = result.db_end - result.db_start
    top = ", ".join(f"{name} {size / steps / 1024:.1f}" for name, size in result.tables.most_common(6) if size > 0)
    kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(result.audit_kinds.items()))
    submit = [s.submit_ms() for s in result.samples]
    lines = [
        f"### {result.name}: {steps} steps in {result.seconds:.1f} s",
        table(rows(result)),
        f"worst step submit, no hash: {max(submit):.1f} ms; mean {statistics.fmean(submit):.1f} ms",
        f"database: {result.db_start / 1e6:.2f} MB before the first step, {result.db_end / 1e6:.2f} MB after the last "
        f"(+{growth / steps / 1024:.1f} KiB per step; by table, KiB per step: {top})",
        f"audit entries of step 10: {kinds}",
    ]
    return "\n".join(lines)


def verdict(result: Run) -> str:
    """The goals: late over early at most 1.2, at most 15 ms (the whole submit, and its dearest request: the sign)."""
    spans = windows(len(result.samples))
    lines = []
    measures: list[tuple[str, Callable[[Sample], float]]] = [
        ("step submit, wall", lambda s: s.submit_ms()),
        ("step submit, CPU", lambda s: s.submit_ms(cpu=True)),
        ("sign request alone, wall", lambda s: s.sign_ms()),
        ("sign request alone, CPU", lambda s: s.sign_ms(cpu=True)),
    ]
    for label, value in measures:
        first = median(result.samples, *spans[0], value)
        last = median(result.samples, *spans[-1], value)
        worst, ratio = max(first, last), last / first
        lines.append(
            f"{result.name}, {label}: {first:.1f} ms at steps {spans[0][0]}-{spans[0][1]}, {last:.1f} ms at "
            f"{spans[-1][0]}-{spans[-1][1]}, ratio {ratio:.2f} (<= 1.2: {'met' if ratio <= 1.2 else 'NOT met'}), "
            f"<= 15 ms: {'met' if worst <= 15 else 'NOT met'}"
        )
    return "\n".join(lines)


def production_hash_costs(repeat: int = 3) -> str:
    """What the two deliberate password-derived hashes cost with production parameters (fast hashing is on above)."""
    hasher = Argon2Hasher()
    stored = hasher.hash(PASSWORD)
    salt = b"0123456789abcdef"
    checks, derives = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        checks.append(time.perf_counter() - began)
        began = time.perf_counter()
        SitePki._derive(PASSWORD, salt, PRODUCTION_KDF)
        derives.append(time.perf_counter() - began)
    fast = Argon2Hasher(fast_for_tests=True)
    fast_stored = fast.hash(PASSWORD)
    began = time.perf_counter()
    fast.verify(fast_stored, PASSWORD)
    SitePki._derive(PASSWORD, salt, TEST_KDF)
    both_fast = time.perf_counter() - began
    return (
        f"production profiles, per signature (median of {repeat}): password hash check "
        f"{statistics.median(checks) * 1000:.0f} ms, signing-key unwrap KDF {statistics.median(derives) * 1000:.0f} ms "
        f"(the test profiles used above: {both_fast * 1000:.1f} ms together)"
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--units", type=int, default=10, help="call activities (unit procedures)")
    options.add_argument("--steps", type=int, default=50, help="user tasks per unit procedure")
    options.add_argument("--quick", action="store_true", help="60 steps (2 units of 30), cold and cached only")
    options.add_argument("--only", choices=("cold", "cached", "workers"), action="append", help="run only these")
    options.add_argument("--keep", type=Path, help="create the databases under this folder and keep them")
    args = options.parse_args()
    units, steps = (2, 30) if args.quick else (args.units, args.steps)
    chosen = args.only or (["cold", "cached"] if args.quick else ["cold", "cached", "workers"])
    configurations = {
        "cold": ("cold: Execution(cache_size=0)", 1, False),
        "cached": ("cached: Execution() (bootstrap's)", 1, True),
        "workers": ("cached, 2 workers alternating every request", 2, True),
    }
    results = []
    for key in chosen:
        name, workers, cache = configurations[key]
        results.append(run(name, units, steps, workers, cache, args.keep))
    print(
        f"{units} call activities x {steps} user tasks = {units * steps} steps (each unit's deviation step is "
        f"not taken); per step: 5 number values entered one by one, signing request, signature 'performed'. "
        "Medians of server time per step, measured around the application services on SQLite (WAL, synchronous=FULL)."
    )
    for result in results:
        print()
        print(report(result))
    print()
    for result in results:
        print(verdict(result))
    print(production_hash_costs())


if __name__ == "__main__":
    main()
