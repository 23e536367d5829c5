"""The façade the entry points receive; bootstrap builds it."""

from __future__ import annotations

from dataclasses import dataclass

from ebr.app.accounts import AccountService
from ebr.app.alerts import AlertService
from ebr.app.attachments import AttachmentService
from ebr.app.auth import AuthService
from ebr.app.batches import BatchService
from ebr.app.capture import CaptureService
from ebr.app.clients import ApiClientService
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.dispatch import Dispatcher
from ebr.app.documents import DocumentService
from ebr.app.equipment import EquipmentService
from ebr.app.execution import ExecutionService
from ebr.app.inbound import InboundService
from ebr.app.incidents import IncidentService
from ebr.app.masterdata import MasterDataService
from ebr.app.orders import OrderService
from ebr.app.outbox import OutboxService
from ebr.app.paper_forms import PaperFormService
from ebr.app.policy import PolicyService
from ebr.app.ports import Clock, PasswordHasher, UnitOfWorkFactory
from ebr.app.procedures import ProcedureService
from ebr.app.record import RecordService
from ebr.app.release import ReleaseService
from ebr.app.review import ReviewService
from ebr.app.sampling import SampleService
from ebr.app.sessions import SessionService
from ebr.app.settings import SettingsService
from ebr.app.signing import SigningService
from ebr.app.system import SystemService
from ebr.app.terminals import TerminalService
from ebr.app.trail import TrailService
from ebr.app.training import TrainingService
from ebr.domain.audit import Action


@dataclass(frozen=True)
class Services:
    """Every use case, grouped by feature."""

    clock: Clock
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    accounts: AccountService
    auth: AuthService
    sessions: SessionService
    settings: SettingsService
    trail: TrailService
    alerts: AlertService
    system: SystemService
    api_clients: ApiClientService
    signing: SigningService
    policy: PolicyService
    procedures: ProcedureService
    masterdata: MasterDataService
    orders: OrderService
    batches: BatchService
    execution: ExecutionService
    capture: CaptureService
    incidents: IncidentService
    training: TrainingService
    terminals: TerminalService
    equipment: EquipmentService
    review: ReviewService
    release: ReleaseService
    records: RecordService
    documents: DocumentService
    inbound: InboundService
    outbox: OutboxService
    dispatcher: Dispatcher
    samples: SampleService
    attachments: AttachmentService
    paper_forms: PaperFormService

    def record_denial(self, actor: Actor, what: str, request: RequestInfo) -> None:
        """A refused action is itself a security event (AUD-10)."""
        with self.uow(AuditContext(actor, self.clock.now(), request=request)) as uow:
            uow.audit.append(Action.PERMISSION_DENIED, "endpoint", what)
            uow.commit()
