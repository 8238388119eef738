"""The no-PAN guard (R-OPS-2, PCI DSS 3.x): no card number is ever written outside the vault.

Two layers, both installed for every app by ``ProtectionConfig.ready()``:

1. A ``pre_save`` receiver for every model refuses a save whose text values (CharField,
   TextField and their subclasses, JSON documents, the plaintext of encrypted fields) hold a
   card number, with :class:`PanRefused` naming the model and field. It runs before Django
   touches the database, so nothing is written.
2. A database execute wrapper refuses any INSERT or UPDATE whose SQL or string parameters hold
   one, which covers what bypasses ``save()``: ``QuerySet.update()``, ``bulk_create()``,
   ``bulk_update()`` and raw SQL through Django's connection. JSON parameters, which reach the
   PostgreSQL driver wrapped rather than as text, are read like layer 1 reads a JSON document.

A card number is what the scanner validates as one (Luhn and a real IIN range, digits with any
separators or spoken as words), at any score. The vault's own model is exempt from layer 1:
it stores the number only as ciphertext, which layer 2 still checks. Errors and logs name
where a number was found, never the number.

Cost (issue 10): ``find_pans`` skips text that no card pass could match (scanner/gate.py), and
layer 2 remembers the statement texts it found clean, so an INSERT repeated with new values
pays only for the values.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

from django.db import models
from django.db.backends.signals import connection_created
from django.db.models.signals import pre_save

from safeguard.protection.contracts import PanRefused
from safeguard.protection.scanning import find_pans

logger = logging.getLogger("safeguard.protection.guard")

EXEMPT_MODELS = frozenset({"protection.token"})
_WRITE = re.compile(r"\s*(?:INSERT|UPDATE|REPLACE)\b", re.IGNORECASE)
_TABLE = re.compile(r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|REPLACE\s+INTO)\s+[\"`]?([\w.]+)",
                    re.IGNORECASE)
_TEXT_TYPES = (models.CharField, models.TextField, models.JSONField)

try:  # the PostgreSQL driver's JSON parameter wrappers (Json and Jsonb)
    from psycopg.types.json import Json, Jsonb

    _JSON_WRAPPERS: tuple[type[Json] | type[Jsonb], ...] = (Json, Jsonb)
except ImportError:  # pragma: no cover - SQLite-only installs
    _JSON_WRAPPERS = ()


# The smallest whole number with 13 digits: below it a number cannot be a card number.
_PAN_MIN_VALUE = 10**12


def _strings(value: Any) -> Iterator[str]:
    """The texts of a JSON document to scan: its strings and keys, and each whole number large
    enough to be a card number written as its decimal digits (``{"n": 4111111111111111}``),
    every number on its own so a list of small numbers never reads as one long one."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, int | float | Decimal):
        number = _number_text(value)
        if number is not None:
            yield number
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _checked_fields(instance: models.Model, update_fields: Any) -> Iterator[tuple[str, Any]]:
    from safeguard.protection.fields import Sealed, _EncryptedField

    for field in instance._meta.concrete_fields:
        if update_fields is not None and field.name not in update_fields:
            continue
        if not isinstance(field, (*_TEXT_TYPES, _EncryptedField)):
            continue
        value = instance.__dict__.get(field.attname)  # never triggers a decrypt
        if value is None or isinstance(value, Sealed | bytes):
            continue  # untouched ciphertext was checked when it was written
        yield field.name, value


def check_instance(instance: models.Model, *, update_fields: Any = None) -> None:
    """Raise :class:`PanRefused` if a text value of ``instance`` holds a card number."""
    label = instance._meta.label
    for name, value in _checked_fields(instance, update_fields):
        for text in _strings(value):
            found = find_pans(text)
            if found:
                logger.warning("protection.pan_refused",
                               extra={"model": label, "field": name, "at": found[0].start})
                raise PanRefused(
                    f"Refused to store a card number in {label}.{name} (at character "
                    f"{found[0].start}); card numbers must be tokenized with "
                    "protection.screen() or the vault first.",
                    model=label, field=name)


def _on_pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False,
                 update_fields: Any = None, **kwargs: Any) -> None:
    if sender._meta.label_lower in EXEMPT_MODELS:
        return
    check_instance(instance, update_fields=update_fields)


def _number_text(value: object) -> str | None:
    """A whole number as the digits a card number would be written with, when it is large
    enough to be one (13 digits or more), else None: a card number passed as a number — in a
    JSON document, an integer or decimal column (``BigIntegerField``, ``DecimalField``), raw
    SQL — is refused like one written in a text. Booleans, fractions, NaN and infinities are
    not numbers a card is written as."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        whole = abs(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        whole = abs(int(value))
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return None
        whole = abs(int(value))
    else:
        return None
    return str(whole) if whole >= _PAN_MIN_VALUE else None


def _param_strings(params: Any, many: bool) -> Iterator[str]:
    if params is None:
        return
    rows = params if many else [params]
    for row in rows:
        values = row.values() if isinstance(row, dict) else row
        if isinstance(values, str):
            yield values
            continue
        for value in values:
            if isinstance(value, str):
                yield value
            elif isinstance(value, int | float | Decimal):
                number = _number_text(value)
                if number is not None:
                    yield number
            elif isinstance(value, list | tuple):
                # An array parameter (PostgreSQL: ``unnest(%s::text[])``, ``= ANY(%s)``): each
                # of its texts and card-sized numbers, as in a JSON document.
                yield from _strings(value)
            elif isinstance(value, _JSON_WRAPPERS):
                # On PostgreSQL a JSONField's value reaches the driver wrapped (psycopg's
                # Jsonb), not as text: its keys and strings are read like the pre_save layer
                # reads a JSON document, so update() and bulk_create() cannot carry a number.
                yield from _strings(value.obj)


# Statement texts found to hold no card number, remembered (issue 10): a statement's text with
# placeholders repeats exactly on every call. Bounded: at most this many texts of at most this
# length, forgotten all at once when full. A text that holds a number is never remembered.
_CLEAN_SQL: set[str] = set()
_CLEAN_SQL_MAX = 1024
_SQL_REMEMBERED_UP_TO = 4096


def _sql_holds_pan(sql: str) -> bool:
    """Whether the statement text holds a card number (``find_pans``), remembered when not.

    Sound by exact equality: ``find_pans`` is a pure function of its text (custom detectors
    may not report PAN, the phone regions change phone findings only), so an equal text has
    the same verdict.
    """
    if sql in _CLEAN_SQL:
        return False
    if find_pans(sql):
        return True
    if len(sql) <= _SQL_REMEMBERED_UP_TO:
        if len(_CLEAN_SQL) >= _CLEAN_SQL_MAX:
            _CLEAN_SQL.clear()
        _CLEAN_SQL.add(sql)
    return False


def _execute_guard(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    if isinstance(sql, str) and _WRITE.match(sql):
        if many and params is not None and not isinstance(params, list | tuple):
            params = list(params)  # a generator would be used up by the check
        if _sql_holds_pan(sql):
            _refuse(sql)
        for text in _param_strings(params, many):
            if find_pans(text):
                _refuse(sql)
    return execute(sql, params, many, context)


def _refuse(sql: str) -> NoReturn:
    match = _TABLE.match(sql)
    table = match.group(1) if match else "a table"
    logger.warning("protection.pan_refused_sql", extra={"table": table})
    raise PanRefused(f"Refused to write a card number into {table}: the statement "
                     "was stopped before reaching the database.", table=table)


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    attach(connection)


def attach(connection: Any) -> None:
    """Put the SQL guard first on a connection (idempotent; survives others' wrappers popping)."""
    if _execute_guard not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _execute_guard)


def install() -> None:
    """Connect both layers for every model and every database connection."""
    from django.db import connections

    pre_save.connect(_on_pre_save, dispatch_uid="safeguard.protection.no_pan_guard")
    connection_created.connect(_on_connection, dispatch_uid="safeguard.protection.no_pan_sql")
    for connection in connections.all(initialized_only=True):
        attach(connection)
