"""The one signal this app listens to: ``post_migrate``, so a production ``migrate`` marks its
database as production (issue 17). Django announces "migrations done" only that way; the
receiver is a thin adapter that calls one service. Connected in OpsConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


def _mark_production(sender: AppConfig, **kwargs: Any) -> None:
    if settings.PRODUCTION and kwargs.get("plan") is not None:
        from safeguard.ops import services

        services.installation_mark_production()


def connect(config: AppConfig) -> None:
    post_migrate.connect(_mark_production, sender=config,
                         dispatch_uid="safeguard.ops.mark_production")
