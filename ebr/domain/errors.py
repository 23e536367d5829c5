"""Refusals the domain and the use cases raise; the web layer maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal that carries a message meant for the user."""


class NotFound(DomainError):
    """The named object does not exist."""


class Conflict(DomainError):
    """The request collides with the current state (stale version, duplicate id)."""


class InvalidInput(DomainError):
    """The input breaks a rule (policy, format, missing reason)."""


class PermissionDenied(DomainError):
    """The actor lacks the permission for this action (21 CFR 11.10(g))."""


class AuthenticationFailed(DomainError):
    """Login refused; the message never reveals whether the user id exists (11.300(d))."""


class AccountLocked(AuthenticationFailed):
    """Too many failed attempts: the account is locked until an admin unlocks it."""


class PasswordChangeRequired(DomainError):
    """The password is temporary or expired: only the change-password action is allowed."""


class SessionEnded(DomainError):
    """The server-side session idled out, was revoked or ended."""


class InvalidTransition(Conflict):
    """The object's state does not allow this action."""


class AuditContextMissing(DomainError):
    """A GMP change reached the database without who/when/why: refused (AUD-01)."""
