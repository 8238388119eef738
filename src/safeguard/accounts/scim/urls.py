"""``/scim/v2/`` routes (RFC 7644 §3.2); each view declares ``accounts.scim_provision``.

The views (and with them scim2-models, whose resource models take a good part of a second to
build) are imported on the first SCIM request, not when the URL conf loads: every process loads
the URL conf (web workers at start, ``safeguard check``, the job worker), few serve SCIM. The
stand-in each route holds is csrf-exempt (a bearer-token API) and declares the same permission
as the view it calls, which checks the token itself.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from safeguard.accounts.guards import PERMISSION_ATTR
from safeguard.accounts.scim.tokens import SCOPE

app_name = "scim"


def _view(name: str) -> Callable[..., HttpResponse]:
    """The view ``views.<name>``, imported when first called."""

    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from safeguard.accounts.scim import views

        response: HttpResponse = getattr(views, name)(request, *args, **kwargs)
        return response

    view.__name__ = view.__qualname__ = name
    view.__module__ = "safeguard.accounts.scim.views"
    setattr(view, PERMISSION_ATTR, SCOPE)
    return view


urlpatterns = [
    path("ServiceProviderConfig", _view("service_provider_config"), name="config"),
    path("Schemas", _view("schema_list"), name="schemas"),
    path("Schemas/<str:schema_id>", _view("schema_detail"), name="schema"),
    path("ResourceTypes", _view("resource_type_list"), name="resource_types"),
    path("ResourceTypes/<str:type_id>", _view("resource_type_detail"), name="resource_type"),
    path("Users", _view("users"), name="users"),
    path("Users/<str:user_id>", _view("user_detail"), name="user"),
    path("Groups", _view("groups"), name="groups"),
    path("Groups/<str:group_id>", _view("group_detail"), name="group"),
]
