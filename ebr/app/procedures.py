"""The procedure library's use cases: import, lint, submit and approve with signatures, make effective,
retire, compare, dry run (VAL-08, VAL-10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.policy import effective_policy
from ebr.app.ports import (
    Clock,
    DryRunResult,
    LintProblem,
    ProcedureLibrary,
    ProcedureRuntime,
    StoredSignature,
    StoredVersion,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.procedure import IMMUTABLE, Change, ProcedureBundle, VersionStatus, check_transition, compare
from ebr.domain.signatures import SitePolicy
from ebr.domain.steps import FormDefinition, StepDefinition


@dataclass(frozen=True)
class VersionView:
    """A version with what the screens show: steps, forms and lint problems."""

    version: StoredVersion
    steps: Mapping[str, StepDefinition]
    forms: Mapping[str, FormDefinition]
    problems: list[LintProblem]
    files: tuple[str, ...]


class ProcedureService:
    """Use cases of process engineers (author) and QA (approve)."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, library: ProcedureLibrary, runtime: ProcedureRuntime
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._library = library
        self._runtime = runtime

    def _ctx(self, actor: Actor, reason: str = "", request: RequestInfo | None = None) -> AuditContext:
        return AuditContext(actor, self._clock.now(), reason, request or RequestInfo())

    def library_ids(self) -> list[str]:
        """Procedures present in the controlled library folders."""
        return self._library.procedure_ids()

    def import_from_library(self, actor: Actor, procedure_id: str, request: RequestInfo | None = None) -> StoredVersion:
        """Freeze the library's current files into a new draft version."""
        return self._store(actor, self._library.bundle(procedure_id), "imported from the library", request)

    def import_upload(
        self, actor: Actor, filename: str, content: bytes, request: RequestInfo | None = None
    ) -> StoredVersion:
        """A .bpmn saved by a modeler, bundled with the library's forms and equipment classes."""
        return self._store(actor, self._library.bundle_from_upload(filename, content), f"uploaded {filename}", request)

    def _refuse_problems(self, actor: Actor, bundle: ProcedureBundle) -> None:
        """Authority first, then every lint problem named; nothing is stored when there is one."""
        with self._uow(self._ctx(Actor.system())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_AUTHOR)
            site = effective_policy(uow) if uow.policies.effective() else None
        problems = self.lint(bundle, site)  # parsing is CPU work: outside the transaction
        if problems:
            more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise InvalidInput(
                f"{bundle.procedure_id} cannot be imported: " + "; ".join(str(p) for p in problems[:20]) + more
            )

    def _store(self, actor: Actor, bundle: ProcedureBundle, reason: str, request: RequestInfo | None) -> StoredVersion:
        self._refuse_problems(actor, bundle)
        with self._uow(self._ctx(actor, reason, request)) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_AUTHOR)
            same = uow.procedures.by_hash(bundle.procedure_id, bundle.content_hash)
            if same is not None:
                return same  # identical content is the same version: no duplicate
            stored = uow.procedures.add(bundle, actor.user_id, self._clock.now())
            uow.commit()
        return stored

    def versions(self, procedure_id: str | None = None) -> list[StoredVersion]:
        """Every stored version."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return uow.procedures.versions(procedure_id)

    def view(self, version_id: int) -> VersionView:
        """A version with its steps, forms and lint problems."""
        with self._uow(self._ctx(Actor.system())) as uow:
            version = uow.procedures.get(version_id)
            bundle = uow.procedures.bundle(version_id)
            policy = uow.policies.effective()
            site = effective_policy(uow) if policy else None
        return VersionView(
            version,
            self._runtime.steps(bundle),
            self._library.forms(bundle),
            self.lint(bundle, site),
            tuple(sorted(bundle.files)),
        )

    def bundle(self, version_id: int) -> ProcedureBundle:
        """The frozen bundle of a version."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return uow.procedures.bundle(version_id)

    def lint(self, bundle: ProcedureBundle, policy: SitePolicy | None) -> list[LintProblem]:
        """Every problem with the element and the reason; empty when the version may be submitted."""
        problems = self._library.problems(bundle)
        forms, equipment = self._library.forms(bundle), self._library.equipment(bundle)
        return problems + self._runtime.lint(bundle, forms, equipment, policy)

    def revise(
        self, actor: Actor, version_id: int, filename: str, content: bytes, request: RequestInfo | None = None
    ) -> StoredVersion:
        """Edit a draft: the new content becomes the next draft and the old draft is retired. A version that was
        submitted or approved is immutable: 409 (VAL-08)."""
        bundle = self._library.bundle_from_upload(filename, content)
        self._refuse_problems(actor, bundle)
        with self._uow(self._ctx(actor, f"revised by upload of {filename}", request)) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_AUTHOR)
            version = uow.procedures.get(version_id)
            if VersionStatus(version.status) in IMMUTABLE:
                raise Conflict(
                    f"Version {version.version} of {version.procedure_id} is {version.status}: its "
                    "content is frozen. Import a new version instead."
                )
            if bundle.procedure_id != version.procedure_id:
                raise InvalidInput(f"The upload is process {bundle.procedure_id!r}, not {version.procedure_id!r}.")
            stored = uow.procedures.add(bundle, actor.user_id, self._clock.now())
            uow.procedures.set_status(
                version_id, str(VersionStatus.RETIRED), self._clock.now(), f"replaced by version {stored.version}"
            )
            uow.commit()
        return stored

    def make_effective(
        self,
        actor: Actor,
        version_id: int,
        effective_from: datetime,
        products: list[str],
        reason: str,
        request: RequestInfo | None = None,
    ) -> None:
        """Put an approved version into force for its products; the version it replaces is superseded."""
        why = require_reason(reason)
        with self._uow(self._ctx(actor, why, request)) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_APPROVE)
            version = uow.procedures.get(version_id)
            check_transition(VersionStatus(version.status), VersionStatus.EFFECTIVE)
            if effective_from < version.created_at:
                raise InvalidInput("A version cannot be effective before it was imported.")
            for older in uow.procedures.versions(version.procedure_id):
                if older.status == VersionStatus.EFFECTIVE:
                    uow.procedures.set_status(
                        older.id,
                        str(VersionStatus.SUPERSEDED),
                        self._clock.now(),
                        f"superseded by version {version.version}",
                    )
            uow.procedures.set_status(version_id, str(VersionStatus.EFFECTIVE), self._clock.now(), why, effective_from)
            for product in products:
                code = product.strip()
                if code:
                    uow.procedures.map_product(code, version_id, effective_from)
            uow.commit()

    def return_to_author(self, actor: Actor, version_id: int, reason: str, request: RequestInfo | None = None) -> None:
        """QA sends a version in review back to draft with the reason; the author revises it as a new draft."""
        self._move(actor, version_id, VersionStatus.DRAFT, reason, request)

    def retire(self, actor: Actor, version_id: int, reason: str, request: RequestInfo | None = None) -> None:
        """Withdraw a version; running batches keep it, new ones cannot start on it."""
        self._move(actor, version_id, VersionStatus.RETIRED, reason, request)

    def _move(
        self, actor: Actor, version_id: int, target: VersionStatus, reason: str, request: RequestInfo | None
    ) -> None:
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_APPROVE)
            version = uow.procedures.get(version_id)
            check_transition(VersionStatus(version.status), target)
            uow.procedures.set_status(version_id, str(target), self._clock.now(), reason)
            uow.commit()

    def compare(self, old_id: int, new_id: int) -> list[Change]:
        """Steps, limits, units, bindings and roles added, removed or changed (VAL-10)."""
        old, new = self.bundle(old_id), self.bundle(new_id)
        return compare(
            self._runtime.steps(old), self._library.forms(old), self._runtime.steps(new), self._library.forms(new)
        )

    def dry_run(self, actor: Actor, version_id: int, values: Mapping[str, Mapping[str, object]]) -> DryRunResult:
        """Simulate a version with test values: no batch, no posting, nothing stored but the audit entry."""
        with self._uow(self._ctx(actor, "dry run")) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.PROCEDURE_AUTHOR)
            bundle = uow.procedures.bundle(version_id)
            uow.audit.append(
                Action.STATE_CHANGE, "procedure_version", str(version_id), field="dry_run", new="simulated"
            )
            uow.commit()
        return self._runtime.dry_run(bundle, self._library.forms(bundle), values)

    def product_mapping(self) -> list[tuple[str, StoredVersion]]:
        """Each product's procedure version now in force."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return uow.procedures.products()


class ProcedureSignable:
    """Submitting ("authored") and approving ("approved") a version are signatures over its content hash."""

    object_type = "procedure_version"

    def __init__(self, library: ProcedureLibrary, runtime: ProcedureRuntime) -> None:
        self._library = library
        self._runtime = runtime

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        v = uow.procedures.get(int(object_id))
        return {
            "object": "procedure_version",
            "id": v.id,
            "procedure_id": v.procedure_id,
            "version": v.version,
            "title": v.title,
            "content_hash": v.content_hash,
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        v = uow.procedures.get(int(object_id))
        return f"{v.procedure_id} version {v.version} signed"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        version = uow.procedures.get(int(object_id))
        if signature.meaning == "authored":
            check_transition(VersionStatus(version.status), VersionStatus.IN_REVIEW)
            problems = self._problems(uow, version.id)
            if problems:
                raise InvalidInput("The version has lint problems: " + "; ".join(str(p) for p in problems[:10]))
            uow.procedures.set_status(version.id, str(VersionStatus.IN_REVIEW), ctx.at, "submitted for review")
        elif signature.meaning == "approved":
            check_transition(VersionStatus(version.status), VersionStatus.APPROVED)
            uow.procedures.set_status(version.id, str(VersionStatus.APPROVED), ctx.at, "approved by QA")
        else:
            raise InvalidInput(f"A procedure version is not signed {signature.meaning!r}.")

    def _problems(self, uow: UnitOfWork, version_id: int) -> list[LintProblem]:
        bundle = uow.procedures.bundle(version_id)
        forms, equipment = self._library.forms(bundle), self._library.equipment(bundle)
        return self._library.problems(bundle) + self._runtime.lint(bundle, forms, equipment, effective_policy(uow))
