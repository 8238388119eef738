"""Parsers of the formats vulnerability scanners emit (R-OPS-7, R-KPI-6; decision 0242).

Pure: no Django. ``parse(fmt, raw)`` turns one scanner report into a list of ``Finding``; a bad
report raises ``ReportRefused`` naming where (the JSON line and column, or the JSON path of the
offending value) and why — the caller imports nothing from it. Formats:

* ``pip-audit`` — ``pip-audit -f json`` (OSV/PyPI advisories; no severity in the report).
* ``trivy`` — ``trivy ... -f json`` (schema 2: ``Results[].Vulnerabilities[]``).
* ``grype`` — ``grype ... -o json`` (``matches[]``).
* ``sarif`` — SARIF 2.1.0 (any SARIF-emitting scanner; severity from the GitHub
  ``security-severity`` rule property, else the result level).

CVSS 3.x and 4.0 vectors are scored with the ``cvss`` library; a finding with a vector takes its
severity from the score, one without keeps the scanner's label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cvss import CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

FORMATS = ("pip-audit", "trivy", "grype", "sarif")
SEVERITIES = ("critical", "high", "medium", "low", "unknown")


class ReportRefused(ValueError):
    """The report cannot be imported; ``where`` is a line/column or a JSON path."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class Finding:
    scanner: str
    vuln_id: str
    package: str
    version: str
    fixed_version: str
    severity: str  # one of SEVERITIES
    score: float | None = None
    vector: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scanner, self.vuln_id, self.package)


def score_vector(vector: str, where: str) -> tuple[float, str]:
    """Base score and severity (lower case) of a CVSS 3.x or 4.0 vector."""
    try:
        if vector.startswith("CVSS:4.0/"):
            v4 = CVSS4(vector)
            return float(v4.base_score), str(v4.severity).lower()
        if vector.startswith("CVSS:3."):
            v3 = CVSS3(vector)
            return float(v3.base_score), str(v3.severities()[0]).lower()
    except CVSSError as exc:
        raise ReportRefused(where, f"invalid CVSS vector {vector!r}: {exc}") from None
    raise ReportRefused(where, f"not a CVSS 3.x or 4.0 vector: {vector!r}")


def severity_from_score(score: float) -> str:
    """The CVSS qualitative rating (also GitHub's ``security-severity`` convention)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "unknown"


def _label(value: Any, where: str) -> str:
    if value in (None, ""):
        return "unknown"
    if not isinstance(value, str):
        raise ReportRefused(where, "severity must be a string")
    s = value.strip().lower()
    s = {"moderate": "medium", "negligible": "low", "none": "low"}.get(s, s)
    if s not in SEVERITIES:
        raise ReportRefused(where, f"unknown severity {value!r}")
    return s


def _str(obj: Any, key: str, where: str, *, required: bool = True) -> str:
    if not isinstance(obj, dict):
        raise ReportRefused(where, "expected an object")
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise ReportRefused(f"{where}.{key}", "missing")
        return ""
    if not isinstance(value, str):
        raise ReportRefused(f"{where}.{key}", "expected a string")
    return value


def _list(obj: Any, key: str, where: str, *, required: bool = True) -> list[Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise ReportRefused(f"{where}.{key}", "expected a list")
    return value


def _scored(base: dict[str, Any], vector: str, where: str) -> dict[str, Any]:
    if vector:
        score, sev = score_vector(vector, where)
        return {**base, "score": score, "severity": sev, "vector": vector}
    return base


def _pip_audit(doc: Any) -> list[Finding]:
    deps = doc if isinstance(doc, list) else _list(doc, "dependencies", "$")
    out = []
    skipped: list[str] = []
    for i, dep in enumerate(deps):
        w = f"$.dependencies[{i}]"
        name = _str(dep, "name", w)
        if "skip_reason" in dep:
            skipped.append(str(dep["skip_reason"]))
            continue  # pip-audit could not audit it (not on PyPI); not a finding
        version = _str(dep, "version", w)
        for j, v in enumerate(_list(dep, "vulns", w)):
            vw = f"{w}.vulns[{j}]"
            fixes = _list(v, "fix_versions", vw, required=False)
            aliases = _list(v, "aliases", vw, required=False)
            out.append(Finding(scanner="pip-audit", vuln_id=_str(v, "id", vw), package=name,
                               version=version, fixed_version=", ".join(map(str, fixes)),
                               severity="unknown", aliases=tuple(map(str, aliases))))
    if deps and len(skipped) == len(deps):
        # Without its advisory service pip-audit skips every dependency and exits 0: importing
        # that would close every open finding of the source as "fixed".
        raise ReportRefused("$.dependencies", f"no dependency was audited ({len(skipped)} "
                                              f"skipped, e.g. {skipped[0]!r})")
    return out


def _trivy(doc: Any) -> list[Finding]:
    if not isinstance(doc, dict) or "SchemaVersion" not in doc:
        raise ReportRefused("$.SchemaVersion", "missing: not a Trivy JSON report")
    out = []
    for i, res in enumerate(_list(doc, "Results", "$", required=False)):
        w = f"$.Results[{i}]"
        for j, v in enumerate(_list(res, "Vulnerabilities", w, required=False)):
            vw = f"{w}.Vulnerabilities[{j}]"
            base: dict[str, Any] = {
                "scanner": "trivy", "vuln_id": _str(v, "VulnerabilityID", vw),
                "package": _str(v, "PkgName", vw),
                "version": _str(v, "InstalledVersion", vw, required=False),
                "fixed_version": _str(v, "FixedVersion", vw, required=False),
                "severity": _label(v.get("Severity"), f"{vw}.Severity")}
            vector = ""
            cvss = v.get("CVSS") or {}
            if not isinstance(cvss, dict):
                raise ReportRefused(f"{vw}.CVSS", "expected an object")
            for src in ("nvd", "ghsa", "redhat", *sorted(cvss)):
                entry = cvss.get(src)
                if isinstance(entry, dict):
                    vector = entry.get("V40Vector") or entry.get("V3Vector") or ""
                    if vector:
                        src_where = f"{vw}.CVSS.{src}"
                        break
            out.append(Finding(**_scored(base, vector, src_where if vector else vw)))
    return out


def _grype(doc: Any) -> list[Finding]:
    out = []
    for i, m in enumerate(_list(doc, "matches", "$")):
        w = f"$.matches[{i}]"
        vuln = m.get("vulnerability") if isinstance(m, dict) else None
        art = m.get("artifact") if isinstance(m, dict) else None
        if not isinstance(vuln, dict):
            raise ReportRefused(f"{w}.vulnerability", "missing")
        if not isinstance(art, dict):
            raise ReportRefused(f"{w}.artifact", "missing")
        fix = vuln.get("fix") or {}
        fixes = fix.get("versions") or [] if isinstance(fix, dict) else []
        related = [r.get("id") for r in m.get("relatedVulnerabilities") or []
                   if isinstance(r, dict) and r.get("id")]
        base: dict[str, Any] = {
            "scanner": "grype", "vuln_id": _str(vuln, "id", f"{w}.vulnerability"),
            "package": _str(art, "name", f"{w}.artifact"),
            "version": _str(art, "version", f"{w}.artifact", required=False),
            "fixed_version": ", ".join(map(str, fixes)),
            "severity": _label(vuln.get("severity"), f"{w}.vulnerability.severity"),
            "aliases": tuple(str(r) for r in related if r != vuln.get("id"))}
        vector, vw = "", w
        for k, c in enumerate(_list(vuln, "cvss", f"{w}.vulnerability", required=False)):
            cand = c.get("vector") if isinstance(c, dict) else None
            if isinstance(cand, str) and cand.startswith("CVSS:") and cand > vector:
                vector, vw = cand, f"{w}.vulnerability.cvss[{k}].vector"  # the newest version
        out.append(Finding(**_scored(base, vector, vw)))
    return out


_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "low"}


def _sarif(doc: Any) -> list[Finding]:
    if not isinstance(doc, dict) or doc.get("version") != "2.1.0":
        raise ReportRefused("$.version", "not a SARIF 2.1.0 log")
    out = []
    for i, run in enumerate(_list(doc, "runs", "$")):
        w = f"$.runs[{i}]"
        driver = (run.get("tool") or {}).get("driver") if isinstance(run, dict) else None
        if not isinstance(driver, dict):
            raise ReportRefused(f"{w}.tool.driver", "missing")
        tool = _str(driver, "name", f"{w}.tool.driver").lower()
        rules = {r.get("id"): r for r in _list(driver, "rules", f"{w}.tool.driver",
                                               required=False) if isinstance(r, dict)}
        for j, res in enumerate(_list(run, "results", w, required=False)):
            rw = f"{w}.results[{j}]"
            rule_id = _str(res, "ruleId", rw)
            rule = rules.get(rule_id, {})
            props = {**(rule.get("properties") or {}), **(res.get("properties") or {})}
            locs = _list(res, "locations", rw, required=False)
            try:
                package = locs[0]["physicalLocation"]["artifactLocation"]["uri"]
            except (IndexError, KeyError, TypeError):
                package = ""
            package = str(props.get("package") or package or "")
            if not package:
                raise ReportRefused(f"{rw}.locations", "no artifact location or package")
            base: dict[str, Any] = {
                "scanner": f"sarif:{tool}", "vuln_id": rule_id, "package": package,
                "version": str(props.get("installedVersion") or props.get("version") or ""),
                "fixed_version": str(props.get("fixedVersion") or ""),
                "severity": _LEVELS.get(str(res.get("level") or rule.get(
                    "defaultConfiguration", {}).get("level") or "warning"), "medium")}
            sec = props.get("security-severity")
            if sec is not None:
                try:
                    score = float(sec)
                except (TypeError, ValueError):
                    raise ReportRefused(f"{rw}.properties.security-severity",
                                        f"not a number: {sec!r}") from None
                if not 0 <= score <= 10:
                    raise ReportRefused(f"{rw}.properties.security-severity",
                                        f"out of 0-10: {score}")
                base.update(score=score, severity=severity_from_score(score))
            vector = props.get("cvssV3_vector") or props.get("cvssV4_vector") or ""
            out.append(Finding(**_scored(base, str(vector), f"{rw}.properties")))
    return out


_PARSERS = {"pip-audit": _pip_audit, "trivy": _trivy, "grype": _grype, "sarif": _sarif}


def parse(fmt: str, raw: bytes | str) -> list[Finding]:
    """All findings of one report, or ``ReportRefused``. Duplicates (same scanner, id and
    package, e.g. one package found in two targets) are merged, keeping the highest score."""
    if fmt not in _PARSERS:
        raise ReportRefused("format", f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ReportRefused(f"byte {exc.start}", "not UTF-8") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportRefused(f"line {exc.lineno} column {exc.colno}", exc.msg) from None
    merged: dict[tuple[str, str, str], Finding] = {}
    try:
        found = _PARSERS[fmt](doc)
    except ReportRefused:
        raise
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # A shape the field checks above did not foresee: still a refusal, never a crash.
        raise ReportRefused("$", f"unexpected structure ({type(exc).__name__}: {exc})") from None
    for f in found:
        prev = merged.get(f.key)
        if prev is None or (f.score or -1) > (prev.score or -1):
            merged[f.key] = f
    return list(merged.values())
