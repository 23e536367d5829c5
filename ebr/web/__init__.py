"""The Flask entry point: the only package that imports Flask."""
