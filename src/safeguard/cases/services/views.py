"""Saved views of the case list (issue 15): a person's named filters and sort."""

from __future__ import annotations

from django.db import transaction

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import InvalidInput
from safeguard.cases.models import SavedView
from safeguard.cases.selectors.search import SORTS, VIEW_PARAMS
from safeguard.web.errors import NotFound, PermissionDenied

MAX_VIEWS = 30


@transaction.atomic
def saved_view_save(*, principal: Principal, name: str, query: dict[str, str]) -> int:
    """Save (or replace, by name) the person's view: only the list's own parameters are kept
    (never a search text), each checked; at most 30 views per person."""
    if not principal.has(perm.CASES_VIEW):
        raise PermissionDenied(f"This needs the permission {perm.CASES_VIEW}.")
    name = " ".join(name.split())[:60]
    if not name:
        raise InvalidInput("Give the view a name.")
    kept = {k: str(v)[:60] for k, v in query.items() if k in VIEW_PARAMS and v not in ("", None)}
    if kept.get("sort", "number") not in SORTS:
        raise InvalidInput(f"Unknown sort {kept['sort']!r}.")
    existing = SavedView.objects.select_for_update().filter(user_id=principal.user_id)
    view = existing.filter(name=name).first()
    if view is None:
        if existing.count() >= MAX_VIEWS:
            raise InvalidInput(f"At most {MAX_VIEWS} saved views; delete one first.")
        view = SavedView.objects.create(user_id=principal.user_id, name=name, query=kept)
    else:
        view.query = kept
        view.save(update_fields=["query"])
    audit.record(action="case_view.saved", actor=principal.actor, subject=("saved_view", view.id),
                 data={"name": name, "params": sorted(kept)})
    return view.id


@transaction.atomic
def saved_view_delete(*, principal: Principal, view_id: int) -> None:
    """Delete one of the person's own views (another person's is not found)."""
    deleted, _ = SavedView.objects.filter(id=view_id, user_id=principal.user_id).delete()
    if not deleted:
        raise NotFound("No such saved view.")
    audit.record(action="case_view.deleted", actor=principal.actor,
                 subject=("saved_view", view_id))
