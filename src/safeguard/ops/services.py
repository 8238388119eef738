"""Writes of the operations shell."""

from __future__ import annotations

import os
import socket

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from safeguard.ops.models import Heartbeat


@transaction.atomic
def heartbeat_beat(*, name: str = "jobs") -> None:
    """Record that the job system ran now, on which worker."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    updated = Heartbeat.objects.filter(name=name).update(
        last_run_at=timezone.now(), runs=F("runs") + 1, worker=worker)
    if not updated:
        Heartbeat.objects.create(name=name, last_run_at=timezone.now(), runs=1, worker=worker)
