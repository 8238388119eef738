"""Card numbers written the ways issue 8 found them slipping through, and the checks that none
of their digits are kept anywhere (R-OPS-2, R-DATA-2).

`VARIANTS` is the table of writings: other scripts' digits, invisible characters between the
groups, every separator class. `leaks` is the test's own reading of a stored value: it folds the
value like the scanner does (NFKC, Unicode digits), turns number words into digits, drops every
character that is not a letter or a digit and asks whether the card's digits follow one another.
`stored_leaks` applies it to every column of every table, every decrypted value and every file
of the data directory changed since a given time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection

from safeguard.protection.scanner import checks

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def card(n: int, prefix: str = "4532") -> str:
    """The ``n``-th 16-digit Luhn-valid card number under ``prefix`` (deterministic)."""
    payload = f"{prefix}{n:011d}"[:15]
    return payload + checks.luhn_check_digit(payload)


def _groups(number: str) -> list[str]:
    return [number[i:i + 4] for i in range(0, len(number), 4)]


def _script(base: int) -> Callable[[str], str]:
    table = str.maketrans({str(d): chr(base + d) for d in range(10)})
    return lambda n: " ".join(_groups(n)).translate(table)


def _joined(sep: str) -> Callable[[str], str]:
    return lambda n: sep.join(_groups(n))


#: name -> how a customer (or an attacker) writes the card number ``n``.
VARIANTS: dict[str, Callable[[str], str]] = {
    "full-width digits": _script(0xFF10),
    "arabic-indic digits": _script(0x0660),
    "devanagari digits": _script(0x0966),
    "mathematical bold digits": _script(0x1D7CE),
    "zero-width space between groups": _joined("\u200b"),
    "zero-width joiner between digits": "\u200d".join,
    "soft hyphen between groups": _joined("\u00ad"),
    "newline": _joined("\n"),
    "crlf": _joined("\r\n"),
    "tab": _joined("\t"),
    "double space": _joined("  "),
    "thin space": _joined("\u2009"),
    "narrow no-break space": _joined("\u202f"),
    "em dash": _joined("\u2014"),
    "minus sign": _joined("\u2212"),
    "underscore": _joined("_"),
    "comma space": _joined(", "),
    "slash": _joined("/"),
    "full-width digits, ideographic space": lambda n: "\u3000".join(_groups(n)).translate(
        str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})),
    "digits with commas": ", ".join,
    "spoken with commas": lambda n: ", ".join(_WORDS[int(d)] for d in n),
    "spoken without commas": lambda n: " ".join(_WORDS[int(d)] for d in n),
}

_NUMBER_WORD = re.compile(r"(?<![a-z])(" + "|".join(_WORDS) + r")(?![a-z])")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def _readable(value: str) -> str:
    """Letters and digits only, in ASCII, number words as digits: where a digit run shows."""
    folded = "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None
        else c for c in unicodedata.normalize("NFKC", value)).lower()
    folded = _NUMBER_WORD.sub(lambda m: str(_WORDS.index(m.group(1))), folded)
    return _NOT_ALNUM.sub("", folded)


def leaks(value: str, number: str) -> bool:
    """Whether ``value`` still shows the digits of ``number`` in order (in any script)."""
    return number in _readable(value)


def _as_text(value: object) -> str | None:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace") + value.decode("latin-1")
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return None


def stored_leaks(numbers: dict[str, str], *, since: float) -> list[tuple[str, str]]:
    """(where, variant) for every stored value that shows one of ``numbers`` (variant -> card).

    Every column of every table (as the database holds it), every encrypted value decrypted
    (the vault's own table excepted: it holds card numbers encrypted, on purpose), and every
    file of the data directory modified since ``since``.
    """
    from safeguard.protection.fields import _EncryptedField

    readable: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # names from introspection
            for row in cursor.fetchall():
                readable += [(table, t) for t in map(_as_text, row) if t]
    for model in apps.get_models():
        if model._meta.label_lower == "protection.token":
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, _EncryptedField)]
        for row in model._base_manager.all() if fields else ():
            for f in fields:
                text = _as_text(getattr(row, f.attname))
                if text:
                    readable.append((f"{model._meta.label}.{f.name} (decrypted)", text))
    data_dir = Path(settings.DATA_DIR)
    for path in data_dir.rglob("*") if data_dir.exists() else ():
        if path.is_file() and path.stat().st_mtime >= since:
            readable.append((str(path), _as_text(path.read_bytes()) or ""))
    hits = []
    for where, text in readable:
        shown = _readable(text)
        hits += [(where, variant) for variant, number in numbers.items() if number in shown]
    return hits
