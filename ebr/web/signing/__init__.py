"""Signing dialog and signature policy pages."""
