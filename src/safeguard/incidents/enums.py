"""Public enums of the incidents app: severity, category, state, incident roles (R-IR-1)."""

from django.db import models


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 - critical"
    SEV2 = "sev2", "SEV2 - high"
    SEV3 = "sev3", "SEV3 - moderate"
    SEV4 = "sev4", "SEV4 - low"


class Category(models.TextChoices):
    DATA_BREACH = "data_breach", "Data breach"
    ACCOUNT_TAKEOVER = "account_takeover", "Account takeover"
    INSIDER_MISUSE = "insider_misuse", "Insider misuse"
    PHISHING = "phishing", "Phishing"
    VENDOR = "vendor", "Vendor"
    AVAILABILITY = "availability", "Availability"


class State(models.TextChoices):
    DETECTED = "detected", "Detected"
    TRIAGED = "triaged", "Triaged"
    CONTAINED = "contained", "Contained"
    ERADICATED = "eradicated", "Eradicated"
    RECOVERED = "recovered", "Recovered"
    CLOSED = "closed", "Closed"


# The only forward step from each state (R-IR-1): no skipping, no going back.
NEXT_STATE: dict[str, str] = {
    State.DETECTED: State.TRIAGED,
    State.TRIAGED: State.CONTAINED,
    State.CONTAINED: State.ERADICATED,
    State.ERADICATED: State.RECOVERED,
    State.RECOVERED: State.CLOSED,
}


class IncidentRole(models.TextChoices):
    COMMANDER = "commander", "Incident Commander"
    FORENSICS = "forensics", "Forensics Lead"
    LEGAL = "legal", "Legal"
    COMMUNICATIONS = "communications", "Communications"
    SCRIBE = "scribe", "Scribe"


class ContainmentKind(models.TextChoices):
    USER_DISABLE = "user_disable", "Disable a user (ends sessions and API tokens)"
    TOKEN_REVOKE = "token_revoke", "Revoke one API token"
    EXPORTS_FREEZE = "exports_freeze", "Freeze every data export"
    QUEUE_STEP_UP = "queue_step_up", "Force step-up for a queue's cases"
    KEY_ROTATION = "key_rotation", "Start a key rotation"


# Containment a later reversal can undo (a revoked token or a rotated key cannot come back).
REVERSIBLE_CONTAINMENT = frozenset({ContainmentKind.USER_DISABLE, ContainmentKind.EXPORTS_FREEZE,
                                    ContainmentKind.QUEUE_STEP_UP})


class ItemStatus(models.TextChoices):
    """A post-incident action item or an exercise finding (R-IR-7, R-IR-3)."""

    OPEN = "open", "Open"
    CLOSED = "closed", "Closed (done)"
    ACCEPTED = "accepted", "Accepted (risk accepted, not done)"


class RetestResult(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class ExerciseKind(models.TextChoices):
    TABLETOP = "tabletop", "Tabletop"
    FULL_DRILL = "full_drill", "Full drill"


class RetainerKind(models.TextChoices):
    FORENSIC = "forensic", "Forensic"
    LEGAL = "legal", "Legal"
