"""A domain error escaping a page is a 4xx page with its reason, never a 500 (R-OPS-8): above all
the no-card-number guard's refusal at the write itself (R-OPS-2)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import path

from safeguard import urls as root_urls
from safeguard.accounts.models import Role
from safeguard.protection.contracts import PanRefused
from tests.factories import make_user, signed_in_client

PAN = "4111 1111 1111 1111"


def _writes_a_card_number(request):
    # a form field that let a card number through to a model the guard protects
    Role.objects.create(slug="pasted", name=f"card {PAN}")
    return HttpResponse("stored")  # never reached


def _api_like(request):
    raise PanRefused("refused")


urlpatterns = [
    path("page/", _writes_a_card_number),
    path("api/v1/thing/", _api_like),
    *root_urls.urlpatterns,  # the base template names the real pages
]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_card_number_stopped_at_the_write_is_a_400_page_with_the_reason():
    client = signed_in_client(make_user(roles=("agent",)))
    client.raise_request_exception = False
    roles = Role.objects.count()
    resp = client.get("/page/")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Card numbers are never stored" in html
    assert PAN not in html
    assert "Content-Security-Policy" in resp.headers
    assert Role.objects.count() == roles  # nothing written


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_api_keeps_its_own_error_format():
    client = signed_in_client(make_user(roles=("agent",)))
    client.raise_request_exception = False
    resp = client.get("/api/v1/thing/")
    assert resp.status_code == 500  # not turned into an HTML page here; the API maps its own
