"""Models of the governance app (private: read through selectors, write through services).

Every evaluation of every control is kept (R-REG-1): an auditor sees when a control failed and
for how long. A run is resumable: a control already stored for a run is not evaluated again.
"""

from __future__ import annotations

from django.db import models

from safeguard.governance.enums import ControlStatus


class EvaluationRun(models.Model):
    """One pass over every control (the hourly job, `safeguard governance check`, the page)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.CharField(max_length=254)

    def __str__(self) -> str:
        return f"governance run {self.pk}"


class ControlEvaluation(models.Model):
    """The status of one control at one moment, with the evidence that decided it."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="results")
    control_id = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=ControlStatus.choices)
    evidence = models.TextField()
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "control_id"],
                                               name="governance_one_result_per_run")]
        indexes = [models.Index(fields=["control_id", "checked_at"],
                                name="governance_control_time")]

    def __str__(self) -> str:
        return f"{self.control_id} {self.status} at {self.checked_at:%Y-%m-%d %H:%M}"
