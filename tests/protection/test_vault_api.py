"""Token vault and its API: tokenize, metadata, detokenize with step-up and audit (R-OPS-2)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.protection import vault
from safeguard.protection.contracts import InvalidCardNumber, ReasonRequired, StepUpRequired
from safeguard.protection.models import Token
from safeguard.protection.services import token_detokenize, token_tokenize
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.protection.conftest import PAN_AMEX, PAN_MC2, PAN_VISA

pytestmark = pytest.mark.django_db

DETOK = "protection.detokenize"


def _bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _gateway(scopes=(DETOK, "protection.tokenize", "protection.token_metadata")):
    """A payment-gateway service account holding a custom role with detokenize."""
    accounts.role_create(actor=SYSTEM, slug="gateway", name="Payment gateway",
                         permissions=list(scopes))
    view = accounts.user_create(actor=SYSTEM, email="gateway@example.test",
                                is_service_account=True, roles=("gateway",))
    return accounts.token_issue(actor=SYSTEM, user_id=view.id, name="gateway",
                                scopes=list(scopes), expires_in_days=30).secret


def _events(action):
    return list(Event.objects.filter(action=action).order_by("seq"))


# --- the vault --------------------------------------------------------------------------


def test_same_card_same_token_with_brand_and_last_four():
    first = token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    again = token_tokenize(pan="4111 1111-1111 1111", actor=SYSTEM)
    other = token_tokenize(pan=PAN_AMEX, actor=SYSTEM)
    assert (first.created, again.created) == (True, False)
    assert first.token.token == again.token.token != other.token.token
    assert (first.token.brand, first.token.last4, first.token.masked) == (
        "visa", "1111", "•••• 1111")
    assert (other.token.brand, other.token.last4) == ("amex", "0005")
    assert vault.TOKEN_RE.fullmatch(first.token.token)
    assert not any(c.isdigit() for c in first.token.token)


def test_the_vault_stores_only_ciphertext():
    token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM protection_token")
        row = cursor.fetchone()
    dumped = b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                       for v in row)
    assert PAN_VISA.encode() not in dumped
    assert PAN_VISA[:12].encode() not in dumped
    assert b"411111" not in dumped  # not even the first six


@pytest.mark.parametrize("bad", ["4111111111111112", "1234", "41111111111111111111",
                                 "4111 1111 1111 111x", "9999999999999995", ""])
def test_invalid_card_numbers_are_refused_and_nothing_is_stored(bad):
    with pytest.raises(InvalidCardNumber) as refused:
        token_tokenize(pan=bad, actor=SYSTEM)
    assert bad[4:] not in refused.value.detail or not bad[4:]
    assert Token.objects.count() == 0


def test_detokenize_by_the_gateway_service_returns_the_card_and_is_audited():
    token = token_tokenize(pan=PAN_MC2, actor=SYSTEM).token.token
    revealed = token_detokenize(token=token, actor=SYSTEM, reason="charge order 1042",
                                human=False, step_up_fresh=False)
    assert revealed.pan == PAN_MC2
    assert PAN_MC2 not in repr(revealed)
    event = _events("vault.detokenized")[-1]
    assert (event.outcome, event.subject_id, event.data["reason"]) == (
        "success", token, "charge order 1042")
    assert Token.objects.get(token=token).last_detokenized_at is not None


def test_detokenize_without_step_up_is_refused_and_audited():
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    with pytest.raises(StepUpRequired):
        token_detokenize(token=token, actor=SYSTEM, reason="customer asked for refund",
                         human=True, step_up_fresh=False)
    event = _events("vault.detokenized")[-1]
    assert (event.outcome, event.data["denied"]) == ("denied", "step-up required")


@pytest.mark.parametrize("reason", ["", "   ", "short", f"refund {PAN_VISA}"])
def test_detokenize_needs_a_reason_without_a_card_number(reason):
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    with pytest.raises(ReasonRequired):
        token_detokenize(token=token, actor=SYSTEM, reason=reason, human=False,
                         step_up_fresh=False)
    assert _events("vault.detokenized")[-1].outcome == "denied"


# --- the API --------------------------------------------------------------------------------


def _tokenize(secret, pan):
    return Client().post("/api/v1/protection/tokens", {"pan": pan},
                         content_type="application/json", **_bearer(secret))


def test_api_tokenize_answers_a_new_and_a_known_card_identically():
    """Issue 9 §3: no `created` flag, no creation time, same status — not an oracle."""
    secret = _gateway()
    token_tokenize(pan=PAN_VISA, actor=SYSTEM)  # known to the vault since long ago
    known = _tokenize(secret, "4111 1111 1111 1111")
    new = _tokenize(secret, "2223 0031 2200 3222")
    assert (known.status_code, new.status_code) == (200, 200)
    assert set(known.json()) == set(new.json()) == {"token"}
    assert set(known.json()["token"]) == set(new.json()["token"]) == {
        "token", "brand", "last4", "masked"}
    assert (new.json()["token"]["brand"], new.json()["token"]["last4"]) == ("mastercard", "3222")
    assert known.json()["token"]["token"] == Token.objects.get(last4="1111").token
    assert (dict(known.items()).keys() - {"Content-Length"}) == (
        dict(new.items()).keys() - {"Content-Length"})
    # the audit log (not the caller) knows which was new
    events = _events("vault.tokenized")
    assert [(e.actor_id, e.data["created"]) for e in events[-2:]] == [
        (events[-1].actor_id, False), (events[-1].actor_id, True)]
    assert events[-1].actor_kind == "token"
    assert PAN_MC2 not in new.content.decode()


def test_api_tokenize_is_refused_to_people_and_audited():
    agent = make_user(roles=("agent",))
    accounts.role_create(actor=SYSTEM, slug="ivr-person", name="IVR person",
                         permissions=["protection.tokenize"])
    accounts.role_grant(actor=SYSTEM, user_id=agent.pk, role_slug="ivr-person")
    session = signed_in_client(agent).post("/api/v1/protection/tokens", {"pan": PAN_VISA},
                                           content_type="application/json")
    personal = accounts.token_issue(actor=SYSTEM, user_id=agent.pk, name="script",
                                    scopes=["protection.tokenize"], expires_in_days=5).secret
    by_token = _tokenize(personal, PAN_VISA)
    assert (session.status_code, by_token.status_code) == (403, 403)
    assert by_token.json()["type"].endswith("/tokenize-service-accounts-only")
    assert Token.objects.count() == 0
    denied = _events("vault.tokenize_denied")
    assert [(e.outcome, e.data["why"]) for e in denied] == [
        ("denied", "not a service account")] * 2


def test_agents_no_longer_hold_tokenize():
    from safeguard.accounts import rbac

    assert "protection.tokenize" not in rbac.builtin_role_permissions("agent")
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.post("/api/v1/protection/tokens", {"pan": PAN_VISA},
                      content_type="application/json").status_code == 403


def test_api_tokenize_is_rate_limited_per_caller_with_a_problem_and_one_audit_event(settings):
    settings.SAFEGUARD_TOKENIZE_PER_MINUTE = 3
    secret = _gateway()
    statuses = [_tokenize(secret, PAN_VISA).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = _tokenize(secret, PAN_AMEX)
    body = limited.json()
    assert limited["Content-Type"] == "application/problem+json"
    assert (body["status"], body["type"].rsplit("/", 1)[-1]) == (429, "rate-limited")
    assert "At most 3 tokenize calls a minute" in body["detail"]
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert Token.objects.filter(last4="0005").count() == 0  # nothing done past the limit
    denied = _events("vault.tokenize_denied")
    assert [(e.data["why"], e.data["limit_per_minute"]) for e in denied] == [("rate limit", 3)]


def test_api_tokenize_bad_input_is_a_422_problem_without_the_input():
    secret = _gateway()
    response = _tokenize(secret, "4111111111111112")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-card-number")
    assert "4111111111111112" not in response.content.decode()


def test_api_token_metadata_for_an_agent():
    agent = signed_in_client(make_user(roles=("agent",)))
    token = token_tokenize(pan=PAN_MC2, actor=SYSTEM).token.token
    meta = agent.get(f"/api/v1/protection/tokens/{token}")
    assert meta.status_code == 200
    assert meta.json()["masked"] == "•••• 3222"
    assert PAN_MC2 not in meta.content.decode()


def test_api_detokenize_by_gateway_token():
    secret = _gateway()
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    response = Client().post(f"/api/v1/protection/tokens/{token}/detokenize",
                             {"reason": "capture payment for order 77"},
                             content_type="application/json", **_bearer(secret))
    assert response.status_code == 200
    assert response.json()["pan"] == PAN_VISA
    assert response["Cache-Control"] == "no-store"
    assert _events("vault.detokenized")[-1].actor_kind == "token"


def test_api_detokenize_by_a_human_without_fresh_step_up_is_refused_and_audited():
    # given a supervisor granted detokenize, whose second factor is 10 minutes old
    accounts.role_create(actor=SYSTEM, slug="cardholder-data", name="Card data",
                         permissions=[DETOK])
    human = make_user(roles=("supervisor", "cardholder-data"))
    client = signed_in_client(human, mfa_at=time.time() - 10 * 60)
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    # when they detokenize
    response = client.post(f"/api/v1/protection/tokens/{token}/detokenize",
                           {"reason": "chargeback dispute 5521"},
                           content_type="application/json")
    # then it is a 403 problem asking for step-up, and the attempt is in the audit log
    assert response.status_code == 403
    assert response.json()["type"].endswith("/step-up-required")
    assert PAN_VISA not in response.content.decode()
    event = _events("vault.detokenized")[-1]
    assert (event.outcome, event.actor_id, event.data["denied"]) == (
        "denied", str(human.pk), "step-up required")
    # and with a fresh second factor it works
    fresh = signed_in_client(human)
    ok = fresh.post(f"/api/v1/protection/tokens/{token}/detokenize",
                    {"reason": "chargeback dispute 5521"}, content_type="application/json")
    assert (ok.status_code, ok.json()["pan"]) == (200, PAN_VISA)


def test_api_detokenize_without_the_permission_is_refused_and_audited():
    admin = signed_in_client(make_user(roles=("administrator",)))
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    response = admin.post(f"/api/v1/protection/tokens/{token}/detokenize",
                          {"reason": "just curious about it"}, content_type="application/json")
    assert response.status_code == 403
    denied = _events("access.denied")[-1]
    assert denied.data["permission"] == DETOK


def test_api_detokenize_with_a_persons_own_token_is_refused():
    accounts.role_create(actor=SYSTEM, slug="cardholder-data", name="Card data",
                         permissions=[DETOK])
    human = make_user(roles=("cardholder-data",))
    secret = accounts.token_issue(actor=SYSTEM, user_id=human.pk, name="script",
                                  scopes=[DETOK], expires_in_days=5).secret
    token = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    response = Client().post(f"/api/v1/protection/tokens/{token}/detokenize",
                             {"reason": "automation without MFA"},
                             content_type="application/json", **_bearer(secret))
    assert response.status_code == 403
    assert "service account" in response.json()["detail"]


def test_api_detokenize_unknown_token_is_404_and_audited():
    secret = _gateway()
    response = Client().post("/api/v1/protection/tokens/tok_bcdfghjkmnpqrstvwxzbcdfg/detokenize",
                             {"reason": "capture payment for order 77"},
                             content_type="application/json", **_bearer(secret))
    assert response.status_code == 404
    assert _events("vault.detokenized")[-1].outcome == "failure"


def test_api_scan_returns_types_and_offsets_never_values():
    analyst = signed_in_client(make_user(roles=("security_analyst",)))
    response = analyst.post("/api/v1/protection/scan",
                            {"text": f"card {PAN_VISA} mail a@b.example", "types": ["PAN"]},
                            content_type="application/json")
    assert response.status_code == 200
    assert [(f["type"], f["start"], f["end"]) for f in response.json()] == [("PAN", 5, 21)]
    bad = analyst.post("/api/v1/protection/scan", {"text": "x", "types": ["NOPE"]},
                       content_type="application/json")
    assert bad.status_code == 400


def test_api_keys_status_and_rotation_need_their_permissions_and_step_up():
    admin = make_user(roles=("administrator",))
    token_tokenize(pan=PAN_VISA, actor=SYSTEM)  # initialises the dev keys
    status = signed_in_client(admin).get("/api/v1/protection/keys")
    assert status.status_code == 200
    assert {k["keyset"] for k in status.json()["keys"]} == {"data", "index", "fingerprint"}
    stale = signed_in_client(admin, mfa_at=time.time() - 600)
    assert stale.post("/api/v1/protection/keys/rotate", {"keysets": ["data"]},
                      content_type="application/json").status_code == 403
    rotated = signed_in_client(admin).post("/api/v1/protection/keys/rotate",
                                           {"keysets": ["data"]},
                                           content_type="application/json")
    assert rotated.status_code == 202
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/api/v1/protection/keys").status_code == 403
