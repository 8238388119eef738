"""Health history (R-MEAS-5): a periodic sampler records the readiness checks once per sample
interval, and ``uptime`` turns the samples into the share of samples that were up per day.

What the figure measures, honestly: the sampler runs inside the application's own job system,
so it sees what ``/readyz`` sees (database, job storage, migrations, keys, audit signer) at the
moments it runs. When the whole installation — or only its job worker — is down, nothing is
sampled: such an interval is a *gap*, counted as unknown (neither up nor down) and reported
as lower ``coverage``, never as up. An outage at the edge (TLS proxy, network) is invisible to
it; an external prober is the complement (docs/ops.md).

Provider ``ops.uptime_90d`` (registered in OpsConfig.ready()):
``uptime_90d(days: int = 90) -> dict`` with ``overall`` (float | None: up samples ÷ samples),
``days`` (a list of ``{"date": date, "up_ratio": float | None, "samples": int, "expected":
int}``, oldest first, today last), ``samples``, ``expected`` (intervals in the range so far),
``coverage`` (samples ÷ expected, or None), ``interval_seconds``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from safeguard.ops import selectors
from safeguard.ops.models import HealthSample

DAY_SECONDS = 86400


def slot_of(at: datetime, interval: int) -> datetime:
    """The start of the sample interval holding ``at`` (UTC, aligned to midnight)."""
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % interval, tz=UTC)


def sample_record(*, now: datetime | None = None) -> tuple[bool, bool]:
    """Record this interval's health sample unless it is already there, and prune samples older
    than SAFEGUARD_HEALTH_HISTORY_DAYS. Returns ``(recorded, up)``; idempotent per interval."""
    now = now or timezone.now()
    slot = slot_of(now, settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS)
    existing = HealthSample.objects.filter(slot=slot).values_list("up", flat=True).first()
    if existing is not None:
        return False, existing
    results = selectors.readiness_checks()
    up = all(c.ok for c in results)
    failed = [c.name for c in results if not c.ok]
    try:
        with transaction.atomic():
            HealthSample.objects.create(slot=slot, sampled_at=now, up=up, failed=failed)
    except IntegrityError:  # another worker sampled this interval first
        return False, bool(HealthSample.objects.get(slot=slot).up)
    cutoff = now - timedelta(days=settings.SAFEGUARD_HEALTH_HISTORY_DAYS)
    HealthSample.objects.filter(slot__lt=cutoff).delete()
    return True, up


def _expected(day: date, now: datetime, interval: int) -> int:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    if now >= start + timedelta(days=1):
        return DAY_SECONDS // interval
    if now < start:
        return 0
    return int((now - start).total_seconds()) // interval + 1  # the current interval counts


def uptime(*, days: int = 90, now: datetime | None = None) -> dict[str, Any]:
    """Per UTC day of the last ``days`` (today included): samples, the share that were up, and
    the intervals expected so far; gaps are unknown, never up (see the module docstring)."""
    if not 1 <= days <= 3650:
        raise ValueError("days must be between 1 and 3650")
    now = now or timezone.now()
    interval = settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    rows = (HealthSample.objects
            .filter(slot__gte=datetime.combine(first, time.min, tzinfo=UTC), slot__lte=now)
            .annotate(day=TruncDate("slot", tzinfo=UTC)).values("day")
            .annotate(n=Count("id"), up_n=Count("id", filter=Q(up=True))))
    by_day = {r["day"]: (int(r["n"]), int(r["up_n"])) for r in rows}
    out: list[dict[str, Any]] = []
    total = up_total = expected_total = 0
    for k in range(days):
        d = first + timedelta(days=k)
        n, up_n = by_day.get(d, (0, 0))
        expected = _expected(d, now, interval)
        out.append({"date": d, "up_ratio": up_n / n if n else None, "samples": n,
                    "expected": expected})
        total += n
        up_total += up_n
        expected_total += expected
    return {"overall": up_total / total if total else None, "days": out, "samples": total,
            "expected": expected_total,
            "coverage": min(1.0, total / expected_total) if expected_total else None,
            "interval_seconds": interval}


def _floor_percent(ratio: float | None) -> str | None:
    return None if ratio is None else f"{math.floor(ratio * 10000) / 100:.2f}"


def summary(*, days: int = 90) -> dict[str, Any]:
    """For the health page: samples, the share up and the coverage as percentages rounded down,
    and the latest sample (when it was taken, up or down, which checks failed)."""
    u = uptime(days=days)
    last = HealthSample.objects.order_by("-slot").first()
    return {"days": days, "samples": u["samples"], "up_percent": _floor_percent(u["overall"]),
            "coverage_percent": _floor_percent(u["coverage"]),
            "last_at": last.sampled_at if last else None, "last_up": last.up if last else None,
            "last_failed": list(last.failed) if last else []}


def uptime_90d(days: int = 90) -> dict[str, Any]:
    """Provider ``ops.uptime_90d``: :func:`uptime` over the last ``days`` (90 by default)."""
    return uptime(days=days)


def register_checks() -> None:
    checks.register(check_settings, "safeguard")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E569: the sample interval is out of 60..3600 s or does not divide a day; E570: the
    history keeps fewer than 90 days (the trust page's range) or more than 3650; E571: the log
    field cap (ops.logging) is out of 256..1,000,000 characters."""
    out: list[checks.CheckMessage] = []
    s = settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS
    if not isinstance(s, int) or not 60 <= s <= 3600 or DAY_SECONDS % s:
        out.append(checks.Error(f"SAFEGUARD_HEALTH_SAMPLE_SECONDS is {s!r}: it must be 60..3600 "
                                "and divide 86400", hint="docs/ops.md, Health history",
                                id="safeguard.E569"))
    d = settings.SAFEGUARD_HEALTH_HISTORY_DAYS
    if not isinstance(d, int) or not 90 <= d <= 3650:
        out.append(checks.Error(f"SAFEGUARD_HEALTH_HISTORY_DAYS is {d!r}: it must be 90..3650 "
                                "(the trust page shows 90 days)", hint="docs/ops.md, Health "
                                "history", id="safeguard.E570"))
    m = settings.SAFEGUARD_LOG_FIELD_MAX_CHARS
    if not isinstance(m, int) or not 256 <= m <= 1_000_000:
        out.append(checks.Error(f"SAFEGUARD_LOG_FIELD_MAX_CHARS is {m!r}: it must be "
                                "256..1000000", hint="docs/deploy.md, 9. Logs",
                                id="safeguard.E571"))
    return out
