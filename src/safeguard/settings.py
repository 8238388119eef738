"""Safeguard settings: one module, every value from the environment (see docs/configuration.md).

Three modes, chosen by ``SAFEGUARD_ENV``:

* ``production`` (the default, so a forgotten variable fails safe): DEBUG off, a secret key
  must come from the environment, HSTS, secure cookies, plain HTTP refused (R-OPS-3),
  WebAuthn required for administrators (R-OPS-1).
* ``demo``: the embedded single-machine mode of ``make demo``; secret key generated into the
  data directory, SQLite, Huey on SQLite inside the web process.
* ``test``: what the test suite runs; jobs run immediately, fast password hashing.

Nothing here imports application code.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


SAFEGUARD_ENV = _env("SAFEGUARD_ENV", "production")
if SAFEGUARD_ENV not in {"production", "demo", "test"}:
    raise ImproperlyConfigured(
        f"SAFEGUARD_ENV must be production, demo or test, got {SAFEGUARD_ENV!r}"
    )
PRODUCTION = SAFEGUARD_ENV == "production"
DEMO = SAFEGUARD_ENV == "demo"
TESTING = SAFEGUARD_ENV == "test"

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(_env("SAFEGUARD_DATA_DIR", "./var")).resolve()
PORT = _env_int("SAFEGUARD_PORT", 8000)


def _secret_key() -> str:
    key = _env("SAFEGUARD_SECRET_KEY")
    if key:
        if PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("SAFEGUARD_SECRET_KEY must be at least 50 characters")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SAFEGUARD_SECRET_KEY is required in production "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        )
    if TESTING:
        return "test-only-" + "x" * 60
    # Demo only: generate once into the data directory, readable by the owner alone.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("SAFEGUARD_DEBUG", False) and not PRODUCTION

ALLOWED_HOSTS = [
    h.strip()
    for h in _env("SAFEGUARD_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in _env("SAFEGUARD_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "huey.contrib.djhuey",
    "django_prometheus",
    # Ours, floor first (the layers of ARCHITECTURE.md).
    "safeguard.web",
    "safeguard.audit",
    "safeguard.protection",
    "safeguard.accounts",
    "safeguard.customers",
    "safeguard.cases",
    "safeguard.channels",
    "safeguard.privacy",
    "safeguard.detection",
    "safeguard.governance",
    "safeguard.incidents",
    "safeguard.metrics",
    "safeguard.ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "safeguard.audit.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safeguard.web.middleware.NoStoreMiddleware",  # authz: no-store on every dynamic response
    "safeguard.web.middleware.NulInputMiddleware",  # a NUL in a query or form field: 400
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Seals a form held across step-up before the session is saved (issue 8 item 5).
    "safeguard.accounts.middleware.StepUpStashMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "safeguard.accounts.middleware.IdleTimeoutMiddleware",
    "safeguard.accounts.middleware.MFARequiredMiddleware",
    # A domain error escaping a page (a card number stopped at the write, say): a 4xx page.
    "safeguard.web.middleware.ApplicationErrorPageMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "safeguard.urls"
WSGI_APPLICATION = "safeguard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Our templates win over allauth's (its layouts and login page are overridden here).
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "safeguard.accounts.context_processors.navigation",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = _env("DATABASE_URL", "")
if not DATABASE_URL:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{DATA_DIR / 'safeguard.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
# Django's backends with writes deferred to a transaction's COMMIT (safeguard.web.dbbackends:
# the audit entries a transaction records travel in one INSERT at its end; decision 0280).
_ENGINES = {"django.db.backends.postgresql": "safeguard.web.dbbackends.postgresql",
            "django.db.backends.sqlite3": "safeguard.web.dbbackends.sqlite3"}
DATABASES["default"]["ENGINE"] = _ENGINES.get(DATABASES["default"]["ENGINE"],
                                              DATABASES["default"]["ENGINE"])
if DATABASES["default"]["ENGINE"] == "safeguard.web.dbbackends.sqlite3":
    # WAL + a busy timeout let the web process and the embedded Huey consumer share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security state: lockout counters, used TOTP codes, webhook nonces (authstate; R-OPS-1) --
# The default cache holds security state only, so it must never evict (docs/deploy.md):
# `database` (the default: a table with atomic upserts, expired rows purged by a periodic job)
# or `redis` (SAFEGUARD_REDIS_URL; the server must run with maxmemory-policy noeviction — the
# deploy check safeguard.E101 reads it). Keys are HMACs under the secret key in both.
REDIS_URL = _env("SAFEGUARD_REDIS_URL")
SAFEGUARD_SECURITY_STATE_STORE = _env("SAFEGUARD_SECURITY_STATE_STORE",
                                      "redis" if REDIS_URL else "database")
if SAFEGUARD_SECURITY_STATE_STORE not in {"database", "redis"}:
    raise ImproperlyConfigured("SAFEGUARD_SECURITY_STATE_STORE must be database or redis, got "
                               f"{SAFEGUARD_SECURITY_STATE_STORE!r}")
if SAFEGUARD_SECURITY_STATE_STORE == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("SAFEGUARD_SECURITY_STATE_STORE=redis needs SAFEGUARD_REDIS_URL")
if SAFEGUARD_SECURITY_STATE_STORE == "redis":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL,
                          "KEY_FUNCTION": "safeguard.accounts.securitystate.hashed_key"}}
else:
    CACHES = {"default": {"BACKEND": "safeguard.accounts.securitystate.DatabaseSecurityStore",
                          "KEY_FUNCTION": "safeguard.accounts.securitystate.hashed_key"}}
# Concurrent signed-in sessions per user; a new sign-in past it ends the oldest (audited).
SAFEGUARD_MAX_SESSIONS_PER_USER = _env_int("SAFEGUARD_MAX_SESSIONS_PER_USER", 3)
if SAFEGUARD_MAX_SESSIONS_PER_USER < 1:
    raise ImproperlyConfigured("SAFEGUARD_MAX_SESSIONS_PER_USER must be at least 1")

# --- Accounts, MFA, sessions (R-OPS-1) -------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["safeguard.accounts.adapters.StaffAuthenticationBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 by design costs ~50 ms a hash; the suite hashes thousands of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "safeguard.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff are created by administrators, not by sign-up
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = _env_int("SAFEGUARD_STEP_UP_MINUTES", 5) * 60

# --- Separation of duties and vault hardening (authz; docs/configuration.md) -----------------
# Hours a four-eyes grant request waits for a second administrator before it expires.
SAFEGUARD_GRANT_REQUEST_HOURS = _env_int("SAFEGUARD_GRANT_REQUEST_HOURS", 24)
# Tokenize calls allowed per API caller (service account) per minute; past it, 429.
SAFEGUARD_TOKENIZE_PER_MINUTE = _env_int("SAFEGUARD_TOKENIZE_PER_MINUTE", 30)
ACCOUNT_PREVENT_ENUMERATION = True
# A reset for an unknown address sends nothing (there is no sign-up to invite to) and answers
# exactly as for a known one (issue 9 item 7).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_FORMS = {"reset_password": "safeguard.accounts.forms.PasswordResetRequestForm"}
ACCOUNT_REAUTHENTICATION_METHODS = ("mfa", "password")
# Login throttling and lockout: N failures per window per address and per account.
ACCOUNT_RATE_LIMITS = {
    # Per account 5 failures; per address more, so one office behind a NAT is not locked out.
    "login_failed": _env("SAFEGUARD_LOGIN_FAILED_LIMIT", "20/15m/ip,5/15m/key"),
    "login": "30/m/ip",
    "reset_password": "5/m/ip,3/m/key",
    "reauthenticate": "10/m/user",
}
MFA_ADAPTER = "safeguard.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = _env("SAFEGUARD_TOTP_ISSUER", "Safeguard")
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
MFA_TOTP_TOLERANCE = 1
# Not on every request: IdleTimeoutMiddleware records a session's activity (allauth's "last
# seen", IP and User-Agent) when it stores the idle clock, at most once per interval below.
USERSESSIONS_TRACK_ACTIVITY = False

SAFEGUARD_STEP_UP_MINUTES = _env_int("SAFEGUARD_STEP_UP_MINUTES", 5)
SAFEGUARD_SESSION_IDLE_MINUTES = _env_int("SAFEGUARD_SESSION_IDLE_MINUTES", 15)
# --- Request overhead (issue 10): session activity is written at most once per this many
# seconds per session (the idle timeout then ends up to this much early, never late).
SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS = _env_int("SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS", 60)
SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS = _env_bool(
    "SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS", PRODUCTION
)
SAFEGUARD_API_TOKEN_MAX_DAYS = _env_int("SAFEGUARD_API_TOKEN_MAX_DAYS", 365)
# Encryption key for MFA secrets at rest; derived from SECRET_KEY when unset (docs/decisions/0003).
SAFEGUARD_MFA_SECRET_KEY = _env("SAFEGUARD_MFA_SECRET_KEY")
if PRODUCTION and len(SAFEGUARD_MFA_SECRET_KEY) < 50:
    # Derived from the secret key, a rotation of that key would lock every user out of TOTP.
    raise ImproperlyConfigured("SAFEGUARD_MFA_SECRET_KEY (at least 50 characters) is required in "
                               "production; generate it like the secret key and never change it")
# Earlier MFA keys still accepted for decryption while secrets are re-encrypted (comma-separated).
SAFEGUARD_MFA_SECRET_KEY_FALLBACKS = [
    k for k in _env("SAFEGUARD_MFA_SECRET_KEY_FALLBACKS").split(",") if k.strip()]

SESSION_COOKIE_AGE = _env_int("SAFEGUARD_SESSION_MAX_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# The header the reverse proxy sets to the real client address (e.g. X-Real-IP). Empty: use
# the connection address. Used by the audit log and the sign-in throttle alike; set it only
# behind a proxy that overwrites the header (docs/deploy.md), or clients could forge it.
# In production behind the proxy (the default) this defaults to X-Real-IP, which the example
# nginx configuration overwrites; a deployment without such a proxy sets SAFEGUARD_BEHIND_PROXY=0.
_BEHIND_PROXY = PRODUCTION and _env_bool("SAFEGUARD_BEHIND_PROXY", True)
SAFEGUARD_CLIENT_IP_HEADER = _env("SAFEGUARD_CLIENT_IP_HEADER",
                                  "X-Real-IP" if _BEHIND_PROXY else "")
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = SAFEGUARD_CLIENT_IP_HEADER or None
SAFEGUARD_BEHIND_PROXY = _BEHIND_PROXY  # read by the deploy check (issue 17)

# --- Transport security (R-OPS-3) ---------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = _env_int("SAFEGUARD_HSTS_SECONDS", 63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _env_bool("SAFEGUARD_HSTS_PRELOAD", True)
    if _BEHIND_PROXY:
        # TLS ends at the reverse proxy, which must set this header (docs/deploy.md).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Strict CSP: no inline script or style anywhere, nonces only where a library needs one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Protection: screening, card vault, field encryption, keys (issue 4; docs/keys.md) ------
# Where the key-encryption key (KEK) comes from: `dev` (a file in the data directory; demo and
# tests only, refused in production), `local` (split knowledge: custodians' Shamir shares,
# `safeguard keys unseal`) or `kms` (SAFEGUARD_KEK_URI: aws-kms://…, gcp-kms://…, hcvault://…).
SAFEGUARD_KEK_PROVIDER = _env("SAFEGUARD_KEK_PROVIDER", "local" if PRODUCTION else "dev")
if SAFEGUARD_KEK_PROVIDER not in {"dev", "local", "kms"}:
    raise ImproperlyConfigured(
        f"SAFEGUARD_KEK_PROVIDER must be dev, local or kms, got {SAFEGUARD_KEK_PROVIDER!r}"
    )
if PRODUCTION and SAFEGUARD_KEK_PROVIDER == "dev":
    raise ImproperlyConfigured(
        "SAFEGUARD_KEK_PROVIDER=dev keeps the master key beside the data: refused in production "
        "(use local or kms, docs/keys.md)"
    )
SAFEGUARD_KEK_URI = _env("SAFEGUARD_KEK_URI")  # kms provider: the KMS key's URI (not a secret)
SAFEGUARD_KMS_CREDENTIALS = _env("SAFEGUARD_KMS_CREDENTIALS")  # aws/gcp credentials file path
SAFEGUARD_VAULT_ADDR = _env("SAFEGUARD_VAULT_ADDR", "https://127.0.0.1:8200")  # hcvault://
SAFEGUARD_VAULT_TOKEN_FILE = _env("SAFEGUARD_VAULT_TOKEN_FILE")  # a file, never the token itself
SAFEGUARD_DEV_KEK_FILE = Path(
    _env("SAFEGUARD_DEV_KEK_FILE", str(DATA_DIR / "keys" / "dev-kek.json"))
)
# `safeguard keys unseal` leaves the KEK here for this machine's processes; keep it on tmpfs
# (never on a disk or in a backup). /dev/shm is tmpfs on Linux.
SAFEGUARD_KEK_RUNTIME_DIR = Path(
    _env("SAFEGUARD_KEK_RUNTIME_DIR", "/dev/shm/safeguard")  # noqa: S108 - tmpfs on purpose
)
# Accept a KEK runtime directory that is not tmpfs (owner and mode are still enforced). Off by
# default; each unseal records whether the key went to disk (issue 17, docs/keys.md).
SAFEGUARD_KEK_RUNTIME_ALLOW_DISK = _env_bool("SAFEGUARD_KEK_RUNTIME_ALLOW_DISK", False)
SAFEGUARD_KEY_ROTATION_DAYS = _env_int("SAFEGUARD_KEY_ROTATION_DAYS", 365)  # R-OPS-4: 12 months
SAFEGUARD_KEYSET_CACHE_SECONDS = _env_int("SAFEGUARD_KEYSET_CACHE_SECONDS", 60)
SAFEGUARD_REENCRYPT_BATCH = _env_int("SAFEGUARD_REENCRYPT_BATCH", 500)
# A "running" re-encryption job without progress for this long is stale (its runner was killed)
# and may be resumed (`safeguard keys rotate --resume JOB`, issue 17).
SAFEGUARD_REENCRYPT_STALE_SECONDS = _env_int("SAFEGUARD_REENCRYPT_STALE_SECONDS", 300)
SAFEGUARD_DETOKENIZE_REASON_MIN = _env_int("SAFEGUARD_DETOKENIZE_REASON_MIN", 10)
# Screening policy file; empty = src/safeguard/protection/policies.yaml (versioned with the code).
SAFEGUARD_PROTECTION_POLICY_FILE = _env("SAFEGUARD_PROTECTION_POLICY_FILE")
SAFEGUARD_SCANNER_DETECTORS_FILE = _env("SAFEGUARD_SCANNER_DETECTORS_FILE")  # custom detectors
SAFEGUARD_SCANNER_REGIONS = [
    r.strip().upper() for r in _env("SAFEGUARD_SCANNER_REGIONS", "US,GB").split(",") if r.strip()
]
SAFEGUARD_LOG_REDACT_TYPES = [
    t.strip() for t in _env(
        "SAFEGUARD_LOG_REDACT_TYPES", "PAN,CVV,EXPIRY,US_SSN,IBAN,UK_NINO,US_ROUTING"
    ).split(",") if t.strip()
]
# Reported but never rewritten by `safeguard protection rescan --fix` (append-only logs).
SAFEGUARD_RESCAN_READ_ONLY_MODELS = [
    m.strip() for m in _env("SAFEGUARD_RESCAN_READ_ONLY_MODELS", "audit.event").split(",")
    if m.strip()
]

# --- Static files (vendored, served by WhiteNoise; never a CDN) --------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "files")}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
                    if not PRODUCTION else
                    "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing

LANGUAGE_CODE = "en"
TIME_ZONE = _env("SAFEGUARD_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = _env("SAFEGUARD_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
                     if PRODUCTION else "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = _env("SAFEGUARD_SMTP_HOST", "localhost")
EMAIL_PORT = _env_int("SAFEGUARD_SMTP_PORT", 25)
DEFAULT_FROM_EMAIL = _env("SAFEGUARD_FROM_EMAIL", "safeguard@localhost")

# --- Jobs (Huey) -------------------------------------------------------------------------
HUEY_IMMEDIATE = TESTING or _env_bool("SAFEGUARD_HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "safeguard", "url": REDIS_URL,
            "immediate": HUEY_IMMEDIATE, "consumer": {"workers": 2, "worker_type": "thread"}}
else:
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "safeguard",
            "filename": str(DATA_DIR / "huey.sqlite3"),
            "immediate": HUEY_IMMEDIATE, "consumer": {"workers": 2, "worker_type": "thread"}}

# --- Logging: structlog JSON, every line through the redactor ----------------------------
LOG_LEVEL = _env("SAFEGUARD_LOG_LEVEL", "INFO")
# --- First run (issue 15, agentux): the demo keeps its console quiet ---------------------------
# Log lines also go to this file (JSON, through the redactor) when set; the demo writes to
# DATA_DIR/logs/safeguard.log by default and shows only errors on the console, so background
# job lines do not scroll past "Serving on" (see docs/configuration.md).
_log_file = _env("SAFEGUARD_LOG_FILE", str(DATA_DIR / "logs" / "safeguard.log") if DEMO else "")
LOG_FILE = Path(_log_file) if _log_file else None
CONSOLE_LOG_LEVEL = _env("SAFEGUARD_CONSOLE_LOG_LEVEL", "ERROR" if DEMO else "NOTSET")
if LOG_FILE:
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "safeguard.ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json",
                    "level": CONSOLE_LOG_LEVEL},
        **({"file": {"class": "logging.handlers.RotatingFileHandler", "formatter": "json",
                     "filename": str(LOG_FILE), "maxBytes": 20_000_000, "backupCount": 3,
                     "delay": True, "encoding": "utf-8"}} if LOG_FILE else {}),
    },
    "root": {"handlers": ["console", *(["file"] if LOG_FILE else [])], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's defaults give "django" a plain console handler (when DEBUG) and an e-mail
        # handler, and the development server's access lines (safeguard demo) a plain handler of
        # their own: none of them redacts, so both loggers lose them and propagate to the root
        # handler, which does (R-OPS-2).
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "huey": {"level": "WARNING" if TESTING else "INFO"},
    },
}

PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Audit log (R-IR-5) -----------------------------------------------------------------------
# Provider of the Ed25519 key that signs tree heads; the protection app may supply a KMS one.
# The default seals the key under the protection app's key hierarchy; tests use a plain key file
# (each test has its own dev KEK, so a sealed file would not survive from one test to the next).
SAFEGUARD_AUDIT_SIGNER = _env(
    "SAFEGUARD_AUDIT_SIGNER",
    "safeguard.audit.signing.file_signer" if TESTING
    else "safeguard.protection.audit_signer.sealed_signer")
SAFEGUARD_AUDIT_KEY_FILE = _env("SAFEGUARD_AUDIT_KEY_FILE", str(DATA_DIR / "audit-signing.key"))
# PEM files of retired signing keys whose heads must still verify (comma-separated paths).
# Masks card numbers in every caller-supplied text of an event (actor, subject id, User-Agent,
# every key, string and number in its data) before it is stored, so recording never fails.
SAFEGUARD_AUDIT_TEXT_SANITISER = _env("SAFEGUARD_AUDIT_TEXT_SANITISER",
                                      "safeguard.protection.services.mask_pans")
SAFEGUARD_AUDIT_TRUSTED_KEYS = [p for p in _env("SAFEGUARD_AUDIT_TRUSTED_KEYS").split(",") if p]
# Each signed head is appended here (JSON lines); point it at storage the DBA cannot rewrite.
SAFEGUARD_AUDIT_WITNESS_FILE = _env("SAFEGUARD_AUDIT_WITNESS_FILE", "")
# Events older than this without a signed head fail verification (heads deleted, job stopped).
SAFEGUARD_AUDIT_MAX_UNSIGNED_MINUTES = _env_int("SAFEGUARD_AUDIT_MAX_UNSIGNED_MINUTES", 10)
# ... and/or to a syslog peer: syslog+tcp://HOST:PORT or syslog+tls://HOST:PORT.
SAFEGUARD_AUDIT_WITNESS_SYSLOG = _env("SAFEGUARD_AUDIT_WITNESS_SYSLOG", "")

# --- Audit queue and integrator (issue 10, decision 0180; R-IR-5, R-OPS-8) -----------------
# How a recorded entry reaches the log. "background" (decision 0181): record() only queues it
# (no global lock in the caller's transaction) and the commit wakes the process's integrator
# thread; a periodic job catches anything left. "after_commit": the same, but the integrator
# runs in the committing thread (a request pays a second transaction). "in_transaction":
# record() also integrates inside the caller's transaction (serialised, the pre-queue
# behaviour): what the test suite uses, so a test reads its events before its transaction ends.
# (A fourth value, "deferred", is never read from the environment: the demo's bulk history
# load sets it in its own process and calls the integrator once at the end; the periodic job
# would catch up anyway.)
SAFEGUARD_AUDIT_INTEGRATION = _env("SAFEGUARD_AUDIT_INTEGRATION",
                                   "in_transaction" if TESTING else "background")
if SAFEGUARD_AUDIT_INTEGRATION not in {"background", "after_commit", "in_transaction"}:
    raise ImproperlyConfigured("SAFEGUARD_AUDIT_INTEGRATION must be background, after_commit or "
                               f"in_transaction, got {SAFEGUARD_AUDIT_INTEGRATION!r}")
# The inclusion promise: a queued entry older than this fails `audit verify` (`unintegrated`).
SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS = _env_int("SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS",
                                                     120)
# Entries per integrator transaction, and how long one after-commit run may keep integrating
# before it hands the rest to the `audit.integrate` job (a request is never held longer).
SAFEGUARD_AUDIT_INTEGRATION_BATCH = _env_int("SAFEGUARD_AUDIT_INTEGRATION_BATCH", 1000)
SAFEGUARD_AUDIT_INTEGRATION_RUN_MS = _env_int("SAFEGUARD_AUDIT_INTEGRATION_RUN_MS", 500)

# --- SIEM export (docs/siem.md, R-OPS-6) ------------------------------------------------------
# Forwarders the periodic job runs: "NAME=FORMAT@URL,..." (empty: none).
SAFEGUARD_SIEM_SINKS = _env("SAFEGUARD_SIEM_SINKS", "")
SAFEGUARD_SIEM_TLS_CA = _env("SAFEGUARD_SIEM_TLS_CA", "")  # default: the system trust store
SAFEGUARD_SIEM_TLS_CERT = _env("SAFEGUARD_SIEM_TLS_CERT", "")  # client cert for mutual TLS
SAFEGUARD_SIEM_TLS_KEY = _env("SAFEGUARD_SIEM_TLS_KEY", "")
# --- SIEM field policy (redact helper; docs/siem.md "Field policy", R-IR-5, R-DATA-2) --------
# Free-text fields of exported events (User-Agent, reasons, attempted names...) pass this masker
# (a dotted path to a str -> str callable); the default is the protection scanner, which
# replaces every type in SAFEGUARD_SIEM_MASK_TYPES with [REDACTED-TYPE].
SAFEGUARD_SIEM_TEXT_MASKER = _env("SAFEGUARD_SIEM_TEXT_MASKER",
                                  "safeguard.protection.services.redact_for_siem")
SAFEGUARD_SIEM_MASK_TYPES = [
    t.strip() for t in _env(
        "SAFEGUARD_SIEM_MASK_TYPES",
        "PAN,CVV,EXPIRY,US_SSN,IBAN,UK_NINO,US_ROUTING,EMAIL,PHONE").split(",") if t.strip()
]

# --- Customers (docs/customers.md) ------------------------------------------------------------
# Who may see which customer (decision 0006): a callable (Principal) -> CustomerScope, imported
# on use. When it cannot be imported, every person's scope is empty (deny by default) except for
# holders of customers.view_all.
# --- Agent experience (issue 15, agentux) --------------------------------------------------------
# Most in-scope customers a masked-field search (last four, initials, city) decrypts to compare.
SAFEGUARD_CUSTOMER_SEARCH_SCAN_MAX = _env_int("SAFEGUARD_CUSTOMER_SEARCH_SCAN_MAX", 5000)
SAFEGUARD_CUSTOMER_SCOPE = _env("SAFEGUARD_CUSTOMER_SCOPE",
                                "safeguard.cases.selectors.customer_scope")
# How long a revealed value stays visible to the person who revealed it (R-DATA-2).
SAFEGUARD_REVEAL_MINUTES = _env_int("SAFEGUARD_REVEAL_MINUTES", 5)
# Refunds above this amount need a supervisor's approval (R-WORK-4); at or under it they are
# granted at once (and still audited).
SAFEGUARD_REFUND_APPROVAL_THRESHOLD = _env("SAFEGUARD_REFUND_APPROVAL_THRESHOLD", "100.00")
if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", SAFEGUARD_REFUND_APPROVAL_THRESHOLD):
    raise ImproperlyConfigured("SAFEGUARD_REFUND_APPROVAL_THRESHOLD must be an amount such as "
                               f"100.00, got {SAFEGUARD_REFUND_APPROVAL_THRESHOLD!r}")

# --- Cases (docs/cases.md) ----------------------------------------------------------------------
# Where inbound contacts land when a channel names no queue (created on first use).
SAFEGUARD_DEFAULT_QUEUE = _env("SAFEGUARD_DEFAULT_QUEUE", "general")
# Attachments: at most this many bytes each and this many per message, declared as one of these
# types (the content must agree: see "Attachment screening" below); text/* attachments are
# screened like message bodies before they are stored (encrypted).
SAFEGUARD_ATTACHMENT_MAX_BYTES = _env_int("SAFEGUARD_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
SAFEGUARD_ATTACHMENT_MAX_COUNT = _env_int("SAFEGUARD_ATTACHMENT_MAX_COUNT", 10)
SAFEGUARD_ATTACHMENT_TYPES = [
    t.strip().lower() for t in _env(
        "SAFEGUARD_ATTACHMENT_TYPES",
        "text/plain,text/csv,application/pdf,image/png,image/jpeg,image/gif,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ).split(",") if t.strip()
]
# --- Attachment screening (issue 8; docs/cases.md "Attachments") ---------------------------------
# Every attachment's type is read from its content; its text (PDF text, OCR of images, office
# XML) is screened. A file with a card number is withheld (not stored); one that cannot be
# screened within these limits is quarantined (stored encrypted, opened only with
# cases.attachment_quarantine after step-up). SAFEGUARD_ATTACHMENT_MAX_BYTES above still refuses.
# Files above this many bytes are not screened but quarantined.
SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES = _env_int("SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES",
                                                 8 * 1024 * 1024)
# PDFs with more pages than this are quarantined.
SAFEGUARD_ATTACHMENT_MAX_PAGES = _env_int("SAFEGUARD_ATTACHMENT_MAX_PAGES", 50)
# Images OCR'd per attachment (PDF images, office media, GIF frames); more: quarantined.
SAFEGUARD_ATTACHMENT_MAX_IMAGES = _env_int("SAFEGUARD_ATTACHMENT_MAX_IMAGES", 20)
# Pixels per image, checked before decoding (decompression bombs); larger: quarantined.
SAFEGUARD_ATTACHMENT_MAX_PIXELS = _env_int("SAFEGUARD_ATTACHMENT_MAX_PIXELS", 40_000_000)
# Seconds Tesseract may take per image; slower: quarantined (OCR failure).
SAFEGUARD_ATTACHMENT_OCR_SECONDS = _env_int("SAFEGUARD_ATTACHMENT_OCR_SECONDS", 30)
# Threads one Tesseract run may use (its OMP_THREAD_LIMIT, unless that is set in the
# environment): one thread costs a third of the default's CPU on a busy machine (bench/).
SAFEGUARD_ATTACHMENT_OCR_THREADS = _env_int("SAFEGUARD_ATTACHMENT_OCR_THREADS", 1)
# Tesseract language(s), e.g. "eng" or "eng+deu" (the language packs must be installed).
SAFEGUARD_ATTACHMENT_OCR_LANG = _env("SAFEGUARD_ATTACHMENT_OCR_LANG", "eng")
# Office files (docx, xlsx): total unpacked bytes, number of parts, and the highest compression
# ratio of one part (zip bombs); beyond any: quarantined.
SAFEGUARD_ATTACHMENT_MAX_UNZIPPED_BYTES = _env_int("SAFEGUARD_ATTACHMENT_MAX_UNZIPPED_BYTES",
                                                   50 * 1024 * 1024)
SAFEGUARD_ATTACHMENT_MAX_ZIP_MEMBERS = _env_int("SAFEGUARD_ATTACHMENT_MAX_ZIP_MEMBERS", 1000)
SAFEGUARD_ATTACHMENT_MAX_ZIP_RATIO = _env_int("SAFEGUARD_ATTACHMENT_MAX_ZIP_RATIO", 100)
# Characters of text extracted from one attachment; more: quarantined.
SAFEGUARD_ATTACHMENT_MAX_TEXT = _env_int("SAFEGUARD_ATTACHMENT_MAX_TEXT", 2_000_000)
# --- API: request body limit (issue 9, docs/api.md) ----------------------------------------------
# The largest request body any view reads (Django's DATA_UPLOAD_MAX_MEMORY_SIZE, pages included);
# an API body above it is a 413 problem stating the limit. The default fits one attachment of
# SAFEGUARD_ATTACHMENT_MAX_BYTES base64-encoded (4/3 of its size) plus 1 MiB of message and JSON.
SAFEGUARD_REQUEST_MAX_BODY_BYTES = _env_int(
    "SAFEGUARD_REQUEST_MAX_BODY_BYTES",
    4 * -(-SAFEGUARD_ATTACHMENT_MAX_BYTES // 3) + 1024 * 1024,
)
if SAFEGUARD_REQUEST_MAX_BODY_BYTES < 1024:
    raise ImproperlyConfigured("SAFEGUARD_REQUEST_MAX_BODY_BYTES must be at least 1024")
DATA_UPLOAD_MAX_MEMORY_SIZE = SAFEGUARD_REQUEST_MAX_BODY_BYTES

# R-KPI-2: a resolution counts as first-contact only if not reopened within this many days.
SAFEGUARD_FCR_REOPEN_WINDOW_DAYS = _env_int("SAFEGUARD_FCR_REOPEN_WINDOW_DAYS", 7)
# R-KPI-1: how long a satisfaction-survey link stays valid.
SAFEGUARD_CSAT_LINK_DAYS = _env_int("SAFEGUARD_CSAT_LINK_DAYS", 14)
# Queue view: an SLA clock ending within this many minutes shows as "due soon".
SAFEGUARD_SLA_WARN_MINUTES = _env_int("SAFEGUARD_SLA_WARN_MINUTES", 30)
# Agent console: how often the case view polls for new messages (seconds).
SAFEGUARD_CONSOLE_POLL_SECONDS = _env_int("SAFEGUARD_CONSOLE_POLL_SECONDS", 5)
# Retention category of call recordings when the voice platform names none (R-DATA-3).
SAFEGUARD_RECORDING_RETENTION_DEFAULT = _env("SAFEGUARD_RECORDING_RETENTION_DEFAULT",
                                             "qa_recording")

# --- Channels (docs/channels.md) ---------------------------------------------------------------
_RATE_RE = re.compile(r"^[1-9][0-9]*/([1-9][0-9]*)?[smhd]$")


def _env_rate(name: str, default: str) -> str:
    """A rate limit "N/period" (period s, m, h or d, optionally with a count: 5/10m)."""
    value = _env(name, default).strip()
    if not _RATE_RE.match(value):
        raise ImproperlyConfigured(f"{name} must look like 5/h or 20/10m, got {value!r}")
    return value


def _email_queues(raw: str) -> dict[str, str]:
    """ "support@example.com=general,billing@example.com=billing" -> {address: queue slug}."""
    mapping: dict[str, str] = {}
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        address, sep, queue = (x.strip() for x in item.partition("="))
        if not sep or "@" not in address or not queue:
            raise ImproperlyConfigured(
                f"SAFEGUARD_EMAIL_QUEUES items must be address=queue, got {item!r}")
        mapping[address.lower()] = queue
    return mapping


# Inbound e-mail: each receiving address and the queue its mail lands in. Mail to any other
# address is refused at RCPT time by `safeguard smtpd` (no backscatter) and skipped by IMAP,
# unless SAFEGUARD_EMAIL_DEFAULT_QUEUE names a queue for it.
SAFEGUARD_EMAIL_QUEUES = _email_queues(_env("SAFEGUARD_EMAIL_QUEUES", ""))
SAFEGUARD_EMAIL_DEFAULT_QUEUE = _env("SAFEGUARD_EMAIL_DEFAULT_QUEUE", "")
# From of replies (make it one of the addresses above, so answers come back routed);
# Message-IDs use its domain unless SAFEGUARD_EMAIL_DOMAIN is set.
SAFEGUARD_EMAIL_FROM = _env("SAFEGUARD_EMAIL_FROM", DEFAULT_FROM_EMAIL)
SAFEGUARD_EMAIL_DOMAIN = _env("SAFEGUARD_EMAIL_DOMAIN", "")
# Loop brakes: replies to one address per window, and a lower limit for automatic replies.
SAFEGUARD_EMAIL_REPLY_LIMIT = _env_rate("SAFEGUARD_EMAIL_REPLY_LIMIT", "30/h")
SAFEGUARD_EMAIL_AUTO_REPLY_LIMIT = _env_rate("SAFEGUARD_EMAIL_AUTO_REPLY_LIMIT", "3/h")
# `safeguard smtpd`: listen on loopback behind the MTA that owns port 25 (docs/channels.md).
SAFEGUARD_SMTPD_HOST = _env("SAFEGUARD_SMTPD_HOST", "127.0.0.1")
SAFEGUARD_SMTPD_PORT = _env_int("SAFEGUARD_SMTPD_PORT", 2525)
SAFEGUARD_SMTPD_MAX_BYTES = _env_int("SAFEGUARD_SMTPD_MAX_BYTES", 25 * 1024 * 1024)
# --- Inbound e-mail bounds (redact helper; docs/channels.md "Limits", R-OPS-2) ----------------
# A message beyond one of these is refused for good (SMTP 554, IMAP: counted as refused), fast,
# before the recursive MIME parser runs; To/Cc addresses beyond the count are ignored.
SAFEGUARD_EMAIL_MAX_HEADER_BYTES = _env_int("SAFEGUARD_EMAIL_MAX_HEADER_BYTES", 128 * 1024)
SAFEGUARD_EMAIL_MAX_MIME_DEPTH = _env_int("SAFEGUARD_EMAIL_MAX_MIME_DEPTH", 20)
SAFEGUARD_EMAIL_MAX_MIME_PARTS = _env_int("SAFEGUARD_EMAIL_MAX_MIME_PARTS", 200)
SAFEGUARD_EMAIL_MAX_ADDRESSES = _env_int("SAFEGUARD_EMAIL_MAX_ADDRESSES", 100)
# Text kept as the message body (at most the case store's 100,000 characters): a longer mail is
# cut there with a note, and its full text is attached as message-full-text.txt.
SAFEGUARD_EMAIL_MAX_TEXT_CHARS = _env_int("SAFEGUARD_EMAIL_MAX_TEXT_CHARS", 100_000)
if not 1_000 <= SAFEGUARD_EMAIL_MAX_TEXT_CHARS <= 100_000:
    raise ImproperlyConfigured("SAFEGUARD_EMAIL_MAX_TEXT_CHARS must be between 1000 and 100000")
# `safeguard imap-poll`: empty host = IMAP polling off. The password is read from a file.
SAFEGUARD_IMAP_HOST = _env("SAFEGUARD_IMAP_HOST", "")
SAFEGUARD_IMAP_PORT = _env_int("SAFEGUARD_IMAP_PORT", 993)
SAFEGUARD_IMAP_SECURITY = _env("SAFEGUARD_IMAP_SECURITY", "ssl")  # ssl | starttls | none
if SAFEGUARD_IMAP_SECURITY not in {"ssl", "starttls", "none"}:
    raise ImproperlyConfigured("SAFEGUARD_IMAP_SECURITY must be ssl, starttls or none")
SAFEGUARD_IMAP_CA_FILE = _env("SAFEGUARD_IMAP_CA_FILE", "")  # default: the system trust store
SAFEGUARD_IMAP_USER = _env("SAFEGUARD_IMAP_USER", "")
SAFEGUARD_IMAP_PASSWORD_FILE = _env("SAFEGUARD_IMAP_PASSWORD_FILE", "")
SAFEGUARD_IMAP_MAILBOX = _env("SAFEGUARD_IMAP_MAILBOX", "INBOX")
SAFEGUARD_IMAP_QUEUE = _env("SAFEGUARD_IMAP_QUEUE", "")  # mail to no mapped address; "" = skip
SAFEGUARD_IMAP_POLL_SECONDS = _env_int("SAFEGUARD_IMAP_POLL_SECONDS", 60)
SAFEGUARD_IMAP_BATCH = _env_int("SAFEGUARD_IMAP_BATCH", 50)
SAFEGUARD_IMAP_AFTER = _env("SAFEGUARD_IMAP_AFTER", "seen")  # seen | keep | delete
if SAFEGUARD_IMAP_AFTER not in {"seen", "keep", "delete"}:
    raise ImproperlyConfigured("SAFEGUARD_IMAP_AFTER must be seen, keep or delete")
# Webhooks (voice): shared secrets, comma-separated so a new one can be added before the old
# one is retired. None configured = every webhook is refused.
SAFEGUARD_WEBHOOK_SECRETS = [
    s.strip() for s in _env("SAFEGUARD_WEBHOOK_SECRET", "").split(",") if s.strip()
]
if PRODUCTION and any(len(s) < 32 for s in SAFEGUARD_WEBHOOK_SECRETS):
    raise ImproperlyConfigured("each SAFEGUARD_WEBHOOK_SECRET must be at least 32 characters")
SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS = _env_int("SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS", 300)
SAFEGUARD_WEBHOOK_MAX_BYTES = _env_int("SAFEGUARD_WEBHOOK_MAX_BYTES", 1024 * 1024)
SAFEGUARD_VOICE_QUEUE = _env("SAFEGUARD_VOICE_QUEUE", "")  # for events naming no queue
# Web chat and the contact form: their queues ("" = the cases app's default queue), how often
# the customer's page polls, and rate limits per client address (chat posts: per conversation).
SAFEGUARD_CHAT_QUEUE = _env("SAFEGUARD_CHAT_QUEUE", "")
SAFEGUARD_CHAT_POLL_SECONDS = _env_int("SAFEGUARD_CHAT_POLL_SECONDS", 2)
SAFEGUARD_CHAT_START_LIMIT = _env_rate("SAFEGUARD_CHAT_START_LIMIT", "5/h")
SAFEGUARD_CHAT_POST_LIMIT = _env_rate("SAFEGUARD_CHAT_POST_LIMIT", "20/m")
SAFEGUARD_CONTACT_QUEUE = _env("SAFEGUARD_CONTACT_QUEUE", "")
SAFEGUARD_CONTACT_LIMIT = _env_rate("SAFEGUARD_CONTACT_LIMIT", "5/h")

# --- Deployment checks (ops, issue 17; docs/deploy.md) -------------------------------------------
# `safeguard check --deploy` fails when the idle sign-out or the step-up window is longer.
SAFEGUARD_DEPLOY_MAX_IDLE_MINUTES = _env_int("SAFEGUARD_DEPLOY_MAX_IDLE_MINUTES", 60)
SAFEGUARD_DEPLOY_MAX_STEP_UP_MINUTES = _env_int("SAFEGUARD_DEPLOY_MAX_STEP_UP_MINUTES", 15)
# --- Channel identity: linking, verification, sender authentication (email helper; ----------
# docs/customers.md "Linking policy", docs/channels.md "Sender authentication"; R-WORK-4)
# Providers whose mailboxes ignore the case of the local part: only there is it lower-cased
# (ASCII only) before addresses are compared. Changing the list changes the e-mail blind index:
# run `safeguard customers reindex-email` afterwards.
SAFEGUARD_EMAIL_CASEFOLD_DOMAINS = [
    d.strip().lower() for d in _env(
        "SAFEGUARD_EMAIL_CASEFOLD_DOMAINS",
        "gmail.com,googlemail.com,outlook.com,hotmail.com,live.com,msn.com,yahoo.com,"
        "icloud.com,me.com,mac.com,proton.me,protonmail.com,gmx.de,gmx.net,web.de,"
        "fastmail.com").split(",") if d.strip()
]
# The authserv-ids (RFC 8601) of the receiving MTA(s) whose Authentication-Results header is
# trusted; a Received-SPF header is trusted only when its receiver= names one of them. Empty:
# no sender is ever authenticated by mail headers (every mail sender is "none").
SAFEGUARD_MAIL_AUTHSERV_IDS = [
    h.strip().lower() for h in _env(
        "SAFEGUARD_MAIL_AUTHSERV_IDS", "mx.northwind.example" if DEMO else "").split(",")
    if h.strip()
]
# A mail whose trusted results say dmarc=pass for its From domain links to the customer holding
# exactly that address (decision 0101). Off: every mail waits for a verification like chat.
SAFEGUARD_MAIL_LINK_ON_DMARC_PASS = _env_bool("SAFEGUARD_MAIL_LINK_ON_DMARC_PASS", True)
# One-time codes that prove a contact controls the address on file: lifetime, wrong tries
# allowed per code, and how many codes one contact may be sent per hour.
SAFEGUARD_CONTACT_CODE_MINUTES = _env_int("SAFEGUARD_CONTACT_CODE_MINUTES", 10)
SAFEGUARD_CONTACT_CODE_ATTEMPTS = _env_int("SAFEGUARD_CONTACT_CODE_ATTEMPTS", 5)
SAFEGUARD_CONTACT_CODE_LIMIT = _env_rate("SAFEGUARD_CONTACT_CODE_LIMIT", "5/h")
if SAFEGUARD_CONTACT_CODE_MINUTES < 1 or SAFEGUARD_CONTACT_CODE_ATTEMPTS < 1:
    raise ImproperlyConfigured(
        "SAFEGUARD_CONTACT_CODE_MINUTES and SAFEGUARD_CONTACT_CODE_ATTEMPTS must be at least 1")

# --- Privacy: retention matrix and sweep, data-subject-request clocks (issue 16; docs/privacy.md)
# The Records Retention Matrix (YAML); empty = src/safeguard/privacy/retention.yaml (versioned
# with the code). Periods live in the matrix, never in code (R-DATA-3, R-REG-4).
SAFEGUARD_RETENTION_MATRIX = _env("SAFEGUARD_RETENTION_MATRIX", "")
# Records (cases, recordings) the retention sweep changes per transaction (each batch commits
# with its cursor and holds its rows' locks until then): 50 cases of 100 messages held locks
# for 2.9 s, 500 for 46 s (bench/privacy, docs/privacy.md#performance).
SAFEGUARD_RETENTION_BATCH = _env_int("SAFEGUARD_RETENTION_BATCH", 50)
# Hour (0-23, in TIME_ZONE) of the daily retention sweep run by the Huey worker.
SAFEGUARD_RETENTION_SWEEP_HOUR = _env_int("SAFEGUARD_RETENTION_SWEEP_HOUR", 2)
if SAFEGUARD_RETENTION_BATCH < 1 or not 0 <= SAFEGUARD_RETENTION_SWEEP_HOUR <= 23:
    raise ImproperlyConfigured("SAFEGUARD_RETENTION_BATCH must be >= 1 and "
                               "SAFEGUARD_RETENTION_SWEEP_HOUR between 0 and 23")
# A data-subject request is verified by the customer's identity-verification record; the
# record must be at most this many days older than the request's receipt (R-DATA-7).
SAFEGUARD_DSR_VERIFICATION_DAYS = _env_int("SAFEGUARD_DSR_VERIFICATION_DAYS", 30)
# --- Second-wave probe fixes (probe917; docs/configuration.md) ---------------------------------
# The guard every long-running production process runs before it serves or works (wsgi, worker,
# smtpd, imap-poll): a witness is configured and the database is no demo (issue 17). A seam so
# channels (below ops) can call it; a constant, not an environment value: it is not optional.
SAFEGUARD_STARTUP_CHECK = "safeguard.ops.startup.refuse_demo_database"
# The User-Agent kept with audit events: control and bidirectional characters removed, masked
# by SAFEGUARD_SIEM_TEXT_MASKER (cards, e-mail addresses, phone numbers ...), cut to this many
# characters (it is attacker-chosen text, issue 17 item 10; docs/audit.md).
SAFEGUARD_AUDIT_USER_AGENT_MAX = _env_int("SAFEGUARD_AUDIT_USER_AGENT_MAX", 200)
if not 0 <= SAFEGUARD_AUDIT_USER_AGENT_MAX <= 400:
    raise ImproperlyConfigured("SAFEGUARD_AUDIT_USER_AGENT_MAX must be between 0 and 400")

# --- Privacy notice, subprocessors, matrix history, archives (issue 16; docs/privacy.md) ---
# Where archive-then-delete writes its encrypted archives (Tink streaming AEAD; one file each).
SAFEGUARD_ARCHIVE_DIR = Path(_env("SAFEGUARD_ARCHIVE_DIR", str(DATA_DIR / "archives")))
# The longest privacy-notice text accepted, in characters, and how far ahead a new version
# may be scheduled to take effect, in days (R-DATA-5).
SAFEGUARD_PRIVACY_NOTICE_MAX_CHARS = _env_int("SAFEGUARD_PRIVACY_NOTICE_MAX_CHARS", 100_000)
SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS = _env_int(
    "SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS", 90)
if SAFEGUARD_PRIVACY_NOTICE_MAX_CHARS < 1 or SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS < 0:
    raise ImproperlyConfigured("SAFEGUARD_PRIVACY_NOTICE_MAX_CHARS must be >= 1 and "
                               "SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS >= 0")

# --- Governance (issue 13; docs/governance.md) -------------------------------------------------
# Directory holding frameworks/*.yaml and controls.yaml; empty = the libraries versioned with the
# code (src/safeguard/governance/library/).
SAFEGUARD_GOVERNANCE_LIBRARY_DIR = _env("SAFEGUARD_GOVERNANCE_LIBRARY_DIR", "")
# Every control is evaluated this often by the worker (hours; the job is scheduled hourly).
SAFEGUARD_GOVERNANCE_EVALUATE_HOURS = _env_int("SAFEGUARD_GOVERNANCE_EVALUATE_HOURS", 1)
# An unfinished evaluation younger than this (minutes) is resumed rather than started again.
SAFEGUARD_GOVERNANCE_RESUME_MINUTES = _env_int("SAFEGUARD_GOVERNANCE_RESUME_MINUTES", 30)
# The audit log must have verified without a problem within this many hours (nightly run + slack).
SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS = _env_int("SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS", 26)
# Audit events may wait at most this many hours for a signed tree head.
SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS = _env_int("SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS", 1)
# The stored-data rescan for card numbers must be at most this many days old.
SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS = _env_int("SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS", 90)
# A SIEM forwarder fails the control beyond this many events behind, or when it has events to
# ship and its cursor has not moved for this many minutes.
SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS = _env_int("SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS",
                                                    1000)
SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES = _env_int("SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES",
                                                     15)
# A real retention sweep must have finished within this many hours (daily sweep + slack).
SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS = _env_int("SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS", 48)
# Data-subject requests are judged over this many past days.
SAFEGUARD_GOVERNANCE_DSR_WINDOW_DAYS = _env_int("SAFEGUARD_GOVERNANCE_DSR_WINDOW_DAYS", 90)
if min(SAFEGUARD_GOVERNANCE_EVALUATE_HOURS, SAFEGUARD_GOVERNANCE_RESUME_MINUTES,
       SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS, SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS,
       SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS, SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES,
       SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS, SAFEGUARD_GOVERNANCE_DSR_WINDOW_DAYS) < 1 \
        or SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS < 0:
    raise ImproperlyConfigured("The SAFEGUARD_GOVERNANCE_* periods must be at least 1 and "
                               "SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS at least 0 "
                               "(docs/configuration.md)")

# --- Incidents (issue 12; docs/incidents.md) ------------------------------------------------
# The breach-notification jurisdiction table (YAML); empty = src/safeguard/incidents/
# jurisdictions.yaml (versioned with the code, each row with citation and effective date).
SAFEGUARD_INCIDENTS_JURISDICTIONS = _env("SAFEGUARD_INCIDENTS_JURISDICTIONS", "")
# Hours the acquirer agreement gives to report a suspected card-data compromise (R-REG-3).
SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS = _env_int("SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS", 24)
# Incident SLA clocks from awareness, in hours (R-IR-2): triage, containment, eradication and
# recovery.
SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS = _env_int("SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS", 1)
SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS = _env_int("SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS",
                                                     24)
SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS = _env_int("SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS",
                                                     72)
SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS = _env_int("SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS", 72)
# Minutes before an SLA deadline the incident's roles are warned (the breach itself is notified
# too); the check runs every SAFEGUARD_INCIDENTS_SLA_CHECK_MINUTES minutes in the worker.
SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES = _env_int("SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES", 15)
SAFEGUARD_INCIDENTS_SLA_CHECK_MINUTES = _env_int("SAFEGUARD_INCIDENTS_SLA_CHECK_MINUTES", 5)
# Minutes an awareness or timeline time may lie in the future (clock skew between machines).
SAFEGUARD_INCIDENTS_CLOCK_SKEW_MINUTES = _env_int("SAFEGUARD_INCIDENTS_CLOCK_SKEW_MINUTES", 5)
# Timeline entries the incident page shows (the newest; the audit log keeps them all).
SAFEGUARD_INCIDENTS_TIMELINE_PAGE = _env_int("SAFEGUARD_INCIDENTS_TIMELINE_PAGE", 500)
# Most rows one affected-customer query or CSV returns (a wider window must be narrowed).
SAFEGUARD_INCIDENTS_AFFECTED_MAX_EVENTS = _env_int("SAFEGUARD_INCIDENTS_AFFECTED_MAX_EVENTS",
                                                   1_000_000)
if (min(SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS, SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS,
        SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS, SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS,
        SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS, SAFEGUARD_INCIDENTS_SLA_CHECK_MINUTES,
        SAFEGUARD_INCIDENTS_AFFECTED_MAX_EVENTS, SAFEGUARD_INCIDENTS_TIMELINE_PAGE) < 1
        or SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES < 0):
    raise ImproperlyConfigured("SAFEGUARD_INCIDENTS_* periods must be positive "
                               "(SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES may be 0)")

SILENCED_SYSTEM_CHECKS: list[str] = []
if PRODUCTION and not SECURE_HSTS_PRELOAD:
    # The operator opted out of the preload list on purpose (e.g. HTTP-only sibling subdomains).
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Privacy: data-subject requests end to end (issue 16; docs/privacy.md) ---------------------
# Holiday calendars the GDPR clock rolls over (a due date on one moves to the next working
# day): comma-separated ISO 3166 country codes of the `holidays` library, optionally with a
# subdivision after a dash ("GB-ENG,DE-BY,FR"); empty = weekends only. Check E310.
SAFEGUARD_DSR_HOLIDAY_COUNTRIES = _env("SAFEGUARD_DSR_HOLIDAY_COUNTRIES", "")
# Requests a client address may file on the public page or intake API ("5/h", "20/10m").
SAFEGUARD_DSR_PUBLIC_LIMIT = _env("SAFEGUARD_DSR_PUBLIC_LIMIT", "5/h")
# Status look-ups (reference + code) a client address may try.
SAFEGUARD_DSR_STATUS_LIMIT = _env("SAFEGUARD_DSR_STATUS_LIMIT", "20/h")
# Days the one-time code of a public request stays valid; an unconfirmed request is then
# closed as unverifiable, with a letter saying why.
SAFEGUARD_DSR_CODE_DAYS = _env_int("SAFEGUARD_DSR_CODE_DAYS", 14)
# Wrong codes a request accepts before it locks (the requester files a new one).
SAFEGUARD_DSR_CODE_ATTEMPTS = _env_int("SAFEGUARD_DSR_CODE_ATTEMPTS", 5)
# An open request is "due soon" this many days before its due date (the officers are told).
SAFEGUARD_DSR_DUE_SOON_DAYS = _env_int("SAFEGUARD_DSR_DUE_SOON_DAYS", 7)
# Hours a signed link to an access bundle stays valid.
SAFEGUARD_DSR_LINK_HOURS = _env_int("SAFEGUARD_DSR_LINK_HOURS", 72)
if (SAFEGUARD_DSR_CODE_DAYS < 1 or SAFEGUARD_DSR_CODE_ATTEMPTS < 1
        or SAFEGUARD_DSR_DUE_SOON_DAYS < 0 or not 1 <= SAFEGUARD_DSR_LINK_HOURS <= 24 * 30):
    raise ImproperlyConfigured("SAFEGUARD_DSR_CODE_DAYS and _CODE_ATTEMPTS must be >= 1, "
                               "_DUE_SOON_DAYS >= 0 and _LINK_HOURS between 1 and 720")

# --- Desk: notifications, wallboard, automations (issue 15; docs/desk.md) ---------------------
# Wallboard: a case counts as "at SLA risk" when a clock runs out within this many minutes.
SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES = _env_int("SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES", 30)
# A queue member counts as available when their signed-in session was seen this recently.
SAFEGUARD_WALLBOARD_AGENT_SEEN_MINUTES = _env_int("SAFEGUARD_WALLBOARD_AGENT_SEEN_MINUTES", 15)
# Highlight a queue whose oldest unanswered case waits longer than this.
SAFEGUARD_WALLBOARD_WAIT_ALERT_SECONDS = _env_int("SAFEGUARD_WALLBOARD_WAIT_ALERT_SECONDS", 300)
# Highlight today's CSAT under this share (R-KPI-1 target 85 %) and ASA over this (R-KPI-3).
SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW = float(_env("SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW", "0.85"))
SAFEGUARD_WALLBOARD_ASA_ALERT_SECONDS = _env_int("SAFEGUARD_WALLBOARD_ASA_ALERT_SECONDS", 30)
# The server-sent-event stream: one response lasts at most STREAM_SECONDS (a sync gunicorn
# worker is held that long), sends the board every INTERVAL_SECONDS, and tells the browser to
# reconnect after RETRY_MS.
SAFEGUARD_WALLBOARD_STREAM_SECONDS = _env_int("SAFEGUARD_WALLBOARD_STREAM_SECONDS", 25)
SAFEGUARD_WALLBOARD_INTERVAL_SECONDS = float(_env("SAFEGUARD_WALLBOARD_INTERVAL_SECONDS", "5"))
SAFEGUARD_WALLBOARD_RETRY_MS = _env_int("SAFEGUARD_WALLBOARD_RETRY_MS", 2000)
if not (SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES >= 1 and SAFEGUARD_WALLBOARD_AGENT_SEEN_MINUTES >= 1
        and SAFEGUARD_WALLBOARD_WAIT_ALERT_SECONDS >= 1
        and 0 <= SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW <= 1
        and 1 <= SAFEGUARD_WALLBOARD_STREAM_SECONDS <= 300
        and 0.2 <= SAFEGUARD_WALLBOARD_INTERVAL_SECONDS <= SAFEGUARD_WALLBOARD_STREAM_SECONDS
        and SAFEGUARD_WALLBOARD_RETRY_MS >= 100):
    raise ImproperlyConfigured(
        "SAFEGUARD_WALLBOARD_*: minutes and seconds >= 1, CSAT share in [0, 1], stream 1-300 s, "
        "interval between 0.2 s and the stream length, retry >= 100 ms (docs/configuration.md)")
# Automations: resolved cases close on their own after this many days without a reopen
# (0 = never); the hourly job closes at most AUTOCLOSE_BATCH per transaction.
SAFEGUARD_AUTOCLOSE_DAYS = _env_int("SAFEGUARD_AUTOCLOSE_DAYS", 7)
SAFEGUARD_AUTOCLOSE_BATCH = _env_int("SAFEGUARD_AUTOCLOSE_BATCH", 200)
# Send the satisfaction survey through the case's channel when a case is resolved.
SAFEGUARD_CSAT_AUTO_SEND = _env_bool("SAFEGUARD_CSAT_AUTO_SEND", True)
# The site's public address put before the survey link in that message (e.g.
# https://help.example.com). Unset in production: https:// and the first named
# SAFEGUARD_ALLOWED_HOSTS entry; unset elsewhere: the link's path alone.
SAFEGUARD_CSAT_BASE_URL = _env("SAFEGUARD_CSAT_BASE_URL", "")
if not SAFEGUARD_CSAT_BASE_URL and PRODUCTION:
    _named_hosts = [h for h in ALLOWED_HOSTS if h and h[0] not in ".*["]
    SAFEGUARD_CSAT_BASE_URL = f"https://{_named_hosts[0]}" if _named_hosts else ""
if SAFEGUARD_CSAT_BASE_URL and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?",
                                                SAFEGUARD_CSAT_BASE_URL):
    raise ImproperlyConfigured("SAFEGUARD_CSAT_BASE_URL must be an http(s) address such as "
                               "https://help.example.com")
if SAFEGUARD_AUTOCLOSE_DAYS < 0 or SAFEGUARD_AUTOCLOSE_BATCH < 1:
    raise ImproperlyConfigured("SAFEGUARD_AUTOCLOSE_DAYS must be >= 0 and "
                               "SAFEGUARD_AUTOCLOSE_BATCH >= 1")
# --- Detection (issue 11; docs/detection.md) ---------------------------------------------------
def _env_json(name: str, default: str) -> Any:
    import json

    raw = _env(name, default) or default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON: {exc}") from exc


# The factory (dotted path, no arguments) of the evaluator: the engine with the shipped rule pack.
SAFEGUARD_DETECTION_EVALUATOR = _env("SAFEGUARD_DETECTION_EVALUATOR",
                                     "safeguard.detection.services.default_evaluator")
# The operator's own Sigma rules (files or directories, comma-separated), loaded after the
# shipped pack; `safeguard detection rules` validates them.
SAFEGUARD_DETECTION_RULE_PATHS = [
    p.strip() for p in _env("SAFEGUARD_DETECTION_RULE_PATHS", "").split(",") if p.strip()]
# Audit events per batch of a detection run (each batch commits its alerts with the cursor).
SAFEGUARD_DETECTION_BATCH = _env_int("SAFEGUARD_DETECTION_BATCH", 500)
# The governance control "detection running" fails when the last evaluated batch is older than
# this many minutes (the job runs every minute) or the run trails the log by more events.
SAFEGUARD_DETECTION_RUNNING_MAX_MINUTES = _env_int("SAFEGUARD_DETECTION_RUNNING_MAX_MINUTES", 15)
SAFEGUARD_DETECTION_RUNNING_MAX_LAG = _env_int("SAFEGUARD_DETECTION_RUNNING_MAX_LAG", 10000)
# R-OPS-9 clocks: a critical alert not acknowledged this many minutes after it was raised is
# announced to the escalation targets (acknowledge window), and again at the escalation window.
SAFEGUARD_DETECTION_ACK_MINUTES = _env_int("SAFEGUARD_DETECTION_ACK_MINUTES", 60)
SAFEGUARD_DETECTION_ESCALATE_MINUTES = _env_int("SAFEGUARD_DETECTION_ESCALATE_MINUTES", 240)
SAFEGUARD_DETECTION_ESCALATE_SEVERITIES = [
    s.strip() for s in _env("SAFEGUARD_DETECTION_ESCALATE_SEVERITIES", "critical").split(",")
    if s.strip()]
# Escalation targets: e-mail addresses (comma-separated) and webhooks, a JSON list of
# {"name", "url", "format": json|slack|pagerduty, "secret" (HMAC key, >= 16 chars),
#  "routing_key" (pagerduty)}.
SAFEGUARD_DETECTION_ESCALATION_EMAILS = [
    a.strip() for a in _env("SAFEGUARD_DETECTION_ESCALATION_EMAILS", "").split(",") if a.strip()]
SAFEGUARD_DETECTION_WEBHOOKS: list[Any] = _env_json("SAFEGUARD_DETECTION_WEBHOOKS", "[]")
SAFEGUARD_DETECTION_WEBHOOK_TIMEOUT_SECONDS = _env_int(
    "SAFEGUARD_DETECTION_WEBHOOK_TIMEOUT_SECONDS", 5)
# Attempts per notice (one per minute, by the periodic clock job) before it is marked failed.
SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS = _env_int("SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS", 5)
# The address notices link to (the alert page is <base>/detection/alerts/<id>/).
SAFEGUARD_DETECTION_LINK_BASE = _env("SAFEGUARD_DETECTION_LINK_BASE",
                                     f"http://localhost:{PORT}")
# Context facts for the rules (docs/detection.md "Context facts"): working hours by
# "queue:<slug>", "role:<slug>" or "*" ({"start": "08:00", "end": "18:00", "tz": "Europe/London",
# "days": [0, 1, 2, 3, 4]}), and flags of customers by id ({"<customer id>": ["vip"]}).
SAFEGUARD_DETECTION_SHIFTS: dict[str, Any] = _env_json("SAFEGUARD_DETECTION_SHIFTS", "{}")
SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS: dict[str, Any] = _env_json(
    "SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS", "{}")
# Weekly change windows (a JSON list of windows shaped like a shift): a role granted outside all
# of them is flagged. Empty: no window is known and that rule stays silent.
SAFEGUARD_DETECTION_CHANGE_WINDOWS: list[Any] = _env_json(
    "SAFEGUARD_DETECTION_CHANGE_WINDOWS", "[]")
# Bounds: evidence seqs kept per alert, alerts per bulk action, note and reason length, and the
# longest suppression.
SAFEGUARD_DETECTION_EVIDENCE_MAX = _env_int("SAFEGUARD_DETECTION_EVIDENCE_MAX", 1000)
SAFEGUARD_DETECTION_BULK_MAX = _env_int("SAFEGUARD_DETECTION_BULK_MAX", 200)
SAFEGUARD_DETECTION_NOTE_MAX = _env_int("SAFEGUARD_DETECTION_NOTE_MAX", 2000)
SAFEGUARD_DETECTION_SUPPRESSION_MAX_HOURS = _env_int(
    "SAFEGUARD_DETECTION_SUPPRESSION_MAX_HOURS", 24 * 30)
if min(SAFEGUARD_DETECTION_BATCH, SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS,
       SAFEGUARD_DETECTION_WEBHOOK_TIMEOUT_SECONDS, SAFEGUARD_DETECTION_EVIDENCE_MAX,
       SAFEGUARD_DETECTION_BULK_MAX, SAFEGUARD_DETECTION_SUPPRESSION_MAX_HOURS) < 1:
    raise ImproperlyConfigured("SAFEGUARD_DETECTION_BATCH, _DELIVERY_ATTEMPTS, "
                               "_WEBHOOK_TIMEOUT_SECONDS, _EVIDENCE_MAX, _BULK_MAX and "
                               "_SUPPRESSION_MAX_HOURS must be at least 1")
# --- Audit background integrator (issue 10; docs/audit.md, decision 0181) ---------------------
# background mode: how long the integrator thread waits after a wake before it runs, so the
# commits of a burst are integrated by one run (0 = at once), and how long a process ending
# (gunicorn worker recycled, command done) lets it drain the queue once more.
SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS = _env_int("SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS", 100)
SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS = _env_int(
    "SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS", 5)
if not 0 <= SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS <= 1000 or not (
        0 <= SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS <= 60):
    raise ImproperlyConfigured("SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS must be between 0 and 1000 "
                               "and SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS between 0 and 60")
# --- First run: every channel live in the demo (issue 15, firstrun15; docs/channels.md "Demo
# channels") ---------------------------------------------------------------------------------
# Demo mode only, and only where the operator set nothing: the Northwind receiving addresses
# route inbound mail (the demo serves SMTP on SAFEGUARD_SMTPD_HOST:SAFEGUARD_SMTPD_PORT beside
# the web server), and the voice webhook gets a random secret generated once into
# DATA_DIR/webhook_secret (0600), printed at the end of `safeguard demo`.
DEMO_EMAIL_QUEUES = {"billing@northwind.example": "billing",
                     "support@northwind.example": "technical",
                     "fraud@northwind.example": "fraud",
                     "help@northwind.example": "general"}
# `safeguard demo` serves inbound SMTP while it serves the console (off: 0).
SAFEGUARD_DEMO_SMTPD = DEMO and _env_bool("SAFEGUARD_DEMO_SMTPD", True)


def _demo_secret(name: str) -> str:
    """A random secret kept in the demo data directory (created once, owner-only)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / name
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another demo process made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip()


if DEMO:
    if not _env("SAFEGUARD_EMAIL_QUEUES"):
        SAFEGUARD_EMAIL_QUEUES = dict(DEMO_EMAIL_QUEUES)
    if not SAFEGUARD_WEBHOOK_SECRETS:
        SAFEGUARD_WEBHOOK_SECRETS = [_demo_secret("webhook_secret")]

# --- Agent composer, chat widget, search, keyboard (issue 15, composer15; docs/cases.md, -------
# docs/channels.md). Values are checked by safeguard.E415-E419 (cases and channels checks).
# What {customer_first_name} becomes when the customer's profile has no name ("Hello there,").
SAFEGUARD_MACRO_NAME_FALLBACK = _env("SAFEGUARD_MACRO_NAME_FALLBACK", "there")
# People one internal note may @mention (more are refused as a likely mistake).
SAFEGUARD_MENTIONS_MAX = _env_int("SAFEGUARD_MENTIONS_MAX", 10)
# Collision detection: the case page reports who views or replies every this many seconds; a
# person is shown as present until their last report is this many seconds old.
SAFEGUARD_PRESENCE_SECONDS = _env_int("SAFEGUARD_PRESENCE_SECONDS", 5)
SAFEGUARD_PRESENCE_TTL_SECONDS = _env_int("SAFEGUARD_PRESENCE_TTL_SECONDS", 20)
# Case search: most in-scope cases (newest first) whose subject and messages a text search
# decrypts to compare (decision 0168); rows per page of the case list and of search results.
SAFEGUARD_CASE_SEARCH_SCAN_MAX = _env_int("SAFEGUARD_CASE_SEARCH_SCAN_MAX", 500)
SAFEGUARD_LIST_PAGE_SIZE = _env_int("SAFEGUARD_LIST_PAGE_SIZE", 50)
# Chat widget: origins (scheme://host[:port]) whose pages may embed the chat (CSP
# frame-ancestors); empty = none, the widget then opens the chat in a new tab.
SAFEGUARD_CHAT_WIDGET_ORIGINS = [o.strip().rstrip("/") for o in
                                 _env("SAFEGUARD_CHAT_WIDGET_ORIGINS", "").split(",")
                                 if o.strip()]
# Chat business hours: "mon-fri 09:00-17:00; sat 10:00-14:00" in SAFEGUARD_CHAT_TIMEZONE;
# empty = always open. Public holidays of SAFEGUARD_CHAT_HOLIDAYS (a country code of the
# `holidays` package, e.g. "GB" or "DE"; empty = none) are closed days.
SAFEGUARD_CHAT_HOURS = _env("SAFEGUARD_CHAT_HOURS", "")
SAFEGUARD_CHAT_TIMEZONE = _env("SAFEGUARD_CHAT_TIMEZONE", TIME_ZONE)
SAFEGUARD_CHAT_HOLIDAYS = _env("SAFEGUARD_CHAT_HOLIDAYS", "")
SAFEGUARD_CHAT_OUT_OF_HOURS_MESSAGE = _env(
    "SAFEGUARD_CHAT_OUT_OF_HOURS_MESSAGE",
    "Our chat is closed right now. Leave us a message with the contact form and we will "
    "answer by e-mail when we are back.")
# The customer's chat shows "typing" while an agent typed in the reply within this many seconds.
SAFEGUARD_CHAT_TYPING_SECONDS = _env_int("SAFEGUARD_CHAT_TYPING_SECONDS", 6)
# --- Metrics (issue 14; docs/metrics.md) -------------------------------------------------------
# KPI targets (R-KPI-1..8, defaults from the source document). A target is a bound on the KPI's
# value in its unit: shares are fractions (0.85 = 85 %), times are seconds, training in hours.
# An empty value means "no target set" (the KPI is shown, never as met).


def _env_float_or_none(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


SAFEGUARD_KPI_TARGETS: dict[str, dict[str, float | None]] = {
    # CSAT >= 85 % (R-KPI-1)
    "csat": {"min": _env_float_or_none("SAFEGUARD_KPI_CSAT_MIN", 0.85)},
    # First contact resolution in the band 75-85 % (R-KPI-2)
    "fcr": {"min": _env_float_or_none("SAFEGUARD_KPI_FCR_MIN", 0.75),
            "max": _env_float_or_none("SAFEGUARD_KPI_FCR_MAX", 0.85)},
    # Average speed to answer < 30 s (R-KPI-3)
    "asa": {"below": _env_float_or_none("SAFEGUARD_KPI_ASA_BELOW_SECONDS", 30)},
    # Mean time to detect < 1 h (R-KPI-4)
    "mttd": {"below": _env_float_or_none("SAFEGUARD_KPI_MTTD_BELOW_SECONDS", 3600)},
    # Alert time to acknowledge (R-OPS-9): the source document sets no figure.
    "time_to_acknowledge": {"below": _env_float_or_none("SAFEGUARD_KPI_TTA_BELOW_SECONDS", None)},
    # Mean time to remediate < 72 h (R-KPI-5)
    "mttr": {"below": _env_float_or_none("SAFEGUARD_KPI_MTTR_BELOW_SECONDS", 72 * 3600)},
    # Critical vulnerabilities (CVSS >= 7.0) resolved within their SLA: all of them (R-KPI-6)
    "vulnerabilities_on_time": {"min": _env_float_or_none("SAFEGUARD_KPI_VULN_ON_TIME_MIN", 1.0)},
    # Phishing-simulation click rate < 5 % (R-KPI-7)
    "phishing_click_rate": {"below": _env_float_or_none("SAFEGUARD_KPI_PHISHING_BELOW", 0.05)},
    # MFA coverage of privileged staff = 100 % (R-KPI-8)
    "mfa_privileged": {"min": _env_float_or_none("SAFEGUARD_KPI_MFA_PRIVILEGED_MIN", 1.0)},
    # Data-subject requests answered by their due date: all of them (R-DATA-7)
    "dsr_on_time": {"min": _env_float_or_none("SAFEGUARD_KPI_DSR_ON_TIME_MIN", 1.0)},
    # Security-awareness training >= 8 hours per person per year (R-OPS-10)
    "training_hours": {"min": _env_float_or_none("SAFEGUARD_KPI_TRAINING_HOURS_MIN", 8)},
}
# Most points one KPI chart may have (a wider range or finer granularity is refused, 400).
SAFEGUARD_KPI_MAX_POINTS = _env_int("SAFEGUARD_KPI_MAX_POINTS", 120)
# Days shown on the KPI page when no range is given.
SAFEGUARD_KPI_DEFAULT_DAYS = _env_int("SAFEGUARD_KPI_DEFAULT_DAYS", 90)
if SAFEGUARD_KPI_MAX_POINTS < 2 or SAFEGUARD_KPI_DEFAULT_DAYS < 1:
    raise ImproperlyConfigured("SAFEGUARD_KPI_MAX_POINTS must be >= 2 and "
                               "SAFEGUARD_KPI_DEFAULT_DAYS >= 1")
# security.txt (RFC 9116; R-ORG-1). Contact comes from the organisation's security e-mail and
# hotline. Expires: an ISO 8601 date-time (UTC when no zone), at most a year ahead is
# recommended; unset or passed fails the deploy check (E562 / E561); the file is not served
# without it. Encryption / Policy / Canonical: https URLs (Canonical defaults to the file's
# https URL on the requested host); Preferred-Languages: comma-separated language tags.
SAFEGUARD_SECURITY_TXT_EXPIRES = _env("SAFEGUARD_SECURITY_TXT_EXPIRES", "")
SAFEGUARD_SECURITY_TXT_ENCRYPTION = _env("SAFEGUARD_SECURITY_TXT_ENCRYPTION", "")
SAFEGUARD_SECURITY_TXT_POLICY = _env("SAFEGUARD_SECURITY_TXT_POLICY", "")
SAFEGUARD_SECURITY_TXT_LANGUAGES = _env("SAFEGUARD_SECURITY_TXT_LANGUAGES", "en")
SAFEGUARD_SECURITY_TXT_CANONICAL = _env("SAFEGUARD_SECURITY_TXT_CANONICAL", "")
# The public trust page and trust.json are rebuilt (and re-signed) at most this often per
# process; the page shows the "as of" time of what it shows. 0 = at every request.
SAFEGUARD_TRUST_MAX_AGE_SECONDS = _env_int("SAFEGUARD_TRUST_MAX_AGE_SECONDS", 60)
if SAFEGUARD_TRUST_MAX_AGE_SECONDS < 0:
    raise ImproperlyConfigured("SAFEGUARD_TRUST_MAX_AGE_SECONDS must be >= 0")

# --- Incidents: reviews, exercises, retainers (issue 12; docs/incidents.md) -------------------
# Exercise cadence in calendar months from the last exercise run of each kind (R-IR-3): a
# tabletop every 6 months, a full drill (with external observers) every 12.
SAFEGUARD_IR_TABLETOP_MONTHS = _env_int("SAFEGUARD_IR_TABLETOP_MONTHS", 6)
SAFEGUARD_IR_DRILL_MONTHS = _env_int("SAFEGUARD_IR_DRILL_MONTHS", 12)
# Exercise scores (timeliness, clarity of communication) run from MIN to MAX.
SAFEGUARD_IR_SCORE_MIN = _env_int("SAFEGUARD_IR_SCORE_MIN", 1)
SAFEGUARD_IR_SCORE_MAX = _env_int("SAFEGUARD_IR_SCORE_MAX", 5)
# A retainer whose contract ends within this many days shows as expiring (R-IR-4).
SAFEGUARD_IR_RETAINER_WARN_DAYS = _env_int("SAFEGUARD_IR_RETAINER_WARN_DAYS", 60)

# --- Incidents evidence locker (issue 12 item 5; docs/incidents.md) ---
# Largest upload the locker takes, in bytes (E522 refuses <= 0 or above 50 MiB: items are
# sealed and held in the database).
SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES = _env_int("SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES",
                                               5 * 1024 * 1024)
# Most events one captured audit-log slice may hold (each carries its inclusion proof; E523
# refuses <= 0 or above 100000).
SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS = _env_int("SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS", 5000)

# --- Governance: backups and restore drills (issue 13; docs/governance.md) ---
# Where `safeguard backup create` writes encrypted backups when no --output is given.
SAFEGUARD_BACKUP_DIR = Path(_env("SAFEGUARD_BACKUP_DIR", str(DATA_DIR / "backups")))
# The "backups restored recently" control passes while a verified restore drill is at most this
# many days old (decision 0241; system check E542).
SAFEGUARD_BACKUP_DRILL_MAX_DAYS = _env_int("SAFEGUARD_BACKUP_DRILL_MAX_DAYS", 90)

# --- Governance: vulnerability register (issue 13 section 4; docs/governance.md) ----------
# Decision 0242. Days from first seen to the fix
# deadline per severity; 0 = no deadline for that severity. A finding whose CVSS score is at
# least SAFEGUARD_VULN_SLA_SCORE_THRESHOLD gets at most the high clock whatever its label; the
# same threshold selects the findings of the vulnerabilities-on-time KPI (R-KPI-6).
SAFEGUARD_VULN_SLA_CRITICAL_DAYS = _env_int("SAFEGUARD_VULN_SLA_CRITICAL_DAYS", 7)
SAFEGUARD_VULN_SLA_HIGH_DAYS = _env_int("SAFEGUARD_VULN_SLA_HIGH_DAYS", 30)
SAFEGUARD_VULN_SLA_MEDIUM_DAYS = _env_int("SAFEGUARD_VULN_SLA_MEDIUM_DAYS", 90)
SAFEGUARD_VULN_SLA_LOW_DAYS = _env_int("SAFEGUARD_VULN_SLA_LOW_DAYS", 0)
# Findings without any severity (pip-audit reports none) get this clock.
SAFEGUARD_VULN_SLA_UNKNOWN_DAYS = _env_int("SAFEGUARD_VULN_SLA_UNKNOWN_DAYS", 30)
SAFEGUARD_VULN_SLA_SCORE_THRESHOLD = float(_env("SAFEGUARD_VULN_SLA_SCORE_THRESHOLD", "7.0"))
# The vulnerabilities-within-SLA control fails when no scan was imported for this many days.
SAFEGUARD_VULN_SCAN_MAX_DAYS = _env_int("SAFEGUARD_VULN_SCAN_MAX_DAYS", 30)
# Longest exception to a fix deadline (days).
SAFEGUARD_VULN_EXCEPTION_MAX_DAYS = _env_int("SAFEGUARD_VULN_EXCEPTION_MAX_DAYS", 365)

# --- Accounts: SCIM 2.0 provisioning (issue 13 section 2; docs/scim.md; decision 0124) -------
# An identity provider's group name -> the Safeguard role it stands for, as "Group name=role-slug"
# pairs separated by ";" (e.g. "Support Agents=agent;Support Leads=supervisor"). A role with no
# entry is known to SCIM by its own name or slug. System check E320 refuses a malformed entry.
SAFEGUARD_SCIM_GROUP_ROLES = _env("SAFEGUARD_SCIM_GROUP_ROLES", "")
# Most resources one SCIM list page returns; a larger `count` is cut to it (RFC 7644 §3.4.2.4).
# E321 refuses < 1 or > 1000.
SAFEGUARD_SCIM_MAX_RESULTS = _env_int("SAFEGUARD_SCIM_MAX_RESULTS", 100)
# Days a SCIM token issued on the SCIM page lives (E322: 1 to SAFEGUARD_API_TOKEN_MAX_DAYS).
SAFEGUARD_SCIM_TOKEN_DAYS = _env_int("SAFEGUARD_SCIM_TOKEN_DAYS", 365)
# Largest SCIM request body in bytes; a larger one is refused with 413 (E323: 1 KiB to 10 MiB).
SAFEGUARD_SCIM_MAX_BODY_BYTES = _env_int("SAFEGUARD_SCIM_MAX_BODY_BYTES", 256 * 1024)
# --- Accounts: access reviews (issue 13 section 2; docs/access-reviews.md; decision 0128) ---
# Every grant (role assignment, live API token) is reviewed once per period (R-OPS-8). A period
# is this many calendar months, counted from 1 January (3 = quarters; must divide 12: E325).
SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS = _env_int("SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS", 3)
# A campaign is due this many days after it starts (1..28 x period months: E326).
SAFEGUARD_ACCESS_REVIEW_DUE_DAYS = _env_int("SAFEGUARD_ACCESS_REVIEW_DUE_DAYS", 21)
# An item still undecided this many days after the due date goes to its escalation reviewer
# (0 = as soon as it is overdue; 0..90: E327).
SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS = _env_int("SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS", 3)
# The periodic job starts the current period's campaign by itself when none exists (off: only
# by hand from the access-reviews page).
SAFEGUARD_ACCESS_REVIEW_AUTOSTART = _env_bool("SAFEGUARD_ACCESS_REVIEW_AUTOSTART", True)
# --- Governance: workforce (issue 13 section 3; docs/governance.md "Workforce") ------------
# Decision 0243. The training-hours target per person per year is SAFEGUARD_KPI_TARGETS
# ["training_hours"]["min"] and the phishing click-rate target SAFEGUARD_KPI_TARGETS
# ["phishing_click_rate"]["below"] (the metrics KPIs); they are not repeated here.
# Background-check types every active staff member needs (comma-separated; R-WORK-1: identity
# and criminal). A person without a current check of each type is listed as missing it.
SAFEGUARD_WORKFORCE_REQUIRED_CHECKS = tuple(
    t.strip() for t in _env("SAFEGUARD_WORKFORCE_REQUIRED_CHECKS", "identity,criminal").split(",")
    if t.strip())
# A background check shows as "expiring" this many days before its expiry date (E546).
SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS = _env_int("SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS", 30)
# A refresher is listed as falling due, and assigned, this many days before it is due (E546).
SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS = _env_int("SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS", 30)
# Largest GoPhish results file the upload form and `safeguard governance import-phishing`
# accept, in bytes (E547).
SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES = _env_int("SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES",
                                                10 * 1024 * 1024)
# --- Metrics: cost, ROI and planning model (issue 14 section 4; docs/metrics.md) -------------
# The cost model takes training hours per person from governance's measurement over this many
# days before now (a year by default: the hours are per person per year). E564 refuses values
# below 1 or above 3660.
SAFEGUARD_COST_TRAINING_WINDOW_DAYS = _env_int("SAFEGUARD_COST_TRAINING_WINDOW_DAYS", 365)
# --- Incidents: playbooks and containment (issue 12 item 4; docs/incidents.md) ---
# Directory of the incident playbooks, one <category>.yaml per incident category (decision
# 0225). Empty = the playbooks shipped in src/safeguard/incidents/playbooks/. A bad file is
# system check E526 (file and field named); incidents open meanwhile without a checklist.
SAFEGUARD_INCIDENTS_PLAYBOOK_DIR = _env("SAFEGUARD_INCIDENTS_PLAYBOOK_DIR", "")
# Forced step-up for a queue's cases (incident containment, decision 0226) runs before the
# case pages and the cases API, after authentication.
MIDDLEWARE = [*MIDDLEWARE, "safeguard.cases.middleware.QueueStepUpMiddleware"]
# --- Incidents: communications (issue 12 items 6-7; docs/incidents.md "Communications") ---
# Most customer letters one letter batch may cover (each is a PDF rendered, scanned for card
# numbers and sealed by the background job); a larger affected list is refused: narrow the window.
# System check E530 refuses values outside 1..100000.
SAFEGUARD_INCIDENTS_LETTERS_MAX = _env_int("SAFEGUARD_INCIDENTS_LETTERS_MAX", 500)

# --- Metrics: the training-hours KPI (R-OPS-10; docs/metrics.md) ----------------------------
# The target is hours per person per YEAR (SAFEGUARD_KPI_TARGETS["training_hours"]), so each
# point of the KPI is measured over this many days ending at the end of its period (a rolling
# year by default), not over the period alone: a week's hours are not compared with a year's
# target. 1..3660 (E565).
SAFEGUARD_KPI_TRAINING_WINDOW_DAYS = _env_int("SAFEGUARD_KPI_TRAINING_WINDOW_DAYS", 365)
# --- Governance: manual attestations, registers, compliance calendar (issue 13 sections 1, 4,
# 5; decisions 0246-0248; docs/governance.md) ---------------------------------------------------
# A manual control without its own cadence_days in controls.yaml needs a fresh attestation this
# often (days; E550 refuses < 1).
SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS = _env_int(
    "SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS", 365)
# Where evidence files of attestations and vendor reviews are kept, sealed (decision 0246).
SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = Path(_env("SAFEGUARD_GOVERNANCE_EVIDENCE_DIR",
                                              str(DATA_DIR / "governance-evidence")))
# Largest evidence file taken, in bytes (E551 refuses < 1 or above 50 MiB: a file is sealed in
# memory at intake and opened in memory on access).
SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES = _env_int("SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES",
                                                   10 * 1024 * 1024)
# The external-validation control (SG-EV-01) fails when the last penetration test is older than
# this many days (R-OPS-7: at least yearly) or the last approved-vendor scan older than the
# second (PCI DSS: quarterly). E552 refuses < 1.
SAFEGUARD_PENTEST_MAX_DAYS = _env_int("SAFEGUARD_PENTEST_MAX_DAYS", 365)
SAFEGUARD_ASV_SCAN_MAX_DAYS = _env_int("SAFEGUARD_ASV_SCAN_MAX_DAYS", 92)
# The compliance calendar shows what is overdue and what falls due within this many days
# (E553 refuses < 1 or more than 3660).
SAFEGUARD_CALENDAR_HORIZON_DAYS = _env_int("SAFEGUARD_CALENDAR_HORIZON_DAYS", 365)
# --- Metrics: review packs archived on a schedule (issue 14 section 3; docs/metrics.md) ------
# Which review packs the scheduler generates and archives once their period has closed: any of
# monthly, quarterly, yearly, comma-separated; empty = none (system check E567).
SAFEGUARD_REVIEW_PACKS_SCHEDULED = _env("SAFEGUARD_REVIEW_PACKS_SCHEDULED",
                                        "monthly,quarterly,yearly")
# Whole days after a period closes before its pack is generated, so late data (CSAT answers,
# closed alerts) lands first; 0..27 (E568).
SAFEGUARD_REVIEW_PACK_DAY_OFFSET = _env_int("SAFEGUARD_REVIEW_PACK_DAY_OFFSET", 1)

# --- Ops: health history for uptime (issue 14 section 5, R-MEAS-5; docs/ops.md) -------------
# One health sample per this many seconds (the sampler job runs every minute and records at
# most one sample per interval); 60..3600 and a divisor of 86400 (E569).
SAFEGUARD_HEALTH_SAMPLE_SECONDS = _env_int("SAFEGUARD_HEALTH_SAMPLE_SECONDS", 300)
# Samples older than this many days are pruned by the sampler; 90..3650 (the trust page shows
# 90 days; E570).
SAFEGUARD_HEALTH_HISTORY_DAYS = _env_int("SAFEGUARD_HEALTH_HISTORY_DAYS", 400)

# --- Accounts: access-review reviewer assignment (issue 13 section 2; docs/access-reviews.md) ---
# Who reviews a user's grants (R-OPS-8). "manager_then_role_owner" (default): the user's manager
# when they have one who is active, is not the user and holds accounts.review_access, else the
# least-loaded role owner (an active holder of accounts.review_access other than the user).
# "role_owner": always the role-owner rule (managers ignored). Anything else: system check E329.
SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER = _env("SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER",
                                              "manager_then_role_owner")

# --- Ops: bounded log lines (R-OPS-2; docs/deploy.md, 9. Logs) -------------------------------
# A text field of a log line (the message, a rendered request, an exception) longer than this
# many characters is cut after redaction and says how many characters were left out, so a huge
# query string or form value cannot make every log line that large; 256..1,000,000 (E571).
SAFEGUARD_LOG_FIELD_MAX_CHARS = _env_int("SAFEGUARD_LOG_FIELD_MAX_CHARS", 8192)

# --- Incidents: customer letters as a background job (R-IR-6; docs/incidents.md) -------------
# A "generate letters" action records a batch and the huey job renders its letters this many
# customers at a time (one address look-up per chunk; each letter and the batch's progress are
# committed together, so a killed job resumes without gaps or duplicates); 1..1000 (E535).
SAFEGUARD_INCIDENTS_LETTERS_CHUNK = _env_int("SAFEGUARD_INCIDENTS_LETTERS_CHUNK", 50)
# The communications page re-reads a running batch's progress every this many seconds (htmx
# polling, no inline script); 1..300 (E536).
SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS = _env_int("SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS", 3)
# A queued or running batch with no progress for this many seconds (its worker died or the job
# was lost) is queued again by the periodic job, every 5 minutes; it carries on at its first
# customer without a letter. 60..86400 (E537).
SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS = _env_int("SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS",
                                                     600)

# --- Prepared statements on PostgreSQL (issue 10; docs/audit.md, decisions 0278 and 0281) -------
# The statements built once per process and sent on every request — the audit queue's INSERT,
# the case view's customer row and the panel's scope check (web.dbbackends.prepared_cursor) —
# are server-side prepared statements: parsed and planned once per connection, their parameters
# bound by the driver's C code. Only these are prepared: Django's own cursors bind on the
# client and never prepare. Turn it off ("false") behind a pooler in transaction mode that does
# not carry prepared statements (PgBouncer before 1.21, or with max_prepared_statements = 0).
SAFEGUARD_DB_PREPARED_STATEMENTS = _env_bool("SAFEGUARD_DB_PREPARED_STATEMENTS", True)
if (SAFEGUARD_DB_PREPARED_STATEMENTS
        and DATABASES["default"]["ENGINE"] == "safeguard.web.dbbackends.postgresql"):
    # psycopg prepares a statement that asks for it only when the connection's threshold is set
    # (Django leaves it unset): a threshold never reached means "only when asked".
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)

# --- Audit: the integration panel (issue 10; docs/audit.md) --------------------------------------
# The audit page shows the integration delay (integrated_at - at: p50, p99, max) of this many of
# the newest events, beside the queue's length and its oldest entry's wait against
# SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS; 10..100000 (E253).
SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS = _env_int("SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS", 1000)
# --- Audit: the read entries' writer (issue 10, decision 0282; docs/audit.md) ----------------
# "thread" (default): inside a request on PostgreSQL, an entry recorded outside any transaction
# (a page that only reads: the case page, the customer panel) is committed by the process's
# writer thread while the page goes on; the response waits for the commit (at most
# _WAIT_SECONDS) and is replaced by a server error if it failed. "inline": the request commits
# it itself before record() returns (the behaviour before decision 0282). SQLite always inline.
SAFEGUARD_AUDIT_READ_WRITER = _env("SAFEGUARD_AUDIT_READ_WRITER", "thread")
SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS = _env_int("SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS",
                                                    10)
if SAFEGUARD_AUDIT_READ_WRITER not in {"thread", "inline"}:
    raise ImproperlyConfigured("SAFEGUARD_AUDIT_READ_WRITER must be thread or inline, got "
                               f"{SAFEGUARD_AUDIT_READ_WRITER!r}")
if not 1 <= SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS <= 120:
    raise ImproperlyConfigured("SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS must be between 1 and "
                               "120")
