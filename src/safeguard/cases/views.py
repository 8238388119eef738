"""Agent console pages: parse, authorize, call one service or selector, render.

Actions are plain POST forms that redirect back (keyboard- and screen-reader-friendly); HTMX
only refreshes the queue table and polls the conversation. Scripts and styles are files under
static/cases/ (strict CSP: nothing inline).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safeguard.accounts import selectors as accounts
from safeguard.accounts.guards import (
    has_recent_mfa,
    permission_required,
    public,
    request_actor,
    request_principal,
    step_up_required,
)
from safeguard.cases import customer_link, forms, selectors, services
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import AttachmentIn, AttachmentRejected, Period, QueueStepUpNeeded
from safeguard.cases.middleware import STEP_UP_ACTION, queue_step_up_in_view
from safeguard.web.bounds import MAX_SEQ, ascii_int
from safeguard.web.errors import ApplicationError


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _error_page(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "web/error.html", {"error": exc}, status=exc.status)


# --- queue view ---------------------------------------------------------------------------------


@permission_required(perm.CASES_VIEW)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The case list: search (number, tags, text), filters, sort and saved views, one counted
    page at a time; filters refresh the table (issue 15)."""
    principal = request_principal(request)
    form = forms.QueueFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    error = ""
    if request.GET and not form.is_valid():
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    elif form.is_bound:
        d = form.cleaned_data
        status = d["status"]
        filters = {"q": d["q"], "queue": d["queue"] or None, "assignee": d["assignee"] or None,
                   "tag": d["tag"] or None, "breached": d["breached"],
                   "sort": d["sort"] or "number", "page": d["page"] or 1,
                   "status": None if status == "all" else ([status] if status else
                                                             list(selectors.cases.ACTIVE))}
    page = None
    if not error:
        try:
            page = selectors.case_search(principal=principal, **filters,
                                         step_up_fresh=has_recent_mfa(request))
        except ApplicationError as exc:
            error = exc.detail
    items = page.items if page else ()
    names = (customer_link.labels(viewer=principal,
                                  customer_ids=[c.customer_id for c in items])
             if principal.has("customers.view") and items else {})
    query = request.GET.copy()
    query.pop("page", None)
    view_query = {k: v for k, v in request.GET.items() if k in selectors.VIEW_PARAMS and v}
    context = {"page": page, "rows": [(c, names.get(c.customer_id, "")) for c in items],
               "form": form, "queues": selectors.queue_list_for(principal=principal),
               "query": query.urlencode(), "error": error,
               "saved_views": selectors.saved_view_list(principal=principal),
               "view_form": forms.SavedViewForm(), "view_query": view_query}
    template = "cases/partials/_queue_table.html" if _htmx(request) else "cases/queue.html"
    return render(request, template, context, status=400 if error else 200)


@permission_required(perm.CASES_VIEW)
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters and sort under a name (the search text is not kept)."""
    form = forms.SavedViewForm(request.POST)
    query = {k: request.POST.get(k, "") for k in selectors.VIEW_PARAMS}
    if not form.is_valid():
        messages.error(request, "Give the view a name of at most 60 characters.")
    else:
        try:
            services.saved_view_save(principal=request_principal(request),
                                     name=form.cleaned_data["name"], query=query)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"View \"{form.cleaned_data['name']}\" saved.")
    kept = urlencode({k: v for k, v in query.items() if v})
    return redirect(reverse("cases:queue") + (f"?{kept}" if kept else ""))


@permission_required(perm.CASES_VIEW)
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        services.saved_view_delete(principal=request_principal(request), view_id=view_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "View deleted.")
    return redirect("cases:queue")


# --- case view ----------------------------------------------------------------------------------


def _panel_urls(principal: Any, customer_id: UUID) -> dict[str, str]:
    """The customers app's masked panel is loaded by HTMX from its own view (which checks the
    scope and records the read); without JavaScript a link to the customer page remains."""
    if not principal.has("customers.view"):
        return {}
    try:
        return {"customer_panel_url": reverse("customers:panel", args=[customer_id]),
                "customer_url": reverse("customers:detail", args=[customer_id])}
    except NoReverseMatch:
        return {}


@permission_required(perm.CASES_VIEW)
@require_GET
def customer_cases(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    """The customer's cases the agent may open, newest first (issue 15): a partial for the
    customer page (htmx), a page of its own otherwise."""
    rows, total = selectors.case_list_for_customer(principal=request_principal(request),
                                                   customer_id=customer_id)
    context = {"rows": rows, "total": total, "customer_id": customer_id,
               "current": ascii_int(request.GET.get("case", ""))}
    template = ("cases/partials/_customer_cases.html" if _htmx(request)
                else "cases/customer_cases.html")
    return render(request, template, context)


@queue_step_up_in_view
@permission_required(perm.CASES_VIEW)
@require_GET
def detail(request: HttpRequest, number: int) -> HttpResponse:
    """The case: conversation, composer with macros, notes, controls, customer panel.

    Checks its queue's forced step-up itself, on the case it loads (``@queue_step_up_in_view``:
    the middleware's own query skipped, issue 10): a stale second factor gets the usual
    re-prompt before anything is read, then the page as always."""
    principal = request_principal(request)
    try:
        page = selectors.case_page(principal=principal, number=number,
                                   step_up_fresh=has_recent_mfa(request))
    except QueueStepUpNeeded:
        return step_up_required(lambda r, **kw: redirect("cases:detail", number=number),
                                action=STEP_UP_ACTION)(request, number=number)
    except ApplicationError as exc:
        return _error_page(request, exc)
    case, assignable, marker = page.case, page.assignable, page.marker
    perms = principal.permissions
    context = {
        "case": case, "s": case.summary, "messages_list": case.messages, "marker": marker,
        "assignable": assignable, "macros": page.macros,
        "reply_form": forms.ReplyForm(), "note_form": forms.NoteForm(),
        "tags_form": forms.TagsForm(initial={"tags": ", ".join(case.summary.tags)}),
        "merge_form": forms.MergeForm(),
        "code_form": forms.ContactCodeForm(), "verify_form": forms.ContactVerifyForm(),
        "can_reply": perm.CASES_REPLY in perms, "can_manage": perm.CASES_MANAGE in perms,
        "can_open_quarantine": perm.ATTACHMENT_QUARANTINE in perms,
        "poll_seconds": settings.SAFEGUARD_CONSOLE_POLL_SECONDS,
        "presence_seconds": settings.SAFEGUARD_PRESENCE_SECONDS,
        "queues": selectors.queue_list_for(principal=principal),
        "calls": [i for i in case.interactions if i.channel == "voice"],
    }
    context.update(_panel_urls(principal, case.summary.customer_id))
    return render(request, "cases/detail.html", context)


@permission_required(perm.CASES_VIEW)
@require_GET
def conversation(request: HttpRequest, number: int) -> HttpResponse:
    """Live updates: 204 while nothing changed, else the conversation partial (audited)."""
    principal = request_principal(request)
    try:
        marker = selectors.case_marker(principal=principal, number=number)
        if request.GET.get("m") == marker:
            return HttpResponse(status=204)
        summary, msgs = selectors.case_conversation(principal=principal, number=number)
    except ApplicationError as exc:
        return _error_page(request, exc)
    return render(request, "cases/partials/_conversation.html", {
        "s": summary, "messages_list": msgs, "marker": marker,
        "can_open_quarantine": principal.has(perm.ATTACHMENT_QUARANTINE),
        "poll_seconds": settings.SAFEGUARD_CONSOLE_POLL_SECONDS})


def _act(request: HttpRequest, number: int, form_class: type[Any], call: Any,
         done: str) -> HttpResponse:
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            call(request_principal(request), form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            if done:
                messages.success(request, done)
    return redirect("cases:detail", number=number)


def _uploads(request: HttpRequest) -> list[AttachmentIn]:
    """The composer's files, refused by size before any is read into memory."""
    uploads = request.FILES.getlist("files")
    if len(uploads) > settings.SAFEGUARD_ATTACHMENT_MAX_COUNT:
        raise AttachmentRejected(
            f"At most {settings.SAFEGUARD_ATTACHMENT_MAX_COUNT} attachments per message.")
    for f in uploads:
        if (f.size or 0) > settings.SAFEGUARD_ATTACHMENT_MAX_BYTES:
            raise AttachmentRejected(f"{f.name} is larger than "
                                     f"{settings.SAFEGUARD_ATTACHMENT_MAX_BYTES} bytes.")
    return [AttachmentIn(filename=(f.name or "attachment")[:255],
                         content_type=f.content_type or "application/octet-stream",
                         content=f.read()) for f in uploads]


@permission_required(perm.CASES_REPLY)
@require_POST
def reply(request: HttpRequest, number: int) -> HttpResponse:
    """Send the composer: text and files, the files screened like a customer's (issue 15).
    Files held back (withheld for a card number, or quarantined) are named in a warning."""
    form = forms.ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("cases:detail", number=number)
    try:
        sent = services.reply_send(case_number=number, principal=request_principal(request),
                                   text=form.cleaned_data["text"],
                                   interaction_id=form.cleaned_data["interaction"],
                                   attachments=_uploads(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("cases:detail", number=number)
    if sent.withheld:
        messages.warning(request, f"Reply sent without {', '.join(sent.withheld)}: "
                                  "attachment withheld, it contained a card number.")
    quarantined = sent.attachments.count("quarantined")
    if quarantined:
        messages.warning(request, f"Reply sent; {quarantined} attachment(s) could not be "
                                  "screened and were quarantined, not sent.")
    if not sent.held_back:
        messages.success(request, "Reply sent.")
    return redirect("cases:detail", number=number)


@permission_required(perm.CASES_VIEW)
@require_POST
def presence(request: HttpRequest, number: int) -> HttpResponse:
    """Collision detection (issue 15): the page reports viewing or replying (``typed`` when the
    agent typed since the last report) and gets back who else is on the case."""
    principal = request_principal(request)
    state = request.POST.get("state", "viewing")
    try:
        services.presence_report(case_number=number, principal=principal, state=state,
                                 typed=request.POST.get("typed") == "1")
        others = selectors.presence_others(principal=principal, case_number=number)
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    return render(request, "cases/partials/_presence.html", {"others": others})


@permission_required(perm.CASES_REPLY)
@require_POST
def note(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.NoteForm, lambda p, d: services.note_add(
        case_number=number, principal=p, text=d["text"]), "Note added.")


def _assignee(value: str, principal: Any) -> int | None:
    if value == "me":
        return int(principal.user_id)
    return ascii_int(value, minimum=1, maximum=MAX_SEQ)


@permission_required(perm.CASES_MANAGE)
@require_POST
def assign(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.AssignForm, lambda p, d: services.case_assign(
        case_number=number, principal=p, assignee_id=_assignee(d["assignee"], p)),
        "Assignment changed.")


@permission_required(perm.CASES_MANAGE)
@require_POST
def status(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.StatusForm, lambda p, d: services.case_move(
        case_number=number, principal=p, status=d["status"]), "Status changed.")


@permission_required(perm.CASES_MANAGE)
@require_POST
def priority(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.PriorityForm, lambda p, d: services.case_set_priority(
        case_number=number, principal=p, priority=d["priority"]), "Priority changed.")


@permission_required(perm.CASES_MANAGE)
@require_POST
def tags(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.TagsForm, lambda p, d: services.case_tag(
        case_number=number, principal=p, tags=d["tags"].split(",")), "Tags saved.")


@permission_required(perm.CASES_MANAGE)
@require_POST
def merge(request: HttpRequest, number: int) -> HttpResponse:
    form = forms.MergeForm(request.POST)
    if form.is_valid():
        try:
            services.case_merge(case_number=number, into_number=form.cleaned_data["into"],
                                principal=request_principal(request))
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Merged into case {form.cleaned_data['into']}.")
            return redirect("cases:detail", number=form.cleaned_data["into"])
    else:
        messages.error(request, "Give the number of the case to merge into.")
    return redirect("cases:detail", number=number)


@permission_required(perm.CASES_MANAGE)
@require_POST
def move_queue(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.MoveQueueForm, lambda p, d: services.case_change_queue(
        case_number=number, principal=p, queue=d["queue"]), "Queue changed.")


@permission_required(perm.CASES_REPLY)
@require_POST
def contact_code_send(request: HttpRequest, number: int) -> HttpResponse:
    """E-mail a one-time code to the address on file of the case's unverified contact."""
    try:
        services.case_contact_code_send(case_number=number, principal=request_principal(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "A code was sent to the address on file; ask the person to "
                                  "read it back to you.")
    return redirect("cases:detail", number=number)


@permission_required(perm.CASES_REPLY)
@require_POST
def contact_code_check(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.ContactCodeForm,
                lambda p, d: services.case_contact_code_check(case_number=number, principal=p,
                                                              code=d["code"]),
                "Verified: the conversation now belongs to the customer's profile.")


@permission_required(perm.CASES_REPLY)
@require_POST
def contact_verify(request: HttpRequest, number: int) -> HttpResponse:
    return _act(request, number, forms.ContactVerifyForm,
                lambda p, d: services.case_contact_verify(case_number=number, principal=p,
                                                          method=d["method"]),
                "Verified: the conversation now belongs to the customer's profile.")


@permission_required(perm.CASES_REPLY)
@require_POST
def retry(request: HttpRequest, number: int, message_id: UUID) -> HttpResponse:
    try:
        services.message_retry(case_number=number, principal=request_principal(request),
                               message_id=message_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Delivery retried.")
    return redirect("cases:detail", number=number)


@permission_required(perm.CASES_REPLY)
@require_POST
def csat_link(request: HttpRequest, number: int) -> HttpResponse:
    """Issue a survey link for the agent to give the customer (shown once on the page)."""
    try:
        link = services.csat_link(case_number=number, principal=request_principal(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.info(request, f"Survey link (valid until {link.expires_at:%Y-%m-%d}): "
                               f"{request.build_absolute_uri(link.path)}")
    return redirect("cases:detail", number=number)


@permission_required(perm.CASES_VIEW)
@require_GET
def attachment(request: HttpRequest, number: int, attachment_id: UUID) -> HttpResponse:
    """Download an attachment (decrypted; always as a download, never rendered inline)."""
    try:
        view, content = selectors.attachment_get(principal=request_principal(request),
                                                 number=number, attachment_id=attachment_id)
    except ApplicationError as exc:
        return _error_page(request, exc)
    response = HttpResponse(content, content_type=view.content_type)
    safe = "".join(c for c in view.filename if c.isalnum() or c in "._- ")[:100] or "attachment"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = "no-store"
    return response


@permission_required(perm.ATTACHMENT_QUARANTINE)
@step_up_required(action="Open a quarantined attachment")
@require_GET
def attachment_quarantine(request: HttpRequest, number: int, attachment_id: UUID) -> HttpResponse:
    """Download a quarantined attachment as sent (it could not be screened): the permission,
    a fresh second factor (re-asked, then back here) and the case in scope; audited."""
    try:
        view, content = selectors.attachment_quarantine_open(
            principal=request_principal(request), number=number, attachment_id=attachment_id,
            step_up_fresh=has_recent_mfa(request))
    except ApplicationError as exc:
        return _error_page(request, exc)
    # Never rendered inline: whatever it is, the browser saves it.
    response = HttpResponse(content, content_type="application/octet-stream")
    safe = "".join(c for c in view.filename if c.isalnum() or c in "._- ")[:100] or "attachment"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@permission_required(perm.CASES_REPLY)
@require_GET
def macro(request: HttpRequest, number: int) -> HttpResponse:
    """The composer with a macro's text filled in (HTMX swaps the textarea). Only a macro
    offered in this case to this agent renders; any other id is a 404, audited (issue 9 §12).
    Other methods (a POST applying a macro) are refused with 405."""
    principal = request_principal(request)
    try:
        case = selectors.case_summary(principal=principal, number=number)  # scope check
    except ApplicationError:
        return HttpResponse(status=404)
    macro_id = ascii_int(request.GET.get("macro") or "0", maximum=MAX_SEQ)
    if macro_id is None:
        return HttpResponse(status=404)
    user = accounts.user_get(user_id=principal.user_id)
    text = selectors.macro_render(principal=principal, macro_id=macro_id, case_number=number,
                                  case_queue=case.queue, agent_name=user.full_name or user.email)
    if text is None:
        services.macro_use_denied(actor=request_actor(request), macro_id=macro_id,
                                  case_number=number)
        return HttpResponse(status=404)
    form = forms.ReplyForm(initial={"text": text})
    return render(request, "cases/partials/_composer_text.html", {"reply_form": form})


# --- queues and macros (queues.manage) ----------------------------------------------------------


@permission_required(perm.QUEUES_MANAGE)
@require_http_methods(["GET", "POST"])
def queue_admin(request: HttpRequest) -> HttpResponse:
    form = forms.QueueForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.queue_create(actor=request_actor(request), slug=d["slug"], name=d["name"],
                                  first_response_minutes=d["first_response_minutes"],
                                  resolution_minutes=d["resolution_minutes"],
                                  principal=request_principal(request))
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Queue {d['slug']} created.")
            return redirect("cases:queue_edit", slug=d["slug"])
    return render(request, "cases/queue_admin.html", {"queues": selectors.queue_list(),
                                                      "form": form})


@permission_required(perm.QUEUES_MANAGE)
@require_http_methods(["GET", "POST"])
def queue_edit(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        q = selectors.queue_get(slug=slug)
    except ApplicationError as exc:
        return _error_page(request, exc)
    form = forms.QueueForm(request.POST or None, initial={
        "slug": q.slug, "name": q.name, "first_response_minutes": q.first_response_minutes,
        "resolution_minutes": q.resolution_minutes, "is_active": q.is_active})
    principal = request_principal(request)
    actor = request_actor(request)
    if request.method == "POST":
        try:
            action = request.POST.get("action", "save")
            if action == "save" and form.is_valid():
                d = form.cleaned_data
                services.queue_update(actor=actor, slug=slug, name=d["name"],
                                      first_response_minutes=d["first_response_minutes"],
                                      resolution_minutes=d["resolution_minutes"],
                                      is_active=d["is_active"], principal=principal)
            elif action == "add":
                member = forms.MemberForm(request.POST)
                if member.is_valid():
                    user = accounts.user_get_by_email(email=member.cleaned_data["email"])
                    services.queue_member_add(actor=actor, slug=slug, user_id=user.id,
                                              is_supervisor=member.cleaned_data["is_supervisor"],
                                              principal=principal)
            elif action == "remove":
                services.queue_member_remove(actor=actor, slug=slug,
                                             user_id=ascii_int(request.POST.get("user_id"),
                                                               maximum=MAX_SEQ) or 0,
                                             principal=principal)
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "detail", "Invalid request."))
        else:
            messages.success(request, "Saved.")
        return redirect("cases:queue_edit", slug=slug)
    members = [(m.user.id, m.user.email, m.is_supervisor) for m in _memberships(slug)]
    return render(request, "cases/queue_edit.html", {"q": q, "form": form, "members": members,
                                                     "member_form": forms.MemberForm()})


def _memberships(slug: str) -> Any:
    from safeguard.cases.models import QueueMembership

    return (QueueMembership.objects.filter(queue__slug=slug).select_related("user")
            .order_by("user__email"))


@permission_required(perm.QUEUES_MANAGE)
@require_http_methods(["GET", "POST"])
def macros(request: HttpRequest) -> HttpResponse:
    form = forms.MacroForm(request.POST or None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "delete":
                services.macro_delete(actor=request_actor(request),
                                      macro_id=ascii_int(request.POST.get("macro_id"),
                                                         maximum=MAX_SEQ) or 0,
                                      principal=request_principal(request))
                messages.success(request, "Macro deleted.")
                return redirect("cases:macros")
            if form.is_valid():
                d = form.cleaned_data
                services.macro_save(actor=request_actor(request), name=d["name"], body=d["body"],
                                    queue=d["queue"] or None,
                                    principal=request_principal(request))
                messages.success(request, "Macro saved.")
                return redirect("cases:macros")
        except (ApplicationError, ValueError) as exc:
            form.add_error(None, getattr(exc, "detail", "Invalid request."))
    return render(request, "cases/macros.html", {"macros": selectors.macro_list(), "form": form})


# --- KPIs ---------------------------------------------------------------------------------------


@permission_required(perm.KPI_VIEW)
@require_GET
def kpi(request: HttpRequest) -> HttpResponse:
    """CSAT, FCR and ASA for a period (default: the last 30 days), per queue for ASA."""
    today = datetime.now(tz=UTC).date()
    form = forms.KpiForm(request.GET or None,
                         initial={"start": today - timedelta(days=30), "end": today},
                         queues=[(q.slug, q.name) for q in selectors.queue_list()])
    start, end, queue_slug = today - timedelta(days=30), today, None
    status = 200
    if request.GET and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        queue_slug = form.cleaned_data["queue"] or None
    elif request.GET:  # a reversed range or an unknown queue: said, and the default shown
        status = 400
    period = Period(start=datetime.combine(start, time.min, tzinfo=UTC),
                    end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    return render(request, "cases/kpi.html", {
        "form": form, "period": period,
        "csat": selectors.csat(period=period, queue=queue_slug),
        "fcr": selectors.fcr(period=period, queue=queue_slug),
        "asa": selectors.asa(period=period, queue=queue_slug),
        "asa_by_queue": selectors.asa_by_queue(period=period),
        "window": settings.SAFEGUARD_FCR_REOPEN_WINDOW_DAYS,
    }, status=status)


# --- the customer's survey (public, signed link) ------------------------------------------------


@public
@require_http_methods(["GET", "POST"])
def csat(request: HttpRequest, token: str) -> HttpResponse:
    """The satisfaction survey behind a signed, expiring link; answered once per case."""
    try:
        number, answered = services.csat_case(token=token)
    except ApplicationError as exc:
        return render(request, "cases/csat.html", {"error": exc.detail}, status=exc.status)
    form = forms.CsatForm(request.POST or None)
    if answered and request.method == "GET":
        return render(request, "cases/csat.html", {"answered": True, "number": number},
                      status=409)
    if request.method == "POST" and form.is_valid():
        try:
            services.csat_submit(token=token, score=form.cleaned_data["score"],
                                 comment=form.cleaned_data["comment"])
        except ApplicationError as exc:
            return render(request, "cases/csat.html", {"error": exc.detail, "number": number},
                          status=exc.status)
        return render(request, "cases/csat.html", {"thanks": True, "number": number})
    return render(request, "cases/csat.html", {"form": form, "number": number,
                                               "action": reverse("cases:csat", args=[token])})


