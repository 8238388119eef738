"""The demo contact centre (issue 5, section 9): ``safeguard demo --no-serve`` at a small scale
loads queues, customers and cases on every channel with CSAT answers and queue waits, loads
only once, keeps its output short, and leaves no card number anywhere in the data directory:
not in any file's bytes, not in any column of any table, not in any decrypted value."""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from safeguard.ops.demo import TEST_CARDS, demo_scale, plan
from safeguard.ops.demo.texts import spoken, written
from safeguard.protection.scanning import find_pans

SCALE = 0.02


_TABLES = ("customers_customer", "cases_case", "cases_message", "cases_csatresponse",
           "cases_interaction", "customers_approval", "protection_token",
           # the later features' stage (decision 0171)
           "governance_trainingcourse", "governance_trainingassignment",
           "governance_trainingcompletion", "governance_backgroundcheck",
           "governance_teammonth", "governance_phishingcampaign",
           "governance_phishingrecipient", "accounts_accessreviewcampaign",
           "accounts_accessreviewitem", "metrics_mfasnapshot", "metrics_costinputchange",
           "incidents_incident", "incidents_checklistitem")


@dataclass(frozen=True)
class Loaded:
    data: Path
    env: dict[str, str]
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    counts_after_first: dict[str, int]

    @property
    def db(self) -> Path:
        return self.data / "safeguard.sqlite3"


def _safeguard(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safeguard.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


# --- the plan and the texts (no database) ---------------------------------------------------


def test_the_plan_is_deterministic_and_scales():
    # given two plans at each scale
    # when they are compared and counted
    # then the same scale gives the same plan; 1.0 is 400 customers and 2,000 contacts, and even
    # a tiny scale walks through every story once
    assert plan(0.3) == plan(0.3)
    full = plan(1.0)
    assert (full.customers, len(full.cases)) == (400, 2000)
    assert (plan(0.0001).customers, len(plan(0.0001).cases)) == (5, 19)
    stories = set().union(*(c.story for c in plan(SCALE).cases))
    assert stories >= {"follow_up", "reopen", "after_close", "merge_dup", "csat", "late",
                       "pending", "note", "attachment", "request", "blurt", "pay", "verify",
                       "abandoned", "withheld", "callback"}


@pytest.mark.parametrize(("raw", "scale"), [("", 0.5), ("0.05", 0.05), (" 2 ", 2.0)])
def test_the_scale_comes_from_the_environment(monkeypatch, raw, scale):
    # given SAFEGUARD_DEMO_SCALE
    monkeypatch.setenv("SAFEGUARD_DEMO_SCALE", raw)
    # when the loader reads it
    # then it is the number given, 0.5 when empty (the default keeps the first run short)
    assert demo_scale() == scale


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "11"])
def test_a_bad_scale_is_refused_with_the_variable_named(monkeypatch, raw):
    # given a scale that is not a number in (0, 10]
    monkeypatch.setenv("SAFEGUARD_DEMO_SCALE", raw)
    # when the loader reads it
    # then it refuses, naming the variable
    with pytest.raises(ValueError, match="SAFEGUARD_DEMO_SCALE"):
        demo_scale()


@pytest.mark.parametrize("card", TEST_CARDS, ids=lambda c: f"{c.brand}-{c.number[-4:]}")
def test_every_way_the_demo_writes_a_card_is_found_by_the_scanner(card):
    # given a test card typed plain, spaced and dashed, and read out in words several ways
    texts = [f"my card is {written(card, style)} thanks" for style in
             ("plain", "spaced", "dashed")]
    texts += [f"Customer: the number is {spoken(card, random.Random(seed))}." for seed in
              range(6)]
    # when the scanner reads each text
    found = [find_pans(text) for text in texts]
    # then it finds exactly that card in every one (or the no-PAN guard would stop the load)
    assert [[f.value_hint for f in fs] for fs in found] == [[card.brand]] * len(texts)


# --- the loaded centre (`safeguard demo --no-serve` in a subprocess) --------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """One small contact centre, loaded twice (the second run must change nothing)."""
    data = tmp_path_factory.mktemp("demo") / "var"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(SAFEGUARD_ENV="demo", SAFEGUARD_DATA_DIR=str(data),
               SAFEGUARD_DEMO_SCALE=str(SCALE))
    first = _safeguard(["demo", "--no-serve"], env)
    assert first.returncode == 0, first.stderr
    counts = _counts(data / "safeguard.sqlite3")
    second = _safeguard(["demo", "--no-serve"], env)
    assert second.returncode == 0, second.stderr
    return Loaded(data=data, env=env, first=first, second=second, counts_after_first=counts)


def _query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _count(db: Path, sql: str) -> int:
    return int(_query(db, sql)[0][0])


def _counts(db: Path) -> dict[str, int]:
    return {t: _count(db, f"SELECT COUNT(*) FROM {t}") for t in _TABLES}


@pytest.mark.slow
def test_the_centre_has_the_customers_cases_and_channels_of_its_scale(loaded):
    # given the plan the loader followed at this scale
    expected = plan(SCALE)
    # when the data directory is read
    db = loaded.db
    by_channel = dict(_query(db, "SELECT channel, COUNT(*) FROM cases_case GROUP BY channel"))
    # then it holds exactly the planned customers, cases and channel mix
    profiles = "SELECT COUNT(*) FROM customers_customer WHERE kind = 'customer'"
    assert _count(db, profiles) == expected.customers
    # and every caller the agent did not verify (the withheld number among them) is still an
    # unverified contact: caller id is not verification (decision 0101)
    unlinked = dict(_query(db, "SELECT c.channel, COUNT(*) FROM cases_case c JOIN "
                               "customers_customer k ON k.id = c.customer_id "
                               "WHERE k.kind = 'unverified' GROUP BY c.channel"))
    assert set(unlinked) <= {"voice"}
    assert unlinked.get("voice", 0) >= expected.expected_customers - expected.customers
    assert _count(db, "SELECT COUNT(*) FROM cases_case") == expected.expected_cases
    assert by_channel == expected.cases_by_channel()
    assert set(by_channel) == {"email", "chat", "voice", "web", "api"}
    assert all(n > 0 for n in by_channel.values())
    assert (expected.customers, len(expected.cases)) == (8, 40)
    assert expected.expected_customers == 9  # one caller withheld their number
    assert expected.expected_cases == 43  # two web-form duplicates, a new case after closure


@pytest.mark.slow
def test_queues_have_targets_and_the_demo_staff_work_them(loaded):
    # given the loaded centre
    db = loaded.db
    # when queues and memberships are read
    queues = dict(_query(db, "SELECT slug, first_response_minutes FROM cases_queue"))
    members = _query(db, "SELECT q.slug, u.email, m.is_supervisor FROM cases_queuemembership m "
                         "JOIN cases_queue q ON q.id = m.queue_id "
                         "JOIN accounts_user u ON u.id = m.user_id")
    # then every queue has an SLA target, the agent works three, the supervisor supervises all
    assert queues == {"billing": 240, "technical": 480, "fraud": 30, "general": 1440}
    agent = {q for q, email, _ in members if email == "agent@demo.safeguard.test"}
    supervised = {q for q, email, sup in members
                  if email == "supervisor@demo.safeguard.test" and sup}
    assert agent == {"billing", "technical", "general"}
    assert supervised == set(queues)
    assert len({email for _, email, _ in members}) == 7


@pytest.mark.slow
def test_the_history_has_csat_queue_waits_and_the_work_of_a_contact_centre(loaded):
    # given the loaded centre
    db = loaded.db
    # when its history is read
    csat = _query(db, "SELECT score FROM cases_csatresponse")
    answered = _query(db, "SELECT (julianday(answered_at) - julianday(queued_at)) * 86400 "
                          "FROM cases_interaction WHERE channel = 'voice' "
                          "AND answered_at IS NOT NULL")
    abandoned = _count(db, "SELECT COUNT(*) FROM cases_interaction WHERE channel = 'voice' "
                           "AND answered_at IS NULL AND ended_at IS NOT NULL")
    paused = _count(db, "SELECT COUNT(*) FROM cases_interaction "
                        "WHERE payment_pauses != '[]'")
    statuses = dict(_query(db, "SELECT status, COUNT(*) FROM cases_case GROUP BY status"))
    span = _query(db, "SELECT julianday(MAX(created_at)) - julianday(MIN(created_at)) "
                      "FROM cases_case")[0][0]
    # then customers answered surveys, calls waited realistic times, some were abandoned,
    # cases went through their lifecycle over about 90 days
    assert len(csat) >= 10
    assert {s for (s,) in csat} <= {1, 2, 3, 4, 5}
    assert answered
    assert all(4 <= wait <= 241 for (wait,) in answered)
    assert 15 <= sum(w for (w,) in answered) / len(answered) <= 60
    assert abandoned >= 2
    assert paused >= 1
    assert statuses.get("closed", 0) > 0
    assert statuses.get("resolved", 0) > 0
    assert 60 <= span <= 90
    assert _count(db, "SELECT COUNT(*) FROM cases_case WHERE reopen_count > 0") >= 1
    assert _count(db, "SELECT COUNT(*) FROM cases_case WHERE merged_into_id IS NOT NULL") >= 1
    assert _count(db, "SELECT COUNT(*) FROM cases_case "
                      "WHERE first_response_breached_at IS NOT NULL") >= 1
    assert _count(db, "SELECT COUNT(*) FROM customers_approval "
                      "WHERE status = 'pending'") >= 3
    assert _count(db, "SELECT COUNT(*) FROM cases_message WHERE author_kind = 'agent' "
                      "AND delivery_status = 'sent'") >= 20
    assert _count(db, "SELECT COUNT(*) FROM cases_message WHERE delivery_status "
                      "IN ('failed', 'not_delivered', 'pending')") == 0


@pytest.mark.slow
def test_pasted_card_numbers_became_vault_tokens(loaded):
    # given the loaded centre
    db = loaded.db
    # when message findings and the vault are read
    with_pan = _count(db, "SELECT COUNT(*) FROM cases_message WHERE findings LIKE '%PAN%'")
    with_iban = _count(db, "SELECT COUNT(*) FROM cases_message WHERE findings LIKE '%IBAN%'")
    tokens = _count(db, "SELECT COUNT(*) FROM protection_token")
    # then screening found cards and IBANs in what customers wrote, and the vault holds tokens
    assert with_pan >= 5
    assert with_iban >= 1
    assert tokens >= 5


@pytest.mark.slow
def test_a_second_run_changes_nothing_and_the_output_stays_short(loaded):
    # given a centre loaded once, then `safeguard demo` run again
    # when the outputs and counts are read
    counts = _counts(loaded.db)
    # then the second run said so and added nothing; neither run printed e-mails or job logs
    assert "Contact centre: demo data already loaded." in loaded.second.stdout
    assert "Contact centre: loaded in" in loaded.first.stdout
    assert counts == loaded.counts_after_first
    assert counts["cases_case"] == plan(SCALE).expected_cases
    for run in (loaded.first, loaded.second):
        assert len(run.stdout.splitlines()) < 60
        assert "Message-ID" not in run.stdout
        assert "Subject:" not in run.stdout
        assert "Executing safeguard" not in run.stderr


def test_the_later_features_are_loaded_once_through_the_services(loaded):
    # given the demo loaded twice (at this scale the attack is not staged: no incident)
    db = loaded.db
    counts = _counts(db)
    # when the later features' tables are read
    # then each holds what the stage made, once (decision 0171)
    from safeguard.ops.demo import features

    assert counts["governance_trainingcourse"] == len(features.COURSES)
    assert counts["governance_backgroundcheck"] == len(features.BACKGROUND_CHECKS)
    assert counts["governance_teammonth"] == len(features.TEAM_MONTHS)
    assert counts["governance_phishingcampaign"] == 1
    staff = _count(db, "SELECT COUNT(*) FROM accounts_user WHERE is_active AND "
                       "NOT is_service_account")
    assert counts["governance_phishingrecipient"] == staff + 1
    assert _count(db, "SELECT COUNT(*) FROM governance_trainingassignment WHERE completion_id "
                      "IS NULL AND due_on < date('now')") == 1
    assert counts["accounts_accessreviewcampaign"] == 1
    assert _count(db, "SELECT COUNT(*) FROM accounts_accessreviewitem WHERE decision != "
                      "'pending'") == 4 < counts["accounts_accessreviewitem"]
    assert counts["metrics_mfasnapshot"] == 1
    assert _query(db, "SELECT DISTINCT source_note FROM metrics_costinputchange") == [
        ("demo value, not a benchmark",)]
    assert counts["incidents_incident"] == 0
    assert "Incidents: no attack alert" in loaded.first.stdout
    assert "Phishing: campaign 'Parcel delivery lure (demo)' imported" in loaded.first.stdout
    assert "Phishing: demo campaign already imported." in loaded.second.stdout


def _card_forms() -> list[bytes]:
    forms = set()
    for card in TEST_CARDS:
        for style in ("plain", "spaced", "dashed"):
            forms.add(written(card, style).encode())
    return sorted(forms)


# SQLite packs a row's values without separators, so two timestamps side by side read as one
# long digit run ("...52.790620" + "2026-11-30"), which can pass Luhn and an IIN by chance.
# Blanking timestamps keeps such runs apart; no card number can hide inside a timestamp.
_TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                        rb"(?:[+-]\d{2}:?\d{2}|Z)?)?")


@pytest.mark.slow
def test_no_card_number_in_any_file_of_the_data_directory(loaded):
    # given every file the demo left in its data directory (database, WAL, cache, keys)
    files = [p for p in loaded.data.rglob("*") if p.is_file()]
    forms = _card_forms()
    # when each file's bytes are searched for the inserted numbers and read by the scanner
    hits = []
    for path in files:
        raw = path.read_bytes()
        hits += [(path.name, form.decode()) for form in forms if form in raw]
        text = _TIMESTAMP.sub(lambda m: b"#" * len(m.group()), raw).decode("latin-1")
        hits += [(path.name, f.value_hint) for f in find_pans(text)]
    # then none holds a card number, written or otherwise
    assert any(p.name == "safeguard.sqlite3" for p in files)
    assert hits == []


@pytest.mark.slow
def test_no_card_number_in_any_column_of_any_table(loaded):
    # given a dump of every table, every text and blob value
    forms = _card_forms()
    tables = [t for (t,) in _query(loaded.db, "SELECT name FROM sqlite_master "
                                              "WHERE type = 'table'")]
    hits, values = [], 0
    with sqlite3.connect(f"file:{loaded.db}?mode=ro", uri=True) as conn:
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        text = value.decode("latin-1")
                    elif isinstance(value, str):
                        text = value
                    else:
                        continue
                    values += 1
                    # when each value is searched for the numbers and scanned
                    hits += [(table, form.decode()) for form in forms
                             if form.decode() in text]
                    hits += [(table, f.value_hint) for f in find_pans(text)]
    # then no value holds one
    assert values > 1000
    assert hits == []


_DECRYPTED_SCAN = """
import json, django
django.setup()
from django.apps import apps
from safeguard.protection.fields import _EncryptedField
from safeguard.protection.scanning import find_pans
from safeguard.ops.demo import TEST_CARDS
checked, hits = 0, []
for model in apps.get_models():
    if model._meta.label_lower == "protection.token":
        continue  # the vault: card numbers live there, encrypted, on purpose
    fields = [f for f in model._meta.concrete_fields if isinstance(f, _EncryptedField)]
    if not fields:
        continue
    for row in model._default_manager.all().iterator():
        for f in fields:
            value = getattr(row, f.name)
            text = value if isinstance(value, str) else json.dumps(value)
            checked += 1
            hits += [(model._meta.label, f.name, "literal") for c in TEST_CARDS
                     if c.number in text]
            hits += [(model._meta.label, f.name, p.value_hint) for p in find_pans(text)]
print(json.dumps({"checked": checked, "hits": hits}))
"""


@pytest.mark.slow
def test_no_card_number_in_any_decrypted_value(loaded):
    # given the demo's own keys, which can open every encrypted column
    env = dict(loaded.env, DJANGO_SETTINGS_MODULE="safeguard.settings")
    # when every encrypted value outside the vault is decrypted and scanned
    result = subprocess.run([sys.executable, "-c", _DECRYPTED_SCAN], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # then message bodies, subjects, transcripts, attachments and profiles hold tokens only
    assert report["checked"] > 200
    assert report["hits"] == []
