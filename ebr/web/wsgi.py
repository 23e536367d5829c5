"""WSGI entry for gunicorn: `gunicorn 'ebr.web.wsgi:create()'`."""

from __future__ import annotations

from flask import Flask

from ebr.web.app import create_app


def create() -> Flask:
    """An app for the environment's settings (called by the WSGI server, not at import)."""
    return create_app()
