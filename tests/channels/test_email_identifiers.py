"""Message identifiers are stored as keyed hashes (issue 8 item 3; R-OPS-2, R-DATA-1): mail
whose Message-ID, References or In-Reply-To hold a Luhn-valid digit run is accepted over SMTP
on loopback, threads to its case, and nothing readable of the ids is stored."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from safeguard.cases.models import Interaction, Message
from tests.channels.conftest import all_cases, case_messages, interactions, mail
from tests.factories import everything_stored, ref_hash

pytestmark = pytest.mark.django_db(transaction=True)

PAN_ID = "4111111111111111"  # Luhn-valid
PAN_REF = "5500005555555559"  # Luhn-valid


def test_a_message_id_with_a_card_like_run_is_accepted_and_stored_as_its_hash_only(smtpd):
    # given a mail whose Message-ID happens to contain a Luhn-valid digit run
    first = f"<{PAN_ID}.1@customer.example>"
    # when it is delivered over SMTP
    refused = smtpd.send(mail(message_id=first))
    # then it is accepted (no 550) and stored with the id's keyed hash, nothing readable
    assert refused == {}
    [case] = all_cases()
    [message] = case_messages(case.number)
    assert message.external_id == ref_hash(first)
    assert message.external_id.isalpha()
    [interaction] = interactions("email")
    assert interaction.thread_ref == ref_hash(first)
    stored = everything_stored()
    assert PAN_ID not in stored
    assert "customer.example>" not in stored


@pytest.mark.parametrize("header", ["References", "In_Reply_To"])
def test_replies_whose_references_hold_a_card_like_run_thread_to_the_case(smtpd, header):
    # given a thread whose root id and a later id carry Luhn-valid runs
    root = f"<{PAN_ID}@customer.example>"
    smtpd.send(mail(message_id=root))
    second = f"<{PAN_REF}@customer.example>"
    # when the customer replies, naming the root only in one header
    refused = smtpd.send(mail(subject="Re: My order", body="Any news?", message_id=second,
                              **{header: root}))
    # and replies again naming the second message
    again = smtpd.send(mail(subject="Re: My order", body="Hello?",
                            message_id="<third@customer.example>",
                            References=f"{root} {second}", In_Reply_To=second))
    # then every mail is accepted and sits on the one case, in one interaction
    assert refused == {}
    assert again == {}
    [case] = all_cases()
    messages = case_messages(case.number)
    assert [m.body for m in messages] == ["Hello, my order has not arrived.", "Any news?",
                                          "Hello?"]
    assert len({m.interaction_id for m in messages}) == 1
    assert [m.external_id for m in messages] == [ref_hash(root), ref_hash(second),
                                                  ref_hash("<third@customer.example>")]
    # and the database holds hashes only: no digit of either run, no readable id
    stored = everything_stored()
    assert PAN_ID not in stored
    assert PAN_REF not in stored
    assert "@customer.example>" not in stored


def test_the_same_message_id_delivered_twice_is_still_one_message(smtpd):
    # given a mail with a card-like Message-ID already received
    msg = mail(message_id=f"<{PAN_ID}@customer.example>")
    smtpd.send(msg)
    # when the relay delivers it again
    assert smtpd.send(msg) == {}
    # then idempotency by the hash holds
    assert Message.objects.count() == 1


def test_the_data_migration_hashes_existing_plain_ids_once():
    # given rows written before identifiers were hashed (plain values, as older versions did)
    smtp_case = _plain_rows()
    migration = importlib.import_module("safeguard.cases.migrations.0002_hash_message_refs")
    # when the data migration runs, twice (a re-run must change nothing)
    migration.hash_refs(apps, None)
    after_first = _refs()
    migration.hash_refs(apps, None)
    # then every plain value became its keyed hash, the same as new writes produce
    assert after_first == {"message": ref_hash("<old@customer.example>"),
                           "interaction": ref_hash("<old-root@customer.example>")}
    assert _refs() == after_first
    # and the thread continues for a reply naming the old root
    from safeguard.cases import services
    from safeguard.cases.contracts import SenderIn

    result = services.message_receive(channel="email",
                                      sender=SenderIn(email="a@customer.example"),
                                      text="Still waiting",
                                      thread_ref="<old-root@customer.example>")
    assert result.case_id == smtp_case


def _plain_rows():
    from safeguard.cases import services
    from safeguard.cases.contracts import SenderIn

    result = services.message_receive(channel="email",
                                      sender=SenderIn(email="a@customer.example"),
                                      text="Old mail", external_id="<old@customer.example>",
                                      thread_ref="<old-root@customer.example>")
    # rewrite to the pre-upgrade (plain) form, as an older version stored them
    Message.objects.filter(id=result.message_id).update(external_id="<old@customer.example>")
    Interaction.objects.filter(id=result.interaction_id).update(
        thread_ref="<old-root@customer.example>")
    return result.case_id


def _refs() -> dict[str, str]:
    return {"message": Message.objects.get().external_id,
            "interaction": Interaction.objects.get().thread_ref}


def test_a_long_message_id_is_accepted_and_threads(smtpd):
    # given a mail whose Message-ID is longer than any column (300 characters)
    long_id = "<" + "a" * 280 + "@customer.example>"
    assert smtpd.send(mail(message_id=long_id)) == {}
    # when the customer replies to it
    assert smtpd.send(mail(subject="Re: My order", body="Any news?",
                           message_id="<r@customer.example>", In_Reply_To=long_id)) == {}
    # then both are on one case, the id kept as its fixed-length hash
    [case] = all_cases()
    messages = case_messages(case.number)
    assert [m.external_id for m in messages] == [ref_hash(long_id),
                                                  ref_hash("<r@customer.example>")]
