"""BatchML (ISA-88 Part 4) export of the canonical batch record, validated against the packaged MESA schemas."""
