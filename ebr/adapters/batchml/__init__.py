"""ISA-95 / ISA-88 XML at the plant's boundaries, validated against the packaged MESA schemas (V0700).

BatchML export of the canonical batch record (export.py); the ERP's B2MML messages: the OperationsPerformance
posting the eBR sends (performance.py), the orders (schedule.py) and material master data (material.py) it receives,
all read through one hardened parser with a size cap (safe.py).
"""

from ebr.adapters.batchml.material import parse_material_master
from ebr.adapters.batchml.performance import (
    ParsedPerformance,
    parse_performance,
    performance_json,
    performance_xml,
    validate_performance,
)
from ebr.adapters.batchml.safe import MAX_XML_BYTES, B2mmlInvalid
from ebr.adapters.batchml.schedule import parse_orders

__all__ = [
    "MAX_XML_BYTES",
    "B2mmlInvalid",
    "ParsedPerformance",
    "parse_material_master",
    "parse_orders",
    "parse_performance",
    "performance_json",
    "performance_xml",
    "validate_performance",
]
