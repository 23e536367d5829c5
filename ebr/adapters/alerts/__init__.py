"""Alert sinks: where lockout, integrity and clock alerts go."""
