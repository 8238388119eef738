"""The durable security-state store: a Django cache backend on a database table (R-OPS-1, R-OPS-8).

Sign-in lockout counters (allauth's ``login_failed`` limits), used-TOTP-code markers, webhook
replay nonces and every other security throttle live in the default cache. An evicting cache
(Django's file cache culls at random past 300 entries, locmem is per process, Redis under an
``allkeys-*`` policy drops keys under memory pressure) lets anyone who can make requests flush
them. This backend never evicts: entries only expire, and the periodic job
``accounts.security_state_purge`` deletes expired rows.

Every write is one atomic statement, so concurrent requests never lose an update:

* ``add`` is ``INSERT … ON CONFLICT ("key") DO UPDATE … WHERE expired RETURNING`` — a row comes
  back only to the one caller that created the entry (or replaced an expired one). PostgreSQL
  and SQLite (3.35 and later) share the statement.
* ``incr`` is ``UPDATE … SET counter = counter + n … RETURNING counter``.
* ``set`` is an upsert.

Keys are stored as an HMAC-SHA256 (keyed with the secret key) of the logical key, so neither the
table nor a Redis instance ever holds an address, an e-mail or an unkeyed hash of one (issue 17
item 9). :func:`hashed_key` is the ``KEY_FUNCTION`` of either store.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connections, router
from django.utils.crypto import salted_hmac

_SALT = "safeguard.accounts.security-state-key"
_K = '"key"'  # a keyword in SQL: always quoted


# Hex digits spelled as letters: a run of decimal digits in a stored key could, rarely, pass for
# a card number, and the no-PAN guard would then refuse the write (and with it a sign-in).
_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def hashed_key(key: str, key_prefix: str, version: int | str) -> str:
    """The stored form of a cache key: HMAC-SHA256 under the secret key, 64 letters (its hex
    digest with the digits spelled g-p, so no key ever looks like a card number)."""
    digest = salted_hmac(_SALT, f"{key_prefix}:{version}:{key}", algorithm="sha256").hexdigest()
    return digest.translate(_NO_DIGITS)


def _model() -> Any:
    from safeguard.accounts.models import SecurityState

    return SecurityState


class DatabaseSecurityStore(BaseCache):
    """A never-evicting cache on the ``accounts_securitystate`` table with atomic writes.

    Integers are kept in their own column so ``incr`` is one SQL statement; anything else is
    pickled (the values are this process's own: counters, timestamps, markers).
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        params = {**params}
        params.setdefault("KEY_FUNCTION", hashed_key)
        super().__init__(params)
        self._table = _model()._meta.db_table

    # -- plumbing ---------------------------------------------------------------------------
    def _key(self, key: Any, version: int | None) -> str:
        made = self.make_and_validate_key(key, version=version)
        return str(made)

    def _cursor(self, *, write: bool) -> Any:
        alias = (router.db_for_write if write else router.db_for_read)(_model())
        return connections[alias].cursor()

    def _expires(self, timeout: float | object | None) -> float | None:
        return self.get_backend_timeout(timeout)  # type: ignore[arg-type]

    @staticmethod
    def _split(value: Any) -> tuple[bytes | None, int | None]:
        if isinstance(value, int) and not isinstance(value, bool):
            return None, value
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL), None

    @staticmethod
    def _join(value: Any, counter: int | None) -> Any:
        if counter is not None:
            return int(counter)
        return pickle.loads(bytes(value))  # noqa: S301 - our own bytes, see the module docstring

    # -- the cache API ----------------------------------------------------------------------
    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> bool:
        """Store ``value`` only if the key is absent or expired; True for the one caller that
        did."""
        stored = self._key(key, version)
        blob, counter = self._split(value)
        t = self._table
        with self._cursor(write=True) as cursor:
            cursor.execute(
                f"INSERT INTO {t} ({_K}, value, counter, expires) VALUES (%s, %s, %s, %s) "  # noqa: S608 - table name is ours
                f"ON CONFLICT ({_K}) DO UPDATE SET value = excluded.value, "
                f"counter = excluded.counter, expires = excluded.expires "
                f"WHERE {t}.expires IS NOT NULL AND {t}.expires <= %s RETURNING {_K}",
                [stored, blob, counter, self._expires(timeout), time.time()],
            )
            return cursor.fetchone() is not None

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> None:
        stored = self._key(key, version)
        blob, counter = self._split(value)
        t = self._table
        with self._cursor(write=True) as cursor:
            cursor.execute(
                f"INSERT INTO {t} ({_K}, value, counter, expires) VALUES (%s, %s, %s, %s) "  # noqa: S608 - table name is ours
                f"ON CONFLICT ({_K}) DO UPDATE SET value = excluded.value, "
                f"counter = excluded.counter, expires = excluded.expires",
                [stored, blob, counter, self._expires(timeout)],
            )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        stored = self._key(key, version)
        with self._cursor(write=False) as cursor:
            cursor.execute(
                f"SELECT value, counter FROM {self._table} WHERE {_K} = %s "  # noqa: S608 - table name is ours
                f"AND (expires IS NULL OR expires > %s)",
                [stored, time.time()],
            )
            row = cursor.fetchone()
        return default if row is None else self._join(row[0], row[1])

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Atomically add ``delta`` to a live integer entry; ValueError if there is none."""
        stored = self._key(key, version)
        with self._cursor(write=True) as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET counter = counter + %s WHERE {_K} = %s "  # noqa: S608 - table name is ours
                f"AND counter IS NOT NULL AND (expires IS NULL OR expires > %s) "
                f"RETURNING counter",
                [delta, stored, time.time()],
            )
            row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key {key!r} not found (or not an integer).")
        return int(row[0])

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        stored = self._key(key, version)
        with self._cursor(write=True) as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET expires = %s WHERE {_K} = %s "  # noqa: S608 - table name is ours
                f"AND (expires IS NULL OR expires > %s)",
                [self._expires(timeout), stored, time.time()],
            )
            return bool(cursor.rowcount)

    def delete(self, key: Any, version: int | None = None) -> bool:
        stored = self._key(key, version)
        with self._cursor(write=True) as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE {_K} = %s", [stored])  # noqa: S608 - table name is ours
            return bool(cursor.rowcount)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self.get(key, _MISSING, version=version) is not _MISSING

    def clear(self) -> None:
        with self._cursor(write=True) as cursor:
            cursor.execute(f"DELETE FROM {self._table}")  # noqa: S608 - table name is ours


_MISSING = object()
