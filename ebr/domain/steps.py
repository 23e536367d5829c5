"""What a procedure asks for at each step: forms, fields, limits, bindings and roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ebr.domain.limits import Limit

FIELD_TYPES = frozenset(
    {"number", "quantity", "text", "choice", "boolean", "datetime", "barcode", "reading", "calculated", "attachment"}
)


@dataclass(frozen=True)
class DeviceSource:
    """A field captured from a device: equipment class and tag."""

    equipment: str
    tag: str


@dataclass(frozen=True)
class FieldDefinition:
    """One input or calculated value of a form."""

    id: str
    label: str
    type: str
    unit: str = ""
    required: bool = True
    precision: int | None = None
    limit: Limit | None = None
    expression: str = ""
    choices: tuple[str, ...] = ()
    check: str = ""
    source: DeviceSource | None = None
    help: str = ""
    double_entry: bool = False  # critical manual data: entered twice, a mismatch is refused (DEV-04)
    equipment: str = ""  # check "equipment": the class the scanned instance must be of ("" = the step's class)
    material: str = ""  # check "material_lot": the material code the scanned container must hold
    on_fail: str = "block"  # a failed scan check blocks the step, or ("deviation") is recorded and opens one


@dataclass(frozen=True)
class YieldSpec:
    """A completion step's yield: expressions over the batch's values, and the limits in % of theoretical."""

    produced: str
    theoretical: str
    unit: str
    scrap: str = "0"
    samples: str = "0"
    low: Decimal | None = None
    high: Decimal | None = None


@dataclass(frozen=True)
class ReconciliationLine:
    """One material's balance on a completion step: expressions for issued, used, returned and waste."""

    material: str
    unit: str
    issued: str
    used: str
    returned: str = "0"
    waste: str = "0"
    tolerance: Decimal = Decimal("0")


@dataclass(frozen=True)
class DispenseSpec:
    """Weigh and dispense: which fields hold the scanned container, the tare, the gross and the calculated net."""

    container: str
    tare: str
    gross: str
    net: str


@dataclass(frozen=True)
class SampleSpec:
    """A sampling step (211.188(b)(10)): what the sample is for, the fields holding its quantity, its reference and
    the time it was taken, and whether a laboratory result must be linked to it before release."""

    purpose: str
    quantity: str
    unit: str = ""  # the quantity's unit where its field has none (a count of thief samples)
    reference: str = ""  # a text or barcode field: the container or LIMS reference on the sample
    time: str = ""  # a datetime field: when the sample was pulled ("" = when the step is signed)
    result_required: bool = True


@dataclass(frozen=True)
class DeviceReleaseSpec:
    """A device batch's completion (ISO 13485 7.5.1; QMSR 820.35(c)): the fields holding the quantities made and
    approved for distribution and the UDI: its device identifier and production identifiers."""

    quantity_manufactured: str
    quantity_approved: str
    udi_di: str
    lot: str
    expiry: str
    serial: str = ""  # a serial number or a serial range ("" where the device carries none)


@dataclass(frozen=True)
class LabellingSpec:
    """A labelling step (211.188(b)(8)): the fields holding the label's version and its specimen, and the label
    stock's material code whose reconciliation belongs to it."""

    version: str
    specimen: str
    material: str = ""


@dataclass(frozen=True)
class LineClearanceSpec:
    """A line clearance release (211.130(e), 211.188(b)(6)): the yes/no field confirming the line is clear; the
    step cannot be signed unless it says yes."""

    clear: str


@dataclass(frozen=True)
class FormDefinition:
    """A step's form, versioned inside the procedure bundle."""

    id: str
    title: str
    fields: tuple[FieldDefinition, ...]
    yield_spec: YieldSpec | None = None
    reconciliation: tuple[ReconciliationLine, ...] = ()
    dispense: DispenseSpec | None = None
    sample: SampleSpec | None = None
    device_release: DeviceReleaseSpec | None = None
    labelling: LabellingSpec | None = None
    line_clearance: LineClearanceSpec | None = None

    def field(self, field_id: str) -> FieldDefinition | None:
        """The field with this id, if any."""
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(frozen=True)
class TagDefinition:
    """A device tag in an equipment class's register map."""

    id: str
    register: int
    type: str
    word_order: str = "big"
    scale: str = "1"
    unit: str = ""
    minimum: str | None = None  # the instrument's physical range: a reading outside it is a fault (DEV-02)
    maximum: str | None = None
    register_type: str = "holding"  # holding or input registers
    byte_order: str = "big"  # byte order inside each 16-bit register
    offset: str = "0"  # engineering value = raw x scale + offset


@dataclass(frozen=True)
class EquipmentClass:
    """An equipment class and its tag map, pinned by the bundle (instances are master data)."""

    id: str
    description: str
    tags: tuple[TagDefinition, ...]
    stable_tag: str = ""  # a tag that reads 1 when the reading is stable (a balance at rest); 0 refuses the capture
    age_tag: str = ""  # a tag holding the seconds since the instrument last refreshed its value
    max_age_s: int | None = None  # a reading older than this is stale (DEV-02)

    def tag(self, tag_id: str) -> TagDefinition | None:
        """The tag with this id, if any."""
        return next((t for t in self.tags if t.id == tag_id), None)


@dataclass(frozen=True)
class StepDefinition:
    """A user task of the procedure as the eBR sees it."""

    id: str
    name: str
    process_id: str
    form_id: str
    performer_roles: frozenset[str] = field(default_factory=frozenset)
    verifier_roles: frozenset[str] = field(default_factory=frozenset)
    equipment_class: str = ""
    critical: bool = False
    hold_min: str = ""
    hold_max: str = ""
    instructions: str = ""
    training: str = ""  # a course the performer and verifier must be currently trained on (ACC-09)
    registered_terminal: bool = False  # only from a registered terminal, e.g. the kiosk at the unit (DEV-05)
