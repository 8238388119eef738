"""Sender authentication from the receiving MTA's headers (RFC 8601; R-OPS-5, R-WORK-4)."""

from __future__ import annotations

from safeguard.channels.mailauth import evaluate

MTA = "mx.ours.example"


def _eval(*headers: str, spf: tuple[str, ...] = (), frm: str = "maria@example.com"):
    return evaluate(auth_results=headers, received_spf=spf, from_address=frm, trusted=[MTA])


def test_dmarc_pass_for_the_from_domain_from_the_trusted_mta_is_verified():
    got = _eval(f"{MTA}; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; "
                "dmarc=pass header.from=Example.COM")
    assert (got.verdict, got.spf, got.dkim, got.dmarc, got.authserv_id) == (
        "verified", "pass", "pass", "pass", MTA)


def test_spf_and_dmarc_fail_is_failed():
    got = _eval(f"{MTA}; spf=fail smtp.mailfrom=example.com; dkim=none; "
                "dmarc=fail (p=reject) header.from=example.com")
    assert (got.verdict, got.spf, got.dmarc) == ("failed", "fail", "fail")


def test_spf_fail_without_dmarc_and_without_dkim_pass_is_failed_but_dkim_pass_is_not():
    assert _eval(f"{MTA}; spf=fail smtp.mailfrom=example.com").verdict == "failed"
    assert _eval(f"{MTA}; spf=fail smtp.mailfrom=example.com; "
                 "dkim=pass header.d=example.com").verdict == "none"


def test_an_untrusted_authserv_id_is_ignored_even_when_it_says_pass():
    # given a forged header naming another server on top of nothing from ours
    got = _eval("mx.attacker.example; dmarc=pass header.from=example.com")
    assert (got.verdict, got.authserv_id) == ("none", "")
    # and with ours below a forged one, ours is the one read
    got = _eval("mx.attacker.example; dmarc=pass header.from=example.com",
                f"{MTA}; dmarc=fail header.from=example.com")
    assert got.verdict == "failed"


def test_the_topmost_trusted_header_wins():
    got = _eval(f"{MTA}; dmarc=fail header.from=example.com",
                f"{MTA}; dmarc=pass header.from=example.com")
    assert got.verdict == "failed"


def test_dmarc_pass_for_another_domain_does_not_verify_this_from():
    got = _eval(f"{MTA}; dmarc=pass header.from=attacker.example")
    assert got.verdict == "none"


def test_nothing_is_trusted_without_a_configured_authserv_id():
    got = evaluate(auth_results=[f"{MTA}; dmarc=pass header.from=example.com"],
                   received_spf=(), from_address="maria@example.com", trusted=[])
    assert got.verdict == "none"


def test_unparseable_headers_are_ignored():
    assert _eval("garbage ;;; ===", "").verdict == "none"


def test_received_spf_counts_only_from_the_trusted_receiver():
    trusted = f"Fail (mailfrom) receiver={MTA}; client-ip=192.0.2.1; envelope-from=x@example.com"
    forged = "Pass receiver=mx.attacker.example; client-ip=192.0.2.1"
    assert _eval(spf=(trusted,)).verdict == "failed"
    assert _eval(spf=(forged,)).verdict == "none"
    assert _eval(spf=(forged, trusted)).verdict == "none"  # only the topmost one is read
