"""Production order pages."""
