"""/.well-known/security.txt per RFC 9116 (R-ORG-1), checked by a strict parser written here,
and the deploy check that fails once Expires has passed (E561)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import checks as django_checks

from safeguard.accounts import services as accounts
from safeguard.metrics.checks import check_security_txt
from tests.factories import SYSTEM

URL = "/.well-known/security.txt"

# RFC 9116 section 2.5 (fields), 2.3 (URIs must be https for web URIs), 4 (ABNF).
KNOWN = {"acknowledgments", "canonical", "contact", "encryption", "expires", "hiring",
         "policy", "preferred-languages", "csaf"}
ONCE = {"expires", "preferred-languages"}
URI_FIELDS = {"acknowledgments", "canonical", "contact", "encryption", "hiring", "policy", "csaf"}
FIELD_RE = re.compile(r"^([A-Za-z0-9!#$%&'*+\-.^_`|~]+): ([^\r\n]*)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANG_RE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


class Invalid(ValueError):
    pass


def parse_rfc9116(body: bytes, content_type: str, *, now: datetime,  # noqa: PLR0912 - one rule a branch
                  served_at: str):
    """A strict reader: UTF-8 text/plain, one field per line, known fields with valid values,
    Contact and Expires present, Expires once and in the future, Canonical naming this file."""
    if not content_type.startswith("text/plain") or "charset=utf-8" not in content_type.lower():
        raise Invalid(f"content type {content_type!r}")
    text = body.decode("utf-8")
    if not text.endswith("\n"):
        raise Invalid("the last line has no line ending")
    fields: dict[str, list[str]] = {}
    for raw in text.split("\n")[:-1]:
        line = raw.removesuffix("\r")
        if line == "" or line.startswith("#"):
            continue
        m = FIELD_RE.match(line)
        if not m:
            raise Invalid(f"not a field line: {line!r}")
        name, value = m.group(1).lower(), m.group(2).strip()
        if name not in KNOWN:
            raise Invalid(f"unknown field {name!r}")
        if value == "":
            raise Invalid(f"empty {name}")
        fields.setdefault(name, []).append(value)
    for name in ONCE:
        if len(fields.get(name, [])) > 1:
            raise Invalid(f"{name} more than once")
    if "contact" not in fields or "expires" not in fields:
        raise Invalid("Contact and Expires are required")
    for name in URI_FIELDS & fields.keys():
        for v in fields[name]:
            scheme = v.split(":", 1)[0]
            if scheme in ("http",):
                raise Invalid(f"{name} must use https: {v}")
            if name == "contact" and scheme not in ("mailto", "tel", "https"):
                raise Invalid(f"contact URI scheme {scheme!r}")
            if name != "contact" and scheme != "https":
                raise Invalid(f"{name} must be an https URI: {v}")
            if scheme == "tel" and not re.fullmatch(r"tel:\+\d+", v):
                raise Invalid(f"not a global tel URI: {v}")
            if scheme == "mailto" and not re.fullmatch(r"mailto:[^@\s]+@[^@\s]+", v):
                raise Invalid(f"bad mailto: {v}")
    expires = fields["expires"][0]
    if not DATE_RE.match(expires):
        raise Invalid(f"Expires is not RFC 3339: {expires}")
    if datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now:
        raise Invalid("expired")
    for lang in fields.get("preferred-languages", [""])[0].split(","):
        if "preferred-languages" in fields and not LANG_RE.match(lang.strip()):
            raise Invalid(f"bad language tag {lang!r}")
    if "canonical" in fields and served_at not in fields["canonical"]:
        raise Invalid("the file is served from a URI not listed as Canonical")
    return fields


def _org(email="security@example.test", hotline="+44 20 7946 0000"):
    accounts.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Po",
                                 dpo_email="dpo@example.test", security_hotline=hotline,
                                 security_email=email)


@pytest.mark.django_db
def test_security_txt_parses_strictly_and_comes_from_the_organisation(client, settings):
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = "2027-06-30T00:00:00Z"
    settings.SAFEGUARD_SECURITY_TXT_POLICY = "https://example.test/disclosure"
    settings.SAFEGUARD_SECURITY_TXT_ENCRYPTION = "https://example.test/pgp.asc"
    settings.SAFEGUARD_SECURITY_TXT_LANGUAGES = "en, de"
    settings.ALLOWED_HOSTS = ["safeguard.example.test"]
    _org()
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        resp = client.get(URL, HTTP_HOST="safeguard.example.test")
    assert resp.status_code == 200
    fields = parse_rfc9116(resp.content, resp["Content-Type"], now=datetime(2026, 12, 1,
                                                                              tzinfo=UTC),
                           served_at="https://safeguard.example.test/.well-known/security.txt")
    assert fields["contact"] == ["mailto:security@example.test", "tel:+442079460000"]
    assert fields["expires"] == ["2027-06-30T00:00:00Z"]
    assert fields["policy"] == ["https://example.test/disclosure"]
    assert fields["encryption"] == ["https://example.test/pgp.asc"]
    assert fields["preferred-languages"] == ["en, de"]
    # a change to the organisation shows at once
    _org(email="psirt@example.test", hotline="")
    resp = client.get(URL, HTTP_HOST="safeguard.example.test")
    assert parse_rfc9116(resp.content, resp["Content-Type"], now=datetime(2026, 12, 1, tzinfo=UTC),
                         served_at="https://safeguard.example.test/.well-known/security.txt"
                         )["contact"] == ["mailto:psirt@example.test"]


def test_the_strict_parser_refuses_what_rfc_9116_refuses():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ok = b"Contact: mailto:a@b.test\nExpires: 2026-06-01T00:00:00Z\n"
    parse_rfc9116(ok, "text/plain; charset=utf-8", now=now, served_at="x")
    for bad in (b"Expires: 2026-06-01T00:00:00Z\n",
                ok + b"Expires: 2026-07-01T00:00:00Z\n",
                b"Contact: http://b.test\nExpires: 2026-06-01T00:00:00Z\n",
                b"Contact: mailto:a@b.test\nExpires: 2025-06-01T00:00:00Z\n",
                b"Contact: mailto:a@b.test\nExpires: June 2026\n",
                ok + b"Colour: blue\n",
                ok + b"Canonical: https://elsewhere.test/.well-known/security.txt\n",
                b"Contact: mailto:a@b.test\nExpires: 2026-06-01T00:00:00Z"):
        with pytest.raises(Invalid):
            parse_rfc9116(bad, "text/plain; charset=utf-8", now=now, served_at="x")


@pytest.mark.django_db
def test_not_served_until_complete(client, settings):
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = ""
    _org()
    assert client.get(URL).status_code == 404
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = "2099-01-01T00:00:00Z"
    _org(email="", hotline="0800 123")  # a local number is no global tel: URI
    assert client.get(URL).status_code == 404


@pytest.mark.django_db
def test_deploy_check_fails_when_expires_has_passed(settings):
    _org()
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = "2026-06-30T00:00:00Z"
    with time_machine.travel(datetime(2026, 6, 29, tzinfo=UTC), tick=False):
        assert check_security_txt() == []
    with time_machine.travel(datetime(2026, 6, 30, 0, 0, 1, tzinfo=UTC), tick=False):
        errors = check_security_txt()
    assert [e.id for e in errors] == ["safeguard.E561"]
    assert errors[0].level == django_checks.ERROR
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = ""
    assert [e.id for e in check_security_txt()] == ["safeguard.E562"]
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = "next tuesday"
    assert [e.id for e in check_security_txt()] == ["safeguard.E562"]
    # the check is part of `check --deploy`
    registered = django_checks.registry.registry.get_checks(include_deployment_checks=True)
    assert check_security_txt in registered
