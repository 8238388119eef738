"""The organisation-wide data inventory (R-DATA-1): a registry of every app's declarations.

Each app ships an ``inventory.yaml`` beside its code declaring every column of the models it
owns or installs: the columns that hold personal data (dotted category from ``taxonomy.yaml``,
purpose, GDPR Art. 6 legal basis, protection) and the ones that do not, plus the record class
of the Records Retention Matrix. Declarations are data, so lower apps (audit, protection,
accounts) declare theirs without importing this app; the registry finds them through the app
registry (a seam, decision 0006), never through an import.

:func:`undeclared` walks the models: a column with no declaration, a declaration without a
column, or a column that is obviously personal (encrypted, a blind index, an e-mail or IP
address, a reference to a customer or a user) listed as not personal is a failure — the test
suite and the system check ``safeguard.E301`` both call it.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.apps import apps
from django.conf import settings
from django.db import models

from safeguard.privacy.contracts import ModelDeclaration, PersonalColumn

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")

#: GDPR Art. 6(1) legal bases, by the key an inventory uses.
LEGAL_BASES: dict[str, str] = {
    "consent": "Art. 6(1)(a) consent",
    "contract": "Art. 6(1)(b) performance of a contract",
    "legal_obligation": "Art. 6(1)(c) legal obligation",
    "vital_interests": "Art. 6(1)(d) vital interests",
    "public_task": "Art. 6(1)(e) public task",
    "legitimate_interests": "Art. 6(1)(f) legitimate interests",
}
PROTECTIONS: dict[str, str] = {
    "encrypted": "encrypted at rest (AEAD bound to table, column, row)",
    "masked": "masked on every screen by default (R-DATA-2)",
    "tokenized": "replaced by a vault token before storage (R-OPS-2)",
    "hashed": "kept only as a (keyed) hash",
    "blind_index": "keyed HMAC for lookup without decrypting",
    "screened": "screened before storage: card numbers tokenized, secrets redacted",
}
_PERSON_MODELS = {"customers.customer", settings.AUTH_USER_MODEL.lower()}


class InventoryError(ValueError):
    """An inventory file is malformed (a programming error caught by tests and checks)."""


@cache
def taxonomy() -> dict[str, str]:
    """Data category -> description (fideslang-style dotted keys)."""
    doc = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in doc["categories"].items()}


def _app_files() -> list[tuple[str, Path]]:
    out = []
    for config in apps.get_app_configs():
        if not config.name.startswith("safeguard."):
            continue
        path = Path(config.path) / "inventory.yaml"
        if path.exists():
            out.append((config.label, path))
    return out


def _parse(label: str, path: Path) -> list[ModelDeclaration]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise InventoryError(f"{path}: expected a 'models' mapping")
    out = []
    for model, body in doc["models"].items():
        if not isinstance(body, dict) or "retention" not in body:
            raise InventoryError(f"{path}: {model}: needs 'retention'")
        personal = []
        for field, spec in (body.get("personal") or {}).items():
            if not isinstance(spec, dict) or not {"category", "purpose", "basis"} <= set(spec):
                raise InventoryError(f"{path}: {model}.{field}: needs category, purpose, basis")
            personal.append(PersonalColumn(
                model=model, field=str(field), category=str(spec["category"]),
                purpose=str(spec["purpose"]), basis=str(spec["basis"]),
                protection=tuple(spec.get("protection") or ()), retention=str(body["retention"]),
                declared_by=label))
        out.append(ModelDeclaration(model=model, declared_by=label,
                                    retention=str(body["retention"]), personal=tuple(personal),
                                    other=tuple(str(c) for c in body.get("other") or ())))
    return out


@cache
def declarations() -> dict[str, ModelDeclaration]:
    """Every app's declarations, by model label (``app_label.modelname``)."""
    out: dict[str, ModelDeclaration] = {}
    for label, path in _app_files():
        for decl in _parse(label, path):
            if decl.model in out:
                raise InventoryError(f"{decl.model} is declared by both "
                                     f"{out[decl.model].declared_by} and {label}")
            out[decl.model] = decl
    return out


def personal_columns() -> list[PersonalColumn]:
    """Every personal-data column of the platform, ordered by model and field."""
    return sorted((c for d in declarations().values() for c in d.personal),
                  key=lambda c: (c.model, c.field))


def _obviously_personal(model: type[models.Model], field: models.Field[Any, Any]) -> bool:
    from safeguard.protection.fields import _EncryptedField  # the one column type that hides data

    if isinstance(field, (_EncryptedField, models.EmailField, models.GenericIPAddressField)):
        return True
    if field.name.endswith("_index") or field.name in {"password", "secret_hash"}:
        return True
    remote = field.remote_field.model if field.is_relation and field.remote_field else None
    if remote is not None and not isinstance(remote, str):
        return remote._meta.label_lower in _PERSON_MODELS
    return model._meta.label_lower in _PERSON_MODELS and field.primary_key


def undeclared() -> list[str]:
    """Every problem between the models and the declarations; empty when the inventory is whole.

    Walks every concrete column of every installed model (ours and third-party)."""
    problems: list[str] = []
    decls = declarations()
    known_categories = taxonomy()
    from safeguard.privacy.matrix import file_matrix

    classes = file_matrix()
    seen = set()
    for model in apps.get_models():
        label = model._meta.label_lower
        seen.add(label)
        decl = decls.get(label)
        columns = {f.name: f for f in model._meta.concrete_fields}
        if decl is None:
            problems.append(f"{label}: no inventory declaration")
            continue
        personal = {c.field for c in decl.personal}
        declared = personal | set(decl.other)
        problems += [f"{label}.{name}: column not declared"
                     for name in sorted(set(columns) - declared)]
        problems += [f"{label}.{name}: declared but no such column"
                     for name in sorted(declared - set(columns))]
        problems += [f"{label}.{name}: declared both personal and not personal"
                     for name in sorted(personal & set(decl.other))]
        problems += [f"{label}.{name}: holds personal data but is declared as not personal"
                     for name in sorted(set(decl.other) & set(columns))
                     if _obviously_personal(model, columns[name])]
        if decl.retention not in classes:
            problems.append(f"{label}: retention class {decl.retention!r} is not in the matrix")
        for col in decl.personal:
            if col.category not in known_categories:
                problems.append(f"{label}.{col.field}: unknown category {col.category!r}")
            if col.basis not in LEGAL_BASES:
                problems.append(f"{label}.{col.field}: unknown legal basis {col.basis!r}")
            problems += [f"{label}.{col.field}: unknown protection {p!r}"
                         for p in col.protection if p not in PROTECTIONS]
            field = columns.get(col.field)
            if field is not None:
                from safeguard.protection.fields import _EncryptedField

                ours = model.__module__.startswith("safeguard.")
                if isinstance(field, _EncryptedField) and "encrypted" not in col.protection:
                    problems.append(f"{label}.{col.field}: an encrypted column not declared so")
                # Third-party columns may be encrypted by an adapter (allauth MFA secrets,
                # decision 0003); ours are encrypted only by the encrypted field types.
                if ours and "encrypted" in col.protection and not isinstance(field,
                                                                             _EncryptedField):
                    problems.append(f"{label}.{col.field}: declared encrypted but the column "
                                    "is not an encrypted field")
    problems += [f"{label}: declared but no such model" for label in sorted(set(decls) - seen)]
    return problems


def _rows() -> list[list[str]]:
    return [[col.model, col.field, col.category, col.purpose, LEGAL_BASES[col.basis],
             col.retention, ", ".join(col.protection) or "none", col.declared_by]
            for col in personal_columns()]


HEADER = ["model", "column", "category", "purpose", "legal basis (GDPR Art. 6)",
          "retention class", "protection", "declared by"]


def inventory_rows() -> list[list[str]]:
    """The Records of Processing as rows under :data:`HEADER` (one per personal-data column)."""
    return _rows()


def inventory_csv() -> str:
    """The Records of Processing Activities as CSV (one row per personal-data column)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in _rows():
        # Neutralise spreadsheet formulas (no declaration starts so, but the export is a file
        # a privacy officer opens in a spreadsheet).
        writer.writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in row])
    return buffer.getvalue()


def inventory_markdown() -> str:
    """The generated docs/inventory.md (``safeguard privacy inventory --markdown``)."""
    from safeguard.privacy.matrix import file_matrix

    lines = [
        "# Data inventory",
        "",
        "Generated from every app's `inventory.yaml` by",
        "`safeguard privacy inventory --markdown > docs/inventory.md`; do not edit by hand.",
        "Every column of every model is declared (R-DATA-1); a test fails on one that is not.",
        "Retention classes are rows of the Records Retention Matrix (docs/privacy.md).",
        "",
        "## Categories",
        "",
        "| category | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in taxonomy().items()]
    lines += ["", "## Personal-data columns", "",
              "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in _rows():
        cells = [f"`{row[0]}`", f"`{row[1]}`", f"`{row[2]}`", *row[3:]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Models by retention class", "",
              "| retention class | period | action | models |", "|---|---|---|---|"]
    classes = file_matrix()
    by_class: dict[str, list[str]] = {}
    for decl in declarations().values():
        by_class.setdefault(decl.retention, []).append(decl.model)
    for key, models_ in sorted(by_class.items()):
        klass = classes.get(key)
        period = klass.period.human() if klass else "?"
        action = klass.action if klass else "?"
        lines.append(f"| `{key}` | {period} | {action} | "
                     + ", ".join(f"`{m}`" for m in sorted(models_)) + " |")
    return "\n".join(lines) + "\n"
