"""Pages of the accounts app: parse, authorize, call one service or selector, render."""

from __future__ import annotations

from allauth.account.internal.flows.reauthentication import suspend_request
from allauth.account.views import PasswordResetView as AllauthPasswordResetView
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safeguard.accounts import forms, rbac, selectors, services
from safeguard.accounts import permissions as perm
from safeguard.accounts.guards import (
    authenticated,
    has_recent_mfa,
    permission_required,
    reauthenticate_url,
    request_actor,
    request_permissions,
    request_principal,
    step_up_required,
)
from safeguard.web.bounds import MAX_SEQ, ascii_int
from safeguard.web.errors import ApplicationError


@authenticated
def me(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own profile: roles, effective permissions, factors, sessions."""
    user = selectors.user_get(user_id=request_principal(request).user_id)
    perms = request_permissions(request)
    sessions = UserSession.objects.purge_and_list(request.user)
    response = render(request, "accounts/me.html", {
        "profile": user,
        "permissions": [p for p in rbac.all_permissions() if p.codename in perms],
        "sessions": sorted(sessions, key=lambda s: s.last_seen_at, reverse=True),
        "current_session": request.session.session_key,
    })
    response["Cache-Control"] = "no-store"  # lists this user's sessions and addresses
    return response


@authenticated
@require_POST
def session_revoke(request: HttpRequest) -> HttpResponse:
    session_id = ascii_int(request.POST.get("session", ""), minimum=1, maximum=MAX_SEQ)
    if session_id is not None and services.session_revoke(
            actor=request_actor(request), user_id=request_principal(request).user_id,
            session_id=session_id):
        messages.success(request, "Session ended.")
    else:
        messages.error(request, "That session is not yours or has already ended.")
    return redirect("accounts:me")


@authenticated
def mfa_required(request: HttpRequest) -> HttpResponse:
    """Where the MFA gate sends a user who may not proceed yet."""
    return render(request, "accounts/mfa_required.html",
                  {"state": getattr(request, "mfa_state", None)})


@permission_required(perm.USERS_VIEW)
def user_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/user_list.html", {
        "users": selectors.user_list(), "coverage": selectors.mfa_coverage(),
        "can_manage": perm.USERS_MANAGE in request_permissions(request),
    })


@permission_required(perm.USERS_VIEW)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """One user: roles, effective permissions with the roles that grant each, factors."""
    try:
        user = selectors.user_get(user_id=user_id)
    except ApplicationError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    roles = [selectors.role_get(slug=s) for s in user.roles]
    effective = selectors.user_permissions(user_id=user_id)
    rows = [(p, [r.name for r in roles if p.codename in r.permissions])
            for p in rbac.all_permissions() if p.codename in effective]
    sensitive = rbac.sensitive_permissions()
    return render(request, "accounts/user_detail.html", {
        "profile": user, "rows": rows,
        "all_roles": [(r, sorted(r.permissions & sensitive)) for r in selectors.role_list()],
        "can_manage": perm.USERS_MANAGE in request_permissions(request),
        "disable_form": forms.DisableForm(),
        "manager_choices": selectors.manager_candidates(user_id=user_id),
    })


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Create a user")
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = forms.UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.user_create(
                actor=request_actor(request), email=d["email"], full_name=d["full_name"],
                password=d["password"] or None, roles=d["roles"],
                is_service_account=d["is_service_account"])
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"{user.email} created. They enrol MFA at first sign-in.")
            return redirect("accounts:user_detail", user_id=user.id)
    return render(request, "accounts/user_create.html", {"form": form})


def _user_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    actor = request_actor(request)
    try:
        if action == "grant":
            slug = request.POST["role"].strip()
            if not slug:  # the form no longer preselects a role (issue 15: not Administrator)
                messages.error(request, "Choose a role to grant.")
                return redirect("accounts:user_detail", user_id=user_id)
            if selectors.role_sensitive_permissions(role_slug=slug):
                services.role_grant_request(actor=actor, user_id=user_id, role_slug=slug,
                                            reason=request.POST.get("reason", ""))
                messages.success(request, "Grant requested: a second administrator approves it "
                                          "on the grant requests page.")
                return redirect("accounts:user_detail", user_id=user_id)
            services.role_grant(actor=actor, user_id=user_id, role_slug=slug)
        elif action == "revoke":
            services.role_revoke(actor=actor, user_id=user_id, role_slug=request.POST["role"])
        elif action == "disable":
            form = forms.DisableForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to disable a user.")
                return redirect("accounts:user_detail", user_id=user_id)
            services.user_disable(actor=actor, user_id=user_id,
                                  reason=form.cleaned_data["reason"])
        elif action == "enable":
            services.user_enable(actor=actor, user_id=user_id)
    except (ApplicationError, KeyError) as exc:
        messages.error(request, getattr(exc, "detail", "Incomplete request."))
    else:
        messages.success(request, "Saved.")
    return redirect("accounts:user_detail", user_id=user_id)


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Grant a role")
@require_POST
def user_role_grant(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "grant")


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Revoke a role")
@require_POST
def user_role_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "revoke")


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Disable a user")
@require_POST
def user_disable(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "disable")


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Set a user's manager")
@require_POST
def user_manager_set(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set or clear who the user reports to (their first access reviewer). A refused choice
    (self, a loop, an unknown user) is a message on the page and changes nothing."""
    raw = request.POST.get("manager", "").strip()
    manager_id = None if raw == "" else ascii_int(raw, minimum=1, maximum=MAX_SEQ)
    if raw and manager_id is None:
        messages.error(request, "Choose a manager from the list.")
        return redirect("accounts:user_detail", user_id=user_id)
    try:
        user = services.user_set_manager(actor=request_actor(request), user_id=user_id,
                                         manager_id=manager_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Manager set to {user.manager_email}." if user.manager_email
                         else "Manager cleared.")
    return redirect("accounts:user_detail", user_id=user_id)


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Enable a user")
@require_POST
def user_enable(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "enable")


@permission_required(perm.USERS_MANAGE)
@require_GET
def grant_request_list(request: HttpRequest) -> HttpResponse:
    """Four eyes (R-OPS-8): grants of sensitive permissions waiting for a second administrator."""
    services.grant_requests_expire()
    status = request.GET.get("status", "pending")
    if status not in ("pending", "approved", "refused", "expired", "all"):
        status = "pending"
    me = request_principal(request).user_id
    rows = selectors.grant_request_list(status=None if status == "all" else status)
    return render(request, "accounts/grant_requests.html", {
        "rows": [(r, me not in (r.requested_by_id, r.user_id)) for r in rows],
        "status": status, "statuses": ("pending", "approved", "refused", "expired", "all"),
        "hours": settings.SAFEGUARD_GRANT_REQUEST_HOURS,
    })


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="Decide a role grant request")
@require_POST
def grant_request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    """Approve or refuse a grant request: another administrator, with a fresh second factor."""
    decision = request.POST.get("decision")
    if decision not in ("approve", "refuse"):
        messages.error(request, "Choose approve or refuse.")
        return redirect("accounts:grant_requests")
    try:
        done = services.role_grant_decide(actor=request_actor(request), request_id=request_id,
                                          approve=decision == "approve",
                                          step_up_fresh=has_recent_mfa(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Request {done.status}: {done.role_name} for "
                                  f"{done.user_email}.")
    return redirect("accounts:grant_requests")


@permission_required(perm.USERS_VIEW)
def role_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/role_list.html", {
        "roles": selectors.role_list(), "permissions": rbac.all_permissions(),
        "can_manage": perm.ROLES_MANAGE in request_permissions(request),
    })


@permission_required(perm.USERS_VIEW)
def role_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        role = selectors.role_get(slug=slug)
    except ApplicationError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    return render(request, "accounts/role_detail.html", {
        "role": role, "holders": selectors.role_holders(slug=slug),
        "permissions": [p for p in rbac.all_permissions() if p.codename in role.permissions],
    })


@permission_required(perm.ROLES_MANAGE)
@step_up_required(action="Create or change a role")
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Create a custom role, or edit one; built-in roles are read-only."""
    initial = {}
    if slug:
        try:
            role = selectors.role_get(slug=slug)
        except ApplicationError as exc:
            return render(request, "web/error.html", {"error": exc}, status=exc.status)
        initial = {"slug": role.slug, "name": role.name, "description": role.description,
                   "permissions": sorted(role.permissions)}
    form = forms.RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if slug:
                saved = services.role_update(actor=request_actor(request), slug=slug,
                                             name=d["name"], description=d["description"],
                                             permissions=d["permissions"])
            else:
                saved = services.role_create(actor=request_actor(request), slug=d["slug"],
                                             name=d["name"], description=d["description"],
                                             permissions=d["permissions"])
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Role {saved.name} saved.")
            return redirect("accounts:role_detail", slug=saved.slug)
    return render(request, "accounts/role_edit.html", {"form": form, "slug": slug})


@permission_required(perm.TOKENS_MANAGE)
def token_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/token_list.html", {"tokens": selectors.token_list()})


@permission_required(perm.TOKENS_MANAGE)
@step_up_required(action="Issue an API token")
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token; its secret is rendered once, in this response, and never again."""
    form = forms.TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            owner = selectors.user_get_by_email(email=d["user_email"])
            issued = services.token_issue(actor=request_actor(request), user_id=owner.id,
                                          name=d["name"], scopes=d["scopes"],
                                          expires_in_days=d["expires_in_days"],
                                          caller_permissions=request_permissions(request))
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            response = render(request, "accounts/token_issued.html", {"issued": issued})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "accounts/token_create.html", {"form": form})


@permission_required(perm.TOKENS_MANAGE)
@step_up_required(action="Revoke an API token")
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke(actor=request_actor(request), token_id=token_id,
                              reason=request.POST.get("reason", "revoked by administrator"))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Token revoked.")
    return redirect("accounts:token_list")


@permission_required(perm.ORG_VIEW)
@require_http_methods(["GET", "POST"])
def organisation(request: HttpRequest) -> HttpResponse:
    """Organisation name, DPO and security hotline (R-ORG-1); editing needs org.manage and a
    fresh second factor (they appear in customer notifications)."""
    can_manage = perm.ORG_MANAGE in request_permissions(request)
    if request.method == "POST" and can_manage and not has_recent_mfa(request):
        return suspend_request(request, reauthenticate_url(request))
    org = selectors.organisation()
    form = forms.OrganisationForm(request.POST or None, initial=org.__dict__)
    if request.method == "POST":
        if not can_manage:
            return render(request, "web/error.html", {"error": ApplicationError(
                "Changing the organisation needs org.manage.")}, status=403)
        if form.is_valid():
            try:
                services.organisation_update(actor=request_actor(request), **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Organisation settings saved.")
                return redirect("accounts:org")
    return render(request, "accounts/organisation.html", {"form": form, "org": org,
                                                          "can_manage": can_manage})


class PasswordResetView(AllauthPasswordResetView):
    """allauth's reset page; every submitted request is audited — sent, refused by the rate
    limit (allauth answers 429 before the form saves) or malformed — the typed address only as
    a keyed fingerprint (issue 9 items 7 and 9)."""

    def form_valid(self, form: forms.PasswordResetRequestForm) -> HttpResponse:
        response = super().form_valid(form)
        refused = response.status_code == 429
        services.password_reset_requested(
            identifier=form.cleaned_data["email"], user_ids=[u.pk for u in form.users],
            outcome="denied" if refused else "success", why="rate limited" if refused else "")
        return response

    def form_invalid(self, form: forms.PasswordResetRequestForm) -> HttpResponse:
        services.password_reset_requested(identifier=str(form.data.get("email", ""))[:254],
                                          user_ids=(), outcome="denied", why="invalid address")
        return super().form_invalid(form)


password_reset = PasswordResetView.as_view()


# --- notification centre (issue 15) ------------------------------------------------------------

@authenticated
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first; ``?unread=1`` for unread only."""
    user_id = request_principal(request).user_id
    unread_only = request.GET.get("unread") == "1"
    try:
        page = selectors.notification_page(user_id=user_id, unread_only=unread_only,
                                           cursor=request.GET.get("cursor") or None)
    except ApplicationError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    response = render(request, "accounts/notifications.html", {
        "page": page, "unread_only": unread_only,
        "unread": selectors.notification_unread_count(user_id=user_id)})
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and follow its link (the list when it has none)."""
    user_id = request_principal(request).user_id
    try:
        services.notification_mark_read(user_id=user_id, notification_id=notification_id)
    except ApplicationError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    if request.POST.get("follow") == "1":
        view = selectors.notification_get(user_id=user_id, notification_id=notification_id)
        if view is not None and view.url:
            return redirect(view.url)
    return redirect("accounts:notifications")


@authenticated
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    changed = services.notifications_mark_all_read(user_id=request_principal(request).user_id)
    messages.success(request, f"{changed} notification{'s' if changed != 1 else ''} marked read.")
    return redirect("accounts:notifications")


@permission_required(perm.USERS_MANAGE)
@require_GET
def user_sessions(request: HttpRequest, user_id: int) -> HttpResponse:
    """Another user's sessions for an administrator, each with an End button (issue 15)."""
    try:
        profile = selectors.user_get(user_id=user_id)
        sessions = services.sessions_list_for_admin(actor=request_actor(request),
                                                    user_id=user_id)
    except ApplicationError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    response = render(request, "accounts/user_sessions.html", {
        "profile": profile, "sessions": sessions,
    })
    response["Cache-Control"] = "no-store"  # addresses and devices of a person
    return response


@permission_required(perm.USERS_MANAGE)
@step_up_required(action="End another user's session")
@require_POST
def user_session_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    """End one session of a user (audited as session.revoked with the administrator as actor)."""
    session_id = ascii_int(request.POST.get("session", ""), minimum=1, maximum=MAX_SEQ)
    if session_id is not None and services.session_revoke(
            actor=request_actor(request), user_id=user_id, session_id=session_id):
        messages.success(request, "Session ended.")
    else:
        messages.error(request, "That session has already ended.")
    return redirect("accounts:user_sessions", user_id=user_id)
