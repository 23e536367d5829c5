"""Background jobs, outside any request; no Flask."""
