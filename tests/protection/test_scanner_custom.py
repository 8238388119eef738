"""Operator-defined detectors from YAML: pattern, python-stdnum validator, context words."""

from __future__ import annotations

import textwrap

import pytest

from safeguard.protection.scanner import (
    DetectorConfigError,
    Scanner,
    load_custom_detectors,
    parse_custom_detectors,
    scan,
)

TAX_ID_YAML = """
version: 1
detectors:
  - type: DE_TAX_ID
    name: german-tax-id
    pattern: '(?<![0-9])[0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}(?![0-9])'
    validator: stdnum.de.idnr
    score: 0.55
    context: [steuer-id, steuernummer, tax id, idnr]
    context_boost: 0.4
    negative_context: [order]
  - type: MEMBER_ID
    pattern: 'MBR-[0-9]{6}'
    ignore_case: true
"""


@pytest.fixture
def tax_scanner(tmp_path):
    path = tmp_path / "detectors.yaml"
    path.write_text(TAX_ID_YAML, encoding="utf-8")
    return Scanner(detectors=load_custom_detectors(path))


def test_a_yaml_detector_finds_values_its_validator_accepts(tax_scanner):
    # given a valid German tax id (stdnum.de.idnr) and an invalid one of the same shape
    text = "my tax id is 36 574 261 809, not 36 574 261 890"

    # when scanned with the operator's detectors
    found = [(f.type, text[f.start : f.end], f.detector) for f in tax_scanner.scan(text)]

    # then only the valid one is reported, under the operator's type
    assert found == [("DE_TAX_ID", "36 574 261 809", "custom:german-tax-id")]


def test_context_words_of_a_custom_detector_raise_and_lower_its_score(tax_scanner):
    # given the same valid id after a cue, with no cue, and after a negative cue
    cued = tax_scanner.scan("Steuer-ID 36574261809", types=["DE_TAX_ID"])
    bare = tax_scanner.scan("it is 36574261809", types=["DE_TAX_ID"])
    negative = tax_scanner.scan("order 36574261809", types=["DE_TAX_ID"])

    # then the cue lifts it, no cue keeps the base score, the negative cue drops it
    assert [round(f.score, 2) for f in cued] == [0.95]
    assert [round(f.score, 2) for f in bare] == [0.55]
    assert negative == []
    assert "context +steuer-id" in cued[0].reason
    assert "stdnum.de.idnr" in cued[0].reason


def test_a_detector_without_validator_reports_every_match(tax_scanner):
    text = "membership mbr-004211 renewed"
    found = [(f.type, text[f.start : f.end]) for f in tax_scanner.scan(text)]
    assert found == [("MEMBER_ID", "mbr-004211")]


def test_custom_types_join_the_types_filter_and_the_builtins_keep_working(tax_scanner):
    text = "MBR-123456 and card 4111 1111 1111 1111"
    assert [f.type for f in tax_scanner.scan(text, types=["MEMBER_ID"])] == ["MEMBER_ID"]
    assert [f.type for f in tax_scanner.scan(text)] == ["MEMBER_ID", "PAN"]
    assert "MEMBER_ID" in tax_scanner.types


def test_the_default_scanner_knows_no_custom_types():
    with pytest.raises(Exception, match="unknown finding types"):
        scan("MBR-123456", types=["MEMBER_ID"])


def _entry(**fields: object) -> dict[str, object]:
    return {"detectors": [{"type": "ACME_ID", "pattern": "ACME-[0-9]{4}", **fields}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a mapping"),
        ({"detectors": "nope"}, "must be a list"),
        ({"detectors": [], "extra": 1}, "unknown top-level keys"),
        ({"version": 2, "detectors": []}, "unsupported version"),
        ({"detectors": [{"pattern": "x"}]}, "'type' must be UPPER_SNAKE_CASE"),
        ({"detectors": [{"type": "acme", "pattern": "x"}]}, "'type' must be UPPER_SNAKE_CASE"),
        ({"detectors": [{"type": "PAN", "pattern": "x"}]}, "may not reuse a built-in"),
        ({"detectors": [{"type": "KNOWN_X", "pattern": "x"}]}, "may not reuse a built-in"),
        ({"detectors": [{"type": "ACME_ID"}]}, "'pattern' must be a non-empty string"),
        (_entry(pattern="ACME-(["), "not a valid regular expression"),
        (_entry(pattern="[0-9]*"), "must not match the empty string"),
        (_entry(validator="os.path"), "must name a python-stdnum module"),
        (_entry(validator="stdnum.xx.nothing"), "not found"),
        (_entry(validator="stdnum.util"), "has no is_valid"),
        (_entry(score=1.5), "'score' must be a number between 0 and 1"),
        (_entry(score=True), "'score' must be a number between 0 and 1"),
        (_entry(context="acme"), None),
        (_entry(context=[1, 2]), "'context' must be a list of non-empty strings"),
        (_entry(group=3), "'group' must be 0..0"),
        (_entry(ignore_case="yes"), "'ignore_case' must be true or false"),
        (_entry(colour="red"), "unknown fields"),
        (_entry(context=["x"], context_window=0), "'context_window' must be 1..500"),
        (
            {"detectors": [{"type": "A_ID", "pattern": "a"}, {"type": "A_ID", "pattern": "b"}]},
            "duplicate detector names",
        ),
    ],
)
def test_bad_detector_files_are_refused_with_the_entry_and_field_named(document, message):
    if message is None:
        # a single context word instead of a list is accepted
        assert parse_custom_detectors(document)[0].context is not None
        return
    with pytest.raises(DetectorConfigError, match=message):
        parse_custom_detectors(document, source="ops.yaml")


def test_errors_name_the_file_and_the_entry():
    with pytest.raises(DetectorConfigError, match=r"ops\.yaml: detector #2 \(B_ID\): 'score'"):
        parse_custom_detectors(
            {
                "detectors": [
                    {"type": "A_ID", "pattern": "a"},
                    {"type": "B_ID", "pattern": "b", "score": 7},
                ]
            },
            source="ops.yaml",
        )


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path):
    with pytest.raises(DetectorConfigError, match="cannot read detector file"):
        load_custom_detectors(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("detectors: [\n  - type: X", encoding="utf-8")
    with pytest.raises(DetectorConfigError, match="not valid YAML"):
        load_custom_detectors(broken)


def test_a_capture_group_can_be_the_value(tmp_path):
    # given a detector whose value is the group after a label
    path = tmp_path / "d.yaml"
    path.write_text(
        textwrap.dedent("""
            detectors:
              - type: POLICY_NO
                pattern: 'policy (?:no\\.?|number) ([A-Z]{2}[0-9]{6})'
                group: 1
                ignore_case: true
        """),
        encoding="utf-8",
    )
    text = "Policy number QZ123456 renewed"

    # when scanned
    found = Scanner(detectors=load_custom_detectors(path)).scan(text, types=["POLICY_NO"])

    # then only the group is the finding
    assert [text[f.start : f.end] for f in found] == ["QZ123456"]
