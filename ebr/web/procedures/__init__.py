"""Procedure library pages."""
