"""The vulnerability register (issue 13 section 4; R-OPS-7, R-KPI-6, R-MEAS-3; decision 0242):
scanner reports import from real-looking sample files with the right counts, severities and CVSS
scores; a bad report is refused with where and why and imports nothing; a re-import closes what
disappeared; deadlines come from the settings; exceptions expire; the control flips when a
critical ages past its deadline; the KPI matches an independent count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from safeguard.audit.contracts import Actor
from safeguard.cases.contracts import Period
from safeguard.governance import evaluators, vulnformats, vulns
from safeguard.governance.models import Vulnerability, VulnImport
from safeguard.governance.vulnformats import ReportRefused
from safeguard.metrics import kpis
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOB = Actor.system("tests")


def _raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _import(fmt: str, name: str, source: str = "") -> vulns.ImportResult:
    return vulns.import_report(fmt=fmt, raw=_raw(name), source=source or name, actor=JOB)


# --- pure parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "name", "expected"), [
    ("pip-audit", "pip-audit.json", {
        ("PYSEC-2025-47", "django"): ("unknown", None),
        ("GHSA-9wx4-h78v-vm56", "requests"): ("unknown", None),
        ("GHSA-9hjg-9r4m-mvj7", "requests"): ("unknown", None)}),
    ("trivy", "trivy.json", {
        ("CVE-2024-6387", "openssh-client"): ("high", 8.1),
        ("CVE-2023-45853", "zlib1g"): ("critical", 9.8),
        ("CVE-2024-2511", "libssl3"): ("low", 3.7),
        ("CVE-2024-47081", "requests"): ("medium", 5.3)}),
    ("grype", "grype.json", {
        ("GHSA-8qvm-5x2c-j2w7", "urllib3"): ("high", 7.5),
        # two vectors: the CVSS 4.0 one wins (9.3), not the 3.1 one (7.3)
        ("CVE-2025-0001", "libexpat1"): ("critical", 9.3),
        ("GHSA-q2x7-8rv6-6q7h", "jinja2"): ("medium", None)}),
    ("sarif", "scan.sarif", {
        ("CVE-2024-6387", "openssh-client"): ("high", 8.1),
        ("CVE-2023-45853", "zlib1g"): ("critical", 9.8),
        ("CVE-2024-0727", "libssl3"): ("medium", None)}),
])
def test_each_format_parses_its_sample(fmt, name, expected):
    found = {(f.vuln_id, f.package): (f.severity, f.score)
             for f in vulnformats.parse(fmt, _raw(name))}
    assert found == expected


def test_parsed_fields_and_cvss_scores():
    trivy = {f.vuln_id: f for f in vulnformats.parse("trivy", _raw("trivy.json"))}
    assert trivy["CVE-2024-6387"].vector == "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert trivy["CVE-2024-6387"].fixed_version == "1:9.2p1-2+deb12u3"
    pa = {f.vuln_id: f for f in vulnformats.parse("pip-audit", _raw("pip-audit.json"))}
    assert pa["PYSEC-2025-47"].aliases == ("CVE-2025-48432", "GHSA-7xr5-9hcq-chf9")
    assert pa["PYSEC-2025-47"].version == "5.2.1"
    assert pa["PYSEC-2025-47"].fixed_version == "5.2.2"
    assert vulnformats.score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/"
                                    "SA:N", "x") == (9.3, "critical")
    assert vulnformats.score_vector("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
                                    "x") == (1.8, "low")


@pytest.mark.parametrize(("fmt", "text", "where", "reason"), [
    ("trivy", '{"SchemaVersion": 2,\n "Results": [\n', "line 3 column 1", "Expecting value"),
    ("trivy", '{"Results": []}', "$.SchemaVersion", "not a Trivy"),
    ("trivy", json.dumps({"SchemaVersion": 2, "Results": [{"Vulnerabilities": [
        {"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "HIGH"},
        {"VulnerabilityID": "CVE-2", "Severity": "HIGH"}]}]}),
     "$.Results[0].Vulnerabilities[1].PkgName", "missing"),
    ("trivy", json.dumps({"SchemaVersion": 2, "Results": [{"Vulnerabilities": [
        {"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "SEVERE"}]}]}),
     "$.Results[0].Vulnerabilities[0].Severity", "unknown severity"),
    ("grype", json.dumps({"matches": [{"artifact": {"name": "a"}, "vulnerability": {
        "id": "CVE-1", "severity": "High",
        "cvss": [{"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q"}]}}]}),
     "$.matches[0].vulnerability.cvss[0].vector", "invalid CVSS vector"),
    ("pip-audit", '{"dependencies": [{"name": "x", "version": "1", "vulns": [{}]}]}',
     "$.dependencies[0].vulns[0].id", "missing"),
    # pip-audit without its advisory service: every dependency skipped, exit 0
    ("pip-audit", json.dumps({"dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be "
                                          "audited: django (5.2.1)"},
        {"name": "rich", "skip_reason": "Dependency not found on PyPI"}], "fixes": []}),
     "$.dependencies", "no dependency was audited (2 skipped"),
    ("sarif", '{"version": "2.0.0", "runs": []}', "$.version", "not a SARIF 2.1.0"),
    ("sarif", b"\xff\xfe{}", "byte 0", "not UTF-8"),
    ("nessus", "{}", "format", "unknown format"),
])
def test_bad_reports_are_refused_with_where_and_why(fmt, text, where, reason):
    with pytest.raises(ReportRefused) as exc:
        vulnformats.parse(fmt, text)
    assert exc.value.where == where
    assert reason in exc.value.reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(["HIGH", "error", "CVSS:3.1/AV:N", "2.1.0", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["SchemaVersion", "Results", "Vulnerabilities", "VulnerabilityID",
                         "PkgName", "Severity", "CVSS", "nvd", "V3Vector", "matches",
                         "vulnerability", "artifact", "name", "id", "cvss", "vector", "fix",
                         "versions", "dependencies", "vulns", "version", "runs", "tool",
                         "driver", "rules", "results", "ruleId", "properties", "level",
                         "locations", "defaultConfiguration", "skip_reason"]),
        inner, max_size=4),
    max_leaves=20)


@hsettings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(vulnformats.FORMATS), doc=_json)
def test_any_json_either_parses_or_is_refused_never_crashes(fmt, doc):
    refused: ReportRefused | None = None
    found: list[vulnformats.Finding] = []
    try:
        found = vulnformats.parse(fmt, json.dumps(doc))
    except ReportRefused as exc:  # anything else (a crash) fails the test
        refused = exc
    if refused is not None:
        assert refused.where
        assert refused.reason
    assert all(f.severity in vulnformats.SEVERITIES for f in found)


# --- the register ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_import_stores_findings_with_deadlines_from_settings(settings):
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 7
    settings.SAFEGUARD_VULN_SLA_HIGH_DAYS = 30
    settings.SAFEGUARD_VULN_SLA_MEDIUM_DAYS = 90
    settings.SAFEGUARD_VULN_SLA_LOW_DAYS = 0
    with time_machine.travel(T0, tick=False):
        r = _import("trivy", "trivy.json", source="image")
    assert (r.findings, r.opened, r.closed) == (4, 4, 0)
    due = {v.vuln_id: v.due_at for v in Vulnerability.objects.all()}
    assert due == {"CVE-2023-45853": T0 + timedelta(days=7),
                   "CVE-2024-6387": T0 + timedelta(days=30),
                   "CVE-2024-47081": T0 + timedelta(days=90),
                   "CVE-2024-2511": None}
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 3
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        _import("trivy", "trivy.json", source="image")
    row = Vulnerability.objects.get(vuln_id="CVE-2023-45853")
    assert (row.first_seen, row.last_seen) == (T0, T0 + timedelta(days=1))
    assert row.due_at == T0 + timedelta(days=3)  # the clock runs from first seen


@pytest.mark.django_db
def test_a_medium_label_with_a_high_score_gets_the_high_clock(settings):
    settings.SAFEGUARD_VULN_SLA_MEDIUM_DAYS = 90
    settings.SAFEGUARD_VULN_SLA_HIGH_DAYS = 30
    assert vulns.sla_days("medium", 7.0) == 30
    assert vulns.sla_days("medium", 6.9) == 90
    assert vulns.sla_days("low", 8.0) == 30  # no clock for low, but CVSS ≥ 7 has one
    assert vulns.sla_days("critical", 9.8) == settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS


@pytest.mark.django_db
def test_reimport_closes_what_disappeared_and_reopens_what_came_back():
    with time_machine.travel(T0, tick=False):
        _import("grype", "grype.json", source="image")
        _import("pip-audit", "pip-audit.json", source="self")
    smaller = json.loads(_raw("grype.json"))
    smaller["matches"] = smaller["matches"][:1]
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        r = vulns.import_report(fmt="grype", raw=json.dumps(smaller).encode(), source="image",
                                actor=JOB)
    assert (r.findings, r.opened, r.reopened, r.closed) == (1, 0, 0, 2)
    fixed = dict(Vulnerability.objects.filter(fixed_at__isnull=False)
                 .values_list("vuln_id", "fixed_at"))
    assert fixed == {"CVE-2025-0001": T0 + timedelta(days=2),
                     "GHSA-q2x7-8rv6-6q7h": T0 + timedelta(days=2)}
    # another source is untouched
    assert Vulnerability.objects.filter(source="self", fixed_at__isnull=True).count() == 3
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        r = _import("grype", "grype.json", source="image")
    assert (r.opened, r.reopened, r.closed) == (0, 2, 0)
    back = Vulnerability.objects.get(vuln_id="CVE-2025-0001")
    assert (back.fixed_at, back.first_seen) == (None, T0 + timedelta(days=3))
    assert back.due_at == T0 + timedelta(days=10)


@pytest.mark.django_db
def test_a_bad_report_imports_nothing_and_closes_nothing():
    _import("trivy", "trivy.json", source="image")
    bad = json.loads(_raw("trivy.json"))
    bad["Results"][1]["Vulnerabilities"][0]["CVSS"]["ghsa"]["V3Vector"] = "CVSS:3.1/AV:X"
    del bad["Results"][0]["Vulnerabilities"][1:]  # would close two findings if it went through
    before = list(Vulnerability.objects.order_by("id").values())
    with pytest.raises(ReportRefused, match=r"Results\[1\].Vulnerabilities\[0\].CVSS.ghsa"):
        vulns.import_report(fmt="trivy", raw=json.dumps(bad).encode(), source="image",
                            actor=JOB)
    assert list(Vulnerability.objects.order_by("id").values()) == before
    assert VulnImport.objects.count() == 1


@pytest.mark.django_db
def test_import_command_and_its_refusal(tmp_path, capsys):
    call_command("governance", "import-vulns", "sarif", str(DATA / "scan.sarif"))
    assert "3 findings, 3 new, 0 reopened, 0 closed" in capsys.readouterr().out
    assert set(Vulnerability.objects.values_list("source", "scanner").distinct()) == {
        ("scan.sarif", "sarif:trivy")}
    broken = tmp_path / "scan.sarif"
    broken.write_text('{"version": "2.1.0",\n "runs": [}\n')
    with pytest.raises(CommandError, match=r"refused, nothing imported: line 2 column 11"):
        call_command("governance", "import-vulns", "sarif", str(broken))
    assert Vulnerability.objects.filter(fixed_at__isnull=True).count() == 3


@pytest.mark.django_db
def test_scan_self_without_pip_audit_says_so_and_imports_nothing(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda *a, **k: None)
    with pytest.raises(CommandError, match=r"pip-audit is not installed.*Nothing imported"):
        call_command("governance", "scan-self")
    assert Vulnerability.objects.count() == 0


def _fake_pip_audit(tmp_path, monkeypatch, body: str, code: int) -> None:
    """A stand-in executable on the real subprocess path: prints ``body``, exits ``code``."""
    exe = tmp_path / "pip-audit"
    exe.write_text(f"#!/bin/sh\ncat <<'JSON'\n{body}\nJSON\necho 'audit done' >&2\n"
                   f"exit {code}\n")
    exe.chmod(0o755)
    monkeypatch.setattr("shutil.which", lambda *a, **k: str(exe))


@pytest.mark.django_db
def test_scan_self_imports_pip_audit_output_as_source_self(tmp_path, monkeypatch, capsys):
    _fake_pip_audit(tmp_path, monkeypatch, _raw("pip-audit.json").decode(), 1)
    call_command("governance", "scan-self")
    assert "3 findings, 3 new" in capsys.readouterr().out
    assert set(Vulnerability.objects.values_list("source", flat=True)) == {"self"}


@pytest.mark.django_db
def test_scan_self_without_advisory_service_imports_and_closes_nothing(tmp_path, monkeypatch):
    _import("pip-audit", "pip-audit.json", source="self")
    offline = {"dependencies": [{"name": "django", "skip_reason": "Dependency not found on "
                                 "PyPI and could not be audited: django (5.2.1)"}], "fixes": []}
    _fake_pip_audit(tmp_path, monkeypatch, json.dumps(offline), 0)
    with pytest.raises(CommandError, match=r"refused, nothing imported: \$.dependencies: no "):
        call_command("governance", "scan-self")
    _fake_pip_audit(tmp_path, monkeypatch, "", 2)
    with pytest.raises(CommandError, match=r"pip-audit failed \(exit 2\): audit done"):
        call_command("governance", "scan-self")
    assert Vulnerability.objects.filter(source="self", fixed_at__isnull=True).count() == 3


# --- exceptions, the control, the KPI -------------------------------------------------------

@pytest.mark.django_db
def test_exceptions_need_another_approver_and_expire(settings):
    with time_machine.travel(T0, tick=False):
        _import("trivy", "trivy.json", source="image")
    crit = Vulnerability.objects.get(vuln_id="CVE-2023-45853")
    approver = Actor(kind="user", id="2", label="boss@example.test")
    with pytest.raises(vulns.ExceptionRefused, match="someone other"):
        vulns.grant_exception(vulnerability_id=crit.id, reason="no fix upstream",
                              expires_at=T0 + timedelta(days=20),
                              requested_by="Boss@example.test", approver=approver)
    with time_machine.travel(T0, tick=False):
        with pytest.raises(vulns.ExceptionRefused, match="at most 365 days"):
            vulns.grant_exception(vulnerability_id=crit.id, reason="r",
                                  expires_at=T0 + timedelta(days=366),
                                  requested_by="eng@example.test", approver=approver)
        vulns.grant_exception(vulnerability_id=crit.id, reason="no fix upstream; not reachable",
                              expires_at=T0 + timedelta(days=20),
                              requested_by="eng@example.test", approver=approver)
    on = {r.vuln_id: r.status for r in vulns.register(now=T0 + timedelta(days=19))}
    assert on["CVE-2023-45853"] == "excepted"
    assert vulns.counts(now=T0 + timedelta(days=19))["excepted"] == 1
    after = {r.vuln_id: r for r in vulns.register(now=T0 + timedelta(days=21))}
    assert after["CVE-2023-45853"].status == "open"
    assert after["CVE-2023-45853"].overdue
    assert after["CVE-2023-45853"].age_days == 21


@pytest.mark.django_db
def test_control_flips_to_fail_when_a_critical_ages_past_seven_days(settings):
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 7
    with time_machine.travel(T0, tick=False):
        assert evaluators.run("vulnerabilities_sla").status == "unavailable"
        _import("grype", "grype.json", source="image")
    with time_machine.travel(T0 + timedelta(days=6, hours=23), tick=False):
        res = evaluators.run("vulnerabilities_sla")
    assert res.status == "pass"
    assert "3 open, 0 past their deadline" in res.evidence
    with time_machine.travel(T0 + timedelta(days=7, minutes=1), tick=False):
        res = evaluators.run("vulnerabilities_sla")
    assert res.status == "fail"
    assert "1 past their deadline" in res.evidence
    assert "CVE-2025-0001 in libexpat1 (critical), due 2026-03-09" in res.evidence
    settings.SAFEGUARD_VULN_SCAN_MAX_DAYS = 30
    fixed = json.loads(_raw("grype.json"))
    fixed["matches"] = [fixed["matches"][0]]
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        vulns.import_report(fmt="grype", raw=json.dumps(fixed).encode(), source="image",
                            actor=JOB)
        assert evaluators.run("vulnerabilities_sla").status == "pass"
    with time_machine.travel(T0 + timedelta(days=39), tick=False):
        res = evaluators.run("vulnerabilities_sla")
    assert res.status == "fail"
    assert "No scan imported in the last 30 days" in res.evidence


@pytest.mark.django_db
def test_kpi_ratio_matches_an_independent_count(settings):
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 7
    settings.SAFEGUARD_VULN_SLA_HIGH_DAYS = 30
    with time_machine.travel(T0, tick=False):
        _import("trivy", "trivy.json", source="image")  # crit 9.8, high 8.1, med 5.3, low 3.7
        _import("grype", "grype.json", source="grype")  # high 7.5, crit 9.3, medium none
    # day 10: image's critical (late: due day 7), high (on time) and medium are fixed.
    only_low = json.loads(_raw("trivy.json"))
    only_low["Results"] = [{"Target": "t", "Vulnerabilities": [
        only_low["Results"][0]["Vulnerabilities"][2]]}]
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        vulns.import_report(fmt="trivy", raw=json.dumps(only_low).encode(), source="image",
                            actor=JOB)
    # day 40 (next month): grype's all gone: high 7.5 late (due day 30), critical late.
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        vulns.import_report(fmt="grype", raw=b'{"matches": []}', source="grype", actor=JOB)
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    april = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))

    def independent(start, end):
        rows = [v for v in Vulnerability.objects.all()
                if v.fixed_at and start <= v.fixed_at < end and v.score is not None
                and v.score >= 7.0]
        return (sum(1 for v in rows if v.fixed_at <= v.due_at), len(rows))

    fn = providers.get("kpi.vulnerabilities_on_time")
    r = fn(start=march[0], end=march[1])
    assert (r.hits, r.total) == independent(*march) == (1, 2)
    r = fn(start=april[0], end=april[1])
    assert (r.hits, r.total) == independent(*april) == (0, 2)
    kpi = next(k for k in kpis.REGISTRY if k.key == "vulnerabilities_on_time")
    m = kpi.compute(Period(start=march[0], end=march[1]), None, None)
    assert (m.status, m.value, m.hits, m.total) == ("measured", 0.5, 1, 2)


# --- the page -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_register_page_filters_and_exception_form():
    with time_machine.travel(T0, tick=False):
        _import("trivy", "trivy.json", source="image")
    manager = make_user(email="cm@example.test", roles=("compliance_manager",))
    agent = make_user(email="agent@example.test", roles=("agent",))
    assert signed_in_client(agent).get("/governance/vulnerabilities/").status_code == 403
    client = signed_in_client(manager)
    with time_machine.travel(T0 + timedelta(days=8), tick=True):
        page = client.get("/governance/vulnerabilities/?status=open&severity=critical")
        assert page.status_code == 200
        rows = page.context["rows"]
        assert [(r.vuln_id, r.age_days, r.overdue) for r in rows] == [
            ("CVE-2023-45853", 8, True)]
        assert b"overdue" in page.content
        assert client.get("/governance/vulnerabilities/?status=bogus").status_code == 400
        crit = rows[0].id
        resp = client.post("/governance/vulnerabilities/exception/", {
            "vulnerability": crit, "requested_by": "cm@example.test", "reason": "r",
            "expires": "2026-03-20"})
        assert resp.status_code == 302
        assert vulns.counts()["excepted"] == 0  # refused: approver is the requester
        client.post("/governance/vulnerabilities/exception/", {
            "vulnerability": crit, "requested_by": "eng@example.test",
            "reason": "vendor patch next week", "expires": "2026-03-20"})
        page = client.get("/governance/vulnerabilities/?status=excepted")
        assert [(r.vuln_id, r.exception_until.date().isoformat())
                for r in page.context["rows"]] == [("CVE-2023-45853", "2026-03-20")]


def test_system_checks_refuse_bad_vulnerability_settings(settings):
    from safeguard.governance import checks

    assert checks.vuln_settings() == []
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 0
    assert [e.id for e in checks.vuln_settings()] == ["safeguard.E544"]
    settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS = 7
    settings.SAFEGUARD_VULN_SLA_MEDIUM_DAYS = -1
    assert [e.id for e in checks.vuln_settings()] == ["safeguard.E544"]
    settings.SAFEGUARD_VULN_SLA_MEDIUM_DAYS = 90
    settings.SAFEGUARD_VULN_SLA_SCORE_THRESHOLD = 10.5
    assert [e.id for e in checks.vuln_settings()] == ["safeguard.E545"]
    settings.SAFEGUARD_VULN_SLA_SCORE_THRESHOLD = 7.0
    settings.SAFEGUARD_VULN_SCAN_MAX_DAYS = 0
    assert [e.id for e in checks.vuln_settings()] == ["safeguard.E545"]
