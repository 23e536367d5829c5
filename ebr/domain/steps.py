"""What a procedure asks for at each step: forms, fields, limits, bindings and roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from ebr.domain.limits import Limit

FIELD_TYPES = frozenset(
    {"number", "quantity", "text", "choice", "boolean", "datetime", "barcode", "reading", "calculated"}
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


@dataclass(frozen=True)
class FormDefinition:
    """A step's form, versioned inside the procedure bundle."""

    id: str
    title: str
    fields: tuple[FieldDefinition, ...]

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
    minimum: str | None = None
    maximum: str | None = None


@dataclass(frozen=True)
class EquipmentClass:
    """An equipment class and its tag map, pinned by the bundle (instances are master data)."""

    id: str
    description: str
    tags: tuple[TagDefinition, ...]


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
