"""`safeguard protection rescan` finds what older scanners let through (issue 8; R-OPS-2): card
numbers in other scripts, split by invisible characters or by wider separators, written into
rows before this version (straight through the driver, past both guards), are reported by row
and field, tokenized in place with --fix, resumably, and leave no digit run behind."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from safeguard.accounts.models import User
from safeguard.protection import services
from safeguard.protection.models import Token
from tests.factories import SYSTEM, make_user
from tests.protection.card_variants import VARIANTS, card, leaks
from tests.protection.test_rescan_and_redactor import _sneak

pytestmark = pytest.mark.django_db

LEGACY = ["full-width digits", "arabic-indic digits", "zero-width space between groups",
          "soft hyphen between groups", "newline", "crlf", "tab", "double space", "thin space",
          "em dash", "minus sign", "underscore", "comma space", "spoken with commas"]


@pytest.fixture
def legacy_rows():
    """One staff user per variant whose name an older version stored with a card number in it."""
    rows = {}
    for i, name in enumerate(LEGACY):
        number = card(100 + i)
        user = make_user(full_name=f"user {i}")
        _sneak("UPDATE accounts_user SET full_name = %s WHERE id = %s",
               [f"Paid with {VARIANTS[name](number)} in 2019", user.pk])
        rows[name] = (user.pk, number)
    return rows


def test_the_report_names_every_legacy_row_and_never_a_number(legacy_rows):
    # when the stored text is rescanned (report only)
    out, err = io.StringIO(), io.StringIO()
    call_command("protection", "rescan", "--model", "accounts.user", "--jsonl",
                 stdout=out, stderr=err)
    findings = [json.loads(line) for line in out.getvalue().splitlines()]
    # then each variant's row is reported once, by field and offsets
    assert sorted((f["pk"], f["field"], f["start"]) for f in findings) == sorted(
        (str(pk), "full_name", len("Paid with ")) for pk, _ in legacy_rows.values())
    assert f"{len(LEGACY)} card number(s) found" in err.getvalue()
    # and nothing printed shows a card's digits
    assert not any(leaks(out.getvalue() + err.getvalue(), n) for _, n in legacy_rows.values())
    # and nothing was changed
    pk, number = legacy_rows["full-width digits"]
    assert leaks(User.objects.get(pk=pk).full_name, number)


def test_fix_tokenizes_every_variant_in_place_resuming_across_batches(legacy_rows):
    # given a fixing run interrupted after two batches of one row
    first = services.rescan_run(fix=True, actor=SYSTEM, only=["accounts.user"], batch_size=1,
                                max_batches=2)
    assert first.status == "running"
    # when it is resumed
    done = services.rescan_run(fix=True, actor=SYSTEM, only=["accounts.user"], batch_size=1)
    # then the same run finished, and every legacy row was fixed once
    assert done.id == first.id
    assert done.status == "done"
    assert sorted(f.pk for f in done.findings if f.fixed) == sorted(
        str(pk) for pk, _ in legacy_rows.values())
    for name, (pk, number) in legacy_rows.items():
        stored = User.objects.get(pk=pk).full_name
        # each number became a vault token of its own, under its last four digits
        token = Token.objects.get(last4=number[-4:])
        assert stored == f"Paid with [card visa •••• {number[-4:]} {token.token}] in 2019", name
        assert not leaks(stored, number), name
    assert Token.objects.count() == len(LEGACY)
