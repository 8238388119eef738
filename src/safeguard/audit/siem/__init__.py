"""SIEM export of the audit log (R-OPS-6): mappings to OCSF, ECS and CEF, sinks, the forwarder.

The forwarder reads the log by sequence number with its own persisted cursor and ships every
event at least once to a syslog peer (RFC 5424 over TCP or TLS, octet-counted) or a JSON-lines
file. Operator guide and the field mapping: docs/siem.md.
"""
