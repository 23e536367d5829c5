"""Helpers shared by the batch views: the blueprint, form checks, the signing hand-off, names and instructions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from flask import Blueprint, url_for
from jinja2 import DebugUndefined, TemplateError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from ebr.app.execution_views import BatchView
from ebr.domain.accounts import User
from ebr.domain.errors import InvalidInput, NotFound
from ebr.domain.procedure import ProcedureBundle
from ebr.web.principal import services
from ebr.web.signing.views import start

bp = Blueprint("batches", __name__)

BOLD = re.compile(r"\*\*(.+?)\*\*")  # the one piece of markdown procedures use in their instructions


def checked(form: Any) -> Any:
    """The submitted form, or a refusal naming every invalid field (422)."""
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


def text(field: Any) -> str:
    """A form field's text, stripped."""
    return str(field.data or "").strip()


def batch_url(batch_id: str) -> str:
    """The batch page."""
    return url_for("batches.batch", batch_id=batch_id)


def step_url(batch_id: str, step_pk: int, field_id: str = "") -> str:
    """The step page, scrolled to a field where one is named."""
    anchor = f"field-{field_id}" if field_id else None
    return url_for("batches.step", batch_id=batch_id, step_pk=step_pk, _anchor=anchor)


def sign(object_type: str, object_id: str, meaning: str, back: str) -> Response:
    """Open the signing dialog for this act; once signed, the browser returns to `back`."""
    return start(object_type, object_id, meaning, back)


def people() -> dict[int, User]:
    """Every account by id, for printing who entered, performed and verified."""
    return {user.id: user for user in services().accounts.list_users()}


def main_bpmn(bundle: ProcedureBundle) -> bytes:
    """The procedure's main BPMN file, as the procedure pages pick it."""
    names = sorted(bundle.files)
    main = next((p for p in names if p.endswith("/procedure.bpmn")), None)
    main = main or next((p for p in names if p.endswith(".bpmn")), None)
    if main is None:
        raise NotFound("This procedure version has no BPMN file.")
    return bundle.files[main]


def progress(view: BatchView) -> dict[str, object]:
    """What the diagram colours: steps done and current, and which (sub-)procedure each step belongs to."""
    return {
        "done": sorted(view.done),
        "current": sorted(view.current),
        "process_of": dict(sorted(view.process_of.items())),
    }


class _EscapedText(Extension):
    """Escape the instruction's own text as well, so the whole output is safe HTML, not only the values."""

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        for token in stream:
            yield Token(token.lineno, token.type, str(escape(token.value))) if token.type == "data" else token


@cache
def _instructions_environment() -> ImmutableSandboxedEnvironment:
    # Sandboxed: the template is controlled content, the values were typed on the floor. DebugUndefined
    # leaves {{ name }} visible while the value it names is not recorded yet.
    return ImmutableSandboxedEnvironment(autoescape=True, undefined=DebugUndefined, extensions=[_EscapedText])


def instructions(template: str, variables: Mapping[str, object]) -> Markup:
    """The step's instructions with {{ name }} filled from the batch's values; the raw text if that fails."""
    try:
        rendered = _instructions_environment().from_string(template).render(dict(variables))
    except (TemplateError, ArithmeticError, TypeError, ValueError):
        rendered = str(escape(template))
    return Markup(BOLD.sub(r"<strong>\1</strong>", rendered))  # noqa: S704  # every part was escaped above
