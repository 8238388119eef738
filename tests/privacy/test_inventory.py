"""The organisation-wide data inventory (R-DATA-1): every column of every model declared."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from safeguard.customers.inventory import FIELD_INVENTORY
from safeguard.privacy import inventory
from safeguard.privacy.contracts import ModelDeclaration


def test_every_column_of_every_installed_model_is_declared():
    # when the models are walked against every app's inventory.yaml
    problems = inventory.undeclared()
    # then nothing is missing, unknown or misclassified
    assert problems == []
    decls = inventory.declarations()
    assert {m._meta.label_lower for m in apps.get_models()} == set(decls)


def test_the_walk_catches_a_new_column_a_lie_and_a_missing_model(monkeypatch):
    # given declarations where a column was forgotten, an encrypted body is called "not
    # personal", and a whole model is missing
    real = dict(inventory.declarations())
    message = real["cases.message"]
    body = next(c for c in message.personal if c.field == "body")
    real["cases.message"] = ModelDeclaration(
        model=message.model, declared_by=message.declared_by, retention=message.retention,
        personal=tuple(c for c in message.personal if c.field not in {"body", "author"}),
        other=(*message.other, "body"))
    del real["privacy.legalhold"]
    monkeypatch.setattr(inventory, "declarations", lambda: real)
    # when walked
    problems = inventory.undeclared()
    # then each is reported by name
    assert "cases.message.author: column not declared" in problems
    assert "cases.message.body: holds personal data but is declared as not personal" in problems
    assert "privacy.legalhold: no inventory declaration" in problems
    assert body.category == "user.content.message"


def test_every_declaration_uses_the_taxonomy_a_legal_basis_and_a_matrix_class():
    categories = inventory.taxonomy()
    for col in inventory.personal_columns():
        assert col.category in categories, col
        assert col.basis in inventory.LEGAL_BASES, col
        assert col.purpose.strip(), col
    cols = {(c.model, c.field): c for c in inventory.personal_columns()}
    # the columns the issue names are in it, with their protection
    assert cols[("cases.message", "body")].protection == ("encrypted", "screened")
    assert cols[("cases.interaction", "transcript")].category == "user.content.transcript"
    assert cols[("cases.interaction", "recording")].category == "user.content.recording"
    assert cols[("cases.attachment", "content")].category == "user.content.attachment"
    assert cols[("cases.csatresponse", "comment")].category == "user.content.feedback"
    assert cols[("cases.interaction", "chat_secret_hash")].protection == ("hashed",)
    assert cols[("protection.token", "pan")].protection == ("encrypted", "tokenized")
    assert cols[("audit.event", "source_ip")].category == "user.device.ip_address"
    assert cols[("usersessions.usersession", "ip")].declared_by == "accounts"
    assert cols[("accounts.user", "password")].category == "user.authorization.credentials"
    assert cols[("customers.customer", "payout")].category == "user.financial.bank_account"


def test_the_platform_inventory_agrees_with_the_customers_field_inventory():
    # the customers app's own FIELD_INVENTORY (R-DATA-1, issue 5) and its inventory.yaml agree
    cols = {(c.model, c.field): c for c in inventory.personal_columns()}
    for entry in FIELD_INVENTORY:
        if entry.personal:
            assert (entry.model, entry.field) in cols, entry
        if (entry.model, entry.field) in cols:
            col = cols[(entry.model, entry.field)]
            assert ("encrypted" in col.protection) == entry.encrypted, entry
            assert ("masked" in col.protection) == entry.masked, entry


def test_csv_export_has_one_row_per_personal_column():
    rows = list(csv.reader(io.StringIO(inventory.inventory_csv())))
    assert rows[0] == inventory.HEADER
    assert len(rows) - 1 == len(inventory.personal_columns())
    body = next(r for r in rows if r[:2] == ["cases.message", "body"])
    assert body[4] == "Art. 6(1)(b) performance of a contract"
    assert body[5] == "case_record"


def test_docs_inventory_is_generated_and_current():
    doc = Path(__file__).resolve().parents[2] / "docs" / "inventory.md"
    assert doc.read_text(encoding="utf-8") == inventory.inventory_markdown(), (
        "docs/inventory.md is stale: run `safeguard privacy inventory --markdown > "
        "docs/inventory.md`")


def test_cli_check_and_inventory(capsys):
    call_command("privacy", "check")
    assert "data inventory complete" in capsys.readouterr().out
    call_command("privacy", "inventory")
    out = capsys.readouterr().out
    assert "cases.message.body\tuser.content.message\tcontract\tcase_record" in out


def test_system_check_e301_names_the_first_problem(monkeypatch):
    from safeguard.privacy import checks

    assert checks.inventory_is_whole() == []
    monkeypatch.setattr(inventory, "undeclared", lambda: ["x.y.z: column not declared"])
    [error] = checks.inventory_is_whole()
    assert error.id == "safeguard.E301"
    assert "x.y.z: column not declared" in error.msg


@pytest.mark.parametrize("text", ["models: [1]", "nothing: {}",
                                  "models:\n  a.b:\n    personal: {}\n",
                                  ("models:\n  a.b:\n    retention: x\n    personal:\n"
                                  "      f: {category: user.name}\n")])
def test_a_malformed_inventory_file_is_refused(tmp_path, text):
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(inventory.InventoryError):
        inventory._parse("x", path)
