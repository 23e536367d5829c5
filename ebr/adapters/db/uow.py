"""SqlAlchemyUnitOfWork: rolls back unless committed; writes the audit chain inside the same commit."""

from __future__ import annotations

import json
from types import TracebackType

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from ebr.adapters.db import audit_guard
from ebr.adapters.db.batch_repositories import SqlBatchRepository
from ebr.adapters.db.document_repositories import SqlDocumentRepository
from ebr.adapters.db.equipment_repositories import (
    SqlDispensingRepository,
    SqlEquipmentRepository,
    SqlEquipmentUseRepository,
    SqlIdentityCheckRepository,
    SqlLogbookRepository,
)
from ebr.adapters.db.execution_repositories import (
    SqlBatchActionRepository,
    SqlDeviationRepository,
    SqlStepValueRepository,
    SqlYieldRepository,
)
from ebr.adapters.db.inbound_repositories import SqlInboundMessageRepository
from ebr.adapters.db.masterdata_repositories import (
    SqlContainerRepository,
    SqlMaterialLotRepository,
    SqlMaterialRepository,
    SqlProductionOrderRepository,
)
from ebr.adapters.db.models import AlertRow, AuditEntryRow, AuditHeadRow
from ebr.adapters.db.operations_repositories import (
    SqlIncidentRepository,
    SqlTerminalRepository,
    SqlTrainingRepository,
)
from ebr.adapters.db.outbox_repositories import SqlOutboxRepository
from ebr.adapters.db.paper_form_repositories import SqlPaperFormRepository
from ebr.adapters.db.procedure_repositories import SqlProcedureRepository
from ebr.adapters.db.repositories import (
    SqlAlertRepository,
    SqlApiClientRepository,
    SqlAuditLog,
    SqlLoginAttemptRepository,
    SqlSessionRepository,
    SqlSettingsRepository,
    SqlUserRepository,
)
from ebr.adapters.db.review_repositories import SqlDecisionRepository, SqlReviewRepository
from ebr.adapters.db.sample_repositories import SqlAttachmentRepository, SqlSampleRepository
from ebr.adapters.db.signing_repositories import (
    SqlAcknowledgementRepository,
    SqlBadgeRepository,
    SqlChallengeRepository,
    SqlPolicyRepository,
    SqlSettingChangeRepository,
    SqlSignatureRepository,
    SqlSigningKeyRepository,
)
from ebr.adapters.db.system_repositories import SqlSystemStateRepository
from ebr.app.context import AuditContext
from ebr.app.ports import Sealer
from ebr.domain.audit import EntryDraft, content_digest, entry_hash, is_clock_anomaly, seal_message


class SqlAlchemyUnitOfWork:
    """One transaction; `commit()` flushes the changes, appends their audit entries to the chain and commits."""

    def __init__(self, factory: sessionmaker[Session], sealer: Sealer, context: AuditContext) -> None:
        self._factory = factory
        self._sealer = sealer
        self._context = context

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self._factory()
        self.session.info.update({audit_guard.CONTEXT_KEY: self._context, audit_guard.DRAFTS_KEY: []})
        s = self.session
        self.users = SqlUserRepository(s)
        self.sessions = SqlSessionRepository(s)
        self.login_attempts = SqlLoginAttemptRepository(s)
        self.settings = SqlSettingsRepository(s)
        self.alerts = SqlAlertRepository(s)
        self.api_clients = SqlApiClientRepository(s)
        self.system = SqlSystemStateRepository(s)
        self.audit = SqlAuditLog(s, self._context)
        self.signing_keys = SqlSigningKeyRepository(s)
        self.signatures = SqlSignatureRepository(s)
        self.challenges = SqlChallengeRepository(s)
        self.policies = SqlPolicyRepository(s)
        self.acknowledgements = SqlAcknowledgementRepository(s)
        self.setting_changes = SqlSettingChangeRepository(s)
        self.badges = SqlBadgeRepository(s)
        self.procedures = SqlProcedureRepository(s)
        self.materials = SqlMaterialRepository(s)
        self.lots = SqlMaterialLotRepository(s)
        self.containers = SqlContainerRepository(s)
        self.orders = SqlProductionOrderRepository(s)
        self.batches = SqlBatchRepository(s)
        self.step_values = SqlStepValueRepository(s)
        self.deviations = SqlDeviationRepository(s)
        self.batch_actions = SqlBatchActionRepository(s)
        self.yields = SqlYieldRepository(s)
        self.incidents = SqlIncidentRepository(s)
        self.training = SqlTrainingRepository(s)
        self.terminals = SqlTerminalRepository(s)
        self.equipment = SqlEquipmentRepository(s)
        self.logbook = SqlLogbookRepository(s)
        self.equipment_uses = SqlEquipmentUseRepository(s)
        self.identity_checks = SqlIdentityCheckRepository(s)
        self._step_evidence(s)
        self.reviews = SqlReviewRepository(s)
        self.decisions = SqlDecisionRepository(s)
        self.documents = SqlDocumentRepository(s)
        self._erp_boundary(s)
        return self

    def _step_evidence(self, s: Session) -> None:
        """What steps leave behind beside their values: dispensed material, samples and attached files."""
        self.dispensings = SqlDispensingRepository(s)
        self.samples = SqlSampleRepository(s)
        self.attachments = SqlAttachmentRepository(s)
        self.paper_forms = SqlPaperFormRepository(s)

    def _erp_boundary(self, s: Session) -> None:
        """The ERP boundary: postings going out, messages coming in."""
        self.outbox = SqlOutboxRepository(s)
        self.inbound = SqlInboundMessageRepository(s)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.rollback()
        self.session.close()

    def flush(self) -> None:
        """Send pending changes (and derive their audit drafts) without committing."""
        self.session.flush()

    def chain(self) -> None:
        """Flush and chain the audit entries so far; they commit or roll back with the rest of the transaction."""
        self.session.flush()  # turns row changes into drafts (audit_guard) before the chain is written
        drafts: list[EntryDraft] = self.session.info[audit_guard.DRAFTS_KEY]
        if drafts:
            self._append_chain(drafts)
            self.session.info[audit_guard.DRAFTS_KEY] = []

    def commit(self) -> None:
        """Flush, chain the audit entries of this transaction, commit: all or nothing."""
        self.chain()
        self.session.commit()

    def _append_chain(self, drafts: list[EntryDraft]) -> None:
        # FOR UPDATE serialises appenders on PostgreSQL; SQLite's BEGIN IMMEDIATE already does.
        head = self.session.scalars(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).one()
        seq, prev_hash, prev_at = head.seq, head.hash, head.at
        for draft in drafts:
            seq += 1
            anomaly = is_clock_anomaly(prev_at, draft.at)
            digest = content_digest(seq, draft, anomaly)
            own = entry_hash(seq, draft, anomaly, prev_hash)
            self.session.add(_row(seq, draft, anomaly, prev_hash, own, self._sealer.sign(seal_message(seq, digest))))
            if anomaly:
                self.session.add(
                    AlertRow(
                        kind="clock",
                        at=draft.at,
                        message=(
                            f"Clock went backwards: audit entry {seq} at {draft.at.isoformat()} is earlier than "
                            f"the previous entry at {prev_at.isoformat() if prev_at else '-'}."
                        ),
                    )
                )
            prev_hash, prev_at = own, max(draft.at, prev_at) if prev_at else draft.at
        head.seq, head.hash, head.at = seq, prev_hash, prev_at
        self.session.flush()  # the trail rows must reach the database inside this transaction


def _row(seq: int, d: EntryDraft, anomaly: bool, prev_hash: str, own: str, seal: str) -> AuditEntryRow:
    return AuditEntryRow(
        seq=seq,
        at=d.at,
        user_id=d.user_id,
        username=d.username,
        user_name=d.user_name,
        action=str(d.action),
        object_type=d.object_type,
        object_id=d.object_id,
        field=d.field,
        old_value=d.old_value,
        new_value=d.new_value,
        reason=d.reason,
        context=json.dumps(d.context, sort_keys=True),
        batch=d.context.get("batch", ""),
        clock_anomaly=anomaly,
        prev_hash=prev_hash,
        hash=own,
        seal=seal,
    )


def _keep(session: Session, instance: object) -> None:
    """Hold the row for the life of its unit of work (a unit of work is one short transaction)."""
    session.info.setdefault("rows", []).append(instance)


class SqlUnitOfWorkFactory:
    """Opens units of work on one engine; bootstrap builds it."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        # The ORM's identity map holds rows weakly: repositories hand out plain values, so without a strong
        # reference every second read of the same row in one unit of work went to the database again.
        event.listen(self._factory, "loaded_as_persistent", _keep)
        event.listen(self._factory, "pending_to_persistent", _keep)
        audit_guard.install()
        self._sealer = sealer

    def __call__(self, context: AuditContext) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._factory, self._sealer, context)
