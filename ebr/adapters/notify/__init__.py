"""Incident notifiers: where overdue holds, failed checks and dead messages are announced."""
