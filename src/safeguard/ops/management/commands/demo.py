"""``safeguard demo [--no-serve]``: data dir, migrations, demo data, then serve with jobs inside.

The demo has its own SQLite database in the data directory (settings refuse DATABASE_URL in demo
mode) and marks it as a demo on first run; it refuses a database marked production or one that
already holds data without the demo mark (issue 17).

Each app may ship a ``demo.py`` with ``load(*, say)`` and an ``ORDER`` number; they run in that
order (then INSTALLED_APPS order), so later issues add their demo data without touching this file.
A demo module may name further loader modules in ``STAGES`` (each with its own ``ORDER``): the ops
demo runs the contact centre at 40 and the later features at 95, after detection (decision 0171).
A loader that also takes ``progress`` is handed a ``(done, total)`` callback for its progress bar;
a module's ``summary(*, say)`` runs after every load (in ``SUMMARY_ORDER``, else ``ORDER``), so
what a newcomer needs next (the channels, the demo users, how to get a code) is the last thing
printed before "Serving on" (issue 15). While serving, the demo also receives e-mail over SMTP on
loopback (``SAFEGUARD_DEMO_SMTPD``), so every channel is live.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from safeguard.ops import selectors, services
from safeguard.ops.contracts import InstallationRefused
from safeguard.ops.models import InstallationMark


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def demo_loaders() -> list[Any]:
    """Every installed app's demo module, in ORDER then app order."""
    found = []
    for index, config in enumerate(apps.get_app_configs()):
        if not config.name.startswith("safeguard."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        found.append((getattr(module, "ORDER", 100), index, module))
        for name in getattr(module, "STAGES", ()):
            stage = importlib.import_module(name)
            found.append((getattr(stage, "ORDER", 100), index, stage))
    return [m for _, _, m in sorted(found, key=lambda t: (t[0], t[1]))]


def _advance(bar: Progress, task: Any) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
    return progress


def _totp_command() -> str:
    """``safeguard totp`` as the user can type it from here: the script this process runs as
    and the data directory when it is not the default one."""
    script = sys.argv[0]
    cmd = (os.path.relpath(script) if os.path.basename(script) == "safeguard"
           and not os.path.relpath(script).startswith("..") else "safeguard")
    if Path("./var").resolve() != Path(settings.DATA_DIR):
        cmd = f"SAFEGUARD_DATA_DIR={settings.DATA_DIR} {cmd}"
    return f"{cmd} totp"



def embedded_consumer() -> Any:
    """The demo's in-process Huey consumer, every app's ``tasks`` module registered first (as
    ``run_huey`` does for ``safeguard worker``): a job whose module the web process had not
    imported yet (``protection.reencrypt`` after ``safeguard keys rotate``) was dequeued and
    dropped as "not found in TaskRegistry", and its periodic jobs never ran."""
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    return HUEY.create_consumer(workers=2, worker_type="thread", periodic=True)

class Command(BaseCommand):
    help = "Prepare the embedded demo (SQLite, demo data) and serve it on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="prepare, do not serve")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEMO:
            raise CommandError("safeguard demo runs only with SAFEGUARD_ENV=demo "
                               "(it creates users with published passwords).")
        own = Path(settings.DATA_DIR) / "safeguard.sqlite3"
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith(".sqlite3") or Path(db["NAME"]) != own:
            raise CommandError("safeguard demo uses its own SQLite database in the data "
                               f"directory ({own}); unset DATABASE_URL.")
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        if selectors.installation_kind_before_migrate() == InstallationMark.KIND_PRODUCTION:
            raise CommandError("This database is marked as a production database: the demo "
                               "never migrates or loads into it.")
        call_command("migrate", interactive=False, verbosity=0)
        try:
            services.installation_mark_demo()
        except InstallationRefused as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write("Database migrated (marked as a demo database).")
        loaders = demo_loaders()
        self._load(loaders)
        say = self.stdout.write
        # The summaries print channel URLs from settings.PORT: make them name the port served
        # (`safeguard demo --port N` without SAFEGUARD_PORT printed :8000 and served :N).
        settings.PORT = opts["port"]
        summaries = [m for m in loaders if hasattr(m, "summary")]
        for module in sorted(summaries, key=lambda m: getattr(m, "SUMMARY_ORDER",
                                                               getattr(m, "ORDER", 100))):
            module.summary(say=say)
        say("Current code of a demo user's authenticator: "
            f"{_totp_command()} admin@demo.safeguard.test")
        if opts["no_serve"]:
            return
        self._serve(opts["port"])

    def _load(self, loaders: list[Any]) -> None:
        """Every app's demo data under one Rich progress display (R-OPS-5 demo contact centre);
        on a terminal the bar redraws in place, elsewhere only the lines said are printed."""
        console = Console(file=cast("IO[str]", self.stdout._out), highlight=False,
                          soft_wrap=True)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            overall = bar.add_task("Demo data", total=len(loaders))
            for module in loaders:
                kwargs: dict[str, Any] = {"say": functools.partial(console.print, markup=False)}
                if console.is_terminal and "progress" in inspect.signature(
                        module.load).parameters:  # elsewhere the loader says its own steps
                    step = bar.add_task(f"  {module.__name__.split('.')[1]}", total=None)
                    kwargs["progress"] = _advance(bar, step)
                module.load(**kwargs)
                bar.advance(overall)

    def _serve(self, port: int) -> None:
        consumer = embedded_consumer()
        consumer.start()
        from safeguard.ops import tasks as ops_tasks

        ops_tasks.heartbeat_now()
        smtpd = self._smtpd()
        # Huey's start() installs handlers meant for its own run loop, which we do not use:
        # put back ones that stop this process (the web server, then the consumer below).
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.stdout.write(f"Jobs: embedded Huey consumer ({type(consumer.huey).__name__}) started.")
        self.stdout.write(self.style.SUCCESS(f"Serving on http://127.0.0.1:{port}/"))
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False,
                         use_threading=True, skip_checks=True)
        finally:
            if smtpd is not None:
                smtpd.stop()
                smtpd.handler.close()
            consumer.stop(graceful=True)

    def _smtpd(self) -> Any:
        """The inbound SMTP server of the demo on loopback, or None (off, or the port is taken:
        said, and the console still serves)."""
        if not settings.SAFEGUARD_DEMO_SMTPD:
            return None
        from safeguard.channels import smtp

        server = smtp.controller()
        try:
            server.start()
        except (OSError, RuntimeError) as exc:
            self.stderr.write(f"E-mail: could not listen on {settings.SAFEGUARD_SMTPD_HOST}:"
                              f"{settings.SAFEGUARD_SMTPD_PORT} ({exc}); set "
                              "SAFEGUARD_SMTPD_PORT to a free port. The console serves anyway.")
            server.handler.close()
            if not server.loop.is_closed():  # the controller's own loop (and its self-pipe)
                server.loop.close()
            return None
        self.stdout.write(f"E-mail: SMTP on {settings.SAFEGUARD_SMTPD_HOST}:"
                          f"{settings.SAFEGUARD_SMTPD_PORT}.")
        return server
