"""Public enumerations of the accounts app."""

from django.db import models


class MFAState(models.TextChoices):
    """Where a staff user stands with MFA (R-OPS-1)."""

    MISSING = "missing", "No second factor enrolled"
    WEBAUTHN_REQUIRED = "webauthn_required", "Administrator without a security key"
    OK = "ok", "Enrolled"
