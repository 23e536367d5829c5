"""HttpErpTransport: POSTs a frozen posting with its Idempotency-Key; reports every failure, never raises one.

The client is created once and reused (its connection pool survives between postings), with an explicit timeout for
each phase: an ERP that stops answering costs a bounded wait, never a hung dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ebr.app.ports import TransportResult

# A completed duplicate is answered with the original result and this header (draft-ietf-httpapi-idempotency-key).
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class ErpTimeouts:
    """Seconds allowed for each phase of one call."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 10.0
    pool: float = 5.0

    @property
    def budget(self) -> float:
        """The longest one call can take."""
        return self.connect + self.read + self.write + self.pool


def _retry_after(value: str | None) -> float | None:
    # Only the delta-seconds form: an HTTP date would need a clock, and the backoff is the floor anyway.
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _snippet(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_TEXT]


class HttpErpTransport:
    """The ERP's posting endpoint over HTTP(S)."""

    def __init__(
        self, url: str, timeouts: ErpTimeouts | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeouts = timeouts or ErpTimeouts()
        t = self.timeouts
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            follow_redirects=False,  # a moved endpoint is a configuration error to fix, not to follow silently
            transport=transport,
        )

    def send(self, key: str, content_type: str, body: bytes) -> TransportResult:
        """POST the bytes as they are; the answer, or the transport error, as a result."""
        headers = {"Idempotency-Key": key, "Content-Type": content_type, "Accept": "application/json"}
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return TransportResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        return TransportResult(
            response.status_code,
            "" if response.is_success else _snippet(response.text),
            response.headers.get(REPLAYED_HEADER, "").strip().lower() == "true",
            _retry_after(response.headers.get("Retry-After")),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
