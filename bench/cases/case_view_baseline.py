"""The "safeguards off" baseline of the case-view benchmark: a bench-local URL conf and views.

Used only by ``bench_case_view.py`` (``ROOT_URLCONF = "case_view_baseline"`` inside the bench
process); never mounted by the application. It serves the *same* two responses the console
serves when an agent opens a case — the case page (``cases/detail.html``) and the customer panel
that page loads with htmx (``customers/_panel.html``) — from the *same* rows, through the same
middleware stack, the same role permission decorators and the same templates, with the case-view
safeguards left out:

===========  =========================================================================  =========
safeguard    what the real view does                                                    "off"
===========  =========================================================================  =========
decrypt      opens every encrypted column it shows (AEAD, per row): case subject,       renders
             message bodies, attachment names, call transcripts and recordings, the     the stored
             customer's name, e-mail, phone, address, date of birth and payout          ciphertext
                                                                                        length
mask         turns the customer's values into masked strings; looks up the viewer's     skipped
             live reveal grants (and decrypts revealed values)
scope        resolves the case through ``scope.visible_cases`` (queue memberships or    plain
             assignee) once per page (``case_page``), and checks the customer with      lookup by
             ``customer_allowed`` (one EXISTS over the agent's cases, as the shipped    number/id
             panel does)
audit        records ``case.viewed`` (page, no transaction: one INSERT) and             skipped
             ``customer.viewed`` (panel) in the hash-chained, Merkle-committed log
===========  =========================================================================  =========

Everything else is identical work: session, authentication, MFA gate, idle-timeout session
write, CSRF and CSP middleware, the ``cases.view``/``customers.view`` permission checks, the
reads of interactions, messages (authors, attachment metadata), history, CSAT, merged cases,
assignable members, the live-refresh marker, macros, the agent's queues with counts, identity
verifications and pending approvals; the same context objects (frozen contracts) and the same
templates.

``?with=decrypt,mask,scope,audit`` (any subset) puts safeguards back one by one for the
breakdown. ``with=decrypt`` alone renders the customer's values in clear (an unmasked helpdesk
that encrypts at rest); ``mask`` implies ``decrypt``. With ``scope`` the case is resolved through
``visible_cases`` once, as the shipped page does (``case_page``, issue 10).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required, request_principal
from safeguard.audit import services as audit
from safeguard.cases import forms, lifecycle, scope, selectors
from safeguard.cases import permissions as case_perms
from safeguard.cases.contracts import (
    AttachmentView,
    CaseSummary,
    CaseView,
    HistoryView,
    InteractionView,
    MessageView,
)
from safeguard.cases.models import Case, CaseHistory, CsatResponse, Interaction, Message
from safeguard.cases.models import QueueMembership as Membership
from safeguard.cases.selectors import cases as case_selectors
from safeguard.cases.views import _panel_urls
from safeguard.customers import permissions as customer_perms
from safeguard.customers import selectors as customer_selectors
from safeguard.customers.contracts import CustomerView, PanelView
from safeguard.customers.enums import ApprovalStatus, CustomerField
from safeguard.customers.models import Approval, Customer, IdentityVerification
from safeguard.customers.views import _panel_context
from safeguard.urls import urlpatterns as app_urlpatterns

SAFEGUARDS = ("decrypt", "mask", "scope", "audit")


def flags(request: HttpRequest) -> frozenset[str]:
    raw = {w.strip() for w in request.GET.get("with", "").split(",") if w.strip()}
    if "all" in raw:
        raw = set(SAFEGUARDS)
    if "mask" in raw:
        raw.add("decrypt")
    unknown = raw - set(SAFEGUARDS)
    if unknown:
        raise Http404(f"unknown safeguard {sorted(unknown)}")
    return frozenset(raw)


def sealed_text(instance: Any, name: str) -> str:
    """What "off" shows for an encrypted column: the length of the stored ciphertext, read from
    the loaded row without opening it (the field keeps it sealed until the attribute is read)."""
    raw = instance.__dict__.get(name)
    return "" if raw is None else f"[{len(raw)} bytes sealed]"


def reader(on: frozenset[str]) -> Callable[[Any, str], Any]:
    return getattr if "decrypt" in on else sealed_text


# --- the case page ------------------------------------------------------------------------------


def _summary(case: Case, text: Callable[[Any, str], Any], now: datetime) -> CaseSummary:
    # selectors.cases.summary with the subject through ``text``.
    return CaseSummary(
        id=case.id, number=case.number, subject=text(case, "subject"), status=case.status,
        priority=case.priority, queue=case.queue.slug, queue_name=case.queue.name,
        assignee_id=case.assignee_id,
        assignee_email=case.assignee.email if case.assignee else "",
        customer_id=case.customer_id, channel=case.channel,
        tags=tuple(sorted(t.name for t in case.tags.all())), created_at=case.created_at,
        updated_at=case.updated_at, first_response_due_at=case.first_response_due_at,
        resolution_due_at=case.resolution_due_at, sla=case_selectors._sla(case, now),
        merged_into_number=case.merged_into.number if case.merged_into else None)


def _interaction(i: Interaction, text: Callable[[Any, str], Any], on: frozenset[str]) -> Any:
    pauses = tuple((datetime.fromisoformat(p["start"]),
                    datetime.fromisoformat(p["end"]) if p.get("end") else None)
                   for p in i.payment_pauses or [])
    if "decrypt" in on:
        transcript, uri = i.transcript or "", (i.recording or {}).get("uri", "")
    else:
        transcript, uri = sealed_text(i, "transcript"), sealed_text(i, "recording")
    return InteractionView(
        id=i.id, channel=i.channel, thread_ref=i.thread_ref, started_at=i.started_at,
        ended_at=i.ended_at, call_id=i.call_id or "", queued_at=i.queued_at,
        answered_at=i.answered_at,
        speed_to_answer_seconds=lifecycle.speed_to_answer(i.queued_at, i.answered_at)
        if i.queued_at else None,
        transcript=transcript, recording_uri=uri, recording_retention=i.recording_retention,
        payment_pauses=pauses)


def _message(m: Message, text: Callable[[Any, str], Any]) -> MessageView:
    return MessageView(
        id=m.id, interaction_id=m.interaction_id, channel=m.channel, author_kind=m.author_kind,
        author_email=m.author.email if m.author else "", body=text(m, "body"),
        is_internal=m.is_internal, created_at=m.created_at, delivery_status=m.delivery_status,
        delivery_error=m.delivery_error, findings=tuple(m.findings or ()),
        attachments=tuple(AttachmentView(id=a.id, filename=text(a, "filename"),
                                         content_type=a.content_type, size=a.size,
                                         screened=a.screened) for a in m.attachments.all()))


def _marker(case: Case) -> str:
    # selectors.case_marker without its scoped case lookup.
    agg = Message.objects.filter(case=case).aggregate(last=Max("created_at"))
    status = Message.objects.filter(case=case).exclude(delivery_status="none").values_list(
        "delivery_status", flat=True)
    return f"{case.status}|{case.updated_at.isoformat()}|{agg['last']}|{','.join(status)}"


@permission_required(case_perms.CASES_VIEW)
@require_GET
def case_detail(request: HttpRequest, number: int) -> HttpResponse:
    """cases.views.detail + selectors.case_get with the safeguards not in ``?with=`` left out."""
    on = flags(request)
    principal = request_principal(request)
    text = reader(on)
    base = scope.visible_cases(principal) if "scope" in on else Case.objects.all()
    # as shipped: no transaction around the read (it only reads); case.viewed's one
    # INSERT commits on its own
    try:
        case = (base.select_related("queue", "assignee", "merged_into")
                .prefetch_related("tags").get(number=number))
    except Case.DoesNotExist as exc:
        raise Http404("no such case") from exc
    view = CaseView(
        summary=_summary(case, text, timezone.now()), first_response_at=case.first_response_at,
        resolved_at=case.resolved_at, closed_at=case.closed_at,
        reopened_at=case.reopened_at,
        first_response_breached_at=case.first_response_breached_at,
        resolution_breached_at=case.resolution_breached_at,
        interactions=tuple(_interaction(i, text, on)
                           for i in case.interactions.order_by("started_at")),
        messages=tuple(_message(m, text) for m in case_selectors._messages(case)),
        history=tuple(HistoryView(at=h.at, kind=h.kind, actor=h.actor_label, data=h.data)
                      for h in CaseHistory.objects.filter(case=case)
                      .order_by("-at", "-id")[:200]),
        next_statuses=() if case.merged_into_id else tuple(
            s.value for s in lifecycle.next_statuses(lifecycle.Status(case.status))),
        csat_score=CsatResponse.objects.filter(case=case).values_list("score", flat=True)
        .first(),
        merged_from=tuple(case.merged_cases.order_by("number")
                          .values_list("number", flat=True)))
    if "audit" in on:
        audit.record(action="case.viewed", actor=principal.actor,
                     subject=("case", case.number),
                     data={"number": case.number, "customer": case.customer_id.hex[:12],
                           "via": principal.via})
    assignable = [(m.user_id, m.user.email) for m in Membership.objects.filter(
        queue_id=case.queue_id, user__is_active=True).select_related("user")
        .order_by("user__email")]
    marker = _marker(case)
    perms = principal.permissions
    from django.conf import settings

    context = {
        "case": view, "s": view.summary, "messages_list": view.messages, "marker": marker,
        "assignable": assignable, "macros": selectors.macro_list(queue=view.summary.queue),
        "reply_form": forms.ReplyForm(), "note_form": forms.NoteForm(),
        "tags_form": forms.TagsForm(initial={"tags": ", ".join(view.summary.tags)}),
        "merge_form": forms.MergeForm(),
        "can_reply": case_perms.CASES_REPLY in perms,
        "can_manage": case_perms.CASES_MANAGE in perms,
        "poll_seconds": settings.SAFEGUARD_CONSOLE_POLL_SECONDS,
        "queues": selectors.queue_list_for(principal=principal),
        "calls": [i for i in view.interactions if i.channel == "voice"],
    }
    context.update(_panel_urls(principal, view.summary.customer_id))
    return render(request, "cases/detail.html", context)


# --- the customer panel -------------------------------------------------------------------------


def _sealed_view(row: Customer, last_verified_at: datetime | None) -> CustomerView:
    present = frozenset(f for f in CustomerField.values if row.__dict__.get(f) is not None)
    return CustomerView(
        id=row.id, name=sealed_text(row, "name"), email=sealed_text(row, "email"),
        phone=sealed_text(row, "phone"), address=sealed_text(row, "address"),
        date_of_birth=sealed_text(row, "date_of_birth"), payout=sealed_text(row, "payout"),
        status=row.status, language=row.language, created_at=row.created_at,
        updated_at=row.updated_at, closed_at=row.closed_at, last_verified_at=last_verified_at,
        present=present)


def _clear_view(row: Customer, last_verified_at: datetime | None) -> CustomerView:
    # An unmasked helpdesk that encrypts at rest: every value decrypted and shown in clear.
    values = {f: customer_selectors.clear_value(row, f) for f in CustomerField.values}
    return CustomerView(
        id=row.id, status=row.status, language=row.language, created_at=row.created_at,
        updated_at=row.updated_at, closed_at=row.closed_at, last_verified_at=last_verified_at,
        present=frozenset(f for f, v in values.items() if v), **values)


@permission_required(customer_perms.VIEW)
@require_GET
def customer_panel(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """customers.views.panel + selectors.customer_panel with the safeguards not in ``?with=``
    left out."""
    on = flags(request)
    principal = request_principal(request)
    if "scope" in on and not customer_selectors.customer_allowed(viewer=principal,
                                                                 customer_id=customer_id):
        raise Http404("out of scope")
    row = Customer.objects.filter(id=customer_id).first()
    if row is None:
        raise Http404("no such customer")
    verifications = tuple(
        customer_selectors._verification_view(v)
        for v in IdentityVerification.objects.filter(customer_id=row.id)
        .select_related("verified_by").order_by("-verified_at")[:5])
    last = verifications[0].verified_at if verifications else None
    revealed: tuple[Any, ...] = ()
    if "mask" in on:
        customer = customer_selectors.customer_view(row, last_verified_at=last)
        revealed = customer_selectors.active_reveals(user_id=principal.user_id, customer=row)
    elif "decrypt" in on:
        customer = _clear_view(row, last)
    else:
        customer = _sealed_view(row, last)
    pending = Approval.objects.filter(customer_id=row.id, status=ApprovalStatus.PENDING).count()
    panel = PanelView(customer=customer, revealed=revealed, verifications=verifications,
                      pending_approvals=pending)
    if "audit" in on:
        customer_selectors._viewed(principal, row.id, revealed=[r.field for r in revealed],
                                   what="panel")
    return render(request, "customers/_panel.html", _panel_context(request, panel))


urlpatterns = [
    path("bench/off/cases/<int:number>/", case_detail, name="bench_case_detail"),
    path("bench/off/customers/<uuid:customer_id>/panel/", customer_panel,
         name="bench_customer_panel"),
    *app_urlpatterns,
]
