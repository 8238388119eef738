"""The shell answers: anonymous / goes to login, /api/v1/me is 401, the schema is served."""

import pytest

from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_anonymous_root_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/"


def test_anonymous_me_is_401_problem(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unauthenticated")


def test_openapi_schema_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/me" in response.json()["paths"]


def test_signed_in_user_with_mfa_reaches_dashboard():
    user = make_user(roles=("agent",))
    response = signed_in_client(user).get("/")
    assert response.status_code == 200
    assert b"Welcome" in response.content


def test_user_without_mfa_is_sent_to_enrolment():
    user = make_user(roles=("agent",), mfa=False)
    response = signed_in_client(user).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/mfa-required/"
