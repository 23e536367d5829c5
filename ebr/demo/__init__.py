"""The demo plant: seeded users (later: procedures, simulators, a fake ERP)."""
