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
