"""The cost, ROI and planning model (R-KPI-10, R-OPS-10): a pure core, plain data in and out,
no Django (the pure-core contract of import-linter).

Every figure is an *input with a source*, never a claim: benchmark defaults ship in
``costmodel.yaml`` beside this module, authorised users change them (the metrics app keeps the
history), and the what-if form overrides them for one computation. Money is ``Decimal``; the
outputs are rounded to cents only when shown.

Formulas (docs/metrics.md, "Cost, ROI and planning"):

* expected breach cost of a record class = records held × cost per record; the breach impact is
  the sum over the classes (``impact_basis = records``) or the benchmark average cost of a
  breach (``impact_basis = average``);
* annual loss expectancy ALE = annual breach likelihood × impact;
* residual ALE = ALE × (1 − reduction); ALE reduction = ALE × reduction;
* ROSI = (ALE reduction − control cost) / control cost (undefined when the cost is 0);
* programme: reduction = the programme reduction input, cost = Σ control costs;
  per control: its own reduction input (when set) against its own cost;
* training cost = training hours per person × staff × hourly cost;
* headcount cost = security staff (full-time equivalents) × loaded cost per FTE per year;
* cost of the controls = Σ control costs that are set + training cost + headcount cost;
* GDPR fine exposure (Art. 83(5)) = max(EUR 20 000 000, 4 % × worldwide annual turnover);
  without a turnover only the EUR 20 M floor is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

GDPR_FINE_FLOOR_EUR = Decimal("20000000")
"""GDPR Art. 83(5): fines up to EUR 20 000 000 ..."""
GDPR_FINE_TURNOVER_SHARE = Decimal("0.04")
"""... or up to 4 % of the total worldwide annual turnover, whichever is higher."""

RECORDS = "records"
AVERAGE = "average"
IMPACT_BASES = (RECORDS, AVERAGE)

# Input kinds and their accepted ranges.
MONEY = "money"  # >= 0
SHARE = "share"  # 0..1
HOURS = "hours"  # >= 0
COUNT = "count"  # >= 0 (people, full-time equivalents)
CHOICE = "choice"

MAX_MONEY = Decimal("1e15")
MAX_HOURS = Decimal("10000")
MAX_COUNT = Decimal("1000000")


class InputError(ValueError):
    """An input value is not acceptable (the message says which and why)."""


@dataclass(frozen=True)
class InputSpec:
    """One editable input: its key, label, kind, default (None = no published default) and the
    source of the default."""

    key: str
    label: str
    kind: str
    default: Decimal | str | None
    source: str
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class RecordClass:
    """A class of records the platform holds: which inventory data categories it covers, which
    live count measures it and which input prices one record."""

    key: str
    label: str
    categories: tuple[str, ...]
    count: str  # name of the live count (metrics.cost_selectors.COUNTS)
    cost_input: str


@dataclass(frozen=True)
class ControlSpec:
    """A control with a yearly cost input, an optional reduction input and the source
    document's planning range for its cost."""

    key: str
    label: str
    cost_input: str
    reduction_input: str
    planning_range: str


@dataclass(frozen=True)
class ModelSpec:
    currency: str
    inputs: tuple[InputSpec, ...]
    record_classes: tuple[RecordClass, ...]
    controls: tuple[ControlSpec, ...]

    def input(self, key: str) -> InputSpec:
        for i in self.inputs:
            if i.key == key:
                return i
        raise KeyError(key)


def _dec(value: object, where: str) -> Decimal:
    if isinstance(value, bool):
        raise InputError(f"{where}: expected a number, got {value!r}")
    try:
        d = Decimal(str(value).strip().replace("_", ""))
    except (InvalidOperation, ValueError):
        raise InputError(f"{where}: {str(value)[:40]!r} is not a number") from None
    if not d.is_finite():
        raise InputError(f"{where}: must be a finite number")
    return d


def parse_value(spec: InputSpec, raw: object) -> Decimal | str | None:
    """``raw`` as a value of ``spec``; an empty string or None means "unset". Out of range or
    malformed input raises InputError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if spec.kind == CHOICE:
        text = str(raw).strip()
        if text not in IMPACT_BASES:
            raise InputError(f"{spec.label}: must be one of {', '.join(IMPACT_BASES)}")
        return text
    d = _dec(raw, spec.label)
    if d < 0:
        raise InputError(f"{spec.label}: must not be negative")
    if spec.kind == SHARE and d > 1:
        raise InputError(f"{spec.label}: a share between 0 and 1 (e.g. 0.3 for 30 %)")
    if spec.kind == MONEY and d > MAX_MONEY:
        raise InputError(f"{spec.label}: larger than {MAX_MONEY:,.0f}")
    if spec.kind == HOURS and d > MAX_HOURS:
        raise InputError(f"{spec.label}: more than {MAX_HOURS} hours")
    if spec.kind == COUNT and d > MAX_COUNT:
        raise InputError(f"{spec.label}: more than {MAX_COUNT:,.0f}")
    return d


def spec_from_document(doc: Mapping[str, object]) -> ModelSpec:
    """The model's specification from the parsed YAML data file (a malformed file raises)."""
    inputs: list[InputSpec] = []
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, Mapping):
        raise InputError("costmodel: 'inputs' must be a mapping")
    for key, body in raw_inputs.items():
        if not isinstance(body, Mapping) or not {"label", "kind", "source"} <= set(body):
            raise InputError(f"costmodel: input {key!r} needs label, kind, source")
        kind = str(body["kind"])
        if kind not in (MONEY, SHARE, HOURS, COUNT, CHOICE):
            raise InputError(f"costmodel: input {key!r} has unknown kind {kind!r}")
        spec = InputSpec(key=str(key), label=str(body["label"]), kind=kind, default=None,
                         source=str(body["source"]), unit=str(body.get("unit", "")),
                         note=str(body.get("note", "")))
        default = parse_value(spec, body.get("default"))
        inputs.append(InputSpec(key=spec.key, label=spec.label, kind=kind, default=default,
                                source=spec.source, unit=spec.unit, note=spec.note))
    keys = {i.key for i in inputs}
    classes = tuple(
        RecordClass(key=str(c["key"]), label=str(c["label"]),
                    categories=_strings(c.get("categories")),
                    count=str(c["count"]), cost_input=str(c["cost_input"]))
        for c in _list(doc, "record_classes"))
    controls = tuple(
        ControlSpec(key=str(c["key"]), label=str(c["label"]), cost_input=str(c["cost_input"]),
                    reduction_input=str(c["reduction_input"]),
                    planning_range=str(c.get("planning_range", "")))
        for c in _list(doc, "controls"))
    for ref in [c.cost_input for c in classes] + [x for c in controls
                                                  for x in (c.cost_input, c.reduction_input)]:
        if ref not in keys:
            raise InputError(f"costmodel: {ref!r} is referenced but not an input")
    return ModelSpec(currency=str(doc.get("currency", "USD")), inputs=tuple(inputs),
                     record_classes=classes, controls=controls)


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InputError(f"costmodel: expected a list, got {value!r}")
    return tuple(str(x) for x in value)


def _list(doc: Mapping[str, object], name: str) -> list[Mapping[str, object]]:
    items = doc.get(name) or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InputError(f"costmodel: {name!r} must be a list of mappings")
    return items


@dataclass(frozen=True)
class RecordCost:
    key: str
    label: str
    records: int | None  # None: the live count is unavailable
    cost_per_record: Decimal | None
    expected_cost: Decimal | None  # None when either factor is missing


@dataclass(frozen=True)
class ControlResult:
    key: str
    label: str
    cost: Decimal | None
    reduction: Decimal | None
    ale_reduction: Decimal | None
    rosi: Decimal | None


@dataclass(frozen=True)
class Outputs:
    """Everything the page and the export show, computed from one set of values."""

    records: tuple[RecordCost, ...]
    records_cost: Decimal  # Σ expected cost over classes with both factors
    records_incomplete: bool  # some class lacks a count or a cost per record
    impact_basis: str
    impact: Decimal | None
    likelihood: Decimal | None
    ale: Decimal | None
    reduction: Decimal | None
    residual_ale: Decimal | None
    ale_reduction: Decimal | None
    training_hours_per_person: Decimal | None
    training_hours_source: str
    staff: int
    training_cost: Decimal | None
    headcount_cost: Decimal | None
    controls: tuple[ControlResult, ...]
    controls_cost: Decimal  # Σ of the control costs that are set (training, headcount included)
    rosi: Decimal | None
    turnover_eur: Decimal | None
    fine_exposure_eur: Decimal  # the cap; the EUR 20 M floor without a turnover
    fine_turnover_known: bool
    notes: tuple[str, ...] = field(default=())


def _num(values: Mapping[str, Decimal | str | None], key: str) -> Decimal | None:
    v = values.get(key)
    return v if isinstance(v, Decimal) else None


def rosi(ale_reduction: Decimal, cost: Decimal) -> Decimal | None:
    """(ALE reduction − cost) / cost; None when the cost is 0 (no return on nothing spent)."""
    if cost == 0:
        return None
    return (ale_reduction - cost) / cost


def fine_exposure(turnover_eur: Decimal | None) -> Decimal:
    """GDPR Art. 83(5) cap: the higher of EUR 20 M and 4 % of worldwide annual turnover."""
    if turnover_eur is None:
        return GDPR_FINE_FLOOR_EUR
    return max(GDPR_FINE_FLOOR_EUR, turnover_eur * GDPR_FINE_TURNOVER_SHARE)


def compute(spec: ModelSpec, values: Mapping[str, Decimal | str | None], *,
            counts: Mapping[str, int | None], staff: int,
            measured_training_hours: float | None) -> Outputs:
    """The model's outputs for ``values`` (every input key; None = unset), the live record
    ``counts`` by count name, the active ``staff`` count and the training hours per person
    measured by the governance provider (None when it is not registered or has no data)."""
    notes: list[str] = []
    records: list[RecordCost] = []
    total = Decimal(0)
    incomplete = False
    for rc in spec.record_classes:
        n = counts.get(rc.count)
        cpr = _num(values, rc.cost_input)
        cost = Decimal(n) * cpr if n is not None and cpr is not None else None
        if cost is None:
            incomplete = True
        else:
            total += cost
        records.append(RecordCost(key=rc.key, label=rc.label, records=n, cost_per_record=cpr,
                                  expected_cost=cost))
    basis = values.get("impact_basis")
    basis = basis if isinstance(basis, str) else RECORDS
    impact = total if basis == RECORDS else _num(values, "average_breach_cost")
    if basis == RECORDS and incomplete:
        notes.append("some record classes have no count or no cost per record: they are left "
                     "out of the impact")
    likelihood = _num(values, "annual_breach_likelihood")
    ale = likelihood * impact if likelihood is not None and impact is not None else None
    reduction = _num(values, "programme_reduction")
    residual = ale * (1 - reduction) if ale is not None and reduction is not None else None
    ale_red = ale * reduction if ale is not None and reduction is not None else None
    if measured_training_hours is not None:
        hours: Decimal | None = Decimal(str(measured_training_hours))
        hours_source = "measured (provider kpi.training_hours_per_person)"
    else:
        hours = _num(values, "training_hours_per_person")
        hours_source = ("input (no measured value)" if hours is not None
                        else "unavailable: not measured and no input set")
    hourly = _num(values, "training_hourly_cost")
    training = hours * staff * hourly if hours is not None and hourly is not None else None
    fte, fte_cost = _num(values, "security_headcount"), _num(values, "security_fte_cost")
    headcount = fte * fte_cost if fte is not None and fte_cost is not None else None
    controls: list[ControlResult] = []
    controls_cost = (training or Decimal(0)) + (headcount or Decimal(0))
    for c in spec.controls:
        cost = _num(values, c.cost_input)
        red = _num(values, c.reduction_input)
        if cost is not None:
            controls_cost += cost
        c_red = ale * red if ale is not None and red is not None else None
        controls.append(ControlResult(
            key=c.key, label=c.label, cost=cost, reduction=red, ale_reduction=c_red,
            rosi=rosi(c_red, cost) if c_red is not None and cost is not None else None))
    programme_rosi = rosi(ale_red, controls_cost) if ale_red is not None else None
    turnover = _num(values, "annual_turnover_eur")
    return Outputs(
        records=tuple(records), records_cost=total, records_incomplete=incomplete,
        impact_basis=basis, impact=impact, likelihood=likelihood, ale=ale, reduction=reduction,
        residual_ale=residual, ale_reduction=ale_red, training_hours_per_person=hours,
        training_hours_source=hours_source, staff=staff, training_cost=training,
        headcount_cost=headcount,
        controls=tuple(controls), controls_cost=controls_cost, rosi=programme_rosi,
        turnover_eur=turnover, fine_exposure_eur=fine_exposure(turnover),
        fine_turnover_known=turnover is not None, notes=tuple(notes))


def overrides(spec: ModelSpec, params: Mapping[str, str],
              keys: Sequence[str] | None = None) -> dict[str, Decimal | str | None]:
    """What-if values from request parameters named like the inputs (only those present);
    a malformed one raises InputError."""
    out: dict[str, Decimal | str | None] = {}
    for i in spec.inputs:
        if (keys is None or i.key in keys) and i.key in params:
            out[i.key] = parse_value(i, params[i.key])
    return out
