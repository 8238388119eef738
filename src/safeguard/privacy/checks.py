"""System checks of the privacy app, ids safeguard.E300-E319.

* E300: the Records Retention Matrix cannot be loaded (missing file, bad YAML, a row without a
  citation or with an unknown action, trigger or period).
* E301 (deploy): the data inventory is not whole: a column of a model has no declaration, or a
  declaration names an unknown category, legal basis, protection or retention class (R-DATA-1).
* E310: SAFEGUARD_DSR_HOLIDAY_COUNTRIES names a country or subdivision the ``holidays``
  library does not know (the request clock would ignore its holidays).
* E311: SAFEGUARD_DSR_PUBLIC_LIMIT or SAFEGUARD_DSR_STATUS_LIMIT is not a rate ("5/h").
* E315 (deploy): the archive directory (SAFEGUARD_ARCHIVE_DIR) cannot be created or written,
  so a matrix row with the action ``archive`` would fail the sweep (archive-then-delete).
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from safeguard.privacy.contracts import MatrixError


def retention_matrix_loads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The sweep refuses to run on a broken matrix; say so before it is scheduled."""
    from safeguard.privacy.matrix import file_matrix

    try:
        file_matrix()
    except MatrixError as exc:
        return [checks.Error(f"Retention matrix: {exc.detail}",
                             hint="Fix the file named by SAFEGUARD_RETENTION_MATRIX "
                                  "(docs/privacy.md).", id="safeguard.E300")]
    return []


def inventory_is_whole(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every column of every model is declared in an inventory.yaml (R-DATA-1)."""
    from safeguard.privacy.inventory import InventoryError, undeclared

    try:
        problems = undeclared()
    except (InventoryError, MatrixError) as exc:
        problems = [str(exc)]
    if not problems:
        return []
    return [checks.Error(f"Data inventory incomplete: {len(problems)} problem(s), first: "
                         f"{problems[0]}",
                         hint="Declare the column in the owning app's inventory.yaml "
                              "(docs/privacy.md).", id="safeguard.E301")]


def dsr_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The request clock's holiday calendar and the public page's limits are usable."""
    from django.conf import settings

    from safeguard.privacy.clock import parse_countries
    from safeguard.privacy.intake import limit

    errors: list[checks.CheckMessage] = []
    try:
        parse_countries(settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES)
    except ValueError as exc:
        errors.append(checks.Error(f"SAFEGUARD_DSR_HOLIDAY_COUNTRIES: {exc}",
                                   hint="ISO 3166 codes of the holidays library, e.g. "
                                        "GB-ENG,DE (docs/configuration.md).",
                                   id="safeguard.E310"))
    for name in ("SAFEGUARD_DSR_PUBLIC_LIMIT", "SAFEGUARD_DSR_STATUS_LIMIT"):
        try:
            limit(getattr(settings, name))
        except ValueError as exc:
            errors.append(checks.Error(f"{name}: {exc}", id="safeguard.E311"))
    return errors
def archive_dir_writable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Archive-then-delete writes one file per archive into SAFEGUARD_ARCHIVE_DIR."""
    import os

    from django.conf import settings

    path = settings.SAFEGUARD_ARCHIVE_DIR
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
    except OSError:
        writable = False
    if writable:
        return []
    return [checks.Error(f"The archive directory {path} cannot be created or written.",
                         hint="Point SAFEGUARD_ARCHIVE_DIR at a writable directory "
                              "(docs/configuration.md).", id="safeguard.E315")]


def register() -> None:
    checks.register(dsr_settings)
    checks.register(retention_matrix_loads)
    # A deployment check: the test suite is the gate while code changes (a developer adding a
    # model declares it before CI passes), and makemigrations must not wait for the YAML.
    checks.register(inventory_is_whole, deploy=True)
    checks.register(archive_dir_writable, deploy=True)
