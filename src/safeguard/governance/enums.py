"""Public enums of the governance app."""

from __future__ import annotations

from django.db import models


class ControlStatus(models.TextChoices):
    """What an automated check found (R-REG-1). ``unavailable`` = the source of the evidence is
    absent (an app not installed or not built, keys sealed); it never counts as met."""

    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    UNAVAILABLE = "unavailable", "Unavailable"


# A requirement mapped by no control, or a control never evaluated: not a stored status.
NOT_COVERED = "not_covered"
NOT_CHECKED = "not_checked"
