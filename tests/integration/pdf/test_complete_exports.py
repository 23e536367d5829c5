"""Nothing is filtered out of the exports (REC-02): the granulation run with its rework loop, a signed correction
and a void of an unsigned entry shows both iterations, the original and corrected values, and the void with its
reason, in the JSON record, the BatchML export and the text of the PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.export import validate_batchml
from ebr.app.execution_views import StepLine
from ebr.bootstrap import Runtime
from tests.app.execution_support import KIOSK, Floor
from tests.app.record_support import LOD, granulation_batch
from tests.factories import actor_of
from tests.fakes import FakeClock
from tests.integration.pdf import poppler

Json = dict[str, Any]
NS = {"b": "http://www.mesa.org/xml/B2MML"}
PRODUCT = "PCM500 Paracetamol 500 mg tablets"
REASON = "picked before reading the order"


def _void_the_product(floor: Floor, line: StepLine) -> None:
    """At the order confirmation, pick the product, void that entry with a reason; the run then enters it again."""
    if line.record.step_id != "confirm_batch_order" or line.record.status != "ready":
        return
    [entered] = floor.enter("confirm_batch_order", product_code=PRODUCT)
    execution = floor.rt.services.execution
    execution.void(actor_of(floor.operator.user), floor.batch_id, line.record.id, entered.id, REASON, KIOSK)


def _rows(record: Json, step_id: str, field_id: str) -> list[Json]:
    return [v for s in record["steps"] if s["step_id"] == step_id for v in s["values"] if v["field_id"] == field_id]


@pytest.mark.slow
@pytest.mark.req("REC-02")
def test_the_exports_show_rework_iterations_the_correction_with_its_original_and_the_void_with_its_reason(
    runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = granulation_batch(runtime, clock, _void_the_product)
    qa = actor_of(floor.qa.user)
    record = json.loads(runtime.services.documents.record_json(floor.batch_id, qa))
    # JSON: both passes of the rework loop, the corrected value after its original, the void after the voided entry.
    passes = [s for s in record["steps"] if s["step_id"] == "sample_lod"]
    lod = {s["iteration"]: [v["value"] for v in s["values"] if v["field_id"] == "lod_pct"] for s in passes}
    assert lod == {1: [LOD[1]], 2: [LOD[2]]}
    original, corrected = _rows(record, "lc_remove_previous", "previous_batch")
    assert (corrected["supersedes_id"], corrected["value"], corrected["after_signing"]) == (
        original["id"],
        "B-8999",
        True,
    )
    assert corrected["change_reason"] == "typed the wrong batch" and original["superseded_by"] == corrected["id"]
    voided, void, again = _rows(record, "confirm_batch_order", "product_code")
    assert (voided["value"], voided["current"], voided["superseded_by"], voided["void_reason"]) == (
        PRODUCT,
        False,
        void["id"],
        "",
    )
    assert (void["supersedes_id"], void["value"], void["void_reason"]) == (voided["id"], None, REASON)
    assert (again["supersedes_id"], again["value"], again["current"]) == (void["id"], PRODUCT, True)
    # BatchML: every value row, the void as a change with its reason and pre-change value.
    xml = runtime.services.records.batchml(floor.batch_id)
    assert validate_batchml(xml) == []
    document = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))
    values = document.xpath("//b:OrderedData/b:DataValue/b:Value/text()", namespaces=NS)
    assert values.count(LOD[1]) >= 1 and values.count(LOD[2]) >= 1 and original["value"] in values
    [change] = document.xpath(f"//b:Change[b:EntryID='change-{void['id']}']", namespaces=NS)
    assert "VOIDED" in change.findtext("b:Description", namespaces=NS)
    assert change.findtext("b:Reason", namespaces=NS) == REASON
    assert change.findtext("b:PrechangeData/b:ValueString", namespaces=NS) == PRODUCT
    [corrected_change] = document.xpath(f"//b:Change[b:EntryID='change-{corrected['id']}']", namespaces=NS)
    assert corrected_change.findtext("b:PrechangeData/b:ValueString", namespaces=NS) == original["value"]
    qualities = document.xpath("//b:DataValue/b:Quality/text()", namespaces=NS)
    assert f"VOIDED: {REASON}; superseded by value-{again['id']}" in qualities
    # PDF: the text an inspector reads without the application.
    text = poppler.text(poppler.write(tmp_path, "draft.pdf", runtime.services.documents.draft(floor.batch_id, qa)))
    for step in passes:
        assert f"Step record {step['id']} — {step['name']} sample_lod · pass {step['iteration']}" in text
    assert f'VOIDED {void["label"]}: entry {voided["id"]} "{PRODUCT}"' in text and f"reason: {REASON}" in text
    assert f'original value "{original["value"]}"' in text and '→ "B-8999"' in text
    assert "reason: typed the wrong batch" in text
