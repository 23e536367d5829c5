"""Open incidents and their acknowledgement."""
