"""The fake ERP's human page: what a demo visitor (or a test) sees at GET / of the fake ERP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any


@dataclass(frozen=True)
class Arrival:
    """One applied posting, as the page lists it."""

    key: str
    kind: str
    batch: str
    order_number: str
    state: str
    lines: tuple[tuple[str, str, str, str], ...]  # (use, material, lot, quantity)
    at: datetime


STYLE = (
    "body{font-family:sans-serif;margin:1.5rem;color:#1c2733}table{border-collapse:collapse;margin-bottom:1.5rem}"
    "th,td{border:1px solid #c7d0da;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#eef2f6}"
    "code{font-size:.85rem}.muted{color:#5a6775}"
)


def render_page(arrivals: list[Arrival], received: dict[str, Any]) -> str:
    """The postings in the order they were applied, then the net effect on stock and decisions."""
    rows = "".join(_row(n, a, received["keys"].get(a.key, {})) for n, a in enumerate(arrivals, 1))
    net = received["net"]
    empty = '<tr><td colspan="7" class="muted">Nothing received yet.</td></tr>'
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fake ERP: postings received</title>"
        f"<style>{STYLE}</style></head><body><h1>Fake ERP: postings received</h1>"
        "<p class='muted'>Each posting is applied once per idempotency key; repeats are answered, not applied. "
        "The raw ledger is at <a href='/received'>/received</a>.</p>"
        "<table><thead><tr><th>#</th><th>Received (UTC)</th><th>Kind</th><th>Batch / order</th><th>State</th>"
        f"<th>Material lines</th><th>Deliveries / applied</th></tr></thead><tbody>{rows or empty}</tbody></table>"
        f"<h2>Net effect</h2>{_net(net)}</body></html>"
    )


def _row(number: int, arrival: Arrival, counts: dict[str, Any]) -> str:
    lines = "<br>".join(
        escape(f"{use}: {material} lot {lot} {quantity}") for use, material, lot, quantity in arrival.lines
    )
    return (
        f"<tr><td>{number}</td><td>{escape(arrival.at.strftime('%Y-%m-%dT%H:%M:%SZ'))}</td>"
        f"<td>{escape(arrival.kind)}</td><td>{escape(arrival.batch)}<br><span class='muted'>"
        f"{escape(arrival.order_number)}</span></td><td>{escape(arrival.state)}</td><td>{lines or '-'}</td>"
        f"<td>{counts.get('deliveries', 0)} / {counts.get('applied', 0)}<br><code>{escape(arrival.key)}</code></td>"
        "</tr>"
    )


def _net(net: dict[str, Any]) -> str:
    cells = []
    for bucket in ("receipts", "scrap", "consumption"):
        entries = "<br>".join(escape(f"{lot}: {quantity}") for lot, quantity in net[bucket].items())
        cells.append(f"<tr><th>{bucket}</th><td>{entries or '-'}</td></tr>")
    decisions = "<br>".join(escape(f"{batch}: {decision}") for batch, decision in net["decisions"].items())
    cells.append(f"<tr><th>usage decisions</th><td>{decisions or '-'}</td></tr>")
    cells.append(f"<tr><th>aborted</th><td>{escape(', '.join(net['aborted'])) or '-'}</td></tr>")
    return f"<table><tbody>{''.join(cells)}</tbody></table>"
