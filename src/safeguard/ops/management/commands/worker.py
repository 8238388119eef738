"""``safeguard worker``: run Huey consumers (any machine; Redis storage to scale out)."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run background job consumers (periodic jobs included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-periodic", action="store_true",
                            help="leave periodic jobs to another worker")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["workers"] < 1:
            from django.core.management.base import CommandError

            raise CommandError("--workers must be at least 1")
        from safeguard.ops.startup import refuse_demo_database

        refuse_demo_database()  # production never works on a demo database (issue 17)
        argv = ["--workers", str(opts["workers"]), "--worker-type", "thread"]
        if opts["no_periodic"]:
            argv.append("--no-periodic")
        else:  # one beat at start: the health page shows the worker before the first minute
            from safeguard.ops import tasks as ops_tasks

            ops_tasks.heartbeat_now()
        call_command("run_huey", *argv)
