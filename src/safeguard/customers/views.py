"""Pages and HTMX partials of the customers app: parse, authorize, call one service or
selector, render. Role permission and step-up are checked here; scope inside selectors and
services. No inline script or style (strict CSP): behaviour comes from htmx attributes and
``customers/js/customers.js`` (the countdown of a reveal).

Reveal flow: "Reveal" fetches a reason form into the field's row (htmx GET, or a full page
without JavaScript). The form posts normally (not through htmx), so when the second factor is
stale ``@step_up_required`` can take the whole page to re-authentication and replay the post;
the answer is a redirect back (to ``next`` or the customer page), where the panel shows the
clear value with a countdown until the grant expires, then re-masks itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safeguard.accounts.guards import (
    has_recent_mfa,
    permission_required,
    request_permissions,
    request_principal,
    step_up_required,
)
from safeguard.customers import forms, selectors, services
from safeguard.customers import permissions as perms
from safeguard.customers.contracts import CustomerInvalid, CustomerSummary, PanelView
from safeguard.customers.enums import ApprovalKind, ApprovalStatus, CustomerField
from safeguard.web.errors import ApplicationError


def _error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "web/error.html", {"error": exc}, status=exc.status)


def _form_errors(form: Any, exc: ApplicationError) -> None:
    """A service's refusal as form errors: on the field it names, else on the form."""
    errors = getattr(exc, "errors", None) or exc.extra.get("errors") or {}
    placed = False
    for name, message in errors.items():
        field = name.split(".")[-1]
        if field in form.fields:
            form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, exc.detail)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request: HttpRequest, candidate: str, fallback: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return fallback


def _next_for(request: HttpRequest, customer_id: UUID) -> str:
    """Where a reveal started from this panel returns: the embedding page, else the customer."""
    fallback = reverse("customers:detail", args=[customer_id])
    candidate = request.GET.get("next", "")
    if not candidate and _is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        candidate = current.path + (f"?{current.query}" if current.query else "")
    if not candidate and not _is_htmx(request) and not request.path.endswith("/panel/"):
        candidate = request.get_full_path()
    return _safe_next(request, candidate, fallback)


def _panel_context(request: HttpRequest, panel: PanelView) -> dict[str, Any]:
    held = request_permissions(request)
    now = timezone.now()
    rows = []
    for value, label in CustomerField.choices:
        revealed = panel.revealed_value(value)
        rows.append({"field": value, "label": label,
                     "masked": panel.customer.masked(value),
                     "present": value in panel.customer.present,
                     "revealed": revealed,
                     "seconds_left": revealed.seconds_left(now) if revealed else 0})
    live = [r.seconds_left(now) for r in panel.revealed]
    return {"panel": panel, "customer": panel.customer, "rows": rows,
            "can_reveal": perms.REVEAL in held, "can_edit": perms.EDIT in held,
            # Re-render (re-mask) the panel one second after the first reveal expires.
            "refresh_in": min(live) + 1 if live else None,
            "next": _next_for(request, panel.customer.id)}


# --- find, create ------------------------------------------------------------------------------


@permission_required(perms.VIEW)
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Find a customer in scope: by exact e-mail or phone (blind index), by what masks already
    show (last four, initials, city), or by case number (opens the case). Issue 15, R-DATA-2."""
    form = forms.SearchForm(request.GET or None)
    results: list[CustomerSummary] | None = None
    if request.GET and form.is_valid():
        d = form.cleaned_data
        if d["case_number"]:  # the case page checks its scope and links to the customer
            return redirect(reverse("cases:detail", args=[d["case_number"]]))
        viewer = request_principal(request)
        results = []
        try:
            if d["email"] or d["phone"]:
                results = selectors.customer_search(viewer=viewer, email=d["email"],
                                                    phone=d["phone"])
            masked = form.masked_criteria()
            if any(masked.values()):
                found = selectors.customer_search_masked(
                    viewer=viewer, last4=masked["last4"], initials=masked["initials"],
                    city=masked["city"])
                if d["email"] or d["phone"]:  # both kinds given: customers matching both
                    ids = {c.id for c in found}
                    results = [c for c in results if c.id in ids]
                else:
                    results = found
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
            results = None
    return render(request, "customers/search.html", {
        "form": form, "results": results, "can_edit": perms.EDIT in request_permissions(request)})


@permission_required(perms.EDIT)
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    form = forms.CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            view = services.customer_create_for(
                viewer=request_principal(request), name=d["name"], email=d["email"],
                phone=d["phone"], address=form.address(), date_of_birth=d["date_of_birth"],
                payout=form.payout(), language=d["language"], source="staff")
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Customer {view.name or view.id} created.")
            if selectors.customer_in_scope(viewer=request_principal(request),
                                           customer_id=view.id):
                return redirect("customers:detail", customer_id=view.id)
            return redirect("customers:search")
    return render(request, "customers/create.html", {"form": form})


# --- one customer ------------------------------------------------------------------------------


@permission_required(perms.VIEW)
@require_GET
def detail(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """The customer page: the panel (masked, with reveals), verification and request actions."""
    try:
        panel = selectors.customer_panel(viewer=request_principal(request),
                                         customer_id=customer_id)
    except ApplicationError as exc:
        return _error(request, exc)
    context = _panel_context(request, panel)
    context |= {"verify_form": forms.VerifyForm(), "kinds": ApprovalKind.choices,
                "closed": panel.customer.status == "closed", "cases_url": _cases_url(
                    request, customer_id)}
    return render(request, "customers/detail.html", context)


def _cases_url(request: HttpRequest, customer_id: UUID) -> str:
    """The cases app's list of this customer's cases (loaded by htmx; it checks its own scope),
    for holders of cases.view; by URL name, since customers sits below cases (decision 0006)."""
    if "cases.view" not in request_permissions(request):
        return ""
    try:
        return reverse("cases:customer_cases", args=[customer_id])
    except NoReverseMatch:
        return ""


@permission_required(perms.VIEW)
@require_GET
def panel(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """HTMX partial: the customer panel (for the case view and the re-mask after expiry)."""
    try:
        view = selectors.customer_panel(viewer=request_principal(request),
                                        customer_id=customer_id)
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    return render(request, "customers/_panel.html", _panel_context(request, view))


@permission_required(perms.REVEAL)
@require_GET
def reveal_form(request: HttpRequest, customer_id: UUID, field: str) -> HttpResponse:
    """The reason form for one field: a partial for htmx, a page otherwise."""
    if field not in CustomerField.values:
        return _error(request, CustomerInvalid("Unknown field."))
    back = _safe_next(request, request.GET.get("next", ""),
                      reverse("customers:detail", args=[customer_id]))
    form = forms.RevealForm(initial={"field": field, "next": back})
    context = {"form": form, "customer_id": customer_id, "field": field,
               "label": CustomerField(field).label, "back": back,
               "step_up_fresh": has_recent_mfa(request)}
    template = "customers/_reveal_form.html" if _is_htmx(request) else "customers/reveal.html"
    return render(request, template, context)


@permission_required(perms.REVEAL)
@step_up_required
@require_POST
def reveal(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """Reveal one field (fresh second factor, reason); back to the page that asked."""
    form = forms.RevealForm(request.POST)
    fallback = reverse("customers:detail", args=[customer_id])
    back = _safe_next(request, request.POST.get("next", ""), fallback)
    if not form.is_valid():  # an unknown field or an over-long text: nothing to reveal
        field = request.POST.get("field", "")
        return render(request, "customers/reveal.html", {
            "form": form, "customer_id": customer_id, "field": field,
            "label": dict(CustomerField.choices).get(field, field), "back": back,
            "step_up_fresh": True}, status=422)
    try:
        revealed = services.customer_reveal(
            viewer=request_principal(request), customer_id=customer_id,
            field=form.cleaned_data["field"], reason=form.cleaned_data["reason"],
            step_up_fresh=has_recent_mfa(request))
    except ApplicationError as exc:
        _form_errors(form, exc)
        return render(request, "customers/reveal.html", {
            "form": form, "customer_id": customer_id, "field": form.cleaned_data["field"],
            "label": CustomerField(form.cleaned_data["field"]).label, "back": back,
            "step_up_fresh": True}, status=exc.status)
    messages.info(request, f"{CustomerField(revealed.field).label} revealed until "
                           f"{timezone.localtime(revealed.expires_at):%H:%M:%S}.")
    return redirect(f"{back}#field-{revealed.field}")


@permission_required(perms.EDIT)
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """Change the non-sensitive fields (name, language)."""
    principal = request_principal(request)
    try:
        customer = selectors.customer_get(viewer=principal, customer_id=customer_id)
    except ApplicationError as exc:
        return _error(request, exc)
    form = forms.CustomerEditForm(request.POST or None,
                                  initial={"language": customer.language})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.customer_update(viewer=principal, customer_id=customer_id,
                                     name=d["name"] or None, language=d["language"])
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("customers:detail", customer_id=customer_id)
    return render(request, "customers/edit.html", {"form": form, "customer": customer})


@permission_required(perms.EDIT)
@require_POST
def verify(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """Record how the customer proved their identity on this contact."""
    form = forms.VerifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how the customer was verified.")
        return redirect("customers:detail", customer_id=customer_id)
    try:
        services.identity_verify(viewer=request_principal(request), customer_id=customer_id,
                                 method=form.cleaned_data["method"],
                                 interaction_ref=form.cleaned_data["interaction_ref"])
    except ApplicationError as exc:
        if exc.status == 404:
            return _error(request, exc)
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Identity verification recorded.")
    return redirect("customers:detail", customer_id=customer_id)


@permission_required(perms.EDIT)
@require_http_methods(["GET", "POST"])
def request_change(request: HttpRequest, customer_id: UUID, kind: str) -> HttpResponse:
    """An agent asks for a sensitive change; a supervisor decides (nothing changes before)."""
    form_class = forms.REQUEST_FORMS.get(kind)
    if form_class is None:
        return _error(request, CustomerInvalid("Unknown request kind."))
    principal = request_principal(request)
    try:
        customer = selectors.customer_get(viewer=principal, customer_id=customer_id)
    except ApplicationError as exc:
        return _error(request, exc)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approval = services.approval_request(
                viewer=principal, customer_id=customer_id, kind=kind, change=form.change(),
                reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            if exc.status == 404:
                return _error(request, exc)
            _form_errors(form, exc)
        else:
            if approval.status == ApprovalStatus.GRANTED:
                messages.success(request, "Refund granted (under the approval threshold).")
            else:
                messages.success(request, f"{approval.kind_label}: sent to a supervisor for "
                                          "approval. Nothing changes until it is granted.")
            return redirect("customers:detail", customer_id=customer_id)
    return render(request, "customers/request_change.html", {
        "form": form, "customer": customer, "kind": kind,
        "kind_label": ApprovalKind(kind).label}, status=422 if form.errors else 200)


# --- approvals (supervisors) -------------------------------------------------------------------


@permission_required(perms.APPROVE)
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    """The approvals inbox: requests of customers in scope with customer (masked), case number
    and age; newest first, ``?sort=oldest`` for the longest waiting first."""
    status = request.GET.get("status", ApprovalStatus.PENDING)
    if status not in (*ApprovalStatus.values, "all"):
        status = ApprovalStatus.PENDING
    sort = "oldest" if request.GET.get("sort") == "oldest" else "newest"
    try:
        page = selectors.approval_page(viewer=request_principal(request),
                                       status=None if status == "all" else status,
                                       cursor=request.GET.get("cursor") or None, limit=50,
                                       newest_first=sort == "newest")
    except ApplicationError as exc:
        return _error(request, exc)
    return render(request, "customers/approval_list.html", {
        "page": page, "status": status, "statuses": [*ApprovalStatus.choices, ("all", "All")],
        "sort": sort, "me": request.user.pk})


@permission_required(perms.APPROVE)
@require_GET
def approval_detail(request: HttpRequest, approval_id: UUID) -> HttpResponse:
    principal = request_principal(request)
    try:
        approval = selectors.approval_get(viewer=principal, approval_id=approval_id)
        customer = selectors.customer_get(viewer=principal, customer_id=approval.customer_id)
        proposed = selectors.approval_proposed_value(viewer=principal, approval_id=approval_id)
    except ApplicationError as exc:
        return _error(request, exc)
    response = render(request, "customers/approval_detail.html", {
        "approval": approval, "customer": customer, "proposed": proposed,
        "own": approval.requested_by_id ==
        request.user.pk, "grant_form": forms.DecisionForm(initial={"decision": "grant"}),
        "refuse_form": forms.DecisionForm(initial={"decision": "refuse"}),
        "step_up_fresh": has_recent_mfa(request)})
    response["Cache-Control"] = "no-store"  # the proposed value is shown in clear
    return response


@permission_required(perms.APPROVE)
@step_up_required
@require_POST
def approval_decide(request: HttpRequest, approval_id: UUID) -> HttpResponse:
    """Grant or refuse after step-up; granting applies the change in the same transaction."""
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose grant or refuse.")
        return redirect("customers:approval_detail", approval_id=approval_id)
    grant = form.cleaned_data["decision"] == "grant"
    try:
        approval = services.approval_decide(
            approver=request_principal(request), approval_id=approval_id, grant=grant,
            note=form.cleaned_data["note"], step_up_fresh=has_recent_mfa(request))
    except ApplicationError as exc:
        if exc.status == 404:
            return _error(request, exc)
        messages.error(request, exc.detail)
        return redirect("customers:approval_detail", approval_id=approval_id)
    messages.success(request, f"{approval.kind_label}: {approval.status}.")
    return redirect("customers:approval_list")
