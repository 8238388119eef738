"""System checks E520 (jurisdiction table), E521 (SLA order), E524 (exercise cadence) and E525
(score range, retainer warning)."""

from __future__ import annotations

from safeguard.incidents import checks


def test_e520_a_broken_jurisdiction_table(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert checks.jurisdiction_table_loads() == []
    bad = tmp_path / "j.yaml"
    bad.write_text("jurisdictions:\n  X:\n    name: x\n", encoding="utf-8")
    settings.SAFEGUARD_INCIDENTS_JURISDICTIONS = str(bad)
    (error,) = checks.jurisdiction_table_loads()
    assert error.id == "safeguard.E520"
    assert "X: missing citation, effective, notices" in error.msg
    bad.write_text("jurisdictions: [", encoding="utf-8")
    assert [e.id for e in checks.jurisdiction_table_loads()] == ["safeguard.E520"]
    settings.SAFEGUARD_INCIDENTS_JURISDICTIONS = str(tmp_path / "missing.yaml")
    assert [e.id for e in checks.jurisdiction_table_loads()] == ["safeguard.E520"]


def test_e521_sla_hours_out_of_order(settings) -> None:  # type: ignore[no-untyped-def]
    assert checks.sla_periods_ordered() == []
    settings.SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS = 100
    (error,) = checks.sla_periods_ordered()
    assert error.id == "safeguard.E521"


def test_e524_exercise_cadence(settings) -> None:  # type: ignore[no-untyped-def]
    assert checks.exercise_cadence_valid() == []
    settings.SAFEGUARD_IR_TABLETOP_MONTHS = 0
    assert [e.id for e in checks.exercise_cadence_valid()] == ["safeguard.E524"]
    settings.SAFEGUARD_IR_TABLETOP_MONTHS = 18  # longer than the 12-month drill
    (error,) = checks.exercise_cadence_valid()
    assert "tabletop 18, drill 12 months" in error.msg


def test_e525_scores_and_retainer_warning(settings) -> None:  # type: ignore[no-untyped-def]
    assert checks.scores_and_retainers_valid() == []
    settings.SAFEGUARD_IR_SCORE_MIN = 6
    assert [e.id for e in checks.scores_and_retainers_valid()] == ["safeguard.E525"]
    settings.SAFEGUARD_IR_SCORE_MIN = 1
    settings.SAFEGUARD_IR_RETAINER_WARN_DAYS = -1
    assert [e.id for e in checks.scores_and_retainers_valid()] == ["safeguard.E525"]


def test_e522_e523_evidence_limits(settings) -> None:  # type: ignore[no-untyped-def]
    assert checks.evidence_limits() == []
    settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES = 0
    assert [e.id for e in checks.evidence_limits()] == ["safeguard.E522"]
    settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES = 50 * 1024 * 1024 + 1
    settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS = 100_001
    assert [e.id for e in checks.evidence_limits()] == ["safeguard.E522", "safeguard.E523"]
    settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES = 1024
    settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS = 0
    assert [e.id for e in checks.evidence_limits()] == ["safeguard.E523"]
