"""Helpers shared by the cases benchmarks: machine notes, percentiles, throwaway databases,
the child-process environment, JSON output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib  # noqa: E402 - bench/ is put on the path just above
from benchlib import percentile, say  # noqa: E402 - re-exported for the area's scripts


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return benchlib.machine("client, server and database share the same two cores")


def write_result(name: str, report: dict[str, Any]) -> Path:
    """Write bench/results/cases_<name>.json and return its path."""
    return benchlib.write_result("cases", name, report)

HERE = Path(__file__).resolve().parent


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """median / p95 / p99 / max of a list of durations in seconds, as milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3) if ms else float("nan"),
    }


def _pg_command(*args: str) -> subprocess.CompletedProcess[str]:
    # A fixed argv (createdb/dropdb and a generated database name), no shell.
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=60)


@contextmanager
def throwaway_database(backend: str, *, pg_host: str, pg_user: str,
                       tag: str) -> Iterator[tuple[str | None, Path, str]]:
    """A fresh SQLite file or PostgreSQL database and a scratch directory, removed afterwards.

    Yields ``(database_url or None when it could not be made, workdir, why_not)``.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"safeguard-bench-{tag}-{backend}-"))
    database = f"safeguard_bench_{os.getpid()}"
    created = False
    try:
        if backend == "sqlite":
            yield f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, ""
        else:
            if shutil.which("createdb") is None:
                yield None, workdir, "createdb is not installed"
                return
            made = _pg_command("createdb", "-h", pg_host, "-U", pg_user, database)
            if made.returncode != 0:
                yield None, workdir, f"createdb failed: {made.stderr.strip()[:300]}"
                return
            created = True
            yield f"postgres://{pg_user}@{pg_host}:5432/{database}", workdir, ""
    finally:
        if created:
            dropped = _pg_command("dropdb", "-h", pg_host, "-U", pg_user, "--force",
                                  "--if-exists", database)
            if dropped.returncode != 0:
                say(f"warning: could not drop {database}: {dropped.stderr.strip()}")
        shutil.rmtree(workdir, ignore_errors=True)


def child_env(*, mode: str, url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a child that runs Django against the throwaway database."""
    return {
        **os.environ,
        "SAFEGUARD_ENV": mode,
        "DJANGO_SETTINGS_MODULE": "safeguard.settings",
        "SAFEGUARD_DATA_DIR": str(workdir / "data"),
        "SAFEGUARD_KEK_RUNTIME_DIR": str(workdir / "run"),
        "DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(HERE),
                                       os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        **extra,
    }


def server_version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.cursor().connection.info.server_version}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"
