"""@mentions in internal notes (issue 15): who a note asks for, recorded and notified.

A mention is ``@`` followed by a staff member's e-mail address or the part of it before the
``@`` (``@sam`` or ``@sam@example.com``), at the start of the note or after a space or
punctuation, so an address written inside a word (``support@acme.com``) is not a mention. Only
people who can work the case may be mentioned: active members of its queue and its assignee
(R-WORK-4: a mention never widens who sees a case). A mention that names nobody of them, or
more than one, refuses the note with a message saying so; nothing is stored.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings

from safeguard.accounts import selectors as accounts_selectors
from safeguard.accounts import services as accounts
from safeguard.accounts.enums import NotificationKind
from safeguard.audit.contracts import Actor
from safeguard.cases.contracts import InvalidInput
from safeguard.cases.models import Case, Mention, Message, QueueMembership

_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]{1,64}"
                      r"(?:@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,})?)")



def _candidates(case: Case) -> dict[int, str]:
    """Staff who can work ``case``: active members of its queue and its assignee."""
    people = dict(QueueMembership.objects.filter(queue_id=case.queue_id, user__is_active=True)
                  .values_list("user_id", "user__email"))
    if case.assignee_id and case.assignee is not None and case.assignee.is_active:
        people[case.assignee_id] = case.assignee.email
    return people


def mentioned_users(text: str, case: Case, *, author_id: int) -> list[int]:
    """The ids of the people ``text`` mentions (the author left out), in order of first
    mention; raises InvalidInput naming a mention that matches nobody or several people."""
    handles = [m.group(1).rstrip(".").lower() for m in _MENTION.finditer(text)]
    if not handles:
        return []
    people = _candidates(case)
    found: list[int] = []
    for handle in handles:
        if "@" in handle:
            ids = [uid for uid, email in people.items() if email.lower() == handle]
        else:
            ids = [uid for uid, email in people.items()
                   if email.lower().split("@", 1)[0] == handle]
        if not ids:
            raise InvalidInput(f"@{handle} is not someone who works this case's queue; "
                               "nothing was saved.", mention=handle)
        if len(ids) > 1:
            raise InvalidInput(f"@{handle} matches several people; write their full e-mail "
                               "address.", mention=handle)
        if ids[0] != author_id and ids[0] not in found:
            found.append(ids[0])
    return found[: settings.SAFEGUARD_MENTIONS_MAX]


def mentions_store(message: Message, user_ids: list[int], *, at: datetime,
                   actor: Actor) -> None:
    """Record each mention and tell the person in the notification centre (ids and the case
    number only, never the note's text; one notification per mention, also on a retry)."""
    number = message.case.number
    author = (accounts_selectors.user_display_name(user_id=message.author_id)
              if message.author_id else "A colleague")
    for uid in user_ids:
        mention = Mention.objects.create(message=message, case=message.case, user_id=uid,
                                         created_at=at)
        accounts.notify(uid, NotificationKind.MENTION,
                        f"{author} mentioned you in a note on case "
                        f"#{number}", f"/cases/{number}/", subject=("case", number),
                        actor=actor, dedupe_key=f"mention:{mention.id}")
