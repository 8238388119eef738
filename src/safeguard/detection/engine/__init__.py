"""The pure evaluation core of detection: Sigma rules and UEBA over plain event dicts.

Imports no Django (ARCHITECTURE.md, Layers). The Django side feeds it integrated audit events
in sequence order and persists what it returns; see ``contracts``.

Public API (docs/detection.md, "Engine API"):

- ``shipped_pack()`` / ``load_pack(paths)`` / ``compile_pack([(path, text)])`` -> ``RulePack``;
  ``RulePackError.errors`` lists ``RuleError(path, line, reason)``;
- ``DetectionEngine(pack, ueba=UebaParams(...), peer_groups={...})`` is the ``Evaluator``:
  ``process(events) -> list[Finding]``, ``checkpoint() -> dict``, ``restore(dict)``;
- ``cli.rules_report(paths)`` and ``cli.backtest(rule_paths, events)`` are the cores of
  ``safeguard detection rules`` and ``safeguard detection test``.
"""

from safeguard.detection.engine.contracts import SEVERITIES, Evaluator, Finding
from safeguard.detection.engine.evaluator import CheckpointMismatch, DetectionEngine, run
from safeguard.detection.engine.rules import (
    SHIPPED_RULES,
    CorrelationRule,
    EventRule,
    RuleError,
    RulePack,
    RulePackError,
    compile_pack,
    load_pack,
    shipped_pack,
)
from safeguard.detection.engine.ueba import METRICS, Metric, UebaParams, ueba_params

__all__ = [
    "METRICS",
    "SEVERITIES",
    "SHIPPED_RULES",
    "CheckpointMismatch",
    "CorrelationRule",
    "DetectionEngine",
    "Evaluator",
    "EventRule",
    "Finding",
    "Metric",
    "RuleError",
    "RulePack",
    "RulePackError",
    "UebaParams",
    "compile_pack",
    "load_pack",
    "run",
    "shipped_pack",
    "ueba_params",
]
