"""Equipment instances: status, device endpoint, signed logbook and uses (master data owned by the eBR)."""
