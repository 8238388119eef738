"""Screening per field policy (R-DATA-2) and the policy file's validation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.protection import policy
from safeguard.protection.contracts import PolicyError
from safeguard.protection.models import Token
from safeguard.protection.scanning import find_pans
from safeguard.protection.services import screen
from tests.protection.conftest import PAN_MC2, PAN_VISA

pytestmark = pytest.mark.django_db

TEXT = ("Hi, I'm Ann Lee, card 4111 1111 1111 1111 exp 12/27 cvv 123, "
        "mail ann@example.com, call +44 20 7946 0958.")


def _actions(screened):
    return {f.type: f.action for f in screened.findings}


def test_default_policy_tokenizes_cards_drops_cvv_and_masks_the_rest():
    # given a field with no entry in the policy
    screened = screen(TEXT, field="unknown.field")
    # then card -> token, CVV dropped, expiry/email/phone masked
    token = Token.objects.get()
    assert screened.text == (
        f"Hi, I'm Ann Lee, card [card visa •••• 1111 {token.token}] exp [EXPIRY] cvv , "
        "mail [EMAIL], call [PHONE ••••0958].")
    assert _actions(screened) == {"PAN": "tokenize", "EXPIRY": "mask", "CVV": "drop",
                                  "EMAIL": "mask", "PHONE": "mask"}
    assert [t.token for t in screened.tokens] == [token.token]
    assert screened.policy_version == 1


def test_a_field_policy_overrides_the_defaults_for_that_field_only():
    # message bodies keep contact details; case subjects hash them
    body = screen(TEXT, field="message.body")
    subject = screen(TEXT, field="case.subject")
    assert "ann@example.com" in body.text
    assert "+44 20 7946 0958" in body.text
    assert _actions(subject)["EMAIL"] == "hash"
    assert "ann@example.com" not in subject.text
    # both still tokenize the card and drop the CVV
    assert _actions(body)["PAN"] == _actions(subject)["PAN"] == "tokenize"
    assert "123" not in body.text.split("cvv")[1][:5]


def test_keyed_hash_is_stable_and_case_insensitive_but_not_the_value():
    first = screen("write to Ann@Example.com", field="case.subject").text
    second = screen("ann@example.com please", field="case.subject").text
    tag = first.split("[EMAIL #")[1][:12]
    assert f"[EMAIL #{tag}]" in second
    assert len(tag) == 12
    assert "ann" not in tag


def test_the_same_card_in_two_texts_gets_the_same_token():
    a = screen(f"card {PAN_VISA}", field="message.body").tokens[0]
    b = screen("card 4111-1111-1111-1111 again", field="message.body").tokens[0]
    c = screen(f"other {PAN_MC2}", field="message.body").tokens[0]
    assert a.token == b.token != c.token
    assert (c.brand, c.last4) == ("mastercard", "3222")
    assert Token.objects.count() == 2


def test_spoken_card_numbers_are_tokenized_too():
    spoken = "my number is four one one one one one one one one one one one one one one one"
    screened = screen(spoken, field="interaction.transcript")
    assert screened.tokens[0].last4 == "1111"
    assert "four one one" not in screened.text


def test_known_customer_values_follow_the_field_policy():
    customer = {"name": ["Ann Lee"]}
    transcript = screen("this is ANN  lee speaking", field="interaction.transcript",
                        customer=customer)
    note = screen("this is Ann Lee speaking", field="customer.note", customer=customer)
    assert transcript.text == "this is [KNOWN_NAME] speaking"
    assert note.text == "this is Ann Lee speaking"


def test_finding_offsets_point_into_the_screened_text():
    screened = screen(TEXT, field="unknown.field")
    for f in screened.findings:
        piece = screened.text[f.start:f.end]
        if f.action == "mask":
            assert piece.startswith(f"[{f.type}")
        if f.action == "tokenize":
            assert piece.startswith("[card ")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                   max_size=40),
    after=st.text(max_size=40),
    sep=st.sampled_from(["", " ", "-", "."]),
    pan=st.sampled_from([PAN_VISA, PAN_MC2, "378282246310005", "6011111111111117"]),
)
def test_no_card_number_survives_screening(before, after, sep, pan):
    written = sep.join(pan[i:i + 4] for i in range(0, len(pan), 4))
    screened = screen(f"{before} {written} {after}", field="message.body")
    assert find_pans(screened.text) == []
    assert pan not in screened.text.replace(sep, "") if sep else pan not in screened.text


# --- the policy file ------------------------------------------------------------------------


def test_the_shipped_policy_file_is_valid_and_versioned():
    loaded = policy.load(policy.DEFAULT_FILE)
    assert loaded.version >= 1
    assert loaded.action("anything.at_all", "PAN") == "tokenize"
    assert loaded.action("message.body", "KNOWN_ADDRESS") == "keep"
    assert loaded.action("webform.body", "SOME_CUSTOM_TYPE") == "mask"


@pytest.mark.parametrize(("document", "message"), [
    ({"defaults": {}}, "version must be a positive integer"),
    ({"version": 1, "defaults": {"PAN": "mask"}}, "always tokenized"),
    ({"version": 1, "fields": {"x.y": {"PAN": "keep"}}}, "always tokenized"),
    ({"version": 1, "defaults": {"CVV": "keep"}}, "never kept"),
    ({"version": 1, "defaults": {"EMAIL": "tokenize"}}, "only card numbers"),
    ({"version": 1, "defaults": {"EMAIL": "shred"}}, "unknown action"),
    ({"version": 1, "defaults": {"email": "mask"}}, "not a finding type"),
    ({"version": 1, "fields": {"Body": {}}}, "must look like 'app.field'"),
    ({"version": 1, "masks": {"EMAIL": "{value}"}}, "only {type} and {last4}"),
    ({"version": 1, "extra": 1}, "unknown keys"),
    ([1, 2], "expected a mapping"),
])
def test_a_bad_policy_is_refused_with_a_clear_message(document, message):
    with pytest.raises(PolicyError, match=message.replace("{", r"\{").replace("}", r"\}")):
        policy.parse(document)


def test_a_malformed_policy_file_stops_screening(tmp_path, settings):
    bad = tmp_path / "policies.yaml"
    bad.write_text("version: [1\n")
    settings.SAFEGUARD_PROTECTION_POLICY_FILE = str(bad)
    with pytest.raises(PolicyError, match="not valid YAML"):
        screen("hello", field="message.body")
