"""The demo's simulated attack raises explained alerts in the analyst's queue (issue 11, "Done
when"), and a second load stages nothing twice."""

from __future__ import annotations

import pytest

from safeguard.accounts import demo as accounts_demo
from safeguard.detection import demo, selectors

pytestmark = pytest.mark.django_db

MASS_ACCESS = "d1905858-c750-40cb-9c2e-a7df6cbf50e2"


def test_the_demo_attack_is_detected_once(settings):
    settings.SAFEGUARD_CUSTOMER_SCOPE = "safeguard.cases.selectors.customer_scope"
    accounts_demo.load(say=lambda _: None)
    # the demo centre's customers (its load creates them; the attack creates none)
    from safeguard.customers.demo import demo_customer
    for seed in range(demo.HARVEST):
        demo_customer(seed=seed)
    said: list[str] = []
    demo.load(say=said.append)
    [alert] = selectors.alert_list(rule=MASS_ACCESS)
    assert alert.entity.startswith("token:")
    assert "opened 100 different customer records" in alert.explanation  # at the threshold
    assert said[0].startswith("Detection: simulated attack staged (supervisor@demo")
    assert "new alert(s)" in said[1]
    again: list[str] = []
    demo.load(say=again.append)
    assert len(again) == 1  # nothing staged the second time
    assert len(selectors.alert_list(rule=MASS_ACCESS)) == 1
