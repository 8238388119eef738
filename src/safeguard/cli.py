"""The ``safeguard`` console script: Django's management commands under our name."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The file ``safeguard demo`` leaves in its data directory (beside the demo-marked database):
# it lets ``safeguard totp`` run in demo mode without SAFEGUARD_ENV (issue 15). The command
# still checks the database's own demo mark, and demo mode refuses DATABASE_URL.
DEMO_MARK_FILE = "DEMO"


def _demo_mode_for_totp(argv: list[str]) -> str | None:
    """``safeguard totp`` with SAFEGUARD_ENV unset: demo mode when the data directory says it
    holds the demo; otherwise the reason it cannot run (instead of a production settings error).
    """
    if len(argv) < 2 or argv[1] != "totp" or os.environ.get("SAFEGUARD_ENV"):
        return None
    data_dir = Path(os.environ.get("SAFEGUARD_DATA_DIR", "./var")).resolve()
    if (data_dir / DEMO_MARK_FILE).is_file():
        os.environ["SAFEGUARD_ENV"] = "demo"
        return None
    return (f"safeguard totp: {data_dir} is not a demo data directory (no {DEMO_MARK_FILE} "
            "file). Run `make demo` first, or set SAFEGUARD_DATA_DIR to the demo's directory; "
            "real second factors never leave the user's device.")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguard.settings")
    argv = list(sys.argv)
    refusal = _demo_mode_for_totp(argv)
    if refusal:
        sys.stderr.write(refusal + "\n")
        raise SystemExit(2)
    from django.core.management import execute_from_command_line

    argv[0] = "safeguard"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
