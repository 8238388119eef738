"""Deny by default (R-OPS-8): every route and every API operation declares its permission."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from safeguard.accounts import rbac
from safeguard.accounts.api_guards import Access
from safeguard.accounts.guards import declared_permission
from safeguard.api import api


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def test_every_page_route_declares_a_known_permission():
    # given the whole URL conf
    routes = list(_walk(get_resolver().url_patterns))
    assert len(routes) > 30
    # when each route's view is inspected
    missing, unknown = [], []
    for route, pattern in routes:
        if getattr(pattern.callback, "__module__", "").startswith("ninja.") and route.startswith(
            "api/v1/"
        ):
            continue  # ninja operation views: checked operation by operation below
        perm = declared_permission(pattern.callback)
        if perm is None:
            missing.append(route)
        elif not rbac.is_known(perm):
            unknown.append((route, perm))
    # then none is undeclared or names an unregistered permission
    assert missing == []
    assert unknown == []


def test_every_api_operation_declares_a_permission():
    # given every operation of every router mounted on the API
    operations = [
        (path, op)
        for prefix, router in api._routers
        for path, path_view in router.path_operations.items()
        for op in path_view.operations
    ]
    assert len(operations) >= 4
    # then each has exactly one auth callback, an Access carrying a registered permission
    offenders = []
    for path, op in operations:
        auths = op.auth_callbacks
        if len(auths) != 1 or not isinstance(auths[0], Access) or not rbac.is_known(
            auths[0].permission
        ):
            offenders.append((path, op.methods))
    assert offenders == []


@pytest.mark.django_db
def test_allauth_sign_up_and_email_management_are_not_mounted(client):
    assert client.get("/account/signup/").status_code == 404
    assert client.get("/account/email/").status_code == 404


def test_permissions_doc_is_generated_from_the_registry():
    doc = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert doc.read_text() == rbac.permissions_markdown(), (
        "docs/permissions.md is stale: run `make permissions-doc`"
    )


@pytest.mark.django_db
def test_a_route_declaring_an_unknown_permission_fails_loudly(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import ImproperlyConfigured

    from safeguard.accounts.guards import permission_required

    @permission_required("nope.unknown")
    def view(request):  # pragma: no cover - never reached
        raise AssertionError

    request = rf.get("/x")
    request.user = AnonymousUser()
    with pytest.raises(ImproperlyConfigured):
        view(request)
