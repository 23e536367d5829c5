"""One simulated operator at a terminal: a browser's requests through the real routes, each timed.

The flow of one quick-check batch: open the worklist, start the order's batch (the worklist's form), open the batch
page, then for each step its page, its values (the step page's JSON calls with the CSRF header), the balance scan and
Capture on the weighing step, "performed" (the form POST that opens the signing dialog, the dialog, the signature),
and on the weighing step the supervisor's "verified" signature in their own session. The batch completes with the
last step's signature.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
HASH_RE = re.compile(r'name="content_hash" type="hidden" value="([0-9a-f]{64})"')
STEP_VALUES: dict[str, list[dict[str, object]]] = {
    "qc_identify": [{"field": "qc_lot", "value": "C-MC-0001"}, {"field": "qc_balance_id", "value": "BAL-01"}],
    "qc_weigh": [],  # captured from the balance
    "qc_label": [{"field": "qc_label_applied", "value": "true"}, {"field": "qc_container", "value": "K-1"}],
    "qc_confirm": [{"field": "qc_returned", "value": "true"}],
}
STEPS = tuple(STEP_VALUES)


class Refused(Exception):
    """The application answered something a browser user would not go on from."""


@dataclass
class Sample:
    action: str
    started: float  # seconds since the run's start
    ms: float
    status: int


@dataclass
class Log:
    """Every timed request and every signature the clients saw succeed, shared by all threads."""

    t0: float
    samples: list[Sample] = field(default_factory=list)
    signed: list[tuple[str, str, str]] = field(default_factory=list)  # (batch id, step id, meaning)
    completed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def note(self, target: list[Any], item: object) -> None:
        with self.lock:
            target.append(item)


class Terminal:
    """One person's browser: a cookie jar, the terminal's address, every request timed under an action name."""

    def __init__(self, base: str, address: str, log: Log) -> None:
        self.http = httpx.Client(base_url=base, headers={"X-Forwarded-For": address}, timeout=60.0)
        self.log = log

    def call(self, action: str, send: Callable[[], httpx.Response], expect: tuple[int, ...]) -> httpx.Response:
        started = time.perf_counter()
        answer = send()
        self.log.add(Sample(action, started - self.log.t0, (time.perf_counter() - started) * 1000, answer.status_code))
        if answer.status_code not in expect:
            raise Refused(f"{action}: {answer.status_code} {answer.request.url.path} {_gist(answer.text)}")
        return answer

    def get(self, action: str, path: str) -> str:
        return self.call(action, lambda: self.http.get(path), (200,)).text

    def form(self, action: str, path: str, data: dict[str, str], token: str) -> httpx.Response:
        body = {"csrf_token": token, **data}
        return self.call(action, lambda: self.http.post(path, data=body), (302,))

    def json(self, action: str, path: str, body: dict[str, object], token: str) -> dict[str, Any]:
        send = lambda: self.http.post(path, json=body, headers={"X-CSRFToken": token})  # noqa: E731
        answer: dict[str, Any] = self.call(action, send, (200,)).json()
        return answer

    def login(self, username: str, password: str) -> None:
        token = csrf(self.get("login page", "/login"))
        self.form("login", "/login", {"username": username, "password": password}, token)

    def sign(self, path: str, back: str, meaning: str, username: str, password: str) -> None:
        """The form POST that opens the dialog, the dialog, the signature with user id and password."""
        opened = self.form(f"sign request ({meaning})", path, {}, csrf(self.get("step page", back)))
        dialog = opened.headers["location"]
        page = self.get("signing dialog", dialog)
        found = HASH_RE.search(page)
        if not found:
            raise Refused(f"the signing dialog at {dialog} shows no content hash")
        data = {"content_hash": found.group(1), "username": username, "password": password, "acknowledge": "y"}
        self.form(f"sign ({meaning})", dialog, data, csrf(page))

    def close(self) -> None:
        self.http.close()


def csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    if not found:
        raise Refused("no CSRF token on the page")
    return found.group(1) or found.group(2)


def _gist(text: str) -> str:
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
    return plain[:300]


@dataclass
class Operator:
    """An operator and the supervisor who verifies for them, each logged in at the same terminal."""

    username: str
    supervisor: str
    password: str
    me: Terminal
    verifier: Terminal

    def run_batch(self, order_pk: int, batch_id: str, think: Callable[[], None]) -> None:
        self.me.get("worklist", "/batches/")
        token = csrf(self.me.get("worklist", "/batches/"))
        self.me.form("start batch", "/batches/", {"order_id": str(order_pk)}, token)
        done: set[int] = set()
        for step_id in STEPS:
            think()
            page = self.me.get("batch page", f"/batches/{batch_id}")
            pks = {int(n) for n in re.findall(rf"/batches/{re.escape(batch_id)}/steps/(\d+)", page)} - done
            if not pks:
                raise Refused(f"{batch_id}: no open step for {step_id}")
            pk = min(pks)
            self.step(batch_id, step_id, pk)
            done.add(pk)
        self.me.log.note(self.me.log.completed, batch_id)

    def step(self, batch_id: str, step_id: str, pk: int) -> None:
        back = f"/batches/{batch_id}/steps/{pk}"
        token = csrf(self.me.get("step page", back))
        for body in STEP_VALUES[step_id]:
            self.me.json("enter value", f"/api{back}/values", body, token)
        if step_id == "qc_weigh":
            self.me.form("scan equipment", f"{back}/equipment", {"barcode": "BAL-01"}, token)
            self.me.json("capture", f"/api{back}/capture", {"field": "qc_mass"}, token)
        self.me.sign(f"{back}/perform", back, "performed", self.username, self.password)
        self.me.log.note(self.me.log.signed, (batch_id, step_id, "performed"))
        if step_id == "qc_weigh":
            self.verifier.sign(f"{back}/verify", back, "verified", self.supervisor, self.password)
            self.me.log.note(self.me.log.signed, (batch_id, step_id, "verified"))
