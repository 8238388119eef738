"""Writes of the cost model (R-KPI-10): changing an input. Each change is a new row (the
history), carries a source note, and is audited; a malformed value changes nothing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.metrics import cost_selectors, costmodel
from safeguard.metrics.contracts import MetricsError
from safeguard.metrics.models import CostInputChange
from safeguard.protection import services as protection

NOTE_MAX = 300
VALUE_MAX = 30  # the stored text of a value holds 40


@transaction.atomic
def cost_input_set(*, actor: Actor, user_id: int | None, key: str, value: str,
                   source_note: str) -> cost_selectors.InputState:
    """Set one input of the cost model (an empty value unsets it); the source note says where
    the figure comes from and is required."""
    try:
        spec = cost_selectors.spec().input(key)
    except KeyError:
        raise MetricsError(f"unknown cost-model input {key[:60]!r}") from None
    if len(value.strip()) > VALUE_MAX:
        raise MetricsError(f"{spec.label}: at most {VALUE_MAX} characters")
    try:
        parsed = costmodel.parse_value(spec, value)
    except costmodel.InputError as exc:
        raise MetricsError(str(exc)) from None
    note = protection.screen(source_note.strip(), field="metrics.cost_input.source_note").text
    if not note:
        raise MetricsError("say where the figure comes from (a source note)")
    if len(note) > NOTE_MAX:
        raise MetricsError(f"the source note is longer than {NOTE_MAX} characters")
    stored = "" if parsed is None else str(parsed)
    if len(stored) > VALUE_MAX:
        raise MetricsError(f"{spec.label}: too many digits")
    row = CostInputChange.objects.create(key=key, value=stored, source_note=note,
                                         changed_by_id=user_id, changed_at=timezone.now())
    audit.record(action="metrics.cost_input_changed", actor=actor,
                 subject=("cost_input_change", row.id),
                 data={"key": key, "value": stored or None})
    return next(s for s in cost_selectors.input_states() if s.key == key)
