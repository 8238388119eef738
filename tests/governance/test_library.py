"""The framework libraries and the controls file (R-REG-1): what ships loads, every control's
check exists, and a malformed file is refused with its file, line and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core import checks

from safeguard.governance import evaluators, selectors
from safeguard.governance.library import BUILTIN_DIR, LibraryError, load

EXPECTED = {"pci_dss": 22, "gdpr": 13, "ccpa": 9, "hipaa": 13, "soc2": 16, "iso27001": 20}


def test_the_shipped_libraries_load_with_source_licence_and_coverage():
    lib = load()
    assert {f.id: len(f.requirements) for f in lib.frameworks} == EXPECTED
    for f in lib.frameworks:
        assert f.source
        assert f.licence
        assert f.coverage
        # the documented size is the real one (docs/governance.md repeats these numbers)
        assert f"{len(f.requirements)} " in f.coverage
    assert {c.check for c in lib.controls if not c.manual} <= set(evaluators.REGISTRY)
    assert {c.id for c in lib.controls if c.manual} >= {"SG-PH-01", "SG-HR-01"}
    # many-to-many: a control maps to several frameworks, a requirement to several controls
    assert len({fid for fid, _ in lib.control("SG-AC-01").maps}) >= 3
    assert {c.id for c in lib.controls_for("pci_dss", "10.4.1")} == {"SG-LG-03", "SG-DT-01"}


def test_the_training_control_maps_to_each_framework_s_awareness_training_requirement():
    # SG-WF-01 once named HIPAA 164.308(a)(8) (evaluation), ISO A.5.35 (independent review) and
    # CCPA 1798.185(a)(15) (audit rule-making); none is about training
    lib = load()
    assert sorted(lib.control("SG-WF-01").maps) == sorted([
        ("pci_dss", "12.6.1"), ("pci_dss", "12.6.3"), ("hipaa", "164.308(a)(5)(i)"),
        ("iso27001", "A.6.3"), ("soc2", "CC1.4"), ("soc2", "CC2.2"),
        ("gdpr", "Art. 39(1)(b)"), ("ccpa", "1798.130(a)(6)")])
    assert {c.id for c in lib.controls_for("iso27001", "A.6.3")} == {"SG-WF-01"}
    assert "SG-WF-01" not in {c.id for c in lib.controls_for("iso27001", "A.5.35")}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(BUILTIN_DIR / "frameworks", tmp_path / "frameworks")
    shutil.copy(BUILTIN_DIR / "controls.yaml", tmp_path / "controls.yaml")
    return tmp_path


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_control_mapping_to_an_unknown_requirement_is_refused_with_its_line(copy):
    controls = copy / "controls.yaml"
    _replace(controls, 'pci_dss: ["8.4.1"]', 'pci_dss: ["8.4.9"]')
    with pytest.raises(LibraryError) as err:
        load(copy)
    assert err.value.path.name == "controls.yaml"
    assert err.value.line == _line_of(controls, '"8.4.9"')
    assert "pci_dss has no requirement '8.4.9'" in str(err.value)


def test_a_duplicate_requirement_and_bad_yaml_are_refused_with_their_lines(copy):
    gdpr = copy / "frameworks" / "gdpr.yaml"
    _replace(gdpr, '"Art. 15"', '"Art. 17"')
    with pytest.raises(LibraryError, match=r"gdpr.yaml:\d+: requirement 'Art. 17' appears twice"):
        load(copy)
    gdpr.write_text("id: gdpr\nrequirements: [\n  - broken\n")
    with pytest.raises(LibraryError, match=r"gdpr.yaml:\d+: not valid YAML"):
        load(copy)


def test_an_unknown_key_or_missing_title_is_refused(copy):
    hipaa = copy / "frameworks" / "hipaa.yaml"
    _replace(hipaa, "    title: Verify that a person", "    titel: Verify that a person")
    with pytest.raises(LibraryError) as err:
        load(copy)
    assert "unknown keys ['titel']" in err.value.reason
    assert err.value.line == _line_of(hipaa, '"164.312(d)"')


def test_the_system_check_reports_a_broken_library_and_an_unknown_check(copy, settings):
    settings.SAFEGUARD_GOVERNANCE_LIBRARY_DIR = str(copy)
    _replace(copy / "controls.yaml", "check: key_rotation", "check: key_rotatoin")
    ids = [m.id for m in checks.run_checks() if m.id.startswith("safeguard.E54")]
    assert ids == ["safeguard.E541"]
    (copy / "controls.yaml").write_text("controls: {}\n")
    selectors.reset()
    errors = [m for m in checks.run_checks() if m.id == "safeguard.E540"]
    assert len(errors) == 1
    assert "controls.yaml:1" in errors[0].msg
