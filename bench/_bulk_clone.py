"""Copies of the template batch: rows with new keys and times, signatures made again over the copy's content with
the signer's own key, and audit entries re-chained and sealed as the application's unit of work does.

The template is the one batch the application ran (bench/_bulk_template.py). Each copy k gets its own order, batch,
engine state, step records, values and step signatures; its audit entries are the template's entries about those
objects with their keys, batch id, order number, signature and content hash rewritten, and every time moved into the
copy's own window. Entries about other things (logins, the acknowledgement, the ERP posting, which is not copied)
stay with the template.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ebr.domain.audit import Action, EntryDraft, content_digest, entry_hash, is_clock_anomaly, seal_message
from ebr.domain.signatures import SignedPayload
from ebr.domain.signatures import content_digest as signed_digest

Row = dict[str, Any]
TABLES = ("production_order", "batch", "batch_engine_state", "step_record", "step_value", "signature", "audit_entry")
COPIED_TYPES = {"production_order": "order", "batch": "batch", "step_record": "step", "batch_step": "step"}
COPIED_TYPES |= {"step_value": "value", "signature": "signature"}
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SIGN_TEXT = re.compile(r"signature (\d+); content [0-9a-f]{64}")
JSON_KEYS = {"order_id": "order", "step_record_id": "step", "supersedes_id": "value", "signature_id": "signature"}


@dataclass
class Source:
    """The template's rows, read once."""

    order: Row
    batch: Row
    state: Row
    steps: list[Row]
    values: list[Row]
    signatures: list[Row]
    contents: dict[str, Row]  # challenge id -> the content the template signer saw
    entries: list[Row]
    start: datetime
    end: datetime


@dataclass
class Ids:
    """Where each table's new keys start; a copy's keys are consecutive per table."""

    next: dict[str, int]

    def take(self, kind: str, count: int) -> int:
        first = self.next[kind]
        self.next[kind] += count
        return first


@dataclass
class Copy:
    """One copy's key maps (template key -> copy key), its batch id and its clock."""

    number: int
    batch_id: str
    order_number: str
    maps: dict[str, dict[int, int]]
    shift: Callable[[datetime], datetime]
    signatures: dict[int, tuple[str, str]] = field(default_factory=dict)  # copy signature id -> (challenge, hash)


def key_maps(source: Source, ids: Ids) -> dict[str, dict[int, int]]:
    kinds = {
        "order": [source.order],
        "batch": [source.batch],
        "step": source.steps,
        "value": source.values,
        "signature": source.signatures,
    }
    maps = {}
    for kind, rows in kinds.items():
        first = ids.take(kind, len(rows))
        maps[kind] = {int(r["id"]): first + n for n, r in enumerate(rows)}
    return maps


def clock_for(source: Source, base: datetime, span: timedelta) -> Callable[[datetime], datetime]:
    """Template time -> copy time: the template's window squeezed into [base, base + span)."""
    length = max((source.end - source.start).total_seconds(), 1e-6)
    scale = span.total_seconds() * 0.99 / length
    return lambda t: base + timedelta(seconds=(t - source.start).total_seconds() * scale)


def _shifted(row: Row, shift: Callable[[datetime], datetime]) -> Row:
    return {k: shift(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _mapped(maps: dict[int, int], value: int | None) -> int | None:
    return None if value is None else maps[int(value)]


def rows_of(source: Source, copy: Copy, sign: Callable[[bytes], str]) -> dict[str, list[Row]]:
    """The copy's rows per table (audit entries apart: they need the chain)."""
    m, shift = copy.maps, copy.shift
    bpk = m["batch"][int(source.batch["id"])]
    order = _shifted(source.order, shift) | {"id": m["order"][int(source.order["id"])]}
    order |= {"order_number": copy.order_number, "batch_id": copy.batch_id}
    batch = _shifted(source.batch, shift) | {"id": bpk, "batch_id": copy.batch_id, "order_id": order["id"]}
    state = _shifted(source.state, shift) | {"batch_id": bpk}
    steps = [_shifted(r, shift) | {"id": m["step"][int(r["id"])], "batch_id": bpk} for r in source.steps]
    values = [
        _shifted(r, shift)
        | {
            "id": m["value"][int(r["id"])],
            "batch_id": bpk,
            "step_record_id": m["step"][int(r["step_record_id"])],
            "supersedes_id": _mapped(m["value"], r["supersedes_id"]),
            "signature_id": _mapped(m["signature"], r["signature_id"]),
        }
        for r in source.values
    ]
    signatures = [_signature(source, copy, r, sign) for r in source.signatures]
    return {
        "production_order": [order],
        "batch": [batch],
        "batch_engine_state": [state],
        "step_record": steps,
        "step_value": values,
        "signature": signatures,
    }


def _signature(source: Source, copy: Copy, row: Row, sign: Callable[[bytes], str]) -> Row:
    """The template's step signature made again: the copy's content, hash, challenge, time, the signer's key."""
    content = json.loads(json.dumps(source.contents[row["challenge_id"]]))
    content["batch"] = copy.batch_id
    for value in content.get("values", {}).values():
        value["entry"] = copy.maps["value"][int(value["entry"])]
    new = _shifted(row, copy.shift) | {
        "id": copy.maps["signature"][int(row["id"])],
        "object_id": str(copy.maps["step"][int(row["object_id"])]),
        "challenge_id": secrets.token_urlsafe(24),
        "content_hash": signed_digest(content),
    }
    payload = SignedPayload(
        new["object_type"],
        new["object_id"],
        new["meaning"],
        new["content_hash"],
        new["signer_id"],
        new["signer_username"],
        new["signer_name"],
        new["signed_at"],
        new["policy_hash"],
        new["challenge_id"],
    )
    new["signature"] = sign(payload.to_bytes())
    copy.signatures[new["id"]] = (new["challenge_id"], new["content_hash"])
    return new


def _remap_json(data: dict[str, Any], object_type: str, source: Source, copy: Copy) -> None:
    kind = COPIED_TYPES.get(object_type)
    if kind and "id" in data and data["id"] is not None:
        data["id"] = str(copy.maps[kind][int(data["id"])])
    for key, kind in JSON_KEYS.items():
        if data.get(key) is not None:
            data[key] = str(copy.maps[kind][int(data[key])])
    if data.get("batch_id") is not None:
        template = str(data["batch_id"]) == str(source.batch["batch_id"])
        data["batch_id"] = copy.batch_id if template else str(copy.maps["batch"][int(data["batch_id"])])
    if object_type == "signature" and data.get("object_id") is not None:
        new_id = int(data["id"])
        data["object_id"] = str(copy.maps["step"][int(data["object_id"])])
        data["challenge_id"], data["content_hash"] = copy.signatures[new_id]


def _remap_text(value: str | None, object_type: str, source: Source, copy: Copy) -> str | None:
    if not value:
        return value
    if value.startswith("{"):
        data = json.loads(value)
        _remap_json(data, object_type, source, copy)
        value = json.dumps(data, sort_keys=True)
    found = SIGN_TEXT.fullmatch(value)
    if found:
        new_id = copy.maps["signature"][int(found.group(1))]
        value = f"signature {new_id}; content {copy.signatures[new_id][1]}"
    value = STAMP.sub(lambda s: _stamp(copy.shift(datetime.fromisoformat(s.group(0)))), value)
    value = value.replace(source.batch["batch_id"], copy.batch_id)
    return value.replace(source.order["order_number"], copy.order_number)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def drafts(source: Source, copy: Copy) -> Iterator[tuple[EntryDraft, Row]]:
    """The copy's audit entries in the template's order, each as the draft the chain covers and its row."""
    for row in source.entries:
        kind = COPIED_TYPES[row["object_type"]]
        object_id = str(copy.maps[kind][int(row["object_id"])])
        text = lambda v, t=row["object_type"]: _remap_text(v, t, source, copy)  # noqa: E731
        context = json.loads(row["context"])
        draft = EntryDraft(
            at=copy.shift(row["at"]),
            user_id=row["user_id"],
            username=row["username"],
            user_name=row["user_name"],
            action=Action(row["action"]),
            object_type=row["object_type"],
            object_id=object_id,
            field=row["field"],
            old_value=text(row["old_value"]),
            new_value=text(row["new_value"]),
            reason=text(row["reason"]) or "",
            context={k: text(v) or "" for k, v in context.items()},
        )
        yield draft, row


@dataclass
class Chain:
    """The audit chain's head as the seeder appends to it: seq, hash and time of the last entry."""

    seq: int
    hash: str
    at: datetime | None
    seal: Callable[[bytes], str]

    def append(self, draft: EntryDraft) -> Row:
        """The stored row of the next entry: numbered, linked, hashed and sealed as the unit of work does."""
        self.seq += 1
        anomaly = is_clock_anomaly(self.at, draft.at)
        digest = content_digest(self.seq, draft, anomaly)
        link = entry_hash(self.seq, draft, anomaly, self.hash)
        row = {
            "seq": self.seq,
            "at": draft.at,
            "user_id": draft.user_id,
            "username": draft.username,
            "user_name": draft.user_name,
            "action": str(draft.action),
            "object_type": draft.object_type,
            "object_id": draft.object_id,
            "field": draft.field,
            "old_value": draft.old_value,
            "new_value": draft.new_value,
            "reason": draft.reason,
            "context": json.dumps(draft.context, sort_keys=True),
            "batch": draft.context.get("batch", ""),
            "clock_anomaly": anomaly,
            "prev_hash": self.hash,
            "hash": link,
            "seal": self.seal(seal_message(self.seq, digest)),
        }
        self.hash, self.at = link, draft.at
        return row
