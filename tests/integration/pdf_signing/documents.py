"""Helpers of the PDF signature tests: a PDF/A-3b record, the releaser, the poppler tools."""

from __future__ import annotations

import gc
import io
import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from ebr.adapters.pki.keys import SitePki
from ebr.adapters.pki.pades import PadesSigner
from ebr.app.ports import Enrollment
from ebr.app.ports.pdf_signing import PdfStamp

PASSWORD = "Release-Secret-42"
RECORD_HTML = """<html><head><style>body { font-family: 'DejaVu Sans'; }</style></head><body>
<h1>Batch record B-2026-001</h1><p>Granulation complete. Yield 98.7 %.</p></body></html>"""


@dataclass(frozen=True)
class Releaser:
    """A site PKI with one enrolled QA user, and the signer that uses it."""

    pki: SitePki
    enrollment: Enrollment
    signer: PadesSigner

    @property
    def roots(self) -> list[str]:
        return [self.pki.ca_certificate_pem()]

    def sign(self, pdf: bytes, stamp: PdfStamp, tsa_url: str = "") -> bytes:
        e = self.enrollment
        return self.signer.sign_pdf(pdf, e.wrapped, PASSWORD, e.certificate_pem, stamp, tsa_url)


def render_pdfa(html: str = RECORD_HTML) -> bytes:
    """WeasyPrint PDF/A-3b; its sRGB profile file is left open by WeasyPrint, so that warning is dropped here."""
    import weasyprint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        pdf: bytes = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
        gc.collect()
    return pdf


def write(folder: Path, name: str, pdf: bytes) -> Path:
    path = folder / name
    path.write_bytes(pdf)
    return path


def tool(*args: str | Path) -> str:
    """The stdout of a poppler tool; poppler's exit code is checked by the caller where it carries meaning."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False).stdout


def flip_one_byte_inside_a_stream(pdf: bytes, signed_up_to: int) -> bytes:
    """Flip the middle byte of the longest stream in the signed part (a font program or the colour profile):
    the file still parses, only the signed bytes differ."""
    spans = [
        (m.end(), pdf.index(b"endstream", m.end()))
        for m in re.finditer(rb"stream\r?\n", pdf[:signed_up_to])
        if not pdf[max(0, m.start() - 3) : m.start()].endswith(b"end")
    ]
    start, end = max(spans, key=lambda span: span[1] - span[0])
    middle = (start + end) // 2
    return pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]


def append_update(pdf: bytes, change: str) -> bytes:
    """An incremental update after signing: new page content, or a new annotation."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if change == "content":
        patch = generic.StreamObject(stream_data=b"0 0 1 rg 72 400 300 60 re f")
        writer.add_stream_to_page(0, writer.add_object(patch))
    else:
        page_ref, _ = writer.find_page_for_modification(0)
        note = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Square"),
                generic.pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (72, 400, 372, 460)]),
            }
        )
        writer.register_annotation(page_ref, writer.add_object(note))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
