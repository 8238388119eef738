"""Deploy checks of the audit integrator (safeguard.E250-E252; issue 10, decision 0180)."""

from __future__ import annotations

from safeguard.audit.checks import integration


def test_the_shipped_production_settings_pass(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "background"
    assert integration() == []
    settings.SAFEGUARD_AUDIT_INTEGRATION = "after_commit"
    assert integration() == []


def test_in_transaction_integration_and_a_short_bound_are_refused(settings):
    # given the test suite's mode, a bound under the safety net's minute and a zero batch
    settings.SAFEGUARD_AUDIT_INTEGRATION = "in_transaction"
    settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS = 60
    settings.SAFEGUARD_AUDIT_INTEGRATION_BATCH = 0
    # then each is named with its own id
    assert [e.id for e in integration()] == ["safeguard.E250", "safeguard.E251",
                                             "safeguard.E252"]
