"""Table rows; class names end in Row so they never pass for domain objects."""

from ebr.adapters.db.models.accounts import ApiClientRow, LoginAttemptRow, SessionRow, UserRow
from ebr.adapters.db.models.audit import AuditEntryRow, AuditHeadRow
from ebr.adapters.db.models.batches import BatchEngineStateRow, BatchRow, StepRecordRow
from ebr.adapters.db.models.masterdata import ContainerRow, MaterialLotRow, MaterialRow, ProductionOrderRow
from ebr.adapters.db.models.procedures import BundleFileRow, ProcedureVersionRow, ProductProcedureRow
from ebr.adapters.db.models.signing import (
    AcknowledgementRow,
    BadgeRow,
    ChallengeRow,
    PolicyRow,
    SettingChangeRow,
    SignatureRow,
    SigningKeyRow,
)
from ebr.adapters.db.models.system import AlertRow, GmpSettingRow, RateLimitRow, SystemStateRow

__all__ = [
    "AcknowledgementRow",
    "AlertRow",
    "ApiClientRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "BadgeRow",
    "BatchEngineStateRow",
    "BatchRow",
    "BundleFileRow",
    "ChallengeRow",
    "ContainerRow",
    "GmpSettingRow",
    "LoginAttemptRow",
    "MaterialLotRow",
    "MaterialRow",
    "PolicyRow",
    "ProcedureVersionRow",
    "ProductProcedureRow",
    "ProductionOrderRow",
    "RateLimitRow",
    "SessionRow",
    "SettingChangeRow",
    "SignatureRow",
    "SigningKeyRow",
    "StepRecordRow",
    "SystemStateRow",
    "UserRow",
]
