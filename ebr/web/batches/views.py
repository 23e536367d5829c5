"""The batches blueprint: importing its route modules registers their views on it."""

from __future__ import annotations

from ebr.web.batches import actions, api, equipment, items, pages, paper_forms, resign, steps
from ebr.web.batches.common import bp

__all__ = ["actions", "api", "bp", "equipment", "items", "pages", "paper_forms", "resign", "steps"]
