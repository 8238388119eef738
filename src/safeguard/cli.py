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


def _demo_hint(argv: list[str]) -> str | None:
    """Any other command with SAFEGUARD_ENV and SAFEGUARD_SECRET_KEY unset, run on the demo's
    data directory: say how to run it on the demo instead of failing on production settings
    (a newcomer after ``make demo``). It never switches to demo mode by itself."""
    if (len(argv) < 2 or argv[1].startswith("-") or os.environ.get("SAFEGUARD_ENV")
            or os.environ.get("SAFEGUARD_SECRET_KEY")):
        return None
    data_dir = Path(os.environ.get("SAFEGUARD_DATA_DIR", "./var")).resolve()
    if not (data_dir / DEMO_MARK_FILE).is_file():
        return None
    return (f"safeguard {argv[1]}: {data_dir} holds the demo, and without SAFEGUARD_ENV this "
            "command runs with production settings. On the demo, run it as "
            f"`SAFEGUARD_ENV=demo {argv[0]} {' '.join(argv[1:])}`; for production set "
            "SAFEGUARD_ENV and SAFEGUARD_SECRET_KEY (docs/configuration.md).")


def _no_demo_here(argv: list[str]) -> str | None:
    """A command in demo mode (SAFEGUARD_ENV=demo, no DATABASE_URL) whose data directory does not
    exist: run away from the clone that holds the demo (``./var`` is relative to where a command
    runs, e.g. from the folder of a file to import). Say so instead of creating an empty ./var
    there and failing on missing tables. ``safeguard demo`` itself creates the directory."""
    if (len(argv) < 2 or argv[1].startswith("-") or argv[1] in ("demo", "help")
            or os.environ.get("SAFEGUARD_ENV") != "demo" or os.environ.get("DATABASE_URL")):
        return None
    data_dir = Path(os.environ.get("SAFEGUARD_DATA_DIR", "./var")).resolve()
    if data_dir.exists():
        return None
    return (f"safeguard {argv[1]}: there is no demo here ({data_dir} does not exist). The demo's "
            "data is in ./var where `make demo` ran: run the command from that directory, or "
            "set SAFEGUARD_DATA_DIR to it. Nothing was created.")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguard.settings")
    argv = list(sys.argv)
    refusal = _demo_mode_for_totp(argv) or _demo_hint(argv) or _no_demo_here(argv)
    if refusal:
        sys.stderr.write(refusal + "\n")
        raise SystemExit(2)
    from django.core.management import execute_from_command_line

    argv[0] = "safeguard"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
