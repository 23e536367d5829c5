"""trail pages."""
