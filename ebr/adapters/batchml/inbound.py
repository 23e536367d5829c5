"""The application's B2mmlReader: inbound orders and master data read by this package's hardened parsers.

What the parser will not read at all (too large, not well-formed, a DTD or entity, a root element of another
message) is malformed; what it reads but the schema or a domain rule refuses is invalid. The inbound API answers the
first with 400 and the second with 422.
"""

from __future__ import annotations

from collections.abc import Iterable

from ebr.adapters.batchml import material, schedule
from ebr.adapters.batchml.safe import B2mmlInvalid, parse_untrusted
from ebr.app.ports.inbound import MalformedMessage
from ebr.domain.erp import InboundOrder
from ebr.domain.materials import Material, MaterialLot


class B2mmlInbound:
    """Reads SyncOperationsSchedule orders and material master messages (B2MML V0700)."""

    def orders(self, xml: bytes) -> tuple[str | None, tuple[InboundOrder, ...]]:
        """The BODID and the production orders of an OperationsSchedule."""
        _readable(xml, schedule.ROOTS)
        return schedule.parse_orders(xml)

    def master_data(self, xml: bytes) -> tuple[str | None, tuple[Material, ...], tuple[MaterialLot, ...]]:
        """The BODID, materials and lots of a material master message."""
        _readable(xml, material.ROOTS)
        return material.parse_material_master(xml)


def _readable(xml: bytes, roots: Iterable[str]) -> None:
    """Refuse, as malformed, XML the hardened parser will not read as this kind of message."""
    try:
        parse_untrusted(xml, roots)
    except B2mmlInvalid as refused:
        raise MalformedMessage(str(refused)) from None
