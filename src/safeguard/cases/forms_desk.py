"""Forms of the automations editor (issue 15): they parse; the services check the rules."""

from __future__ import annotations

from django import forms

from safeguard.cases.enums import AssignmentStrategy, Channel, Priority, TriggerEvent, TriggerNotify

_ANY = [("", "Any")]
_KEEP = [("", "Leave as is")]


class AssignmentRuleForm(forms.Form):
    strategy = forms.ChoiceField(choices=AssignmentStrategy.choices)
    use_skills = forms.BooleanField(required=False, label="Prefer agents skilled in a case's tag")
    is_active = forms.BooleanField(required=False, label="Active")


class SkillsForm(forms.Form):
    skills = forms.CharField(required=False, max_length=900,
                             help_text="Tags separated by spaces or commas.")

    def tags(self) -> list[str]:
        return self.cleaned_data["skills"].replace(",", " ").split()


class TriggerForm(forms.Form):
    name = forms.CharField(max_length=100)
    event = forms.ChoiceField(choices=TriggerEvent.choices, label="When")
    position = forms.IntegerField(min_value=0, max_value=10_000, initial=100,
                                  help_text="Lower runs first.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    if_queue = forms.ChoiceField(required=False, label="If the queue is")
    if_channel = forms.ChoiceField(choices=_ANY + list(Channel.choices), required=False,
                                   label="If the channel is")
    if_priority = forms.ChoiceField(choices=_ANY + list(Priority.choices), required=False,
                                    label="If the priority is")
    if_subject_contains = forms.CharField(max_length=100, required=False,
                                          label="If the subject contains")
    set_queue = forms.ChoiceField(required=False, label="Then move to queue")
    set_priority = forms.ChoiceField(choices=_KEEP + list(Priority.choices), required=False,
                                     label="Then set the priority")
    add_tags = forms.CharField(max_length=900, required=False, label="Then add tags",
                               help_text="Separated by spaces or commas.")
    notify = forms.ChoiceField(choices=TriggerNotify.choices, required=False,
                               label="Then notify")

    def __init__(self, *args: object, queues: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["if_queue"].choices = _ANY + queues  # type: ignore[attr-defined]
        self.fields["set_queue"].choices = _KEEP + queues  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, object]:
        d = dict(self.cleaned_data)
        d["add_tags"] = str(d.get("add_tags") or "").replace(",", " ").split()
        return d
