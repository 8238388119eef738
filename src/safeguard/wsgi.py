"""WSGI entry point for gunicorn (docs/deploy.md).

In production the process refuses to start on a demo database (issue 17): the check runs once
per process, before the first request.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguard.settings")
application = get_wsgi_application()

from safeguard.ops.startup import refuse_demo_database  # noqa: E402 - needs Django set up

refuse_demo_database()
