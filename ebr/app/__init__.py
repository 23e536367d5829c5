"""Use cases and their ports; each use case owns exactly one transaction."""
