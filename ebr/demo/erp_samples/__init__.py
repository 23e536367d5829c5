"""Sample ERP messages for the demo and the tests: an order as B2MML and as JSON, and a material master with lots.

The order (PO-1003: 60 kg of PARA-500 as batch B-PARA-0002 with a five-line BOM) and the materials match the demo
plant's master data, so the demo can post them to its own inbound API.
"""

from __future__ import annotations

from importlib import resources

ORDER_XML = "order.xml"
ORDER_JSON = "order.json"
MATERIAL_MASTER_XML = "material_master.xml"
SAMPLES = (ORDER_XML, ORDER_JSON, MATERIAL_MASTER_XML)


def load(name: str) -> bytes:
    """The bytes of one sample message, by file name."""
    if name not in SAMPLES:
        raise ValueError(f"No ERP sample named {name!r}: one of {', '.join(SAMPLES)}.")
    return resources.files(__name__).joinpath(name).read_bytes()
