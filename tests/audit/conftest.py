"""Fixtures shared by the audit tests: the real rsyslog peer on loopback."""

from tests.audit.test_siem_syslog import rsyslog  # noqa: F401 - re-exported fixture
