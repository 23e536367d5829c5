"""The record hash the review page shows, kept between views while nothing audited has changed anywhere.

The key is the batch and the head of the audit trail, not the highest entry of the batch's own scope: the record
also holds what lies outside that scope (the product's name, the lots dispensed, the people named, the approvals
of the master), and their changes are audited under their own objects. Every committed change of a GMP row writes
an entry in the same transaction (AUD-01) and moves the head, and no column the record prints is an operational
(unaudited) one, so an unmoved head means an unchanged record. A hash is kept only when the head stood still while
it was computed, so a change committed meanwhile is never stored under the older head.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

KEPT = 512  # batches whose hash is kept; the oldest viewed is forgotten first


class RecordHashes:
    """Record hash by batch, each with the audit head it was computed at."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._hashes: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = Lock()

    def get(self, batch_id: str, head: int) -> str | None:
        """The hash computed at this head, if any."""
        with self._lock:
            found = self._hashes.get(batch_id)
            if found is None or found[0] != head:
                return None
            self._hashes.move_to_end(batch_id)
            return found[1]

    def put(self, batch_id: str, head: int, digest: str) -> None:
        """Keep the hash computed at this head (replacing an older one)."""
        with self._lock:
            self._hashes[batch_id] = (head, digest)
            self._hashes.move_to_end(batch_id)
            while len(self._hashes) > self._kept:
                self._hashes.popitem(last=False)
