"""Tamper-evident audit log (R-IR-5)."""
