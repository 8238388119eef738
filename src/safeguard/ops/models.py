"""Operations storage (private): the last run of each periodic job, what kind of database this
is, and the health history (one sample per interval, R-MEAS-5)."""

from django.db import models


class Heartbeat(models.Model):
    """Written by the periodic heartbeat job; its age says whether jobs run."""

    name = models.CharField(max_length=60, primary_key=True)
    last_run_at = models.DateTimeField()
    runs = models.BigIntegerField(default=0)
    worker = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class InstallationMark(models.Model):
    """What this database is: a demo (published passwords) or a production installation.

    One row (id 1) at most. Written once by ``safeguard demo`` on a fresh database or by
    ``migrate`` in production; never changed afterwards (issue 17, R-OPS-1).
    """

    KIND_DEMO = "demo"
    KIND_PRODUCTION = "production"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    kind = models.CharField(max_length=20, choices=[(KIND_DEMO, "demo"),
                                                    (KIND_PRODUCTION, "production")])
    marked_at = models.DateTimeField()
    marked_by = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="ops_single_mark")]

    def __str__(self) -> str:
        return f"{self.kind} database since {self.marked_at:%Y-%m-%d}"


class HealthSample(models.Model):
    """One health sample per sample interval (R-MEAS-5): the readiness checks as the periodic
    sampler saw them. ``slot`` is the start of the interval, so a second run in the same
    interval finds its row instead of adding one; gaps (no row) mean nobody looked."""

    slot = models.DateTimeField(unique=True)
    sampled_at = models.DateTimeField()
    up = models.BooleanField()
    failed = models.JSONField(default=list, blank=True)  # names of the failing checks

    class Meta:
        ordering = ["slot"]

    def __str__(self) -> str:
        return f"health sample {self.slot:%Y-%m-%d %H:%M} {'up' if self.up else 'down'}"
