"""Registered terminals, such as a kiosk at the unit (DEV-05)."""
