"""Material master data the ERP sends as B2MML V0700: SyncMaterialInformation (materials and lots in one message),
SyncMaterialDefinition or SyncMaterialLot, or the Process verb of each.

Convention:
* MaterialDefinition: ID the material code, the first Description its name, and a MaterialDefinitionProperty with
  ID `UnitOfMeasure` whose Value/ValueString is the unit it is counted in (kg, g, mg, L, mL, pcs);
* MaterialLot: ID the lot number, MaterialDefinitionID its material, `Status` its QC status (Quarantine, Released,
  Rejected or Blocked, in any letter case), a MaterialLotProperty with ID `ExpiryDate` whose Value/ValueString is
  the expiry date (YYYY-MM-DD, DataType date), and optionally a Quantity (QuantityString; UnitOfMeasure if given
  must be a known unit).
All are schema-valid B2MML (Status is a free code, properties are free name/value pairs). The message is validated
against B2MML-Material.xsd first; every refusal names the material or lot and the field.
"""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.reading import children, day, located, quantity, required, text, value_of
from ebr.adapters.batchml.safe import MATERIAL_XSD, B2mmlInvalid, parse_untrusted, validate
from ebr.domain.materials import Material, MaterialLot, QcStatus

ROOTS = (
    "SyncMaterialInformation",
    "ProcessMaterialInformation",
    "SyncMaterialDefinition",
    "ProcessMaterialDefinition",
    "SyncMaterialLot",
    "ProcessMaterialLot",
)
UNIT_PROPERTY = "UnitOfMeasure"
EXPIRY_PROPERTY = "ExpiryDate"


def parse_material_master(xml: bytes) -> tuple[str, tuple[Material, ...], tuple[MaterialLot, ...]]:
    """(BODID, materials, lots) from Sync/Process MaterialInformation, MaterialDefinition or MaterialLot V0700."""
    root = parse_untrusted(xml, ROOTS)
    validate(root, MATERIAL_XSD)
    bodid = required(children(root, "ApplicationArea")[0], "BODID", "ApplicationArea")
    data_area = children(root, "DataArea")[0]
    holders = [data_area, *children(data_area, "MaterialInformation")]
    materials = tuple(_material(node) for holder in holders for node in children(holder, "MaterialDefinition"))
    lots = tuple(_lot(node) for holder in holders for node in children(holder, "MaterialLot"))
    if not materials and not lots:
        raise B2mmlInvalid("DataArea: the message holds no MaterialDefinition and no MaterialLot.")
    _refuse_repeats([m.code for m in materials], "material")
    _refuse_repeats([f"{lot.material_code}/{lot.lot_number}" for lot in lots], "lot")
    return bodid, materials, lots


def _material(node: etree._Element) -> Material:
    code = required(node, "ID", f"MaterialDefinition (line {node.sourceline})")
    where = f"MaterialDefinition {code}"
    name = required(node, "Description", where)
    unit = value_of(node, "MaterialDefinitionProperty", UNIT_PROPERTY)
    if unit is None:
        raise B2mmlInvalid(
            f"{where}: no MaterialDefinitionProperty {UNIT_PROPERTY} gives its unit (Value/ValueString)."
        )
    with located(where):
        return Material(code, name, unit)


def _lot(node: etree._Element) -> MaterialLot:
    number = required(node, "ID", f"MaterialLot (line {node.sourceline})")
    where = f"MaterialLot {number}"
    material = required(node, "MaterialDefinitionID", where)
    expiry_text = value_of(node, "MaterialLotProperty", EXPIRY_PROPERTY)
    expiry = day(expiry_text, f"{where}: MaterialLotProperty {EXPIRY_PROPERTY}")
    amount = quantity(node, where, unit_required=False)[0] if children(node, "Quantity") else None
    with located(where):
        return MaterialLot(material, number, _qc_status(text(node, "Status"), where), expiry, amount)


def _qc_status(raw: str | None, where: str) -> QcStatus:
    known = {status.value: status for status in QcStatus}
    if raw is None or raw.lower() not in known:
        shown = "missing" if raw is None else repr(raw[:40])
        names = ", ".join(status.value.capitalize() for status in QcStatus)
        raise B2mmlInvalid(f"{where}: Status (the QC status) is {shown}; expected one of {names}.")
    return known[raw.lower()]


def _refuse_repeats(keys: list[str], what: str) -> None:
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise B2mmlInvalid(f"The message names {what} {', '.join(repeated)} more than once.")
