"""Permissions of the customers app (R-OPS-8, least privilege) and the demo customer helper."""

from __future__ import annotations

import pytest

from safeguard.accounts import rbac
from safeguard.customers import demo, selectors
from safeguard.customers.models import Customer

EXPECTED = {
    "customers.view": {"agent", "supervisor"},
    "customers.view_all": {"supervisor", "privacy_officer"},
    "customers.reveal": {"supervisor"},
    "customers.edit": {"agent", "supervisor"},
    "customers.approve": {"supervisor"},
}


def test_each_permission_goes_to_exactly_the_roles_that_need_it():
    declared = {p.codename: set(p.roles) for p in rbac.all_permissions()
                if p.codename.startswith("customers.")}
    assert declared == EXPECTED  # auditors get no customer data: it is not audit evidence


def test_navigation_offers_customers_and_approvals():
    entries = {e.url_name: e.permission for e in rbac.nav_entries()}
    assert entries["customers:approval_list"] == "customers.approve"
    assert entries["customers:search"] == "customers.view"


@pytest.mark.django_db
def test_demo_customer_is_deterministic_and_idempotent():
    first = demo.demo_customer(seed=7)
    again = demo.demo_customer(seed=7)
    other = demo.demo_customer(seed=8)
    assert first == again != other
    assert Customer.objects.count() == 2
    values = demo.customer_values(7)
    assert selectors.customer_ids_matching(email=values["email"]) == [first]
    assert demo.customer_values(7) == values
    assert demo.ORDER == 20


def test_demo_values_are_valid_for_many_seeds():
    from safeguard.customers import validation

    for seed in range(300):
        v = demo.customer_values(seed)
        assert validation.clean_email(v["email"]) == v["email"]
        assert validation.clean_phone(v["phone"])
        assert validation.clean_payout(v["payout"])["iban"].startswith("GB")
        assert validation.clean_date_of_birth(v["date_of_birth"]) == v["date_of_birth"]
