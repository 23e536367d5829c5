"""The batch record as PDF/A-3b: the library's report template rendered with WeasyPrint, the canonical JSON record
and its BatchML embedded as attachments (REC-01, PDF-01, PDF-05).

The template and its style sheet are controlled content read from the library folder; the document may fetch only
files below that folder. Any template, style or font problem raises RenderFailed naming the file; nothing is
returned half-made.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from ebr.adapters.pdf.fetcher import EMBEDDED, make_fetcher
from ebr.adapters.pdf.record_view import record_index
from ebr.app.ports.documents import STEP_FILE_PREFIX, RenderFailed

TEMPLATE = "template.html.j2"
ADDENDUM_TEMPLATE = "addendum.html.j2"  # the signed revision an approved addendum makes (QA-05)
PDF_VARIANT = "pdf/a-3b"
# The report fonts are DejaVu, installed with the application: any other face in the output means a fallback
# the template did not ask for (a font missing on this host), which an archived copy must not hide.
FONT_FAMILIES = ("DejaVu",)
ATTACHMENT_ROLES = {
    ".json": ("Source", "The canonical batch record (JSON)"),
    ".xml": ("Alternative", "BatchML"),
    ".pdf": ("Source", "The decided batch record (PDF) this document follows"),
}
# Files attached to steps (label specimens) are embedded as they are; images among them are also shown.
STEP_FILE_ROLE = ("Supplement", "A file attached to a step of the batch (label specimen)")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


class _Collect(logging.Handler):
    """WeasyPrint's logged errors during one rendering (a stylesheet or font it could not load)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _weasyprint_errors() -> Iterator[_Collect]:
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class BatchRecordRenderer:
    """Implements ports.RecordRenderer with the library's reports/batch_record template."""

    def __init__(self, reports_dir: Path, software_version: str, template: str = TEMPLATE) -> None:
        self._dir = reports_dir
        self._version = software_version
        self._template = template
        self._indexed = template == TEMPLATE  # the record has an index; a shorter document (an addendum) has none
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(reports_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a field the record lacks is an error, never a blank in a GMP copy
        )

    def render(
        self,
        record: Mapping[str, object],
        copy: Mapping[str, object],
        attachments: Mapping[str, bytes],
        draft: bool,
    ) -> bytes:
        """The PDF/A-3b bytes of the record as this copy, with the attachments embedded."""
        files = {name: _describe(name, data) for name, data in attachments.items()}
        html = self.html(record, copy, files, draft)
        return self._pdf(html, _moment(copy), attachments)

    def html(
        self, record: Mapping[str, object], copy: Mapping[str, object], files: Mapping[str, object], draft: bool
    ) -> str:
        """The filled template (the PDF's source)."""
        context = {
            "record": record,
            "copy": copy,
            "draft": draft,
            "attachments": files,
            "index": record_index(record) if self._indexed else {},
            "renderer_version": self._version,
        }
        try:
            return self._env.get_template(self._template).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderFailed(f"batch record template {exc.name or self._template}, line {exc.lineno}: {exc}") from exc
        except jinja2.TemplateNotFound as exc:
            raise RenderFailed(f"batch record template {exc.name} not found in the library's reports") from exc
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise RenderFailed(f"batch record template {self._template}: {type(exc).__name__}: {exc}") from exc

    def _pdf(self, html: str, moment: datetime, attachments: Mapping[str, bytes]) -> bytes:
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        base = self._dir.resolve().as_uri() + "/"
        try:
            with _weasyprint_errors() as errors, warnings.catch_warnings():
                # WeasyPrint opens its sRGB output-intent profile and leaves the file to the garbage collector.
                warnings.simplefilter("ignore", ResourceWarning)
                fetcher = make_fetcher([self._dir], embedded=attachments)
                document = HTML(string=html, base_url=base, url_fetcher=fetcher).render()
                pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=_attachments(attachments, moment))
        except FatalURLFetchingError as exc:
            raise RenderFailed(f"batch record asset: {exc.__cause__ or exc}") from None
        if errors.messages:
            raise RenderFailed(f"batch record template {self._template}: {'; '.join(errors.messages)}")
        _check_fonts({font.family for font in document.fonts.values()})
        return pdf


def _attachments(files: Mapping[str, bytes], moment: datetime) -> list[Any]:
    """New Attachment objects for every write: WeasyPrint's attachment source can be read only once."""
    from weasyprint import Attachment

    made = []
    for name, data in files.items():
        relationship, description = ATTACHMENT_ROLES.get(Path(name).suffix, ("Unspecified", name))
        if name.startswith(STEP_FILE_PREFIX):
            relationship, description = STEP_FILE_ROLE
        made.append(
            Attachment(
                string=data,
                name=name,
                description=description,
                created=moment,
                modified=moment,
                relationship=relationship,
            )
        )
    return made


def _describe(name: str, data: bytes) -> dict[str, object]:
    """An embedded file as the template sees it; an image attached to a step also gets the URL it is shown from."""
    image = name.startswith(STEP_FILE_PREFIX) and data.startswith(IMAGE_MAGIC)
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "image": f"{EMBEDDED}{name}" if image else "",
    }


def _moment(copy: Mapping[str, object]) -> datetime:
    """The copy's generation time (UTC), stamped on the embedded files so the copy carries one time only."""
    text = str(copy.get("generated_at") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RenderFailed(f"the copy's generation time {text!r} is not an ISO 8601 UTC time") from None


def _check_fonts(families: set[str]) -> None:
    if not families:
        raise RenderFailed("the batch record PDF embeds no font: the template produced no text")
    foreign = sorted(name for name in families if not name.startswith(FONT_FAMILIES))
    if foreign:
        raise RenderFailed(f"batch record fonts: {', '.join(foreign)} used instead of DejaVu (not installed here)")
