"""What the golden path leaves behind, read by the tools an inspector uses: the released PDF through pyHanko and
poppler's pdfsig and pdftotext, the signature manifestations on the step view, the fake ERP's received postings."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from ebr.adapters.pki.keys import SitePki
from ebr.adapters.pki.pdf_validation import validate_pdf
from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime
from ebr.demo.fake_erp import FakeErp
from ebr.domain.erp import PostingKind, posting_key
from tests.e2e.golden_steps import shoot

UTC_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def _nss_trusting(ca_pem: str, folder: Path) -> str:
    """An NSS certificate store for pdfsig that trusts only the site CA."""
    (folder / "site-ca.pem").write_text(ca_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    add = ["certutil", "-A", "-d", f"sql:{folder}", "-n", "site-ca", "-t", "CT,C,C", "-i", str(folder / "site-ca.pem")]
    subprocess.run(add, check=True)
    return f"sql:{folder}"


def check_released_pdf(rt: Runtime, batch_id: str, path: Path) -> None:
    """The downloaded file is the stored released record byte for byte, and both validators call it signed,
    intact and trusted by the site CA."""
    pdf = path.read_bytes()
    released = [d for d in rt.services.documents.documents(batch_id) if d.kind == "released"]
    assert [d.status for d in released] == ["current"]
    assert hashlib.sha256(pdf).hexdigest() == released[0].sha256
    ca = SitePki(rt.settings.instance_path).ca_certificate_pem()
    [check] = validate_pdf(pdf, [ca])
    assert check.bottom_line and check.intact and check.trusted and not check.modified_after_signing
    nss_dir = path.parent / "nss"
    nss_dir.mkdir()
    done = subprocess.run(
        ["pdfsig", "-nssdir", _nss_trusting(ca, nss_dir), str(path)], capture_output=True, text=True, check=False
    )
    assert "Signature Validation: Signature is Valid." in done.stdout, done.stdout
    assert "Certificate Validation: Certificate is Trusted." in done.stdout, done.stdout
    assert "Total document signed" in done.stdout


def check_erp_received(page: Page, rt: Runtime, erp: FakeErp, batch_id: str) -> None:
    """The fake ERP's /received page lists the batch's completion and usage decision, each applied once."""
    site = rt.settings.site_id
    completion = posting_key(site, batch_id, PostingKind.COMPLETION, 1)
    decision = posting_key(site, batch_id, PostingKind.USAGE_DECISION, 1)
    page.goto(erp.url.removesuffix("/postings") + "/received")
    received = json.loads(page.locator("pre").first.inner_text())
    page.goto(erp.url.removesuffix("/postings") + "/")  # the page a person reads
    rows = page.locator("tbody").first.locator("tr")
    assert [rows.nth(n).locator("td").nth(2).inner_text() for n in range(rows.count())] == [
        PostingKind.COMPLETION.value,
        PostingKind.USAGE_DECISION.value,
    ]
    assert batch_id in rows.nth(1).inner_text()
    shoot(page, "fake-erp.png")
    assert received["order"] == [completion, decision]
    assert received["net"]["decisions"] == {batch_id: "Released"}
    assert {key: received["keys"][key]["applied"] for key in (completion, decision)} == {completion: 1, decision: 1}
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        stored = uow.outbox.for_aggregate(batch_id)
    assert [(p.key, p.status) for p in stored] == [(completion, "sent"), (decision, "sent")]


MANIFESTATION = re.compile(rf"^(?P<meaning>[^:]+): (?P<name>.+) \((?P<username>[^)]+)\), (?P<at>{UTC_STAMP})$")


def manifestations_on_step_view(page: Page, url: str) -> list[dict[str, str]]:
    """The signatures the step view shows inside the signed step's own element: meaning, full name, user, time."""
    page.goto(url)
    step_pk = url.rsplit("/", 1)[-1]
    signed_item = page.locator(f"#step[data-step-record='{step_pk}']")
    expect(signed_item).to_have_count(1)
    shown = signed_item.locator("#signatures .manifestation")
    expect(shown.first).to_be_visible()
    found = []
    for text in shown.all_inner_texts():
        match = MANIFESTATION.match(text.strip())
        assert match, text
        found.append(match.groupdict())
    return found


def printed_signature(block: str, meaning: str, name: str, username: str) -> datetime:
    """The time printed with the signature of that meaning and signer in a step's block of the PDF text."""
    found = re.search(
        rf"{re.escape(meaning)} \[\w+\]: {re.escape(name)} \({re.escape(username)}\) · (\S+) \(UTC\)", block
    )
    assert found, (meaning, name, block)
    return datetime.fromisoformat(found.group(1))


def step_block(layout_text: str, step_pk: int, step_name: str) -> str:
    """The pdftotext -layout text of one step record: from its heading to the next step's heading (or the
    deviation summary), whitespace collapsed."""
    flat = " ".join(layout_text.split())
    start = flat.index(f"Step record {step_pk} — {step_name}")
    ends = [i for i in (flat.find("Step record ", start + 1), flat.find("Deviations (", start)) if i > 0]
    return flat[start : min(ends)] if ends else flat[start:]


def pdf_layout_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def check_manifestations(page: Page, url: str, pdf: Path, step_name: str, expected: list[tuple[str, str, str]]) -> None:
    """SIG-01: the step view shows each signature's meaning, printed name and UTC time in the step's own element,
    and pdftotext finds the same meaning, name and instant in that step's block of the released PDF."""
    shown = manifestations_on_step_view(page, url)
    assert [(s["meaning"], s["name"], s["username"]) for s in shown] == expected
    block = step_block(pdf_layout_text(pdf), int(url.rsplit("/", 1)[-1]), step_name)
    for s in shown:
        printed = printed_signature(block, s["meaning"], s["name"], s["username"])
        assert printed == datetime.fromisoformat(s["at"]), (s, printed)
    assert len({s["at"] for s in shown}) == len(shown)  # each signature carries its own time
