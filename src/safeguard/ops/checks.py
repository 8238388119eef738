"""Our deploy checks: ``safeguard check --deploy`` is Django's plus these (issue 17).

Each is a Django system check registered with ``deploy=True`` (ids safeguard.E001–E099; other
apps register theirs in their own ranges). Each error names the setting to change. They cover
what an attacker or a careless operator could leave behind: wildcard hosts and origins, weak or
shared keys, SQLite or no Redis, a forgeable client-IP header, mail that never leaves, no audit
witness, a KEK runtime directory on disk, MFA windows that are too long, an unmigrated or sealed
installation, no audit signing key, and demo users or a demo database (R-OPS-1, R-OPS-3,
R-OPS-4, R-IR-5). docs/deploy.md lists them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks import Error
from django.db import DatabaseError

# Characters and entropy a random secret of this length always has: token_urlsafe(64) gives
# 86 characters from a 64-symbol alphabet (~512 bits, usually over 40 distinct characters).
_MIN_SECRET_DISTINCT = 16
_MIN_SECRET_BITS = 160
_TEST_EMAIL_BACKENDS = {"console", "locmem", "dummy", "filebased"}

CheckResult = list[checks.CheckMessage]


def secret_weakness(value: str) -> str | None:
    """Why a secret key is weak (too short, few distinct characters, a repeated pattern, low
    entropy), or None."""
    if len(value) < 50:
        return f"it has {len(value)} characters (at least 50)"
    distinct = len(set(value))
    if distinct < _MIN_SECRET_DISTINCT:
        return f"it uses only {distinct} distinct characters"
    if value in (value + value)[1:-1]:
        return "it is a repeated pattern"
    counts = {c: value.count(c) for c in set(value)}
    bits = -sum(n * math.log2(n / len(value)) for n in counts.values())
    if bits < _MIN_SECRET_BITS:
        return f"it holds about {int(bits)} bits of entropy (at least {_MIN_SECRET_BITS})"
    if value.startswith("django-insecure"):
        return "it is Django's insecure development key"
    return None


def _error(message: str, *, setting: str, hint: str, number: int) -> Error:
    return Error(f"{message} (setting: {setting})", hint=hint, id=f"safeguard.E{number:03d}")


# --- settings ---------------------------------------------------------------------------------


def check_mode(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    if settings.PRODUCTION:
        return []
    return [_error(f"SAFEGUARD_ENV is {settings.SAFEGUARD_ENV!r}: the deploy check applies to "
                   "production", setting="SAFEGUARD_ENV", hint="Set SAFEGUARD_ENV=production.",
                   number=1)]


def check_hosts_and_origins(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    found: CheckResult = []
    wild = [h for h in settings.ALLOWED_HOSTS if "*" in h]
    if wild:
        found.append(_error(f"ALLOWED_HOSTS contains {wild[0]!r}: any Host header is accepted "
                            "(password-reset links, cache poisoning)",
                            setting="SAFEGUARD_ALLOWED_HOSTS",
                            hint="List the exact host names, e.g. safeguard.example.com.",
                            number=2))
    bad = [o for o in settings.CSRF_TRUSTED_ORIGINS if "*" in o or not o.startswith("https://")]
    if bad:
        found.append(_error(f"CSRF_TRUSTED_ORIGINS contains {bad[0]!r}: a wildcard or plain-HTTP "
                            "origin lets other sites post forms as a signed-in user",
                            setting="SAFEGUARD_CSRF_TRUSTED_ORIGINS",
                            hint="List exact https:// origins, or leave it empty.", number=3))
    return found


def check_keys_material(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    found: CheckResult = []
    why = secret_weakness(settings.SECRET_KEY)
    if why:
        found.append(_error(f"The secret key is weak: {why}", setting="SAFEGUARD_SECRET_KEY",
                            hint="Generate one: python -c 'import secrets; "
                                 "print(secrets.token_urlsafe(64))'.", number=4))
    mfa = settings.SAFEGUARD_MFA_SECRET_KEY
    if mfa and (mfa == settings.SECRET_KEY or mfa in settings.SECRET_KEY_FALLBACKS):
        found.append(_error("The MFA key equals the secret key: one leak opens both",
                            setting="SAFEGUARD_MFA_SECRET_KEY",
                            hint="Generate a separate key like the secret key (docs/deploy.md).",
                            number=5))
    mfa_why = secret_weakness(mfa) if mfa else "it is not set"
    if mfa_why:
        found.append(_error(f"The MFA key is weak: {mfa_why}", setting="SAFEGUARD_MFA_SECRET_KEY",
                            hint="Generate one like the secret key; never change it afterwards.",
                            number=6))
    return found


def check_services(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    found: CheckResult = []
    if settings.DATABASES["default"]["ENGINE"].endswith(".sqlite3"):
        found.append(_error("The database is SQLite: production runs on PostgreSQL",
                            setting="DATABASE_URL",
                            hint="Set DATABASE_URL=postgres://USER@HOST:5432/NAME.", number=7))
    if not settings.REDIS_URL:
        found.append(_error("No Redis: jobs and sign-in throttling stay on one machine's files",
                            setting="SAFEGUARD_REDIS_URL",
                            hint="Set SAFEGUARD_REDIS_URL=redis://HOST:6379/0.", number=8))
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else ""
    if backend in _TEST_EMAIL_BACKENDS:
        found.append(_error(f"The e-mail backend is {settings.EMAIL_BACKEND}: mail never leaves "
                            "(replies, password resets, alerts)", setting="SAFEGUARD_EMAIL_BACKEND",
                            hint="Use django.core.mail.backends.smtp.EmailBackend and "
                                 "SAFEGUARD_SMTP_HOST.", number=9))
    return found


def check_proxy(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    if settings.SAFEGUARD_CLIENT_IP_HEADER and not settings.SAFEGUARD_BEHIND_PROXY:
        return [_error(f"SAFEGUARD_CLIENT_IP_HEADER is {settings.SAFEGUARD_CLIENT_IP_HEADER!r} "
                       "but SAFEGUARD_BEHIND_PROXY is off: clients can forge their address in "
                       "the audit log and the sign-in throttle",
                       setting="SAFEGUARD_CLIENT_IP_HEADER",
                       hint="Behind a proxy that overwrites the header set "
                            "SAFEGUARD_BEHIND_PROXY=1; without one leave the header empty.",
                       number=10)]
    return []


def check_mfa_windows(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    found: CheckResult = []
    if not settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS:
        found.append(_error("WebAuthn is not required for administrators (R-OPS-1)",
                            setting="SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS",
                            hint="Set SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS=1.", number=11))
    limits: list[tuple[str, int, str, int]] = [
        ("SAFEGUARD_SESSION_IDLE_MINUTES", settings.SAFEGUARD_SESSION_IDLE_MINUTES,
         "SAFEGUARD_DEPLOY_MAX_IDLE_MINUTES", settings.SAFEGUARD_DEPLOY_MAX_IDLE_MINUTES),
        ("SAFEGUARD_STEP_UP_MINUTES", settings.SAFEGUARD_STEP_UP_MINUTES,
         "SAFEGUARD_DEPLOY_MAX_STEP_UP_MINUTES", settings.SAFEGUARD_DEPLOY_MAX_STEP_UP_MINUTES),
    ]
    for number, (name, value, limit_name, limit) in enumerate(limits, start=12):
        if not 0 < value <= limit:
            found.append(_error(f"{name} is {value} minutes; the sane range is 1..{limit}",
                                setting=name, hint=f"Lower {name} (the maximum is "
                                                   f"{limit_name}).", number=number))
    return found


def check_witness(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    path, syslog = settings.SAFEGUARD_AUDIT_WITNESS_FILE, settings.SAFEGUARD_AUDIT_WITNESS_SYSLOG
    if not path and not syslog:
        return [_error("No audit witness: whoever can write the database can rewrite the audit "
                       "log's history unnoticed (R-IR-5)",
                       setting="SAFEGUARD_AUDIT_WITNESS_FILE / SAFEGUARD_AUDIT_WITNESS_SYSLOG",
                       hint="Point SAFEGUARD_AUDIT_WITNESS_FILE at another volume (a WORM or "
                            "remote mount) and/or SAFEGUARD_AUDIT_WITNESS_SYSLOG at a syslog "
                            "peer.", number=14)]
    if path:
        witness, data = Path(path).resolve(), Path(settings.DATA_DIR).resolve()
        same = data in witness.parents
        if not same:
            try:
                same = _device(witness) == _device(data)
            except OSError:
                same = False
        if same:
            return [_error(f"The witness file {witness} is on the data directory's volume: one "
                           "rewrite or lost disk takes the log and its witness together",
                           setting="SAFEGUARD_AUDIT_WITNESS_FILE",
                           hint="Put it on another volume (a WORM or remote mount).", number=15)]
    return []


def _device(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return os.stat(path).st_dev


def check_kek_runtime(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    if settings.SAFEGUARD_KEK_PROVIDER != "local":
        return []
    from safeguard.protection import selectors as protection

    problem = protection.kek_runtime_problem()
    if problem:
        return [_error(f"KEK runtime directory: {problem}", setting="SAFEGUARD_KEK_RUNTIME_DIR",
                       hint="Use a 0700 directory on tmpfs owned by the service user.",
                       number=16)]
    return []


# --- the database -------------------------------------------------------------------------------


def check_database(app_configs: Any = None, **kwargs: Any) -> CheckResult:
    from safeguard.audit import selectors as audit
    from safeguard.ops import selectors as ops
    from safeguard.protection import selectors as protection

    try:
        pending = ops.pending_migrations()
    except DatabaseError as exc:
        return [_error(f"The database cannot be reached: {type(exc).__name__}",
                       setting="DATABASE_URL", hint="Check DATABASE_URL and the server.",
                       number=17)]
    if pending:
        return [_error(f"The database is not migrated: {len(pending)} migration(s) pending "
                       f"({pending[0]}, …)", setting="DATABASE_URL",
                       hint="Run `safeguard migrate` against this DATABASE_URL.", number=18)]
    found: CheckResult = []
    steps: list[Callable[[], checks.CheckMessage | None]] = [
        lambda: _demo_mark(ops.installation_kind()),
        lambda: _demo_users(ops.demo_users_present()),
        lambda: _keys(*protection.keys_ready()),
        lambda: _signer(*audit.signer_ready()),
    ]
    for step in steps:
        message = step()
        if message is not None:
            found.append(message)
    return found


def _demo_mark(kind: str | None) -> Error | None:
    if kind != "demo":
        return None
    return _error("This database is marked as a demo database (published passwords)",
                  setting="DATABASE_URL", hint="Point DATABASE_URL at the production database; "
                                               "a demo database never becomes production.",
                  number=19)


def _demo_users(emails: list[str]) -> Error | None:
    if not emails:
        return None
    return _error(f"{len(emails)} demo user(s) with published passwords exist "
                  f"({emails[0]}, …)", setting="DATABASE_URL",
                  hint="Disable and delete them (`safeguard user disable`), or use the "
                       "production database.", number=20)


def _keys(ok: bool, detail: str) -> Error | None:
    if ok:
        return None
    return _error(f"The keys are not usable: {detail}", setting="SAFEGUARD_KEK_PROVIDER",
                  hint="Run `safeguard keys init` once, then `safeguard keys unseal` on each "
                       "machine after boot (docs/keys.md).", number=21)


def _signer(ok: bool, detail: str) -> Error | None:
    if ok:
        return None
    return _error(f"No usable audit signing key: {detail}", setting="SAFEGUARD_AUDIT_SIGNER",
                  hint="Create it once with `safeguard audit keygen` (after unsealing the keys).",
                  number=22)


ALL = (check_mode, check_hosts_and_origins, check_keys_material, check_services, check_proxy,
       check_mfa_windows, check_witness, check_kek_runtime, check_database)


def register() -> None:
    for check in ALL:
        checks.register(check, checks.Tags.security, deploy=True)
