"""Training records of the people who execute and sign (ACC-09)."""
