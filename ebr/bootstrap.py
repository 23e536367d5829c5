"""Composition root: Settings -> concrete adapters -> Services. The only place that names adapter classes."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import ebr
from ebr.adapters.alerts.sinks import LogAlertSink, WebhookAlertSink
from ebr.adapters.batchml.export import BatchMLExporter
from ebr.adapters.batchml.inbound import B2mmlInbound
from ebr.adapters.batchml.performance import (
    parse_performance,
    performance_json,
    performance_xml,
    validate_performance,
)
from ebr.adapters.db import ratelimit
from ebr.adapters.db.engine import database_now, make_engine
from ebr.adapters.db.migrate import current_revision, upgrade
from ebr.adapters.db.uow import SqlUnitOfWorkFactory
from ebr.adapters.erp.http import ErpTimeouts, HttpErpTransport
from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.notify.notifiers import EmailNotifier, LogNotifier, WebhookNotifier
from ebr.adapters.passwords.argon2 import Argon2Hasher
from ebr.adapters.pdf.batch_record import ADDENDUM_TEMPLATE, BatchRecordRenderer
from ebr.adapters.pdf.render import PdfRenderer
from ebr.adapters.pki.keys import PRODUCTION_KDF, TEST_KDF, SitePki
from ebr.adapters.pki.pades import PadesSigner
from ebr.adapters.sealing.ed25519 import Ed25519Sealer, FileCheckpointStore
from ebr.app.accounts import AccountService
from ebr.app.addendum_pdf import AddendumPdf
from ebr.app.alerts import AlertService
from ebr.app.attachments import AttachmentService
from ebr.app.auth import AuthService
from ebr.app.batch_actions import BatchActionSignable
from ebr.app.batches import BatchService
from ebr.app.capture import CaptureService
from ebr.app.clients import ApiClientService
from ebr.app.dispatch import Dispatcher, DispatchSettings
from ebr.app.documents import CandidateMatchesRecord, DocumentService, SignatureCheck
from ebr.app.equipment import EquipmentService
from ebr.app.equipment_logbook import LogbookSignable
from ebr.app.erp_postings import ErpPostings
from ebr.app.execution import ExecutionService
from ebr.app.execution_context import ProcedureCache
from ebr.app.inbound import InboundService
from ebr.app.incidents import IncidentService
from ebr.app.masterdata import MasterDataService
from ebr.app.orders import OrderService
from ebr.app.outbox import FunctionEncoder, OutboxService, ReplaySignable
from ebr.app.paper_forms import PaperFormService
from ebr.app.policy import PolicyService, PolicySignable
from ebr.app.ports import AlertSink, Clock, DeviceReader, Notifier, PostingEncoder
from ebr.app.ports.review import ReleaseCandidateCheck, ReleasePdf
from ebr.app.procedures import ProcedureService, ProcedureSignable
from ebr.app.record import RecordService
from ebr.app.release import AddendumSignable, ReleaseService, ReleaseSignable
from ebr.app.release_pdf import CandidatePdf
from ebr.app.review import ReviewService, TrailReviewSignable
from ebr.app.sampling import SampleService
from ebr.app.services import Services
from ebr.app.sessions import SessionService
from ebr.app.settings import SettingChangeSignable, SettingsService
from ebr.app.signing import Signable, SigningService
from ebr.app.step_completion import StepSignable
from ebr.app.system import SystemService, Version
from ebr.app.terminals import TerminalService
from ebr.app.trail import TrailService
from ebr.app.training import TrainingService
from ebr.config import ConfigError, Settings
from ebr.domain.erp import MaterialLine
from ebr.engine.execution import Execution
from ebr.engine.runtime import SpiffRuntime
from ebr.library import signature_policy
from ebr.library.loader import FolderLibrary


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """What an entry point receives: services plus the few infrastructure handles it must pass on."""

    settings: Settings
    services: Services
    engine: Engine
    limiter_storage_uri: str
    limiter_storage_options: dict[str, Any]

    def database_now(self) -> datetime:
        """The database clock, for the skew check."""
        value = database_now(self.engine)
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def build_commit(settings: Settings) -> str:
    """The build commit: from the environment, else from the checkout the package runs from."""
    if settings.build_commit:
        return settings.build_commit
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607  # git from PATH, as the operator installed it
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def migrate(settings: Settings) -> None:
    """`ebr db upgrade`: run the migrations as the schema owner."""
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    owner = make_engine(settings.migration_db_url)
    try:
        upgrade(owner, settings.app_db_role)
    finally:
        owner.dispose()


def notifier_for(settings: Settings) -> Notifier:
    """The incident notifier the deployment configures: webhook, e-mail, or the log."""
    if settings.notify_webhook_url:
        return WebhookNotifier(settings.notify_webhook_url)
    if settings.notify_smtp_host:
        return EmailNotifier(
            settings.notify_smtp_host, settings.notify_smtp_port, settings.notify_smtp_from, settings.notify_smtp_to
        )
    return LogNotifier()


def _signables(
    clock: Clock,
    library: FolderLibrary,
    runtime: SpiffRuntime,
    procedures: ProcedureCache,
    execution: Execution,
    pdfs: SignedPdfs,
    postings: ErpPostings,
) -> dict[str, Signable]:
    """Every object type the one signature service can sign, with the act its signature performs."""
    return {
        "setting_change": SettingChangeSignable(clock),
        "signature_policy": PolicySignable(),
        "procedure_version": ProcedureSignable(library, runtime),
        "batch_step": StepSignable(procedures, execution, postings),
        "batch_action": BatchActionSignable(procedures, execution, postings),
        "equipment_log": LogbookSignable(),
        "batch_review": TrailReviewSignable(procedures),
        "batch_release": ReleaseSignable(procedures, pdfs.release_check, pdfs.release, postings),
        "batch_addendum": AddendumSignable(pdfs.addendum),
        "erp_replay": ReplaySignable(),
    }


@dataclass(frozen=True)
class SignedPdfs:
    """The PDFs signed inside a request: the release candidate (and its check) and an addendum's revision."""

    release_check: ReleaseCandidateCheck
    release: ReleasePdf | None
    addendum: AddendumPdf | None


def _signed_pdfs(
    settings: Settings,
    uow: SqlUnitOfWorkFactory,
    records: RecordService,
    procedures: ProcedureCache,
    keys: SitePki,
    version: str,
    release_check: ReleaseCandidateCheck | None,
) -> SignedPdfs:
    """A given release check (tests of review logic) replaces the PDF pipeline of release and addenda."""
    candidate = CandidatePdf(uow, CandidateMatchesRecord(procedures), PadesSigner(keys), settings.tsa_url)
    if release_check is not None:
        return SignedPdfs(release_check, None, None)
    # The addendum shares the batch record's folder, style sheet and fonts.
    reports = settings.library_dir / "reports" / "batch_record"
    renderer = BatchRecordRenderer(reports, version, ADDENDUM_TEMPLATE)
    addendum = AddendumPdf(uow, records, renderer, PadesSigner(keys), settings.tsa_url)
    return SignedPdfs(candidate, candidate, addendum)


class PerformanceReader:
    """The material lines of a frozen posting, read back with the same B2MML reader the tests trust."""

    def lines(self, xml: bytes) -> tuple[MaterialLine, ...]:
        return parse_performance(xml).lines


def posting_encoder() -> PostingEncoder:
    """ERP postings as B2MML V0700 OperationsPerformance, checked against the MESA schema (ERP-06)."""
    return FunctionEncoder(performance_xml, performance_json, validate_performance)


ERP_BATCH = 20  # postings one dispatcher leases per round


def erp_dispatcher(
    settings: Settings, uow: SqlUnitOfWorkFactory, clock: Clock, alerts: AlertService, incidents: IncidentService
) -> Dispatcher:
    """The dispatcher of ERP postings; without EBR_ERP_URL it has no transport and sends nothing."""
    name = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
    if not settings.erp_url:
        return Dispatcher(uow, None, clock, alerts, incidents, DispatchSettings(name, ERP_BATCH))
    timeouts = ErpTimeouts(connect=settings.erp_connect_timeout_seconds, read=settings.erp_read_timeout_seconds)
    # The lease outlasts sending a whole round at the worst timeouts, so a live dispatcher never loses it.
    lease = timedelta(seconds=ERP_BATCH * timeouts.budget + 60)
    transport = HttpErpTransport(settings.erp_url, timeouts)
    dispatch = DispatchSettings(name, ERP_BATCH, lease, settings.erp_concurrency)
    return Dispatcher(uow, transport, clock, alerts, incidents, dispatch)


def equipment_classes(library_dir: Path) -> Callable[[], frozenset[str]]:
    """The ids of the library's equipment classes (equipment/classes/<id>.toml), read afresh on every call."""

    def classes() -> frozenset[str]:
        return frozenset(path.stem for path in (library_dir / "equipment" / "classes").glob("*.toml"))

    return classes


@dataclass(frozen=True)
class _Core:
    """The adapters and caches every service shares."""

    clock: Clock
    uow: SqlUnitOfWorkFactory
    sealer: Ed25519Sealer
    hasher: Argon2Hasher
    alerts: AlertService
    version: Version
    keys: SitePki
    library: FolderLibrary
    runtime: SpiffRuntime
    execution: Execution
    procedures: ProcedureCache


def _core(settings: Settings, engine: Engine, clock: Clock, alert_sink: AlertSink | None) -> _Core:
    sealer = Ed25519Sealer(settings.instance_path / "audit-seal.key")
    uow = SqlUnitOfWorkFactory(engine, sealer)
    sink = alert_sink or (
        WebhookAlertSink(settings.alert_webhook_url) if settings.alert_webhook_url else LogAlertSink()
    )
    library, runtime = FolderLibrary(settings.library_dir), SpiffRuntime()
    return _Core(
        clock,
        uow,
        sealer,
        Argon2Hasher(fast_for_tests=settings.fast_password_hashing),
        AlertService(uow, clock, sink),
        Version(ebr.__version__, build_commit(settings)),
        SitePki(settings.instance_path, TEST_KDF if settings.fast_password_hashing else PRODUCTION_KDF),
        library,
        runtime,
        Execution(),
        ProcedureCache(library, runtime),
    )


def build(
    settings: Settings,
    clock: Clock | None = None,
    alert_sink: AlertSink | None = None,
    notifier: Notifier | None = None,
    reader: DeviceReader | None = None,
    release_check: ReleaseCandidateCheck | None = None,
) -> Runtime:
    """Wire every adapter for these settings; nothing happens at import time.

    release_check replaces the release-candidate check (and the releaser's PDF signature) in tests of review alone."""
    settings.check()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    if current_revision(engine) is None:
        engine.dispose()
        raise ConfigError("The database has no schema: run `ebr db upgrade` first.")
    core = _core(settings, engine, clock or SystemClock(), alert_sink)
    incidents = IncidentService(core.uow, core.clock, notifier or notifier_for(settings))
    services = _services(settings, core, incidents, reader or ModbusReader(core.clock.now), release_check)
    return Runtime(settings, services, engine, f"{ratelimit.SCHEME}://", {"engine": engine})


def _services(
    settings: Settings,
    core: _Core,
    incidents: IncidentService,
    reader: DeviceReader,
    release_check: ReleaseCandidateCheck | None,
) -> Services:
    uow, clock, hasher, alerts, keys, procedures = (
        core.uow,
        core.clock,
        core.hasher,
        core.alerts,
        core.keys,
        core.procedures,
    )
    version, library, runtime, execution = str(core.version), core.library, core.runtime, core.execution
    exporter = BatchMLExporter()
    records = RecordService(uow, clock, procedures, version, exporter)
    renderer = BatchRecordRenderer(settings.library_dir / "reports" / "batch_record", version)
    pdfs = _signed_pdfs(settings, uow, records, procedures, keys, version, release_check)
    postings = ErpPostings(procedures, posting_encoder(), PerformanceReader(), settings.site_id)
    signables = _signables(clock, library, runtime, procedures, execution, pdfs, postings)
    checkpoints = FileCheckpointStore(settings.instance_path / "audit-checkpoints.jsonl")
    return Services(
        clock=clock,
        uow=uow,
        hasher=hasher,
        accounts=AccountService(uow, clock, hasher, alerts, keys),
        auth=AuthService(uow, clock, hasher, alerts, keys),
        sessions=SessionService(uow, clock),
        settings=SettingsService(uow, clock),
        trail=TrailService(uow, clock, core.sealer, checkpoints, PdfRenderer(version).audit_trail),
        alerts=alerts,
        system=SystemService(uow, clock, core.version),
        api_clients=ApiClientService(uow, clock),
        signing=SigningService(uow, clock, hasher, keys, alerts, signables),
        policy=PolicyService(uow, clock, signature_policy.reader(settings.library_dir)),
        procedures=ProcedureService(uow, clock, library, runtime),
        masterdata=MasterDataService(uow, clock),
        orders=OrderService(uow, clock),
        batches=BatchService(uow, clock, execution, runtime, version, recipes=procedures),
        execution=ExecutionService(uow, clock, procedures),
        capture=CaptureService(uow, clock, procedures, reader),
        incidents=incidents,
        training=TrainingService(uow, clock),
        terminals=TerminalService(uow, clock),
        equipment=EquipmentService(uow, clock, equipment_classes(settings.library_dir)),
        review=ReviewService(uow, clock, procedures, pdfs.release_check),
        release=ReleaseService(uow, clock, procedures, pdfs.release_check),
        records=records,
        documents=DocumentService(uow, clock, records, renderer, exporter),
        inbound=InboundService(uow, clock, B2mmlInbound()),
        outbox=OutboxService(uow, clock, posting_encoder()),
        dispatcher=erp_dispatcher(settings, uow, clock, alerts, incidents),
        samples=SampleService(uow, clock, procedures),
        attachments=AttachmentService(uow, clock, procedures),
        paper_forms=PaperFormService(uow, clock, procedures, settings.site_id),
    )


def pdf_signature_check(settings: Settings) -> SignatureCheck:
    """A signed PDF passes when each signature validates against the site CA and nothing changed after it (PDF-03)."""
    from ebr.adapters.pki.pdf_validation import validate_pdf

    roots = [SitePki(settings.instance_path).ca_certificate_pem()]

    def check(stored: object, pdf: bytes) -> list[str]:
        try:
            found = validate_pdf(pdf, roots)
        except Exception as exc:  # a broken file is a finding of the verify run, not its end
            return [f"not a readable signed PDF: {exc}"]
        if not found:
            return ["no embedded signature"]
        return [v.summary for v in found if not v.bottom_line or v.modified_after_signing]

    return check
