"""Benchmarks of the cases app: case-view overhead of the safeguards, load on PostgreSQL."""
