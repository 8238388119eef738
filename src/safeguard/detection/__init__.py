"""Security monitoring: Sigma detection and UEBA on the audit stream, alerts and triage (issue 11).

``engine/`` is the pure evaluation core (no Django); the rest of the app reads integrated audit
events, persists alerts and serves the analysts' pages and API. Requirements: R-OPS-6, R-OPS-9,
R-KPI-4.
"""
