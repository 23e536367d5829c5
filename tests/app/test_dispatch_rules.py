"""What an ERP answer means for a posting, and how long to wait before the next attempt (ERP-05): pure rules."""

from __future__ import annotations

import pytest

from ebr.app.dispatch_rules import RetryPolicy, classify, describe
from ebr.app.ports import TransportResult
from ebr.app.ports.erp import Outcome


@pytest.mark.req("ERP-05")
@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (TransportResult(200), Outcome.SENT),
        (TransportResult(201), Outcome.SENT),
        (TransportResult(204), Outcome.SENT),
        (TransportResult(200, duplicate=True), Outcome.SENT),  # the ERP had it already: its original result
        (TransportResult(409, "already applied", duplicate=True), Outcome.SENT),
        (TransportResult(409, "still processing"), Outcome.RETRY),  # the first attempt is still under way
        (TransportResult(408), Outcome.RETRY),
        (TransportResult(425), Outcome.RETRY),
        (TransportResult(429), Outcome.RETRY),
        (TransportResult(500), Outcome.RETRY),
        (TransportResult(502), Outcome.RETRY),
        (TransportResult(503), Outcome.RETRY),
        (TransportResult(504), Outcome.RETRY),
        (TransportResult(None, "ConnectError: refused"), Outcome.RETRY),
        (TransportResult(None, "ReadTimeout: timed out"), Outcome.RETRY),
        (TransportResult(400), Outcome.DEAD),
        (TransportResult(401), Outcome.DEAD),
        (TransportResult(403), Outcome.DEAD),
        (TransportResult(404), Outcome.DEAD),
        (TransportResult(422), Outcome.DEAD),
        (TransportResult(302), Outcome.DEAD),  # a moved endpoint is configuration to fix, not to follow
    ],
)
def test_each_answer_is_sent_retried_or_dead(result: TransportResult, outcome: Outcome) -> None:
    assert classify(result) is outcome


@pytest.mark.req("ERP-05")
def test_the_backoff_doubles_from_the_base_up_to_the_cap_scaled_by_the_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=10, cap_seconds=100)
    assert [policy.delay(n, 1.0) for n in range(1, 7)] == [10, 20, 40, 80, 100, 100]
    assert [policy.delay(n, 0.5) for n in range(1, 5)] == [5, 10, 20, 40]


def test_a_retry_after_is_a_floor_itself_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=10, cap_seconds=100)
    assert policy.delay(1, 0.5, retry_after=30) == 30
    assert policy.delay(1, 0.5, retry_after=3600) == 100
    assert policy.delay(3, 1.0, retry_after=5) == 40


def test_an_attempt_is_described_by_its_status_or_its_transport_error() -> None:
    assert describe(TransportResult(422, '{"error": "bad"}')) == 'HTTP 422: {"error": "bad"}'
    assert describe(TransportResult(None, "ConnectError: refused")) == "ConnectError: refused"
    assert describe(TransportResult(200, duplicate=True)) == "HTTP 200 (the ERP already had this key)"
    assert len(describe(TransportResult(500, "x" * 5000))) == 2000
