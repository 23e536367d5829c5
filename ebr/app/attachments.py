"""Files attached to a step's attachment field, such as a label specimen (211.188(b)(8); BR-06).

Design: the upload is checked (PNG, JPEG or PDF by its leading bytes, whatever name or type the browser claimed;
at most MAX_BYTES), stored once in an append-only table with its SHA-256, and the field's value becomes that
SHA-256, entered like any other value (a new value supersedes the old one; the original stays). So the step's
signature covers the file's hash, `ebr verify` can check the bytes against it, and a required attachment field
without a file blocks signing like any missing value. A value may only name a file uploaded to that same field of
that same step record, which is checked wherever a value is stored (execution_corrections.store).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath, PureWindowsPath

from ebr.app.accounts import require
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import READY, ProcedureCache, check_open, check_performer, load_step
from ebr.app.execution_corrections import Entry, store
from ebr.app.execution_results import terminal_of
from ebr.app.ports import Clock, StoredAttachment, StoredValue, UnitOfWorkFactory
from ebr.app.step_completion import check_person
from ebr.domain.accounts import Permission
from ebr.domain.configuration import GmpSettings
from ebr.domain.errors import InvalidInput, NotFound
from ebr.domain.records import is_late_entry

ATTACHMENT = "attachment"
MAX_BYTES = 5 * 1024 * 1024  # a label scan or artwork proof; larger files belong in the document system
MAX_NAME = 200
# Leading bytes → media type: the only kinds the record can show (an image) or embed (a PDF).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)


def media_type_of(content: bytes) -> str:
    """The file's type from its own leading bytes; anything but PNG, JPEG or PDF is refused."""
    for magic, media_type in SIGNATURES:
        if content.startswith(magic):
            return media_type
    raise InvalidInput("Attach a PNG or JPEG image or a PDF file.")


def clean_name(filename: str) -> str:
    """The file's own name without any folder, printable, at most MAX_NAME characters."""
    name = PureWindowsPath(PurePosixPath(filename.strip()).name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name[-MAX_NAME:] or "attachment"


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment with its bytes, as a page hands it out."""

    attachment: StoredAttachment
    content: bytes


class AttachmentService:
    """Upload a file to a step's attachment field, and read an attachment back."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache

    def attach(
        self,
        actor: Actor,
        batch_id: str,
        step_pk: int,
        field_id: str,
        filename: str,
        content: bytes,
        request: RequestInfo,
    ) -> StoredValue:
        """Store the file once with its SHA-256 and make that hash the field's value, as one entry (TIME-03)."""
        if not content:
            raise InvalidInput("The file is empty.")
        if len(content) > MAX_BYTES:
            raise InvalidInput(f"The file has {len(content)} bytes; at most {MAX_BYTES} bytes may be attached.")
        media_type = media_type_of(content)
        digest = hashlib.sha256(content).hexdigest()
        ctx = AuditContext(actor, self._clock.now(), "file attached", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            user = uow.users.get(actor.user_id)
            require(user, Permission.BATCH_EXECUTE)
            context = load_step(uow, self._cache, batch_id, step_pk)
            check_open(context, READY)
            check_performer(context, user)
            check_person(uow, context, user, request, ctx.at)
            if context.field(field_id).type != ATTACHMENT:
                raise InvalidInput(f"{context.field(field_id).label} takes no file.")
            if uow.attachments.find(step_pk, field_id, digest) is None:
                stored = StoredAttachment(
                    0, context.batch.id, step_pk, field_id, clean_name(filename), media_type, len(content), digest,
                    ctx.at, user.id, terminal_of(request),
                )  # fmt: skip
                uow.attachments.add(stored, content)
            window = timedelta(minutes=GmpSettings.from_stored(uow.settings.stored())["execution.late_entry_minutes"])
            late = is_late_entry(context.record.became_ready_at, ctx.at, window)
            value = store(uow, context, Entry(field_id, digest), user.id, ctx, late)
            uow.commit()
        return value

    def file(self, batch_id: str, sha256: str) -> AttachmentFile:
        """A file attached to a step of the batch, by its SHA-256; the bytes are checked against it."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            found = next((a for a in uow.attachments.for_batch(batch.id) if a.sha256 == sha256), None)
            if found is None:
                raise NotFound(f"Batch {batch_id} has no attachment {sha256[:16]!r}.")
            content = uow.attachments.content(found.id)
        if hashlib.sha256(content).hexdigest() != found.sha256:
            raise NotFound(f"Attachment {found.id} no longer matches its SHA-256: it is not handed out.")
        return AttachmentFile(found, content)

    def for_batch(self, batch_id: str) -> list[StoredAttachment]:
        """Every file attached to the batch's steps, oldest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.attachments.for_batch(uow.batches.get(batch_id).id)
