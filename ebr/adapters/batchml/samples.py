"""BatchML Samples (ISA-88 Part 4; 211.188(b)(10)): each sample with its ID, the phase it was pulled at, its size,
purpose and reference, and each linked laboratory result as a SampleTest whose disposition says whether it
conforms and whether QA's signature has put it in force."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.xml import Record, add, add_entry, add_value, items, name_of


def _result(sample: etree._Element, result: Record) -> None:
    test = add_entry(sample, "SampleTest", f"result-{result['action_id']}", "Sample Test", result["recorded_at"])
    add(test, "Description", f"recorded by {name_of(result['recorded_by'])}: {result['reason']}")
    outcome = add_entry(test, "SampleTestResult", f"result-{result['action_id']}-outcome", "Sample Test Result")
    conforms = "conforms" if result["conforms"] else "does not conform"
    add(outcome, "TestDisposition", f"{conforms}; {'approved' if result['status'] == 'applied' else 'pending'}")
    add_value(outcome, "Results", result["result"], key="result")


def samples(root: etree._Element, rec: Record) -> None:
    """Every sample of the batch, in the order taken; nothing when the batch took none."""
    found = list(items(rec, "samples"))
    if not found:
        return
    parent = add(root, "Samples")
    for row in found:
        sample = add_entry(parent, "Sample", row["sample_id"], "Sample", row["taken_at"])
        if row["reference"]:
            add(sample, "ExternalReference", row["reference"])
        add(sample, "Description", f"taken by {name_of(row['taken_by'])}; result {row['result_status']}")
        add(sample, "SampleSourceID", f"phase-{row['step_record_id']}")
        size = add(sample, "SampleSize")
        add(size, "QuantityString", row["quantity"])
        add(size, "DataType", "decimal")
        if row["unit"]:
            add(size, "UnitOfMeasure", row["unit"])
        add(sample, "SamplePullReason", row["purpose"])
        add(sample, "ProceduralElementReference", f"phase-{row['step_record_id']}")
        for result in items(row, "results"):
            _result(sample, result)
