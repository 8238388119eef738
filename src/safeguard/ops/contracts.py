"""Public contracts of the operations shell: its exceptions."""

from __future__ import annotations

from safeguard.web.errors import ApplicationError


class InstallationRefused(ApplicationError):
    """The database is not what the command or process needs (demo vs production, issue 17)."""

    code = "installation-refused"
    title = "Wrong kind of database"
