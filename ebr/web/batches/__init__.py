"""Batch execution pages for the shop floor."""
