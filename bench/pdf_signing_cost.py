"""What the releaser's PAdES signature costs on a 50-page PDF/A-3b record: a table, not a test.

A site PKI is created in a temp folder (production argon2id profile unless --fast-kdf) with one enrolled user, and a
local RFC 3161 time-stamping service runs on loopback. After one untimed signature (it pays the process's one-time
font preparation, printed apart), the variants run interleaved: sign_pdf as the release request calls it (key
unwrap included) and sign_with_key (the key already unwrapped), each with and without a time stamp; the unwrap and
the validation are timed alone.

Run from the repository root:

    .venv/bin/python bench/pdf_signing_cost.py               # 21 rounds, about 30 seconds
    .venv/bin/python bench/pdf_signing_cost.py --rounds 5 --fast-kdf
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from ebr.adapters.pki.keys import PRODUCTION_KDF, TEST_KDF, SitePki
from ebr.adapters.pki.pades import PadesSigner
from ebr.adapters.pki.tsa import LocalTsa
from ebr.app.ports import Enrollment
from ebr.app.ports.pdf_signing import PdfStamp

PASSWORD = "Bench-Release-1"  # noqa: S105  # a throw-away user in a temp folder
ROW = "<tr><td>{n}</td><td>Granulator GR-01</td><td>{v:.3f} kg</td><td>within limits</td><td>op.anna</td></tr>"


def record(pages: int) -> bytes:
    """A PDF/A-3b of `pages` pages, each a heading and a 30-row table."""
    import weasyprint

    sections = "".join(
        f'<section style="break-after: page"><h2>Operation {p}</h2><table>'
        + "".join(ROW.format(n=p * 100 + r, v=10 + r / 7) for r in range(30))
        + "</table></section>"
        for p in range(1, pages + 1)
    )
    pdf: bytes = weasyprint.HTML(string=f"<html><body>{sections}</body></html>").write_pdf(pdf_variant="pdf/a-3b")
    return pdf


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def row(name: str, samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (samples[0],) * 3
    return f"| {name} | {len(samples)} | {median:.1f} | {q1:.1f}-{q3:.1f} | {max(samples):.1f} |"


@dataclass(frozen=True)
class Setup:
    """The enrolled user, the signer and a signed sample; key is the user's key already unwrapped."""

    pki: SitePki
    user: Enrollment
    signer: PadesSigner
    key: ec.EllipticCurvePrivateKey
    stamp: PdfStamp


def variants(s: Setup, pdf: bytes, tsa: LocalTsa) -> dict[str, Callable[[], object]]:
    cert, wrapped = s.user.certificate_pem, s.user.wrapped
    signed = s.signer.sign_with_key(pdf, s.key, cert, s.stamp, tsa.url)
    roots = [s.pki.ca_certificate_pem(), tsa.root_certificate_pem()]
    return {
        "sign_pdf (unwrap + sign), no TSA": lambda: s.signer.sign_pdf(pdf, wrapped, PASSWORD, cert, s.stamp),
        "sign_pdf (unwrap + sign), TSA": lambda: s.signer.sign_pdf(pdf, wrapped, PASSWORD, cert, s.stamp, tsa.url),
        "sign_with_key (key unwrapped), no TSA": lambda: s.signer.sign_with_key(pdf, s.key, cert, s.stamp),
        "sign_with_key (key unwrapped), TSA": lambda: s.signer.sign_with_key(pdf, s.key, cert, s.stamp, tsa.url),
        "key unwrap alone": lambda: s.pki.unwrap(wrapped, PASSWORD),
        "validate_pdf (one signature with time stamp)": lambda: s.signer.validate_pdf(signed, roots),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--fast-kdf", action="store_true", help="the test argon2id profile instead of production")
    args = parser.parse_args()
    pdf = record(args.pages)
    with tempfile.TemporaryDirectory() as folder, LocalTsa() as tsa:
        pki = SitePki(Path(folder), TEST_KDF if args.fast_kdf else PRODUCTION_KDF)
        user = pki.enroll(1, "qa.bench", "Quality Bench", PASSWORD, datetime.now(UTC))
        stamp = PdfStamp("Quality Bench", "Released", datetime.now(UTC))
        setup = Setup(pki, user, PadesSigner(pki), pki.unwrap(user.wrapped, PASSWORD), stamp)
        first = timed(lambda: setup.signer.sign_with_key(pdf, setup.key, user.certificate_pem, setup.stamp))
        signed = setup.signer.sign_with_key(pdf, setup.key, user.certificate_pem, setup.stamp, tsa.url)
        todo = variants(setup, pdf, tsa)
        samples: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.rounds):
            for name, fn in todo.items():
                samples[name].append(timed(fn))
    kdf = "test" if args.fast_kdf else "production"
    print(f"{args.pages}-page PDF/A-3b of {len(pdf):,} bytes; signed with time stamp {len(signed):,} bytes")
    print(f"argon2id profile: {kdf}; first signature in the process (font preparation included): {first:.0f} ms")
    print("| variant | n | median ms | IQR ms | max ms |")
    print("|---|---|---|---|---|")
    for name, values in samples.items():
        print(row(name, values))


if __name__ == "__main__":
    main()
