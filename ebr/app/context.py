"""Who acts, when and why: passed into every use case, never read from globals (style rule 10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ebr.domain.audit import EntryDraft


@dataclass(frozen=True)
class Actor:
    """The person (or the system itself) a change is attributed to."""

    user_id: int | None
    username: str
    full_name: str

    @classmethod
    def system(cls) -> Actor:
        """The application acting on its own (start-up, scheduled jobs)."""
        return cls(None, "system", "eBR system")


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from (AUD-02 context; PWD-06 source and workstation)."""

    address: str = ""
    workstation: str = ""
    request_id: str = ""
    # The registered terminal's name (DEV-05), else the workstation or address; entries store it as their terminal.
    terminal: str = ""
    terminal_registered: bool = False

    def as_context(self) -> dict[str, str]:
        """Only the fields that are known; the terminal only where it says more than the workstation."""
        items = {"address": self.address, "workstation": self.workstation, "request_id": self.request_id}
        if self.terminal != self.workstation:
            items["terminal"] = self.terminal
        return {k: v for k, v in items.items() if v}


@dataclass(frozen=True)
class AuditContext:
    """Everything an audit entry needs besides the change itself."""

    actor: Actor
    at: datetime
    reason: str = ""
    request: RequestInfo = field(default_factory=RequestInfo)
    extra: dict[str, str] = field(default_factory=dict)

    def draft(self, **change: object) -> EntryDraft:
        """An entry draft for one change, stamped with this context."""
        return EntryDraft(
            at=self.at,
            user_id=self.actor.user_id,
            username=self.actor.username,
            user_name=self.actor.full_name,
            reason=str(change.pop("reason", None) or self.reason),
            context={**self.request.as_context(), **self.extra},
            **change,  # type: ignore[arg-type]  # keyword fields of EntryDraft, checked by its constructor
        )
