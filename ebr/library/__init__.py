"""Controlled content loader: the plant library folders become domain objects."""
