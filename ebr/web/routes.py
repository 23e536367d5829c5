"""The three route classes (issue: public; session + CSRF + permission; API token + permission).

Every view declares exactly one class with a decorator; the app factory refuses to start if a
registered endpoint has none, and a test walks the URL map to prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ebr.domain.accounts import Permission

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["public", "page", "api"]
ATTRIBUTE = "_ebr_access"


@dataclass(frozen=True)
class Access:
    """How a route is protected and which permission it needs."""

    kind: Kind
    permission: Permission | None


def _declare(access: Access) -> Callable[[F], F]:
    def mark(view: F) -> F:
        if hasattr(view, ATTRIBUTE):
            raise TypeError(f"{view.__name__} declares more than one route class")
        setattr(view, ATTRIBUTE, access)
        return view

    return mark


def public() -> Callable[[F], F]:
    """No session needed: login, static files, health."""
    return _declare(Access("public", None))


def page(permission: Permission) -> Callable[[F], F]:
    """A browser page or form: server-side session, CSRF on every POST, this permission."""
    return _declare(Access("page", permission))


def api(permission: Permission) -> Callable[[F], F]:
    """A machine endpoint: bearer token with this permission; no cookies, no CSRF."""
    return _declare(Access("api", permission))


def access_of(view: Callable[..., Any]) -> Access | None:
    """The declared class of a view function."""
    access = getattr(view, ATTRIBUTE, None)
    return access if isinstance(access, Access) else None
