"""adapters/passwords."""
