"""Tables of the metrics app (private: other apps use services and selectors)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ProcessChange(models.Model):
    """An annotated process change on one KPI: its control limits are recomputed from the first
    period starting on or after ``effective_on`` (a new baseline phase, R-KPI-9)."""

    kpi_key = models.CharField(max_length=40)
    effective_on = models.DateField()
    label = models.CharField(max_length=120)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kpi_key", "effective_on"],
                                               name="metrics_one_change_per_kpi_and_day")]
        ordering = ["kpi_key", "effective_on"]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"process change {self.pk}"


class CostInputChange(models.Model):
    """One change of an input of the cost model (R-KPI-10): append-only, so the history says who
    set which value, when and on what source. The current value is the latest row per key; a
    key without a row takes the default of costmodel.yaml."""

    key = models.CharField(max_length=60)
    value = models.CharField(max_length=40, blank=True, default="")  # "" = unset; a number
    source_note = models.CharField(max_length=300)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "changed_at"], name="metrics_costinput_key_idx")]
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"cost input change {self.pk}"


class MfaSnapshot(models.Model):
    """MFA coverage on one day (R-KPI-8), taken by the daily job so the KPI has a history to
    chart: privileged staff and those with a second factor, and the same for all staff."""

    day = models.DateField(unique=True)
    privileged = models.PositiveIntegerField()
    privileged_with_mfa = models.PositiveIntegerField()
    all_staff = models.PositiveIntegerField()
    all_with_mfa = models.PositiveIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"mfa snapshot {self.day.isoformat()}"
