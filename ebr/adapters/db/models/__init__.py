"""Table rows; class names end in Row so they never pass for domain objects."""

from ebr.adapters.db.models.accounts import ApiClientRow, LoginAttemptRow, SessionRow, UserRow
from ebr.adapters.db.models.audit import AuditEntryRow, AuditHeadRow
from ebr.adapters.db.models.batches import BatchEngineStateRow, BatchRow, StepRecordRow
from ebr.adapters.db.models.documents import BatchDocumentRow
from ebr.adapters.db.models.equipment import (
    DispensingRow,
    EquipmentLogRow,
    EquipmentRow,
    EquipmentUseRow,
    IdentityCheckRow,
)
from ebr.adapters.db.models.erp import InboundMessageRow, OrderComponentRow, OutboxAttemptRow, OutboxMessageRow
from ebr.adapters.db.models.execution import (
    BatchActionRow,
    BatchYieldRow,
    DeviationRow,
    IncidentRow,
    MaterialReconciliationRow,
    StepValueRow,
    TerminalRow,
    TrainingRecordRow,
)
from ebr.adapters.db.models.masterdata import ContainerRow, MaterialLotRow, MaterialRow, ProductionOrderRow
from ebr.adapters.db.models.paper_forms import PaperFormRow
from ebr.adapters.db.models.procedures import BundleFileRow, ProcedureVersionRow, ProductProcedureRow
from ebr.adapters.db.models.review import BatchAddendumRow, BatchDecisionRow, ReviewMarkRow, TrailReviewRow
from ebr.adapters.db.models.samples import BatchSampleRow, StepAttachmentRow
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
    "BatchActionRow",
    "BatchAddendumRow",
    "BatchDecisionRow",
    "BatchDocumentRow",
    "BatchEngineStateRow",
    "BatchRow",
    "BatchSampleRow",
    "BatchYieldRow",
    "BundleFileRow",
    "ChallengeRow",
    "ContainerRow",
    "DeviationRow",
    "DispensingRow",
    "EquipmentLogRow",
    "EquipmentRow",
    "EquipmentUseRow",
    "GmpSettingRow",
    "IdentityCheckRow",
    "InboundMessageRow",
    "IncidentRow",
    "LoginAttemptRow",
    "MaterialLotRow",
    "MaterialReconciliationRow",
    "MaterialRow",
    "OrderComponentRow",
    "OutboxAttemptRow",
    "OutboxMessageRow",
    "PaperFormRow",
    "PolicyRow",
    "ProcedureVersionRow",
    "ProductProcedureRow",
    "ProductionOrderRow",
    "RateLimitRow",
    "ReviewMarkRow",
    "SessionRow",
    "SettingChangeRow",
    "SignatureRow",
    "SigningKeyRow",
    "StepAttachmentRow",
    "StepRecordRow",
    "StepValueRow",
    "SystemStateRow",
    "TerminalRow",
    "TrailReviewRow",
    "TrainingRecordRow",
    "UserRow",
]
