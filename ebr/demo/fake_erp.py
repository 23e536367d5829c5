"""A fake ERP on loopback for the demo and the tests: an idempotent receiver of B2MML postings, with chaos switches.

It behaves as draft-ietf-httpapi-idempotency-key-header asks of a receiver: a missing Idempotency-Key is 400; a key
reused with other bytes is 422; a key still being processed is 409; a completed key is answered again with its
original result (200, header Idempotent-Replayed: true) and never applied twice. Bodies are checked against the
B2MML OperationsPerformance schema (422 naming the error). The effect of each posting lands in a ledger once: goods
receipts, scrap and consumption per lot, usage decisions, aborted batches; a Cancel reverses the posting it names.

Chaos, settable while it runs: fail_rate (fail_status, 503 by default, with Retry-After: retry_after_s, before
anything happens), fail_next (that many failures for one key), drop_rate (the posting is applied, then the connection
is closed without an answer), delay_s (slow processing), down (not listening at all), known_materials (a posting
naming another material is refused with 422, as a business error a person must fix).
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ebr.adapters.batchml.performance import ParsedPerformance, parse_performance
from ebr.demo.fake_erp_page import Arrival, render_page
from ebr.domain.erp import MaterialUse, PostingKind

REPLAYED_HEADER = "Idempotent-Replayed"
Lot = tuple[str, str]  # (material code, lot)


class Refused(Exception):
    """The ERP refuses the posting (HTTP 422) with this message."""


@dataclass
class Effect:
    """What one applied posting changed, so a Cancel can take exactly that back."""

    moves: list[tuple[str, Lot, Decimal]] = field(default_factory=list)  # (bucket, lot, quantity)
    decision: tuple[str, str | None] | None = None  # (batch, the decision it replaced)
    aborted: str | None = None
    reversed_by: str | None = None


class Ledger:
    """The net effect of everything applied: what a test asks the ERP about."""

    BUCKETS = {MaterialUse.PRODUCED: "receipts", MaterialUse.SCRAP: "scrap", MaterialUse.CONSUMED: "consumption"}

    def __init__(self) -> None:
        self.totals: dict[str, defaultdict[Lot, Decimal]] = {
            name: defaultdict(Decimal) for name in self.BUCKETS.values()
        }
        self.decisions: dict[str, str] = {}
        self.aborted: set[str] = set()
        self.effects: dict[str, Effect] = {}

    def apply(self, key: str, posting: ParsedPerformance) -> None:
        """Apply one posting; raises Refused when it cannot be applied (nothing changes then)."""
        kind = kind_of(posting)
        if kind is PostingKind.REVERSAL:
            self._reverse(key, posting.reverses or "")
            return
        effect = Effect()
        for line in posting.lines:
            effect.moves.append((self.BUCKETS[line.use], (line.material_code, line.lot), line.quantity))
        if kind is PostingKind.USAGE_DECISION:
            decision = posting.data.get("QualityDisposition") or posting.state
            effect.decision = (posting.batch_id, self.decisions.get(posting.batch_id))
            self.decisions[posting.batch_id] = decision
        if kind is PostingKind.ABORTED:
            effect.aborted = posting.batch_id
            self.aborted.add(posting.batch_id)
        for bucket, lot, quantity in effect.moves:
            self.totals[bucket][lot] += quantity
        self.effects[key] = effect

    def _reverse(self, key: str, reversed_key: str) -> None:
        target = self.effects.get(reversed_key)
        if target is None:
            raise Refused(f"Cancel of {reversed_key!r}: no such posting was applied.")
        if target.reversed_by is not None:
            raise Refused(f"Posting {reversed_key!r} was cancelled already by {target.reversed_by!r}.")
        for bucket, lot, quantity in target.moves:
            self.totals[bucket][lot] -= quantity
        if target.decision is not None:
            batch, before = target.decision
            if before is None:
                self.decisions.pop(batch, None)
            else:
                self.decisions[batch] = before
        if target.aborted is not None:
            self.aborted.discard(target.aborted)
        target.reversed_by = key
        self.effects[key] = Effect()

    def net(self) -> dict[str, Any]:
        """Totals per lot (zeros left out), usage decisions and aborted batches."""
        totals = {
            name: {f"{m}/{lot}": q for (m, lot), q in sorted(counter.items()) if q != 0}
            for name, counter in self.totals.items()
        }
        return {**totals, "decisions": dict(sorted(self.decisions.items())), "aborted": sorted(self.aborted)}


def kind_of(posting: ParsedPerformance) -> PostingKind:
    """The posting's kind, from its verb and its performance id ("<batch>-<kind>-<revision>")."""
    if posting.verb == "Cancel":
        return PostingKind.REVERSAL
    parts = posting.performance_id.rsplit("-", 2)
    try:
        return PostingKind(parts[1] if len(parts) == 3 else "")
    except ValueError:
        raise Refused(f"Performance id {posting.performance_id!r} names no known posting kind.") from None


@dataclass(frozen=True)
class _Done:
    sha256: str
    body: str


class _QuietHandler(WSGIRequestHandler):
    """No line per request on stderr: /received tells what arrived."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class FakeErp:
    """A threaded HTTP server on 127.0.0.1: POST <url> takes postings; GET / shows them to a person, GET /received
    as JSON to a program."""

    def __init__(
        self,
        port: int = 0,
        parse: Callable[[bytes], ParsedPerformance] = parse_performance,
        seed: int | None = None,
    ) -> None:
        self._parse = parse
        self._rng = random.Random(seed)  # noqa: S311  # chaos, not cryptography
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.fail_rate = 0.0
        self.fail_status = 503  # what a failing request is answered with (503, 429, 500...)
        self.fail_next: Counter[str] = Counter()  # per key: how many of its next requests fail, whatever the rate
        self.retry_after_s = 1
        self.drop_rate = 0.0
        self.delay_s = 0.0
        self.known_materials: set[str] | None = None
        self.ledger = Ledger()
        self.deliveries: Counter[str] = Counter()  # requests per key, whatever became of them
        self.applied: Counter[str] = Counter()  # times each key's effect was applied: never more than 1
        self.hashes: dict[str, list[str]] = {}  # the payload SHA-256 of every request, per key
        self.order: list[str] = []  # keys in the order they were applied
        self.arrivals: list[Arrival] = []  # what the human page lists, in the same order
        self.max_in_flight_per_key = 0
        self.max_in_flight_per_batch = 0
        self._done: dict[str, _Done] = {}
        self._in_flight_keys: Counter[str] = Counter()
        self._processing: set[str] = set()
        self._in_flight_batches: Counter[str] = Counter()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The posting endpoint."""
        return f"http://127.0.0.1:{self.port}/postings"

    @property
    def down(self) -> bool:
        """True while nothing listens on the port."""
        return self._server is None

    def start(self) -> FakeErp:
        """Listen (on a free port the first time, unless one was given)."""
        if self._server is None:
            self._server = make_server("127.0.0.1", self.port, self, threaded=True, request_handler=_QuietHandler)
            self.port = self._server.port
            server = self._server
            # A short poll: stop() (and the "down" switch) take effect within a blink, not half a second.
            self._thread = threading.Thread(target=lambda: server.serve_forever(0.05), name="fake-erp", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until start() again, on the same port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def set_down(self, down: bool) -> None:
        """The chaos switch for an ERP that is not there at all."""
        if down:
            self.stop()
        else:
            self.start()

    def __enter__(self) -> FakeErp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP ----------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "GET" and request.path == "/received":
            response = _json(200, self.received())
        elif request.method == "GET" and request.path == "/":
            with self._lock:
                arrivals = list(self.arrivals)
            response = Response(render_page(arrivals, self.received()), mimetype="text/html")
        elif request.method == "POST" and request.path == "/postings":
            response = self._posting(request, environ)
        else:
            response = _json(404, {"error": f"{request.method} {request.path}: not here"})
        return response(environ, start_response)

    def _posting(self, request: Request, environ: dict[str, Any]) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _json(400, {"error": "The Idempotency-Key header is required."})
        body = request.get_data()
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self.deliveries[key] += 1
            self.hashes.setdefault(key, []).append(digest)
            self._in_flight_keys[key] += 1
            self.max_in_flight_per_key = max(self.max_in_flight_per_key, self._in_flight_keys[key])
            failing = self._rng.random() < self.fail_rate or self.fail_next[key] > 0
            if self.fail_next[key] > 0:
                self.fail_next[key] -= 1
            dropping = self._rng.random() < self.drop_rate
        try:
            if failing:
                busy = {"Retry-After": str(self.retry_after_s)}
                return _json(self.fail_status, {"error": "ERP busy, try later"}, busy)
            response = self._once(key, digest, body)
        finally:
            with self._lock:
                self._in_flight_keys[key] -= 1
        if dropping and response.status_code == 200 and not response.headers.get(REPLAYED_HEADER):
            _drop(environ)  # applied, but the answer never arrives: the sender cannot know
        return response

    def _once(self, key: str, digest: str, body: bytes) -> Response:
        with self._lock:
            done = self._done.get(key)
            if done is not None:
                if done.sha256 != digest:
                    return _json(422, {"error": f"Key {key} was used with another payload."})
                return _json(200, json.loads(done.body), {REPLAYED_HEADER: "true"})
            if key in self._processing:
                return _json(409, {"error": f"Key {key} is still being processed."})
            self._processing.add(key)
        try:
            try:
                posting = self._parse(body)
                self._check_business(posting)
            except Exception as exc:  # the schema's or the business rule's refusal, named for the sender
                return _json(422, {"error": str(exc)})
            return self._apply(key, digest, posting)
        finally:
            with self._lock:
                self._processing.discard(key)

    def _check_business(self, posting: ParsedPerformance) -> None:
        known = self.known_materials
        unknown = sorted({line.material_code for line in posting.lines} - known) if known is not None else []
        if unknown:
            raise Refused(f"Unknown material {', '.join(unknown)}: create it in the ERP first.")

    def _apply(self, key: str, digest: str, posting: ParsedPerformance) -> Response:
        batch = posting.batch_id
        with self._lock:
            self._in_flight_batches[batch] += 1
            self.max_in_flight_per_batch = max(self.max_in_flight_per_batch, self._in_flight_batches[batch])
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            with self._lock:
                try:
                    self.ledger.apply(key, posting)
                except Refused as refused:
                    return _json(422, {"error": str(refused)})
                result = {"status": "applied", "key": key, "batch": batch}
                self._done[key] = _Done(digest, json.dumps(result))
                self.applied[key] += 1
                self.order.append(key)
                self.arrivals.append(_arrival(key, posting))
        finally:
            with self._lock:
                self._in_flight_batches[batch] -= 1
        return _json(200, result)

    # --- what a test or the demo asks ----------------------------------------------------------------------------

    def received(self) -> dict[str, Any]:
        """Per key: deliveries, applications and payload hashes; the ledger's net effect; the chaos switches."""
        with self._lock:
            keys = {
                key: {"deliveries": count, "applied": self.applied[key], "sha256": sorted(set(self.hashes[key]))}
                for key, count in self.deliveries.items()
            }
            net = self.ledger.net()
        chaos = {"fail_rate": self.fail_rate, "drop_rate": self.drop_rate, "delay_s": self.delay_s}
        in_flight = {"per_key": self.max_in_flight_per_key, "per_batch": self.max_in_flight_per_batch}
        return {
            "max_in_flight": in_flight,
            "keys": keys,
            "order": list(self.order),
            "net": json.loads(json.dumps(net, default=str)),
            "chaos": chaos,
        }


def _arrival(key: str, posting: ParsedPerformance) -> Arrival:
    try:
        kind = kind_of(posting).value
    except Refused:
        kind = posting.verb
    lines = tuple((str(li.use), li.material_code, li.lot, str(li.quantity)) for li in posting.lines)
    state = posting.data.get("QualityDisposition") or posting.state  # a usage decision shows its decision
    return Arrival(key, kind, posting.batch_id, posting.order_number, state, lines, datetime.now(UTC))


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection without a word, then abort the response (the server treats it as dropped)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("fake ERP: response dropped on purpose")


def main(argv: list[str] | None = None) -> None:
    """`python -m ebr.demo.fake_erp [--port N]`: serve until interrupted; prints the posting URL first."""
    import argparse

    parser = argparse.ArgumentParser(description="A fake ERP that receives eBR postings on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    erp = FakeErp(args.port)
    erp.fail_rate, erp.drop_rate = args.fail_rate, args.drop_rate
    with erp:
        print(erp.url, flush=True)  # the one line a caller reads to find the port
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return


if __name__ == "__main__":
    main()
