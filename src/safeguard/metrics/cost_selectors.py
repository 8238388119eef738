"""Reads of the cost, ROI and planning model (R-KPI-10, R-OPS-10): the model's specification
(costmodel.yaml), the current inputs with their history, the live record counts and the
computed outputs. Aggregates only: no customer data leaves this module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from django.conf import settings
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.cases import selectors as cases
from safeguard.customers import selectors as customers
from safeguard.metrics import costmodel
from safeguard.metrics.models import CostInputChange
from safeguard.privacy import inventory
from safeguard.protection import selectors as protection
from safeguard.web import providers

SPEC_PATH = Path(__file__).with_name("costmodel.yaml")


@cache
def spec() -> costmodel.ModelSpec:
    """The model's inputs, record classes and controls from costmodel.yaml."""
    return costmodel.spec_from_document(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def _staff() -> int:
    return sum(1 for u in accounts.user_list(include_disabled=False)
               if u.is_active and not u.is_service_account)


COUNTS: dict[str, Callable[[], int]] = {
    "customers.profiles": lambda: customers.customer_counts().get("customer", 0),
    "customers.unverified": lambda: customers.customer_counts().get("unverified", 0),
    "protection.tokens": protection.token_count,
    "accounts.staff": _staff,
    "cases.messages": cases.message_count,
    "cases.recordings": cases.recording_count,
}
"""Live count of each record class, by the name costmodel.yaml uses."""


def record_counts() -> dict[str, int | None]:
    """Every record class's live count (None for a count name no installed app measures)."""
    return {rc.count: (COUNTS[rc.count]() if rc.count in COUNTS else None)
            for rc in spec().record_classes}


@dataclass(frozen=True)
class InputState:
    """An input's current value and where it came from (the default's source, or the note of
    the change that set it)."""

    key: str
    label: str
    kind: str
    unit: str
    value: Decimal | str | None
    default: Decimal | str | None
    source: str
    changed_at: datetime | None
    changed_by: str | None


@dataclass(frozen=True)
class InputChangeView:
    key: str
    label: str
    value: str
    source_note: str
    changed_at: datetime
    changed_by: str | None


def _who(user_id: int | None, names: dict[int, str]) -> str | None:
    return names.get(user_id) if user_id is not None else None


def _user_names() -> dict[int, str]:
    return {u.id: u.email for u in accounts.user_list()}


def input_states() -> list[InputState]:
    """Every input with its current value: the latest change, else the shipped default."""
    latest: dict[str, CostInputChange] = {}
    for change in CostInputChange.objects.order_by("key", "-changed_at", "-id"):
        latest.setdefault(change.key, change)
    names = _user_names() if latest else {}
    out = []
    for i in spec().inputs:
        row = latest.get(i.key)
        if row is None:
            out.append(InputState(key=i.key, label=i.label, kind=i.kind, unit=i.unit,
                                  value=i.default, default=i.default, source=i.source,
                                  changed_at=None, changed_by=None))
        else:
            out.append(InputState(key=i.key, label=i.label, kind=i.kind, unit=i.unit,
                                  value=costmodel.parse_value(i, row.value), default=i.default,
                                  source=row.source_note, changed_at=row.changed_at,
                                  changed_by=_who(row.changed_by_id, names)))
    return out


def current_values() -> dict[str, Decimal | str | None]:
    """Input key -> its current value (None = unset)."""
    return {s.key: s.value for s in input_states()}


def input_history(*, limit: int = 200) -> list[InputChangeView]:
    """The latest changes of the inputs, newest first."""
    labels = {i.key: i.label for i in spec().inputs}
    rows = list(CostInputChange.objects.order_by("-changed_at", "-id")[:limit])
    names = _user_names() if rows else {}
    return [InputChangeView(key=r.key, label=labels.get(r.key, r.key), value=r.value or "unset",
                            source_note=r.source_note, changed_at=r.changed_at,
                            changed_by=_who(r.changed_by_id, names)) for r in rows]


def measured_training_hours(*, now: datetime | None = None) -> float | None:
    """Training hours per person over the last SAFEGUARD_COST_TRAINING_WINDOW_DAYS (365) days
    from governance's provider ``kpi.training_hours_per_person``; None when it is not
    registered or has no data."""
    fn = providers.get("kpi.training_hours_per_person")
    if fn is None:
        return None
    end = (now or timezone.now()).astimezone(UTC)
    window = timedelta(days=settings.SAFEGUARD_COST_TRAINING_WINDOW_DAYS)
    value = fn(start=end - window, end=end)
    return None if value is None else float(value)


def compute(*, overrides: Mapping[str, Decimal | str | None] | None = None
            ) -> tuple[dict[str, Decimal | str | None], costmodel.Outputs]:
    """The values used (current inputs with the what-if ``overrides``) and the outputs."""
    values = current_values()
    values.update(overrides or {})
    return values, costmodel.compute(spec(), values, counts=record_counts(), staff=_staff(),
                                     measured_training_hours=measured_training_hours())


@dataclass(frozen=True)
class CategoryCoverage:
    category: str
    description: str
    models: tuple[str, ...]
    priced_by: tuple[str, ...]  # record class labels


def category_coverage() -> list[CategoryCoverage]:
    """Each data category of the privacy inventory that some table holds, the tables holding it
    and the record classes of the model that price it (empty: not in the model)."""
    described = inventory.taxonomy()
    held: dict[str, set[str]] = {}
    for col in inventory.personal_columns():
        held.setdefault(col.category, set()).add(col.model)
    by_cat: dict[str, list[str]] = {}
    for rc in spec().record_classes:
        for c in rc.categories:
            by_cat.setdefault(c, []).append(rc.label)
    return [CategoryCoverage(category=c, description=described.get(c, ""),
                             models=tuple(sorted(held[c])), priced_by=tuple(by_cat.get(c, ())))
            for c in sorted(held)]
