"""Prometheus metrics of the forwarders, labelled by forwarder name (docs/siem.md, Metrics).

They live in the default registry of the process that runs the forwarder: the web process's
/metrics when jobs run embedded, or the forwarder's own listener (``siem forward --metrics-port``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LAG = Gauge("safeguard_siem_lag_events",
            "Audit events not yet delivered by the forwarder (newest seq - cursor)",
            ["forwarder"])
CURSOR = Gauge("safeguard_siem_cursor_seq",
               "Sequence number of the last audit event the forwarder delivered", ["forwarder"])
SHIPPED = Counter("safeguard_siem_events_shipped",
                  "Audit events delivered (re-sends after a failure count again)", ["forwarder"])
FAILURES = Counter("safeguard_siem_failures",
                   "Delivery attempts that failed and will be retried, by reason",
                   ["forwarder", "reason"])
LAST_SUCCESS = Gauge("safeguard_siem_last_success_timestamp_seconds",
                     "Unix time of the forwarder's last delivered batch or caught-up check",
                     ["forwarder"])
