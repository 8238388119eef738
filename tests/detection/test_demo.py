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


def test_the_agents_token_harvest_is_read_and_detected(settings):
    # given the demo agent working a queue that holds more customers than the harvest
    from safeguard.accounts.models import User
    from safeguard.cases import services as case_services
    from tests.cases.conftest import inbound, make_queue
    from tests.factories import SYSTEM

    settings.SAFEGUARD_CUSTOMER_SCOPE = "safeguard.cases.selectors.customer_scope"
    accounts_demo.load(say=lambda _: None)
    make_queue("billing")
    agent = User.objects.get(email=demo.AGENT)
    case_services.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    for n in range(demo.HARVEST):
        inbound(f"Hello, my parcel {n} is late.", email=f"harvested{n}@example.com")
    # when the attack is staged with the agent's own API token
    said: list[str] = []
    demo.load(say=said.append)
    # then the token read every record it asked for (the rules need reads, not refusals)
    from safeguard.audit.models import Event
    token_reads = Event.objects.filter(action="customer.viewed", actor_kind="token")
    assert token_reads.count() == demo.HARVEST
    assert not Event.objects.filter(action="customer.view_denied").exists()
    assert said[0].startswith("Detection: simulated attack staged (agent@demo")
    [alert] = selectors.alert_list(rule=MASS_ACCESS)
    assert alert.entity.startswith("token:")
