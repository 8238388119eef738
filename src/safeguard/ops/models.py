"""Operations storage (private): the last run of each periodic job."""

from django.db import models


class Heartbeat(models.Model):
    """Written by the periodic heartbeat job; its age says whether jobs run."""

    name = models.CharField(max_length=60, primary_key=True)
    last_run_at = models.DateTimeField()
    runs = models.BigIntegerField(default=0)
    worker = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"
