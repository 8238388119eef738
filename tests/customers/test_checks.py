"""Deploy checks of the customers app: safeguard.E150 (weak contact codes), E151 (re-index)."""

from __future__ import annotations

import pytest

from safeguard.customers import checks
from safeguard.customers.models import Customer
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def test_weak_contact_codes_fail_the_deploy_check(settings):
    settings.SAFEGUARD_CONTACT_CODE_MINUTES = 10
    settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS = 5
    assert checks.contact_codes_are_strong() == []
    settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS = 50
    assert [m.id for m in checks.contact_codes_are_strong()] == ["safeguard.E150"]
    settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS = 5
    settings.SAFEGUARD_CONTACT_CODE_MINUTES = 24 * 60
    assert [m.id for m in checks.contact_codes_are_strong()] == ["safeguard.E150"]


def test_rows_without_the_look_alike_index_fail_until_reindexed():
    from django.core.management import call_command

    customer = make_customer()
    assert checks.customers_reindexed() == []
    Customer.objects.filter(id=customer.id).update(email_skeleton_index=None)
    found = checks.customers_reindexed()
    assert [m.id for m in found] == ["safeguard.E151"]
    assert "1 customer row(s)" in found[0].msg
    call_command("customers", "reindex-email")
    assert checks.customers_reindexed() == []
