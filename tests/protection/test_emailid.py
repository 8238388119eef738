"""E-mail identity (decision 0101; R-WORK-4): exact comparison, never NFKC; look-alike skeletons."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safeguard.protection import emailid

FOLD = ("gmail.com",)
REAL = "maria.lopez0@example.com"
FULL_WIDTH = "maria.lopez0@\uff45xample.com"  # FULLWIDTH LATIN SMALL LETTER E
CYRILLIC = "maria.lopez0@\u0435xample.com"  # CYRILLIC SMALL LETTER IE


def test_full_width_and_cyrillic_domains_are_not_the_real_address():
    # given the real address and two look-alikes that NFKC or a glance would merge
    # when each is reduced to its exact identity
    exact = [emailid.exact_address(a, fold_domains=FOLD) for a in (REAL, FULL_WIDTH, CYRILLIC)]
    # then all three differ: the Cyrillic domain becomes its own A-label, and the full-width
    # one (not a valid IDNA 2008 name) a marked literal that no valid domain can produce
    assert exact[0] == REAL
    assert exact[2] == "maria.lopez0@xn--xample-2of.com"
    assert exact[1].startswith("maria.lopez0@!invalid:")
    assert len(set(exact)) == 3


def test_domain_is_idna_normalised_and_local_part_folded_only_at_listed_providers():
    assert emailid.exact_address("Ann@B\u00fccher.DE") == "Ann@xn--bcher-kva.de"
    assert emailid.exact_address("Ann@xn--bcher-kva.de") == "Ann@xn--bcher-kva.de"
    # a provider that ignores case (the table) folds ASCII letters only
    assert emailid.exact_address("Maria.Lopez@GMail.com", fold_domains=FOLD) == \
        "maria.lopez@gmail.com"
    # elsewhere the local part is compared as written (RFC 5321 §2.4)
    assert emailid.exact_address("Maria.Lopez@example.com", fold_domains=FOLD) == \
        "Maria.Lopez@example.com"
    # a Cyrillic letter in the local part is never folded into a Latin one
    assert emailid.exact_address("m\u0430ria@gmail.com", fold_domains=FOLD) != "maria@gmail.com"


def test_look_alikes_share_the_skeleton_of_the_real_address():
    real = emailid.skeleton(REAL)
    assert emailid.skeleton(FULL_WIDTH) == real
    assert emailid.skeleton(CYRILLIC) == real
    assert emailid.skeleton("maria.lopez0@xn--xample-2of.com") == real  # the A-label too
    assert emailid.skeleton("MARIA.LOPEZ0@EXAMPLE.COM") == real
    assert emailid.skeleton("maria.lopez1@example.com") != real
    assert emailid.skeleton("mario.lopez0@example.com") != real


def test_non_ascii_addresses_are_marked():
    assert emailid.has_non_ascii(CYRILLIC)
    assert emailid.has_non_ascii(FULL_WIDTH)
    assert not emailid.has_non_ascii(REAL)


_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=20)
_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12)


@given(local=_local, label=_label)
def test_exact_identity_is_stable_and_ascii_addresses_keep_their_skeleton(local, label):
    address = f"{local}@{label}.com"
    once = emailid.exact_address(address, fold_domains=FOLD)
    assert emailid.exact_address(once, fold_domains=FOLD) == once
    assert emailid.skeleton(emailid.skeleton(address)) == emailid.skeleton(address)


@given(local=_local, label=_label)
def test_swapping_a_latin_letter_for_its_cyrillic_twin_changes_identity_not_looks(local, label):
    # given an address with an "a", "e" or "o" in its domain
    twins = {"a": "\u0430", "e": "\u0435", "o": "\u043e"}
    domain = f"{label}a.com"
    real = f"{local}@{domain}"
    fake = f"{local}@{domain[:-5]}{twins['a']}.com"
    # then the exact identities differ and the skeletons are equal
    assert emailid.exact_address(real) != emailid.exact_address(fake)
    assert emailid.skeleton(real) == emailid.skeleton(fake)
