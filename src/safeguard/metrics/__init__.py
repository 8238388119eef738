"""Metrics: the KPI registry, control charts (spc, a pure core), the KPI page, the public trust
page and security.txt (issue 14; docs/metrics.md)."""
