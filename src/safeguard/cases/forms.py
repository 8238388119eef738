"""Forms of the agent console: parsing only; every rule lives in the services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms

from safeguard.cases.enums import CaseStatus, Priority
from safeguard.web.bounds import date_check

# SLA targets beyond ten years are typos; the bound also keeps them inside an integer column.
MAX_TARGET_MINUTES = 10 * 365 * 24 * 60

_TEXT = forms.Textarea(attrs={"rows": 5})


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    queue = forms.CharField(required=False)
    status = forms.ChoiceField(required=False, choices=[
        ("", "Active (new, open, pending)"), *CaseStatus.choices, ("all", "Any status")])
    assignee = forms.ChoiceField(required=False, choices=[
        ("", "Anyone"), ("me", "Assigned to me"), ("unassigned", "Unassigned")])
    tag = forms.CharField(required=False, max_length=40)
    breached = forms.BooleanField(required=False, label="SLA breached only")
    sort = forms.ChoiceField(required=False, choices=[
        ("number", "Oldest first"), ("-number", "Newest first"), ("-updated", "Recently updated"),
        ("due", "SLA due soonest"), ("priority", "Priority, highest first")])
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60, label="Save this view as")


class ReplyForm(forms.Form):
    text = forms.CharField(label="Reply to the customer", widget=forms.Textarea(
        attrs={"rows": 6, "id": "composer-text", "data-shortcut-target": "reply"}),
        max_length=100_000)
    interaction = forms.UUIDField(required=False, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    text = forms.CharField(label="Internal note (never sent)", widget=forms.Textarea(
        attrs={"rows": 3, "id": "note-text", "data-shortcut-target": "note"}), max_length=20_000)


class ContactCodeForm(forms.Form):
    code = forms.CharField(label="Code the person read back", max_length=12, strip=True,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "off"}))


# How an agent may record having verified a person (customers.services.AGENT_METHODS).
AGENT_VERIFICATION_CHOICES = [
    ("knowledge", "Security questions (knowledge-based)"),
    ("callback", "Called back on the number on file"),
    ("otp_sms", "One-time code to the phone on file"),
    ("document", "Identity document checked"),
    ("authenticated_session", "Signed in to the customer account"),
]


class ContactVerifyForm(forms.Form):
    method = forms.ChoiceField(label="How you verified the person",
                               choices=AGENT_VERIFICATION_CHOICES)


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False)  # a user id, or empty to unassign


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=CaseStatus.choices)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class TagsForm(forms.Form):
    tags = forms.CharField(required=False, max_length=900,
                           help_text="Comma-separated, e.g. billing, refund")


class MergeForm(forms.Form):
    into = forms.IntegerField(label="Merge this case into case number", min_value=1,
                              max_value=2**31 - 1)


class MoveQueueForm(forms.Form):
    queue = forms.SlugField()


class QueueForm(forms.Form):
    slug = forms.SlugField(max_length=50)
    name = forms.CharField(max_length=100)
    first_response_minutes = forms.IntegerField(required=False, min_value=1,
                                                max_value=MAX_TARGET_MINUTES,
                                                label="First response target (minutes)")
    resolution_minutes = forms.IntegerField(required=False, min_value=1,
                                            max_value=MAX_TARGET_MINUTES,
                                            label="Resolution target (minutes)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class MemberForm(forms.Form):
    email = forms.EmailField(label="Staff e-mail")
    is_supervisor = forms.BooleanField(required=False, label="Supervisor of this queue")


class MacroForm(forms.Form):
    name = forms.CharField(max_length=100)
    body = forms.CharField(widget=_TEXT, max_length=10_000,
                           help_text="Placeholders: {case_number} and {agent_name} are filled in "
                           "when an agent picks the macro; {customer_first_name} is filled in "
                           "only in what the customer receives. Any other {name} is refused.")
    queue = forms.SlugField(required=False, help_text="Empty: every queue.")


class KpiForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Inclusive.")
    queue = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, queues: Sequence[tuple[str, str]] = (), **kwargs: Any):
        """``queues``: (slug, name) of the queues to choose from (issue 15: a select, not a
        free-text slug)."""
        super().__init__(*args, **kwargs)
        queue = self.fields["queue"]
        assert isinstance(queue, forms.ChoiceField)  # noqa: S101 - declared just above
        queue.choices = [("", "All queues"), *queues]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(
                "The end date is before the start date: choose an end on or after "
                f"{start.isoformat()}.", code="reversed")
        return data

    def _bounded(self, name: str) -> date:
        try:
            return date_check(self.cleaned_data[name])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_start(self) -> date:
        return self._bounded("start")

    def clean_end(self) -> date:
        return self._bounded("end")


class CsatForm(forms.Form):
    score = forms.TypedChoiceField(
        coerce=int, widget=forms.RadioSelect, label="How satisfied are you with our help?",
        choices=[(5, "5 — very satisfied"), (4, "4"), (3, "3"), (2, "2"),
                 (1, "1 — very dissatisfied")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=2000, label="Anything you want to tell us (optional)")
