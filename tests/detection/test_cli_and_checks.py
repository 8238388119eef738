"""``safeguard detection run --once | rules | test RULE.yml --since`` and the system checks
E500-E504."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from safeguard.detection import checks
from safeguard.detection.models import Alert, RunState
from tests.detection.factories import mass_viewer, view_all

pytestmark = pytest.mark.django_db

RULE = """title: Customer viewed by user {uid}
id: 0b6f7a4e-3c1d-4f4e-9a51-2f1a9d0c0001
status: experimental
logsource:
  product: safeguard
  service: audit
detection:
  selection:
    action: customer.viewed
    actor.id: '{uid}'
  condition: selection
level: low
"""


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("detection", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_run_once_evaluates_everything_new_and_exits():
    agent, customers, _ = mass_viewer(100, via_token=False)
    view_all(agent, customers)
    out, _ = _run("run", "--once", "--json")
    result = json.loads(out)
    assert result["alerts"] == Alert.objects.count() == 1
    assert Alert.objects.get().entity == f"user:{agent.id}"
    assert RunState.objects.get().cursor == result["cursor"]
    again = json.loads(_run("run", "--once", "--json")[0])
    assert (again["events"], again["alerts"]) == (0, 0)


def test_rules_lists_the_pack_and_refuses_a_malformed_file_with_line_and_reason(tmp_path):
    out, _ = _run("rules")
    assert "Mass customer access" in out
    assert "valid." in out
    bad = tmp_path / "bad.yml"
    bad.write_text(RULE.format(uid=1).replace("level: low", "level: catastrophic"))
    with pytest.raises(CommandError, match="nothing was loaded"):
        _run("rules", str(bad))
    report = StringIO()
    with pytest.raises(CommandError):
        call_command("detection", "rules", str(bad), "--json", stdout=report)
    [error] = json.loads(report.getvalue())["errors"]
    assert error["path"] == str(bad)
    assert error["line"] == 12
    assert "level" in error["reason"]


def test_test_back_tests_a_rule_on_stored_events_and_stores_nothing(tmp_path):
    agent, customers, _ = mass_viewer(3, via_token=False)
    view_all(agent, customers)
    rule = tmp_path / "mine.yml"
    rule.write_text(RULE.format(uid=agent.id))
    out, _ = _run("test", str(rule), "--since", "2000-01-01", "--json")
    result = json.loads(out)
    assert result["per_rule"] == {f"Customer viewed by user {agent.id}": 3}
    assert {f["entity"] for f in result["findings"]} == {f"user:{agent.id}"}
    assert not Alert.objects.exists()
    none = json.loads(_run("test", str(rule), "--since", "2999-01-01", "--json")[0])
    assert (none["events"], none["findings"]) == (0, [])
    with pytest.raises(CommandError, match="--since"):
        _run("test", str(rule), "--since", "yesterday")
    with pytest.raises(CommandError, match="No such rule file"):
        _run("test", str(tmp_path / "absent.yml"))


def test_checks_name_bad_clock_windows_webhooks_and_context_settings(settings):
    settings.SAFEGUARD_DETECTION_ACK_MINUTES = 300
    settings.SAFEGUARD_DETECTION_ESCALATE_SEVERITIES = ["critical", "urgent"]
    assert [m.id for m in checks.clocks_are_consistent()] == ["safeguard.E500"] * 2
    settings.SAFEGUARD_DETECTION_WEBHOOKS = [{"name": "soc", "url": "gopher://x"}]
    assert [m.id for m in checks.webhooks_parse()] == ["safeguard.E502"]
    settings.SAFEGUARD_DETECTION_WEBHOOKS = [{"name": "soc", "url": "http://soc.example",
                                              "secret": "x" * 20}]
    settings.PRODUCTION = True
    assert [m.id for m in checks.webhooks_use_tls()] == ["safeguard.E503"]
    settings.SAFEGUARD_DETECTION_SHIFTS = {"queue:billing": {"start": "8am", "end": "17:00"}}
    settings.SAFEGUARD_DETECTION_CHANGE_WINDOWS = "always"
    assert [m.id for m in checks.context_settings_parse()] == ["safeguard.E504"] * 2
    settings.SAFEGUARD_DETECTION_EVALUATOR = "safeguard.nowhere.build"
    assert [m.id for m in checks.evaluator_builds()] == ["safeguard.E501"]
