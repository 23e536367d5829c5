"""What an ERP answer means for a posting, and how long to wait before trying again (ERP-05): pure rules.

2xx, or the ERP saying it already has the key, is sent; 408, 425, 429, 5xx, a 409 while the ERP still processes the
key, and transport failures are retried with exponential backoff and jitter; any other answer is dead at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebr.app.ports import TransportResult
from ebr.app.ports.erp import Outcome
from ebr.domain.configuration import GmpSettings

RETRYABLE = frozenset({408, 425, 429})
CONFLICT = 409  # the ERP is still processing this key: ask again later, unless it says it has it already
MAX_ERROR = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again and when to give up (GMP settings erp.*)."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    @classmethod
    def from_settings(cls, settings: GmpSettings) -> RetryPolicy:
        """The policy now in force."""
        return cls(
            settings["erp.max_attempts"], settings["erp.backoff_base_seconds"], settings["erp.backoff_cap_seconds"]
        )

    def delay(self, attempt: int, jitter: float, retry_after: float | None = None) -> float:
        """Seconds until the next attempt: min(cap, base * 2**(attempt-1)) * jitter, jitter drawn from [0.5, 1];
        never sooner than the ERP's Retry-After, itself capped."""
        backoff = min(self.cap_seconds, self.base_seconds * 2.0 ** (attempt - 1)) * jitter
        if retry_after is not None and retry_after > 0:
            backoff = max(backoff, min(self.cap_seconds, retry_after))
        return backoff


def classify(result: TransportResult) -> Outcome:
    """What an answer means for the posting, before the attempt count is considered (ERP-05)."""
    status = result.status
    if status is None:
        return Outcome.RETRY  # timeout, refused, reset: the outcome is unknown, so the same bytes go again
    if 200 <= status < 300:
        return Outcome.SENT
    if status == CONFLICT:
        return Outcome.SENT if result.duplicate else Outcome.RETRY
    if status in RETRYABLE or status >= 500:
        return Outcome.RETRY
    return Outcome.DEAD  # 400, 422 and the like: sending the same bytes again cannot succeed


def describe(result: TransportResult) -> str:
    """The attempt's result as the dashboard and the attempt log show it."""
    if result.status is None:
        text = result.error or "no answer"
    else:
        text = f"HTTP {result.status}" + (f": {result.error}" if result.error else "")
        if result.duplicate:
            text += " (the ERP already had this key)"
    return text[:MAX_ERROR]
