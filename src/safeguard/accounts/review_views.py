"""Pages of access reviews (decision 0128): parse, authorize, call one service or selector,
render. Starting, closing and deciding ask for a fresh second factor (step-up)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from safeguard.accounts import review_report, reviews
from safeguard.accounts import review_selectors as sel
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    request_principal,
    step_up_required,
)
from safeguard.accounts.review_contracts import ReviewError
from safeguard.accounts.review_permissions import REVIEW_ACCESS, REVIEWS_MANAGE, REVIEWS_VIEW
from safeguard.audit import services as audit
from safeguard.web.bounds import MAX_SEQ, ascii_int
from safeguard.web.errors import ApplicationError


def _error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "web/error.html", {"error": exc}, status=exc.status)


@permission_required(REVIEWS_VIEW)
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign with its progress and overdue count, and the control's current state."""
    period = sel.current_period()
    campaigns = sel.campaign_list()
    return render(request, "accounts/reviews/list.html", {
        "campaigns": campaigns, "period_label": period.label,
        "current": next((c for c in campaigns if c.period_start == period.start), None),
        "control": sel.control_access_reviews_done(),
        "can_manage": REVIEWS_MANAGE in request_permissions(request),
        "months": settings.SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS,
        "due_days": settings.SAFEGUARD_ACCESS_REVIEW_DUE_DAYS,
        "escalation_days": settings.SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS,
    })


@permission_required(REVIEWS_MANAGE)
@step_up_required(action="Start an access review")
@require_POST
def campaign_start(request: HttpRequest) -> HttpResponse:
    try:
        campaign = reviews.campaign_start(actor=request_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("accounts:reviews")
    messages.success(request, f"Access review {campaign.label} started: {campaign.total} grants "
                              "to review.")
    return redirect("accounts:review_detail", campaign_id=campaign.id)


@permission_required(REVIEWS_VIEW)
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        campaign = sel.campaign_get(campaign_id=campaign_id)
        items = sel.campaign_items(campaign_id=campaign_id)
    except ApplicationError as exc:
        return _error(request, exc)
    can_manage = REVIEWS_MANAGE in request_permissions(request)
    return render(request, "accounts/reviews/detail.html", {
        "campaign": campaign, "items": items, "can_manage": can_manage,
        "rows": sel.reassign_targets(items=items) if can_manage and campaign.status == "open"
        else [(i, []) for i in items]})


@permission_required(REVIEWS_MANAGE)
@step_up_required(action="Close an access review")
@require_POST
def campaign_close(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        campaign = reviews.campaign_close(actor=request_actor(request), campaign_id=campaign_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Access review {campaign.label} closed; the signed report is "
                                  "ready.")
    return redirect("accounts:review_detail", campaign_id=campaign_id)


def _report_access(request: HttpRequest, campaign_id: int, what: str) -> None:
    audit.record(action="access_review.report_downloaded", actor=request_actor(request),
                 subject=("access_review", campaign_id), data={"file": what})


@permission_required(REVIEWS_VIEW)
@require_GET
def campaign_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The signed report PDF, exactly the bytes the signature covers."""
    try:
        pdf, sha, _, _ = sel.report_get(campaign_id=campaign_id)
    except ApplicationError as exc:
        return _error(request, exc)
    _report_access(request, campaign_id, "pdf")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="access-review-{campaign_id}.pdf"')
    response["Cache-Control"] = "no-store"
    response["X-Content-SHA256"] = sha
    return response


@permission_required(REVIEWS_VIEW)
@require_GET
def campaign_signature(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The report's detached signature and the public key to check it with."""
    try:
        _, sha, signature, key_id = sel.report_get(campaign_id=campaign_id)
    except ApplicationError as exc:
        return _error(request, exc)
    _report_access(request, campaign_id, "signature")
    response = JsonResponse({
        "file": f"access-review-{campaign_id}.pdf", "sha256": sha, "alg": "Ed25519",
        "key_id": key_id, "signature": signature,
        "covers": "'safeguard-access-review-report/v1\\n' + the PDF bytes",
        "public_key_pem": review_report.public_key_pem()})
    response["Content-Disposition"] = (
        f'attachment; filename="access-review-{campaign_id}.sig.json"')
    response["Cache-Control"] = "no-store"
    return response


@permission_required(REVIEW_ACCESS)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The signed-in reviewer's undecided items (never their own grants)."""
    me = request_principal(request).user_id
    response = render(request, "accounts/reviews/queue.html", _queue_context(me))
    response["Cache-Control"] = "no-store"
    return response


def _queue_context(me: int) -> dict[str, object]:
    return {"rows": sel.reassign_targets(items=sel.queue_for(person_id=me)),
            "decided": sel.decided_by(person_id=me)}


@permission_required(REVIEW_ACCESS)
@step_up_required(action="Decide an access review")
@require_POST
def item_decide(request: HttpRequest, item_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    try:
        item = reviews.item_decide(actor=request_actor(request), item_id=item_id,
                                   decision=decision, comment=request.POST.get("comment", ""))
    except ApplicationError as exc:
        # a clear 4xx with the reason, on the queue page; nothing was changed
        me = request_principal(request).user_id
        return render(request, "accounts/reviews/queue.html",
                      {"error": exc.detail, **_queue_context(me)}, status=exc.status)
    verb = "revoked" if item.decision == "revoke" else "kept"
    messages.success(request, f"{item.grant_label} of {item.user_email}: {verb}.")
    return redirect("accounts:review_queue")


@permission_required(REVIEW_ACCESS)
@step_up_required(action="Reassign an access review item")
@require_POST
def item_reassign(request: HttpRequest, item_id: int) -> HttpResponse:
    """Hand an item to another eligible reviewer with a reason (its reviewer or a campaign
    owner). A refusal is a 4xx with the reason on the queue page; nothing changes."""
    target = ascii_int(request.POST.get("to", ""), minimum=1, maximum=MAX_SEQ)
    back = request.POST.get("back", "")
    try:
        if target is None:
            raise ReviewError("Choose the reviewer to hand the item to.")
        item = reviews.item_reassign(actor=request_actor(request), item_id=item_id,
                                     to_user_id=target, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        me = request_principal(request).user_id
        return render(request, "accounts/reviews/queue.html",
                      {"error": exc.detail, **_queue_context(me)}, status=exc.status)
    messages.success(request, f"{item.grant_label} of {item.user_email} handed to "
                              f"{item.reviewer_email}.")
    if back == "campaign":
        return redirect("accounts:review_detail", campaign_id=item.campaign_id)
    return redirect("accounts:review_queue")
