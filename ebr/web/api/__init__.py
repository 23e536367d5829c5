"""api pages."""
