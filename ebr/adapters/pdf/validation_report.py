"""The validation report (VAL-01) as HTML and as PDF/A-3b: the trace matrix rendered from the code's own template."""

from __future__ import annotations

import warnings
from pathlib import Path

import jinja2

from ebr.adapters.pdf.fetcher import make_fetcher
from ebr.app.validation_report import Status, TraceMatrix

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "validation_report.html.j2"
PDF_VARIANT = "pdf/a-3b"


class ValidationReportRenderer:
    """Fills the validation report template; the PDF may load nothing but files of the template folder."""

    def __init__(self, software_version: str, template_dir: Path = TEMPLATES) -> None:
        self._dir = template_dir
        self._version = software_version
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dir), autoescape=True, undefined=jinja2.StrictUndefined
        )

    def html(self, matrix: TraceMatrix, meta: dict[str, str], missing: frozenset[str] = frozenset()) -> str:
        """The report as one HTML page; missing names evidence documents that were not found."""
        counts = {status.value: matrix.count(status) for status in Status}
        return self._env.get_template(TEMPLATE).render(
            matrix=matrix, meta=meta, missing=missing, counts=counts, version=self._version, Status=Status
        )

    def pdf(self, html: str) -> bytes:
        """The same page as PDF/A-3b, fonts embedded, for the validation file."""
        from weasyprint import HTML  # heavy import: only when a PDF is made

        with warnings.catch_warnings():
            # WeasyPrint opens its sRGB output-intent profile and leaves the file to the garbage collector.
            warnings.simplefilter("ignore", ResourceWarning)
            fetcher = make_fetcher([self._dir])
            document = HTML(string=html, base_url=self._dir.resolve().as_uri() + "/", url_fetcher=fetcher)
            pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
        return pdf
