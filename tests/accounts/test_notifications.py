"""The in-app notification centre (issue 15): notify, the header badge, the list, mark read;
no customer value stored in clear; a repeated dedupe key notifies once (R-DATA-2)."""

import pytest

from safeguard.accounts import selectors, services
from safeguard.accounts.contracts import NotificationInvalid, NotificationNotFound
from safeguard.audit import selectors as audit_selectors
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_notify_stores_masked_text_and_counts_unread():
    user = make_user(roles=("agent",))
    nid = services.notify(user.pk, "mention", "Mention on case #12 by jo: call +33 1 42 68 53 00 "
                          "or ann@example.com", "/cases/x/", subject=("case", "abc"))
    assert nid is not None
    view = selectors.notification_get(user_id=user.pk, notification_id=nid)
    assert view is not None
    assert "42 68 53" not in view.title
    assert "ann@example.com" not in view.title
    assert view.title.startswith("Mention on case #12 by jo: call [PHONE ••••5300]")
    assert selectors.notification_unread_count(user_id=user.pk) == 1


def test_notify_with_same_dedupe_key_creates_one():
    user = make_user(roles=("agent",))
    first = services.notify(user.pk, "sla_warning", "Case #3 is close to its SLA", "/",
                            dedupe_key="sla:3:resolution")
    second = services.notify(user.pk, "sla_warning", "Case #3 is close to its SLA", "/",
                             dedupe_key="sla:3:resolution")
    assert first is not None
    assert second is None
    assert selectors.notification_unread_count(user_id=user.pk) == 1


@pytest.mark.parametrize(("kind", "title", "url"), [
    ("nonsense", "x", "/"), ("mention", "   ", "/"), ("mention", "x", "https://evil.example/"),
    ("mention", "x", "//evil.example/"),
])
def test_notify_refuses_bad_input_and_stores_nothing(kind, title, url):
    user = make_user(roles=("agent",))
    with pytest.raises(NotificationInvalid):
        services.notify(user.pk, kind, title, url)
    assert selectors.notification_unread_count(user_id=user.pk) == 0


def test_badge_list_mark_read_and_all_read():
    user = make_user(roles=("agent",))
    other = make_user(roles=("agent",))
    ids = [services.notify(user.pk, "assignment", f"Case #{n} assigned to you", f"/c/{n}/")
           for n in (1, 2, 3)]
    theirs = services.notify(other.pk, "assignment", "Case #9 assigned to you", "/c/9/")
    client = signed_in_client(user)

    page = client.get("/staff/notifications/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'aria-label="Notifications: 3 unread"' in body
    assert body.index("Case #3 assigned") < body.index("Case #1 assigned")  # newest first
    assert "Case #9" not in body

    opened = client.post(f"/staff/notifications/{ids[0]}/read/", {"follow": "1"})
    assert opened.status_code == 302
    assert opened["Location"] == "/c/1/"
    assert selectors.notification_unread_count(user_id=user.pk) == 2

    # someone else's notification: 404, and it stays unread
    assert client.post(f"/staff/notifications/{theirs}/read/").status_code == 404
    assert selectors.notification_unread_count(user_id=other.pk) == 1

    client.post("/staff/notifications/read-all/")
    assert selectors.notification_unread_count(user_id=user.pk) == 0
    with pytest.raises(NotificationNotFound):
        services.notification_mark_read(user_id=user.pk, notification_id=theirs)


def test_notification_about_customer_data_is_audited():
    user = make_user(roles=("agent",))
    nid = services.notify(user.pk, "approval_decided", "Your e-mail change was granted", "/",
                          subject=("customer", "c-1"))
    services.notification_mark_read(user_id=user.pk, notification_id=nid)
    actions = [e.action for e in audit_selectors.event_list(subject=("customer", "c-1"))]
    assert actions == ["notification.read", "notification.created"]
