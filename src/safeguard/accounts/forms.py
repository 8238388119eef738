"""Forms: parse and validate input at the edge; services enforce the rules."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import ResetPasswordForm
from django import forms
from django.conf import settings
from django.http import HttpRequest

from safeguard.accounts import rbac


def _permission_choices() -> list[tuple[str, str]]:
    return [(p.codename, f"{p.codename} — {p.label}") for p in rbac.all_permissions()]


class UserCreateForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False,
                               help_text="At least 12 characters. Leave empty for a service "
                                         "account.")
    is_service_account = forms.BooleanField(required=False, label="Service account (API only)")
    roles = forms.MultipleChoiceField(choices=[(r.slug, r.name) for r in rbac.BUILTIN_ROLES],
                                      widget=forms.CheckboxSelectMultiple, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("is_service_account") and not data.get("password"):
            self.add_error("password", "Staff users need an initial password.")
        return data


class RoleGrantForm(forms.Form):
    role = forms.SlugField()


class DisableForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="For the audit log, e.g. 'left the "
                                                       "company 2026-11-30'.")


class RoleForm(forms.Form):
    slug = forms.SlugField(max_length=40)
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=300, required=False)
    permissions = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = _permission_choices()  # type: ignore[attr-defined]


class TokenForm(forms.Form):
    user_email = forms.EmailField(label="Token belongs to (user or service account email)")
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'payment gateway'.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.IntegerField(min_value=1, initial=90)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = _permission_choices()  # type: ignore[attr-defined]
        self.fields["expires_in_days"].max_value = settings.SAFEGUARD_API_TOKEN_MAX_DAYS  # type: ignore[attr-defined]


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=200)
    dpo_name = forms.CharField(max_length=200, required=False,
                               label="Data Protection Officer")
    dpo_email = forms.EmailField(required=False, label="DPO email")
    security_hotline = forms.CharField(max_length=50, required=False)
    security_email = forms.EmailField(required=False)


class PasswordResetRequestForm(ResetPasswordForm):
    """allauth's reset form, minus its in-request mail: known and unknown addresses do the same
    work while the requester waits — one user lookup and one queued job — and the job sends the
    mail after the commit, so neither the page nor its timing tells whether an account exists
    (issue 9 item 7). The request is audited by the view, refused ones (429) included."""

    def save(self, request: HttpRequest, **kwargs: Any) -> str:
        from safeguard.accounts import services

        email = str(self.cleaned_data["email"])
        services.password_reset_mail_enqueue(
            user_ids=[u.pk for u in self.users],
            base_url=request.build_absolute_uri("/").rstrip("/"))
        return email
