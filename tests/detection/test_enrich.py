"""The context facts the Django side adds to each event for the rules (docs/detection.md,
"Context facts"): roles, queues, shifts, change windows, flagged customers, token owners."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit_selectors
from safeguard.audit.contracts import Actor
from safeguard.audit.services import record
from safeguard.cases.services import manage
from safeguard.detection.enrich import Enricher, in_window
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db

SHIFT = {"start": "08:00", "end": "17:00", "tz": "Europe/London", "days": [0, 1, 2, 3, 4]}


def _last():
    return audit_selectors.event_batch_after(after_seq=audit_selectors.last_seq() - 1)[0]


def test_an_agents_events_carry_roles_queues_and_whether_they_were_on_shift(settings):
    settings.SAFEGUARD_DETECTION_SHIFTS = {"queue:billing": SHIFT, "*": {"start": "00:00",
                                                                        "end": "23:59"}}
    agent = make_user(roles=("agent",))
    manage.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    manage.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.id)
    record(action="customer.viewed", actor=principal(agent).actor, subject=("customer", "c1"))
    event = _last()
    context = Enricher().enrich(event)["context"]
    assert context["actor_user_id"] == agent.id
    assert (context["actor_roles"], context["role"]) == (["agent"], "agent")
    assert (context["actor_queues"], context["queue"]) == (["billing"], "billing")
    assert context["actor_is_service_account"] is False
    assert context["actor_shift"] == SHIFT
    assert context["on_shift"] is in_window(SHIFT, event.at)
    assert "subject_flags" not in context
    assert "in_change_window" not in context


def test_shift_windows_respect_time_zone_days_and_midnight():
    monday_0759_london = datetime(2026, 11, 2, 7, 59, tzinfo=UTC)  # GMT in November
    assert not in_window(SHIFT, monday_0759_london)
    assert in_window(SHIFT, monday_0759_london.replace(minute=0, hour=8))
    assert not in_window(SHIFT, datetime(2026, 11, 7, 10, 0, tzinfo=UTC))  # Saturday
    night = {"start": "22:00", "end": "06:00", "tz": "UTC", "days": [4]}  # Friday night
    assert in_window(night, datetime(2026, 11, 6, 23, 0, tzinfo=UTC))
    assert in_window(night, datetime(2026, 11, 7, 5, 59, tzinfo=UTC))  # Saturday early
    assert not in_window(night, datetime(2026, 11, 8, 5, 0, tzinfo=UTC))  # Sunday early


def test_flagged_customers_say_whether_the_viewer_has_them_in_scope(settings):
    vip, other = make_customer(), make_customer(email="o@example.net")
    settings.SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS = {str(vip.id): ["vip"]}
    settings.SAFEGUARD_DETECTION_CHANGE_WINDOWS = [{"start": "00:00", "end": "00:01"}]
    agent = make_user(roles=("agent",))
    grant_scope(agent, other.id)
    enricher = Enricher()
    record(action="customer.viewed", actor=principal(agent).actor, subject=("customer", vip.id))
    context = enricher.enrich(_last())["context"]
    assert (context["subject_flags"], context["assigned"]) == (["vip"], False)
    grant_scope(agent, vip.id)
    record(action="customer.viewed", actor=principal(agent).actor, subject=("customer", vip.id))
    assert Enricher().enrich(_last())["context"]["assigned"] is True
    assert "in_change_window" in context


def test_a_tokens_creation_says_whether_it_was_issued_to_a_person():
    person = make_user(roles=("agent",))
    robot = make_user(roles=("agent",), is_service_account=True, password=None, mfa=False)
    enricher = Enricher()
    accounts.token_issue(actor=SYSTEM, user_id=person.id, name="mine", scopes=["customers.view"],
                         expires_in_days=1)
    assert enricher.enrich(_last())["context"]["token_owner_human"] is True
    accounts.token_issue(actor=SYSTEM, user_id=robot.id, name="bot", scopes=["customers.view"],
                         expires_in_days=1)
    assert enricher.enrich(_last())["context"]["token_owner_human"] is False


def test_jobs_and_unknown_actors_get_no_guessed_facts():
    record(action="audit.tree_head", actor=Actor.system("audit"))
    assert Enricher().enrich(_last())["context"] == {}
    record(action="auth.login_failed", actor=Actor.anonymous("x@example.test"))
    assert Enricher().enrich(_last())["context"] == {}
