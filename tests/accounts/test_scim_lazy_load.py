"""scim2-models is loaded by the first SCIM request, not by every process that loads the URL
conf: a web worker, `safeguard check` or the job worker starts without building its resource
models (a good part of a second of CPU each time). The SCIM API tests go through the same
routes, so the stand-ins call the real views."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.urls import resolve

from safeguard.accounts.guards import PERMISSION_ATTR

SRC = Path(__file__).resolve().parents[2] / "src"
CODE = """
import sys
import django
django.setup()
from django.core.management import call_command
from django.urls import get_resolver, resolve
get_resolver().url_patterns
call_command("check", verbosity=0)
resolve("/scim/v2/Users")
print("loaded", "scim2_models" in sys.modules)
from safeguard.accounts.scim import views
print("loaded", "scim2_models" in sys.modules)
"""


def test_the_url_conf_and_the_checks_load_without_scim2_models(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
    env.pop("DATABASE_URL", None)
    env.update(SAFEGUARD_ENV="test", SAFEGUARD_DATA_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="safeguard.settings", PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    # not by loading the routes and running the checks; by the views, on the first request
    assert [x for x in out if x.startswith("loaded")] == ["loaded False", "loaded True"]


def test_each_scim_route_is_csrf_exempt_and_declares_the_scim_permission():
    for path in ("/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/Users",
                 "/scim/v2/Users/1", "/scim/v2/Groups/agent", "/scim/v2/ResourceTypes/User"):
        func = resolve(path).func
        assert func.csrf_exempt is True
        assert getattr(func, PERMISSION_ATTR) == "accounts.scim_provision"
        assert func.__module__ == "safeguard.accounts.scim.views"
