"""Incident page parts for the playbook checklist and the containment actions of decision 0226
(R-IR-7). Thin: parse, authorize, call one service, back to the incident page. Containment
asks for a fresh second factor each time."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import permission_required, request_actor, step_up_required
from safeguard.audit import selectors as audit_selectors
from safeguard.incidents import checklists, containment
from safeguard.incidents.enums import Category
from safeguard.incidents.permissions import INCIDENTS_CONTAIN, INCIDENTS_MANAGE
from safeguard.incidents.views import _post
from safeguard.web.errors import ApplicationError


class CheckForm(forms.Form):
    note = forms.CharField(required=False, max_length=500)


class CategoryForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)


class FreezeForm(forms.Form):
    reason = forms.CharField(max_length=200)


class QueueStepUpForm(forms.Form):
    queue = forms.TypedChoiceField(coerce=int, label="Queue")
    reason = forms.CharField(max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = containment.queue_choices()  # type: ignore[attr-defined]


class RotationForm(forms.Form):
    keysets = forms.MultipleChoiceField(
        choices=[(k, k) for k in containment.KEYSETS], widget=forms.CheckboxSelectMultiple,
        help_text="A new primary key now; rows move to it in the background")
    reason = forms.CharField(max_length=200)


class ReverseForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


def detail_context(incident_id: int) -> dict[str, Any]:
    """What the incident page shows of the checklist and the containment panel."""
    return {
        "checklist": checklists.checklist_get(incident_id=incident_id, now=timezone.now()),
        "check_form": CheckForm(auto_id=False),
        "category_form": CategoryForm(auto_id="cat_%s"),
        "freezes": audit_selectors.export_freezes(),
        "rotation_jobs": containment.rotation_jobs(incident_id=incident_id),
        "freeze_form": FreezeForm(auto_id="cf_%s"),
        "queue_form": QueueStepUpForm(auto_id="cq_%s"),
        "rotation_form": RotationForm(auto_id="cr_%s"),
    }


@permission_required(INCIDENTS_MANAGE)
@require_POST
def checklist_instantiate(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        pin = checklists.checklist_instantiate(actor=request_actor(request),
                                               incident_id=incident_id)
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed - {exc.detail}")
    else:
        messages.success(request, f"Checklist made from {pin.reference}.")
    return redirect("incidents:detail", incident_id=incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def checklist_check(request: HttpRequest, incident_id: int, item_id: int) -> HttpResponse:
    form = CheckForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing changed - the note is longer than 500 characters.")
        return redirect("incidents:detail", incident_id=incident_id)
    try:
        checklists.checklist_item_check(actor=request_actor(request), incident_id=incident_id,
                                        item_id=item_id, note=form.cleaned_data["note"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed - {exc.detail}")
    else:
        messages.success(request, "Item checked off.")
    return redirect("incidents:detail", incident_id=incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def category_set(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = CategoryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing changed - choose one of the categories.")
        return redirect("incidents:detail", incident_id=incident_id)
    try:
        pin = checklists.incident_category_set(actor=request_actor(request),
                                               incident_id=incident_id,
                                               category=form.cleaned_data["category"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed - {exc.detail}")
    else:
        messages.success(request, f"Category changed; the checklist follows {pin.reference}."
                         if pin else "Category changed; the playbooks do not load, so the "
                                     "checklist was left as it was.")
    return redirect("incidents:detail", incident_id=incident_id)


contain_exports = permission_required(INCIDENTS_CONTAIN)(step_up_required(action=(
    "Freeze every data export"))(_post(
    FreezeForm, lambda r, i, d: containment.contain_exports_freeze(
        actor=request_actor(r), incident_id=i, reason=str(d["reason"])),
    "Data exports frozen: every export is refused until reversed.")))
contain_queue = permission_required(INCIDENTS_CONTAIN)(step_up_required(action=(
    "Force step-up for a queue's cases"))(_post(
    QueueStepUpForm, lambda r, i, d: containment.contain_queue_step_up(
        actor=request_actor(r), incident_id=i, queue_id=int(d["queue"]),  # type: ignore[call-overload]
        reason=str(d["reason"])),
    "Queue under forced step-up: opening its cases needs a fresh second factor.")))
contain_rotation = permission_required(INCIDENTS_CONTAIN)(step_up_required(action=(
    "Start a key rotation"))(_post(
    RotationForm, lambda r, i, d: containment.contain_key_rotation(
        actor=request_actor(r), incident_id=i, keysets=list(d["keysets"]),  # type: ignore[call-overload]
        reason=str(d["reason"])),
    "Key rotation started: new keys are primary; the re-encryption job is queued.")))
