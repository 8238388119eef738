"""Filters of the KPI page: a range, a granularity, a queue (a select of existing queues) and a
channel. A reversed range is refused with a message."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from safeguard.cases.enums import Channel
from safeguard.metrics import kpis
from safeguard.metrics.selectors import GRANULARITIES
from safeguard.web.bounds import date_check


class KpiFilterForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive.")
    granularity = forms.ChoiceField(choices=[(g, g.capitalize()) for g in GRANULARITIES])
    queue = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(required=False,
                                choices=[("", "All channels"), *Channel.choices])

    def __init__(self, *args: Any, queues: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["queue"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared just above
        field.choices = [("", "All queues"), *queues]

    def _bounded(self, name: str) -> date:
        try:
            return date_check(self.cleaned_data[name])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_start(self) -> date:
        return self._bounded("start")

    def clean_end(self) -> date:
        return self._bounded("end")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(
                f"The range is reversed: the start {start.isoformat()} is after the end "
                f"{end.isoformat()}.")
        return data


class ProcessChangeForm(forms.Form):
    kpi = forms.ChoiceField(label="KPI", choices=[(d.key, d.name) for d in kpis.REGISTRY])
    effective_on = forms.DateField(label="Changed on",
                                   widget=forms.DateInput(attrs={"type": "date"}))
    label = forms.CharField(label="What changed", max_length=120)

    def clean_effective_on(self) -> date:
        try:
            return date_check(self.cleaned_data["effective_on"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
