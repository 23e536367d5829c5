"""Render HTML templates to PDF with WeasyPrint (headers, page x of y)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ebr.adapters.pdf.fetcher import make_fetcher

TEMPLATES = Path(__file__).parent / "templates"


class PdfRenderer:
    """Jinja2 + WeasyPrint; only the template folder is readable by the document."""

    def __init__(self, version: str, template_dir: Path = TEMPLATES) -> None:
        self._env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir), autoescape=True)
        self._fetcher = make_fetcher([template_dir])
        self._base = template_dir.resolve().as_uri() + "/"
        self._version = version

    def render(self, template: str, **context: Any) -> bytes:
        """The PDF bytes of one template rendered with the context."""
        from weasyprint import HTML  # heavy import: only when a PDF is actually made

        html = self._env.get_template(template).render(version=self._version, **context)
        pdf: bytes = HTML(string=html, base_url=self._base, url_fetcher=self._fetcher).write_pdf()
        return pdf

    def audit_trail(self, rows: list[dict[str, object]], meta: dict[str, str]) -> bytes:
        """The audit-trail export as PDF (AUD-08)."""
        return self.render("audit_trail.html.j2", rows=rows, meta=meta)
