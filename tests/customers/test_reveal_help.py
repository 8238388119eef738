"""Agents are not shown reveal instructions they cannot act on (issue 15, item 5; R-DATA-2)."""

from __future__ import annotations

import pytest

from tests.customers.factories import grant_scope, make_customer
from tests.factories import make_user, signed_in_client


@pytest.mark.django_db
def test_an_agent_is_not_told_how_to_reveal_and_a_supervisor_is():
    agent, supervisor = make_user(roles=("agent",)), make_user(roles=("supervisor",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    grant_scope(supervisor, maria.id)
    as_agent = signed_in_client(agent).get(f"/customers/{maria.id}/").content.decode()
    as_supervisor = signed_in_client(supervisor).get(f"/customers/{maria.id}/").content.decode()
    assert "Values are masked; your role works with them masked." in as_agent
    assert "Revealing one needs a reason" not in as_agent
    assert "Revealing one needs a reason and a fresh second factor" in as_supervisor
    assert "Reveal</a>" in as_supervisor
