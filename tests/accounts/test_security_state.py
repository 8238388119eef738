"""Security state in durable, atomic storage (issue 9 item 1; R-OPS-1, R-OPS-8).

Lockout counters, used TOTP codes and webhook nonces survive any number of other entries
(the old file cache culled at random past 300), concurrent wrong passwords are all counted,
expired entries are purged by the periodic job, and the deploy check refuses evicting stores.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client

from safeguard.accounts import checks, tasks
from safeguard.accounts.models import SecurityState
from safeguard.audit import selectors as audit
from safeguard.channels import signing
from tests.channels.conftest import SECRET, signed_post
from tests.factories import PASSWORD, make_user, totp_code

pytestmark = pytest.mark.django_db

VOICE = "/channels/voice/events"
T0 = 1_800_000_000  # a fixed instant at the start of a 30-second TOTP step


def _login(client: Client, email: str, password: str):
    return client.post("/account/login/", {"login": email, "password": password})


def test_store_add_is_one_use_incr_is_atomic_and_nothing_is_evicted():
    # given an entry added once
    assert cache.add("nonce:a", 1, timeout=60) is True
    # when it is added again, it is refused; an integer entry counts in one statement
    assert cache.add("nonce:a", 1, timeout=60) is False
    assert cache.incr("nonce:a") == 2
    assert cache.incr("nonce:a", 5) == 7
    with pytest.raises(ValueError, match="not found"):
        cache.incr("absent")
    # and a thousand other entries later it is still there (no cull, no eviction)
    for i in range(1000):
        cache.set(f"filler:{i}", [float(i)], timeout=60)
    assert cache.get("nonce:a") == 7
    assert cache.get("filler:999") == [999.0]
    assert SecurityState.objects.count() == 1001


def test_expired_entries_can_be_added_again_and_the_periodic_job_purges_only_them():
    with time_machine.travel(T0, tick=False):
        cache.add("old", "y", timeout=10)
        cache.add("live", "y", timeout=3600)
    with time_machine.travel(T0 + 11, tick=False):
        assert cache.get("old") is None
        assert cache.get("live") == "y"
        # the purge job deletes the expired row and keeps the live one
        assert tasks.security_state_purge.call_local() == 1
        assert SecurityState.objects.count() == 1
        # and an expired nonce may be claimed anew (exactly once)
        assert cache.add("old", "y", timeout=10) is True
        assert cache.add("old", "y", timeout=10) is False


def test_cache_flood_then_replay_totp_reuse_and_locked_out_sign_in_are_all_refused(settings):
    settings.SAFEGUARD_WEBHOOK_SECRETS = [SECRET]
    settings.SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS = 300
    with time_machine.travel(T0, tick=False):
        # given a signed webhook event accepted once
        body = json.dumps({"type": "call.queued", "call_id": "flood-1",
                           "at": "2027-01-15T08:00:00+00:00",
                           "caller_phone": "+44 20 7946 0018"}).encode()
        header = signing.header_value(secrets=[SECRET], timestamp=T0, body=body)
        assert signed_post(Client(), VOICE, None, raw=body, header=header).status_code == 200
        # and a TOTP code used to sign in
        user = make_user(roles=("agent",))
        first = Client()
        _login(first, user.email, PASSWORD)
        code = totp_code(user.email, at=T0)
        assert first.post("/account/mfa/authenticate/", {"code": code}).status_code == 302
        # and an account locked by five wrong passwords
        victim = make_user()
        for _ in range(5):
            _login(Client(), victim.email, "wrong-password-123")
        # when an attacker floods the store with 400 unauthenticated reset requests
        for i in range(400):
            Client(REMOTE_ADDR=f"10.9.{i // 250}.{i % 250}").post(
                "/account/password/reset/", {"email": f"nobody{i}@flood.test"})
        assert SecurityState.objects.count() > 800
        # then the replayed event is refused
        replay = signed_post(Client(), VOICE, None, raw=body, header=header)
        assert replay.status_code == 409
        assert replay.json()["type"].endswith("/signature-replayed")
        # and the used code does not work again (the clock stands still: it is still valid)
        second = Client()
        assert _login(second, user.email, PASSWORD)["Location"] == "/account/mfa/authenticate/"
        reuse = second.post("/account/mfa/authenticate/", {"code": code})
        assert reuse.status_code == 200
        assert second.get("/").status_code == 302
        # and the locked account stays locked, even with the right password, and it is recorded
        locked = _login(Client(), victim.email, PASSWORD)
        assert b"Too many failed login attempts" in locked.content
        [event] = audit.event_list(action="auth.login_locked")
        assert (event.outcome, event.subject_id) == ("denied", str(victim.id))
        assert event.data["known_account"] is True
        assert victim.email not in json.dumps(event.data)


@pytest.mark.django_db(transaction=True)
def test_seven_concurrent_wrong_passwords_are_counted_exactly():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a server database (run with DATABASE_URL=postgres)")
    # given an account allowing 5 failures per 15 minutes
    user = make_user()
    barrier = threading.Barrier(7)
    statuses: list[bytes] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            client = Client()
            barrier.wait()
            statuses.append(_login(client, user.email, "wrong-password-123").content)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when seven wrong passwords arrive at once
    threads = [threading.Thread(target=attempt) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly five were checked and two refused by the lockout, all recorded
    assert errors == []
    assert len(audit.event_list(action="auth.login_failed")) == 5
    assert len(audit.event_list(action="auth.login_locked")) == 2
    assert sum(b"Too many failed login attempts" in s for s in statuses) == 2
    # and the right password is refused now
    assert b"Too many failed login attempts" in _login(Client(), user.email, PASSWORD).content


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_have_one_winner_and_concurrent_increments_lose_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (run with DATABASE_URL=postgres)")
    cache.set("counter", 0, timeout=600)
    barrier = threading.Barrier(8)
    wins: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for i in range(50):
                cache.incr("counter")
                if cache.add(f"nonce:{i}", 1, timeout=600):
                    wins.append(f"nonce:{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when eight writers increment one counter and race for the same fifty nonces
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then no increment is lost and each nonce has exactly one winner
    assert errors == []
    assert cache.get("counter") == 400
    assert sorted(wins) == sorted(f"nonce:{i}" for i in range(50))


def test_stored_keys_are_keyed_hmacs_never_an_address_or_its_plain_hash(settings):
    from safeguard.accounts.securitystate import hashed_key
    from safeguard.channels import ratelimit

    # given a failed sign-in for a staff address and a rate-limited customer address
    user = make_user()
    _login(Client(), user.email, "wrong-password-123")
    customer = "maria.lopez0@example.com"
    ratelimit.hit(scope="email-reply", key=customer, limit="5/h")
    keys = list(SecurityState.objects.values_list("key", flat=True))
    # then every stored key is a 64-letter HMAC (no digits: never mistaken for a card number),
    # and no address or unkeyed hash of one appears
    assert len(keys) >= 3
    assert all(len(k) == 64 and set(k) <= set("abcdefghijklmnop") for k in keys)
    stored = " ".join(keys)
    for address in (user.email, customer):
        for form in (address, f"testserver:{address}", f"email-reply\x00{address}"):
            assert form not in stored
            assert hashlib.sha256(form.encode()).hexdigest()[:32] not in stored
    # and the channel limiter's own key is keyed too (another secret key, another key)
    logical = ratelimit._key("email-reply", customer, 3600, time.time())
    assert hashlib.sha256(f"email-reply\x00{customer}".encode()).hexdigest()[:32] not in logical
    assert hashed_key(logical, "", 1) in keys
    settings.SECRET_KEY = "another-" + "k" * 60
    assert ratelimit._key("email-reply", customer, 3600, time.time()) != logical
    assert hashed_key(logical, "", 1) not in keys


# --- the deploy check (safeguard.E100-E103) --------------------------------------------------

def _ids(errors) -> list[str]:
    return [e.id for e in errors]


@pytest.mark.parametrize("backend", [
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.db.DatabaseCache",
])
def test_deploy_check_refuses_an_evicting_or_per_process_store(settings, backend):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "sg-check"}}
    errors = checks.security_state_store()
    assert _ids(errors) == ["safeguard.E100"]
    assert backend in errors[0].msg


def test_deploy_check_passes_the_database_store_and_wants_keyed_keys(settings):
    assert checks.security_state_store() == []
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_FUNCTION": "x.plain"}}
    assert _ids(checks.security_state_store()) == ["safeguard.E103"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path):
    """Start a private redis-server on loopback with a given eviction policy; stop it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    started: list[subprocess.Popen[bytes]] = []

    def start(policy: str) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path), "--maxmemory-policy", policy],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("policy", "expected"), [
    ("noeviction", []), ("allkeys-lru", ["safeguard.E101"]), ("volatile-ttl", ["safeguard.E101"]),
])
def test_deploy_check_reads_the_redis_eviction_policy(settings, private_redis, policy, expected):
    url = private_redis(policy)
    settings.CACHES = {"default": {"BACKEND": checks.REDIS_STORE, "LOCATION": url,
                                   "KEY_FUNCTION": checks.KEY_FUNCTION}}
    errors = checks.security_state_store()
    assert _ids(errors) == expected
    if expected:
        assert policy in errors[0].msg


def test_deploy_check_reports_an_unreachable_redis(settings):
    settings.CACHES = {"default": {"BACKEND": checks.REDIS_STORE,
                                   "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",
                                   "KEY_FUNCTION": checks.KEY_FUNCTION}}
    assert _ids(checks.security_state_store()) == ["safeguard.E102"]


def test_the_check_is_registered_for_deploy_only():
    from django.core.checks import registry

    deploy = registry.registry.get_checks(include_deployment_checks=True)
    assert checks.security_state_store in deploy
    assert checks.security_state_store not in registry.registry.get_checks()
