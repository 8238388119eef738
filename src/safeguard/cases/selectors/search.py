"""The case list with search, sort, saved views and counted pages (issue 15, decision 0168).

Search terms: a case number (``123`` or ``#123``), tags (``tag:refund``), and free text matched
against what an agent would see of the case — its subject as listed and its messages as the
console shows them (what the customer wrote masked like the profile, R-DATA-2). Subjects and
messages are encrypted at rest, so free text is compared in memory over the newest
``SAFEGUARD_CASE_SEARCH_SCAN_MAX`` cases of the filtered scope; a search beyond that says so.
A text finds a case only when it appears in the displayed (masked) form, so searching for a
customer's phone number or name does not reveal which cases hold it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Case as When_
from django.db.models import F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import customer_link
from safeguard.cases.contracts import CaseListPage, InvalidInput, SavedViewView
from safeguard.cases.enums import AuthorKind
from safeguard.cases.models import Case, Message, SavedView
from safeguard.cases.selectors.cases import ACTIVE, _filtered, audit_case_refs, summary
from safeguard.protection import services as protection

SORTS: dict[str, str] = {
    "number": "Oldest first",
    "-number": "Newest first",
    "-updated": "Recently updated",
    "due": "SLA due soonest",
    "priority": "Priority, highest first",
}
# The parameters a saved view keeps: the list's own filters and sort, never a search text.
VIEW_PARAMS = ("queue", "status", "assignee", "tag", "breached", "sort")

_NUMBER = re.compile(r"^#?(\d{1,18})$")
_TAG = re.compile(r"^tag:([a-z0-9][a-z0-9_-]{0,39})$", re.IGNORECASE)


def parse_query(q: str) -> tuple[int | None, list[str], str]:
    """Split a search into a case number, tags and the remaining free text."""
    number: int | None = None
    tags: list[str] = []
    words: list[str] = []
    for token in q.split():
        if (m := _NUMBER.match(token)) and number is None and not words:
            number = int(m.group(1))
        elif m := _TAG.match(token):
            tags.append(m.group(1).lower())
        else:
            words.append(token)
    return number, tags, " ".join(words).strip()


def _ordered(qs: QuerySet[Case], sort: str) -> QuerySet[Case]:
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}.")
    if sort == "due":
        far = timezone.now() + timedelta(days=36500)
        return qs.annotate(due=Least(Coalesce("first_response_due_at", far),
                                     Coalesce("resolution_due_at", far))).order_by("due",
                                                                                   "number")
    if sort == "priority":
        rank = When_(When(priority="urgent", then=Value(0)), When(priority="high", then=Value(1)),
                     When(priority="normal", then=Value(2)), default=Value(3),
                     output_field=IntegerField())
        return qs.annotate(rank=rank).order_by("rank", "number")
    if sort == "-updated":
        return qs.order_by(F("updated_at").desc(), "-number")
    return qs.order_by(sort)


def _displayed_match(needle: str, case_ids: list[UUID], principal: Principal,
                     subjects: dict[UUID, str], customers: dict[UUID, UUID],
                     no_bodies: frozenset[UUID] = frozenset()) -> set[UUID]:
    """The cases whose subject as listed or a message as shown contains ``needle``. Raw text
    narrows the candidates cheaply; a customer's message counts only if the needle is still
    there after the display mask (R-DATA-2). The messages of ``no_bodies`` are not searched."""
    found = {cid for cid in case_ids if needle in
             protection.card_refs_for_people(subjects[cid]).casefold()}
    maskers: dict[UUID, Callable[[str], str]] = {}
    rows = (Message.objects.filter(case_id__in=[c for c in case_ids
                                                if c not in found and c not in no_bodies])
            .only("id", "case_id", "author_kind", "body").order_by("case_id", "created_at"))
    for m in rows.iterator(chunk_size=500):
        if m.case_id in found or needle not in (m.body or "").casefold():
            continue
        text = m.body
        if m.author_kind == AuthorKind.CUSTOMER:
            customer = customers[m.case_id]
            if customer not in maskers:
                maskers[customer] = customer_link.text_masker(viewer=principal,
                                                              customer_id=customer)
            text = maskers[customer](text)
        if needle in protection.card_refs_for_people(text).casefold():
            found.add(m.case_id)
    return found


@transaction.atomic
def case_search(  # noqa: PLR0913 - the list's filters, each a keyword
        *, principal: Principal, q: str = "", queue: str | None = None,
        status: Iterable[str] | None = ACTIVE, assignee: str | None = None,
        tag: str | None = None, breached: bool = False, sort: str = "number",
        page: int = 1, step_up_fresh: bool = True) -> CaseListPage:
    """One counted page of the case list in ``principal``'s scope: filters, sort, and the
    search of the module docstring. A search is audited with its kinds of terms (never the
    text), the total and the case numbers shown. Without ``step_up_fresh`` the messages of
    cases in a queue under forced step-up are not searched (only their listed subject), so the
    search cannot be used to probe bodies the case page would not show (decision 0134)."""
    number, tags, text = parse_query(q or "")
    if len(text) > 200:
        raise InvalidInput("Search for at most 200 characters.")
    qs = _filtered(principal, queue=queue, status=status, assignee=assignee, tag=tag,
                   breached=breached)
    if number is not None:
        qs = qs.filter(number=number)
    for t in tags:
        qs = qs.filter(tags__name=t)
    scanned, capped = 0, False
    if text:
        limit = settings.SAFEGUARD_CASE_SEARCH_SCAN_MAX
        # Model rows, not values: an encrypted column opens only with its row (AEAD binding).
        newest = list(Case.objects.filter(id__in=qs.values("id")).order_by("-number")
                      .only("id", "subject", "customer_id")[: limit + 1])
        capped = len(newest) > limit
        newest = newest[:limit]
        scanned = len(newest)
        no_bodies = frozenset() if step_up_fresh else frozenset(
            Case.objects.filter(id__in=[c.id for c in newest],
                                queue__step_up_forced_at__isnull=False)
            .values_list("id", flat=True))
        matched = _displayed_match(text.casefold(), [c.id for c in newest], principal,
                                   {c.id: c.subject or "" for c in newest},
                                   {c.id: c.customer_id for c in newest}, no_bodies)
        qs = qs.filter(id__in=matched)
    qs = _ordered(qs.distinct(), sort)
    size = settings.SAFEGUARD_LIST_PAGE_SIZE
    total = qs.count()
    pages = max(1, -(-total // size))
    if page < 1 or page > pages:
        raise InvalidInput(f"There is no page {page}; the list has {pages}.")
    now = timezone.now()
    items = tuple(summary(c, now) for c in qs[(page - 1) * size: page * size])
    if q:
        audit.record(action="case.searched", actor=principal.actor, subject=("case", "search"),
                     data={"terms": [k for k, v in (("number", number is not None),
                                                     ("tags", bool(tags)),
                                                     ("text", bool(text))) if v],
                           "total": total, "scanned": scanned, "capped": capped,
                           "cases": audit_case_refs(c.number for c in items)})
    return CaseListPage(items=items, total=total, page=page, pages=pages, page_size=size,
                        scanned=scanned, capped=capped)


def saved_view_list(*, principal: Principal) -> tuple[SavedViewView, ...]:
    """The person's saved views of the case list, by name."""
    return tuple(SavedViewView(id=v.id, name=v.name, query=dict(v.query))
                 for v in SavedView.objects.filter(user_id=principal.user_id).order_by("name"))
