"""File stores: directories where an app keeps durable files outside the database, declared so
that ``safeguard backup`` carries them (R-DATA-4, R-OPS-11; docs/governance.md "Backups and
restore drills").

An app that writes files the product needs after a restore (sealed evidence, archives, ...)
registers a provider named ``filestore.<name>`` in ``web.providers`` from its
``AppConfig.ready()``; the provider takes no argument and returns a :class:`FileStore`. The
backup reads every ``filestore.*`` provider, so it needs no import of the app, and a test walks
the code's settings, storages and file-writing modules and fails on a location no store and no
documented exclusion covers.

This module imports nothing from any domain app: ``web`` is the bottom layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PREFIX = "filestore."


@dataclass(frozen=True)
class FileStore:
    """One directory of durable files.

    ``root`` returns the directory (read from settings at call time). ``referenced`` takes a
    database alias and returns ``{path relative to root: SHA-256 of the file}`` for every file
    that database's rows say must exist, so a restore drill can prove that no file a row needs
    is missing from the backup; None when rows do not name files.
    """

    name: str
    setting: str
    root: Callable[[], Path]
    referenced: Callable[[str], dict[str, str]] | None = None
