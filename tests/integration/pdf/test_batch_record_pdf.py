"""The rendered batch record of the granulation run, read back with the poppler tools only: every page carries the
header and "Page n of N", the text agrees with the JSON record field by field, every signature sits at its step,
the file is PDF/A-3b with the record embedded (PDF-01, PDF-02, PDF-05, PDF-07, REC-01, REC-03, REC-08).

One batch is run and rendered for the whole module: the granulation procedure takes seconds to run and its record
(dozens of pages) seconds to render.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.batchml.export import validate_batchml
from ebr.adapters.pki.keys import SitePki
from ebr.adapters.pki.pdf_validation import validate_pdf
from ebr.app.context import Actor, AuditContext
from ebr.app.documents import RECORD_JSON, RECORD_XML, sha256
from ebr.app.ports.documents import StoredDocument
from ebr.app.record import record_digest
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.audit import to_utc_text
from tests.app.execution_support import Floor
from tests.app.items_support import link_results
from tests.app.record_support import granulation_batch, step_record
from tests.app.review_support import acknowledge_all, decide, review_trail, reviewer
from tests.factories import actor_of
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.pdf import poppler

Json = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """The granulation batch in review, its stored release candidate, and what the tools read from it."""

    rt: Runtime
    floor: Floor
    stored: StoredDocument
    pdf: bytes
    path: Path
    pages: list[str]
    text: str
    embedded: dict[str, bytes]
    electronic: Json  # the JSON copy QA downloaded when the candidate was rendered
    xml: bytes  # the BatchML export at that moment

    @property
    def record(self) -> Json:
        loaded = json.loads(self.embedded[RECORD_JSON])
        assert isinstance(loaded, dict)
        return loaded


@pytest.fixture(scope="module", params=["candidate", "released"])
def rendered(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Rendered]:
    """The release candidate as the worker renders it, and the same record as QA released it with a PAdES signature."""
    folder = tmp_path_factory.mktemp("record-pdf")
    shutil.copy(sqlite_template, folder / "ebr.sqlite3")
    settings = Settings(
        env="test",
        instance_path=folder / "instance",
        database_url=f"sqlite:///{folder / 'ebr.sqlite3'}",
        fast_password_hashing=True,
        secure_cookies=True,
        build_commit="abc123def456",
    )
    clock = FakeClock()
    rt = build(settings, clock=clock, alert_sink=RecordingAlertSink(), notifier=RecordingNotifier())
    floor = granulation_batch(rt, clock)
    _settle_deviations(floor)
    _resign_corrected(floor)
    link_results(floor)  # the blend uniformity result from the laboratory, linked by QA before release
    rt.services.review.submit_for_review(actor_of(floor.supervisor.user), floor.batch_id, "record checked")
    clock.advance(minutes=2)
    stored = rt.services.documents.render_candidate(floor.batch_id)
    assert stored is not None
    electronic = json.loads(rt.services.documents.record_json(floor.batch_id, actor_of(floor.qa.user)))
    xml = rt.services.records.batchml(floor.batch_id)
    if request.param == "released":
        stored = _release(rt, floor, clock)
    pdf = rt.services.documents.download(actor_of(floor.qa.user), stored.id, floor.batch_id)
    path = poppler.write(folder, "record.pdf", pdf)
    embedded = poppler.attachments(path, folder / "embedded")
    texts = poppler.page_texts(path), poppler.text(path)
    yield Rendered(rt, floor, stored, pdf, path, *texts, embedded, electronic, xml)
    rt.engine.dispose()


def _settle_deviations(floor: Floor) -> None:
    """QA dispositions and closes every deviation the run opened, as before a release."""
    for deviation in floor.rt.services.execution.batch(floor.batch_id).deviations:
        if deviation.status == "open":
            parameters = {"disposition": "continue", "impact": "none on quality: assessed"}
            floor.act(
                "disposition", floor.qa, "dispositioned", "assessed", deviation_pk=deviation.id, parameters=parameters
            )
        if deviation.status != "closed":
            floor.act("close", floor.qa, "closed", "no further action", deviation_pk=deviation.id)


def _resign_corrected(floor: Floor) -> None:
    """The step whose value was corrected after signing is signed again over its corrected content (SIG-03)."""
    step_pk = step_record(floor, "lc_remove_previous").id
    state = floor.rt.services.execution.step(floor.batch_id, step_pk).resign
    assert state.awaiting, "the correction invalidated no signature"
    for meaning in state.awaiting:
        person = floor.operator if meaning == "performed" else floor.supervisor
        parameters = {"through": str(state.through)}
        floor.act(
            f"resign_{meaning}",
            person,
            meaning,
            "re-signed after the correction",
            step_pk=step_pk,
            parameters=parameters,
        )


def _release(rt: Runtime, floor: Floor, clock: FakeClock) -> StoredDocument:
    """QA acknowledges the exceptions, signs the trail reviewed and releases: the releaser's key signs the candidate."""
    qa = reviewer(rt)  # not the QA who verified steps of this batch: a reviewer is independent of the record
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    clock.advance(minutes=1)
    decide(floor, qa)
    with rt.services.uow(AuditContext(Actor.system(), clock.now())) as uow:
        found = uow.documents.current(uow.batches.get(floor.batch_id).id, "released")
    assert found is not None
    return found


def step_sections(rendered: Rendered) -> dict[int, str]:
    """Each step record's part of the text: from its heading to the next heading (the last one: to the deviations)."""
    record, full = rendered.record, rendered.text
    starts = sorted((full.index(f"Step record {s['id']} — {s['name']}"), s["id"]) for s in record["steps"])
    ends = [start for start, _ in starts[1:]] + [full.index(f"Deviations ({len(record['deviations'])})")]
    return {step_id: full[start:end] for (start, step_id), end in zip(starts, ends, strict=True)}


def every_signature(record: Json) -> dict[int, Json]:
    """Every signature manifestation the record holds, by id: steps, batch actions, deviations, master approvals."""
    found = {s["id"]: s for step in record["steps"] for s in step["signatures"]}
    found |= {a["signature"]["id"]: a["signature"] for a in record["actions"] if a["signature"]}
    found |= {s["id"]: s for d in record["deviations"] for s in d["signatures"]}
    return found | {s["id"]: s for s in record["procedure"]["approvals"]}


def manifestation_in(text: str, name: str, meaning_text: str, signed_at: str, signature_id: int) -> bool:
    return all(part in text for part in (name, meaning_text, signed_at, f"signature id {signature_id}"))


@pytest.mark.req("PDF-01")
def test_every_page_carries_product_batch_procedure_version_and_hash_and_page_n_of_n(rendered: Rendered) -> None:
    record = rendered.record
    total = len(rendered.pages)
    procedure = record["procedure"]
    header = [
        f"Batch {record['batch']['id']}",
        f"Product {record['produced_lot']['material_code']}",
        f"Order {record['order']['number']}",
        f"Procedure {procedure['id']} version {procedure['version']}: {procedure['title']}",
        f"Procedure hash {procedure['content_hash']}",
    ]

    assert total >= 20, "the granulation record spans many pages"
    for number, page in enumerate(rendered.pages, start=1):
        flat = poppler.squeeze(page)
        assert [field for field in header if field not in flat] == [], f"page {number}"
        assert f"Page {number} of {total}" in flat, f"page {number}"


@pytest.mark.req("REC-01")
def test_the_pdf_text_agrees_with_the_electronic_copy_field_by_field_and_the_counts_match(rendered: Rendered) -> None:
    electronic = rendered.electronic
    assert electronic == rendered.record  # the JSON export and the PDF's embedded record are the same snapshot
    record, sections = electronic, step_sections(rendered)

    for step in record["steps"]:
        section = sections[step["id"]]
        for value in step["values"]:
            expected = [f"entry {value['id']}", *str(value["value"]).split(), *value["unit"].split()]
            assert [token for token in expected if token not in section] == [], (step["step_id"], value["field_id"])
        for s in step["signatures"]:
            assert manifestation_in(section, s["signer"]["name"], s["meaning_text"], s["signed_at"], s["id"])
    for deviation in record["deviations"]:
        assert f"Deviation {deviation['number']} — {deviation['kind']}" in rendered.text

    counts = re.search(r"(\d+) step records, (\d+) value entries, (\d+) signatures, (\d+) deviations", rendered.text)
    assert counts is not None
    values = [v for step in record["steps"] for v in step["values"]]
    expected = (len(record["steps"]), len(values), len(every_signature(record)), len(record["deviations"]))
    assert tuple(int(n) for n in counts.groups()) == expected
    assert len(re.findall(r"Step record \d+ — ", rendered.text)) == len(record["steps"])
    assert len(re.findall(r"Deviation DEV-\S+ — ", rendered.text)) == len(record["deviations"])
    steps_part = rendered.text[: rendered.text.index(f"Deviations ({len(record['deviations'])})")]
    assert {int(n) for n in re.findall(r"entry (\d+)", steps_part)} == {v["id"] for v in values}


@pytest.mark.req("PDF-02")
def test_every_signature_in_the_database_is_printed_at_the_step_it_signs(rendered: Rendered) -> None:
    rt, sections = rendered.rt, step_sections(rendered)
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        batch = uow.batches.get(rendered.floor.batch_id)
        steps = uow.batches.steps(batch.id)
        actions = uow.batch_actions.for_batch(batch.id)
        on_steps = {s.id: uow.signatures.for_object("batch_step", str(s.id)) for s in steps}
        on_actions = {a.id: uow.signatures.for_object("batch_action", str(a.id)) for a in actions}

    assert sum(len(found) for found in on_steps.values()) > 50
    for step_pk, signatures in on_steps.items():
        for s in signatures:
            assert manifestation_in(sections[step_pk], s.signer_name, s.meaning_text, to_utc_text(s.signed_at), s.id)
    actions_part = rendered.text[rendered.text.index("Batch actions (") : rendered.text.index("Materials consumed (")]
    for action in actions:
        [signed] = on_actions[action.id]
        where = sections[action.step_record_id] if action.step_record_id else actions_part
        rest = where[where.index(f"(action {action.id}, ") :]
        paragraph = rest[: rest.find("(action ", 1) if "(action " in rest[1:] else None]  # up to the next action
        at = to_utc_text(signed.signed_at)
        assert manifestation_in(paragraph, signed.signer_name, signed.meaning_text, at, signed.id)


def test_the_file_is_pdf_a_3b_with_every_font_embedded_and_the_record_attached(rendered: Rendered) -> None:
    fonts = poppler.fonts(rendered.path)
    assert fonts and all(embedded == "yes" for _, embedded in fonts), fonts
    assert all("DejaVu" in name for name, _ in fonts), fonts
    metadata = poppler.xmp(rendered.path)
    assert re.search(r'pdfaid:part(="|>)3', metadata) and re.search(r'pdfaid:conformance(="|>)B', metadata)

    assert sorted(rendered.embedded) == [RECORD_JSON, RECORD_XML]
    assert rendered.record == rendered.electronic
    assert sha256(rendered.embedded[RECORD_JSON]) == record_digest(rendered.electronic) == rendered.stored.record_hash
    assert rendered.embedded[RECORD_XML] == rendered.xml


@pytest.mark.req("PDF-07")
def test_each_manifestation_in_the_pdf_maps_to_a_signature_id_in_the_embedded_record(rendered: Rendered) -> None:
    printed = {int(n) for n in re.findall(r"signature id (\d+)", rendered.text)}
    assert printed == set(every_signature(rendered.record))  # no manifestation without a record, none left out


@pytest.mark.req("REC-03")
def test_a_value_changed_after_its_entry_is_marked_with_its_original_at_that_step_only(rendered: Rendered) -> None:
    record, sections = rendered.record, step_sections(rendered)
    [changed] = [v for step in record["steps"] for v in step["values"] if v["supersedes_id"]]
    [step] = [s for s in record["steps"] if changed in s["values"]]
    [original] = [v for v in step["values"] if v["id"] == changed["supersedes_id"]]
    [correction] = [a for a in record["actions"] if a["kind"] == "correct"]
    section = sections[step["id"]]

    marker = section[section.index("CHANGED") :]
    assert marker.startswith(f'CHANGED {changed["label"]}: original value "{original["value"]}"')
    assert f'→ "{changed["value"]}"' in marker and f"reason: {changed['change_reason']}" in marker
    assert f"changed {changed['captured_at']} by {changed['captured_by']['name']}" in marker
    assert f"signature id {correction['signature']['id']}" in marker
    assert "SUPERSEDED" in section  # the original entry stays in the table, marked
    assert [s for s, text in sections.items() if "CHANGED" in text or "SUPERSEDED" in text] == [step["id"]]


def test_the_sections_of_the_batch_record_are_all_there(rendered: Rendered) -> None:
    text, record = rendered.text, rendered.record
    for heading in (
        "Master record",
        "Procedure overview",
        "Holds and refused checks",
        f"Batch actions ({len(record['actions'])})",
        f"Materials consumed ({len(record['dispensings'])})",
        "Material reconciliation",
        "Material produced and yield",
        f"Equipment used ({len(record['equipment_uses'])})",
        f"Identity checks ({len(record['identity_checks'])})",
        f"Audit trail of the batch ({len(record['audit_trail'])} entries)",
        "System information",
    ):
        assert heading in text
    [yielded] = record["yields"]
    assert f"{yielded['yield_percent']} % of theoretical; limits {yielded['low']} % to {yielded['high']} %" in text
    for lot in record["dispensings"]:
        assert f"lot {lot['lot_number']}" in text
    for use in record["equipment_uses"]:
        assert use["status"].split(",")[0] in text
    assert f"Software version (record) {record['software_version']}" in text


@pytest.mark.req("SIG-14")
def test_every_signature_of_the_batch_travels_in_the_embedded_json_with_its_metadata(rendered: Rendered) -> None:
    rt, batch_id = rendered.rt, rendered.floor.batch_id
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        batch = uow.batches.get(batch_id)
        objects = [("batch_step", str(s.id)) for s in uow.batches.steps(batch.id)]
        objects += [("batch_action", str(a.id)) for a in uow.batch_actions.for_batch(batch.id)]
        objects += [("procedure_version", str(batch.batch.procedure_version_id))]
        stored = {s.id: s for kind, key in objects for s in uow.signatures.for_object(kind, key)}
    embedded = every_signature(rendered.record)
    assert set(embedded) == set(stored) and len(stored) > 20
    for signature_id, db in stored.items():
        copy = embedded[signature_id]
        assert (copy["signer"]["id"], copy["signer"]["name"], copy["signer"]["username"]) == (
            db.signer_id,
            db.signer_name,
            db.signer_username,
        )
        assert copy["signed_at"] == to_utc_text(db.signed_at) and copy["signed_at"].endswith("Z")
        assert (copy["meaning"], copy["meaning_text"], copy["content_hash"]) == (
            db.meaning,
            db.meaning_text,
            db.content_hash,
        )


@pytest.mark.req("BR-04")
def test_the_yield_printed_matches_the_reference_calculation_with_its_limits(rendered: Rendered) -> None:
    [line] = rendered.record["yields"]
    produced, theoretical = Decimal(line["produced"]), Decimal(line["theoretical"])
    reference = (produced * 100 / theoretical).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(line["yield_percent"]) == reference
    text = " ".join(rendered.text.split())
    printed = (
        f"produced {line['produced']} {line['unit']}, scrap {line['scrap']} {line['unit']}, samples "
        f"{line['samples']} {line['unit']}, theoretical {line['theoretical']} {line['unit']} → {reference} % of "
        f"theoretical; limits {line['low']} % to {line['high']} %: {'within' if line['within'] else 'OUT OF LIMIT'}"
    )
    assert printed in text
    assert line["within"] == (Decimal(line["low"]) <= reference <= Decimal(line["high"]))


@pytest.mark.req("BR-10")
def test_the_deviation_summary_shows_every_deviation_with_its_disposition_and_closing_signature(
    rendered: Rendered,
) -> None:
    rt, record, text = rendered.rt, rendered.record, " ".join(rendered.text.split())
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        in_db = uow.deviations.for_batch(uow.batches.get(rendered.floor.batch_id).id)
    assert f"Deviations ({len(in_db)})" in text and len(record["deviations"]) == len(in_db) >= 1
    closing = {a["deviation_id"]: a for a in record["actions"] if a["kind"] == "close" and a["deviation_id"]}
    summary = text[text.index(f"Deviations ({len(in_db)})") : text.index("Batch actions (")]
    starts = sorted(summary.index(f"Deviation {d['number']} — ") for d in record["deviations"])
    for deviation in record["deviations"]:
        start = summary.index(f"Deviation {deviation['number']} — ")
        section = summary[start : next((s for s in starts if s > start), None)]
        assert deviation["description"] in section
        if deviation["status"] == "closed":
            assert f"Disposition {deviation['disposition']}" in section
            signed = closing[deviation["id"]]["signature"]
            assert manifestation_in(
                section, signed["signer"]["name"], signed["meaning_text"], signed["signed_at"], signed["id"]
            )
    assert any(d["status"] == "closed" for d in record["deviations"])


def _nss_trusting(ca_pem: str, folder: Path) -> str:
    """An NSS certificate store for pdfsig that trusts only the site CA."""
    (folder / "site-ca.pem").write_text(ca_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    add = ["certutil", "-A", "-d", f"sql:{folder}", "-n", "site-ca", "-t", "CT,C,C", "-i", str(folder / "site-ca.pem")]
    subprocess.run(add, check=True)
    return f"sql:{folder}"


def test_the_released_record_is_signed_valid_for_pyhanko_and_pdfsig_the_candidate_unsigned(
    rendered: Rendered, tmp_path: Path
) -> None:
    ca = SitePki(rendered.rt.settings.instance_path).ca_certificate_pem()
    checks = validate_pdf(rendered.pdf, [ca])
    nss = _nss_trusting(ca, tmp_path)
    report = subprocess.run(
        ["pdfsig", "-nssdir", nss, rendered.path], capture_output=True, text=True, check=False
    ).stdout
    if rendered.stored.kind == "candidate":
        assert checks == [] and "does not contain any signatures" in report
        return
    [check] = checks
    assert check.bottom_line and check.intact and check.trusted and not check.modified_after_signing
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report and "Total document signed" in report
    assert "Released by" in rendered.text


def test_the_embedded_batchml_validates_with_one_entry_per_value_signature_deviation_and_lot(
    rendered: Rendered,
) -> None:
    xml, record = rendered.embedded[RECORD_XML], rendered.record
    assert validate_batchml(xml) == []
    document = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))
    ns = {"b": "http://www.mesa.org/xml/B2MML"}
    values = [v for step in record["steps"] for v in step["values"]]
    assert len(document.xpath("//b:DataSet/b:OrderedData/b:DataValue", namespaces=ns)) == len(values)
    entries = document.xpath("//b:EntryID/text()", namespaces=ns)
    assert len([e for e in entries if e.startswith("signature-")]) == len(every_signature(record))
    assert sorted(e for e in entries if e.startswith("deviation-")) == sorted(
        f"deviation-{d['id']}" for d in record["deviations"]
    )
    consumed = document.xpath("//b:MaterialActual[b:MaterialUse='Consumed']/b:MaterialLotID/text()", namespaces=ns)
    assert sorted(consumed) == sorted(d["lot_number"] for d in record["dispensings"]) and consumed
