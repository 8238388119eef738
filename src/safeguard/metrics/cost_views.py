"""Pages of the cost, ROI and planning model (R-KPI-10, R-OPS-10): the model with what-if
parameters (GET, nothing saved), changing an input (POST, kept with its source and audited),
and the export of inputs and outputs as CSV and JSON (the same document the page shows)."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from safeguard.accounts.guards import permission_required, request_actor, request_permissions
from safeguard.audit import services as audit
from safeguard.metrics import cost_selectors, cost_services, costmodel
from safeguard.metrics import permissions as perm
from safeguard.metrics.contracts import MetricsError

CENT = Decimal("0.01")
SLIDERS = ("annual_breach_likelihood", "programme_reduction")  # shares shown as range inputs
FOUR = Decimal("0.0001")

FORMULAS = {
    "expected_cost": "records held × cost per record, per record class",
    "impact": "Σ expected cost over the record classes (basis 'records') or the average cost "
              "of a data breach (basis 'average')",
    "ale": "annual loss expectancy = annual breach likelihood × impact",
    "residual_ale": "ALE × (1 − likelihood reduction from the controls)",
    "ale_reduction": "ALE × likelihood reduction",
    "training_cost": "training hours per person × staff × cost of one training hour",
    "headcount_cost": "security staff (FTE) × loaded cost per FTE per year",
    "controls_cost": "Σ control costs that are set, training and headcount costs included",
    "rosi": "(ALE reduction − control cost) ÷ control cost",
    "fine_exposure_eur": "GDPR Art. 83(5): the higher of EUR 20 000 000 and 4 % of worldwide "
                         "annual turnover",
}


def money(v: Decimal | None) -> str | None:
    """A money figure as it is exported: rounded half up to cents; None stays None."""
    return None if v is None else str(v.quantize(CENT, rounding=ROUND_HALF_UP))


def ratio(v: Decimal | None) -> str | None:
    """A share or ROSI as it is exported: four decimals."""
    return None if v is None else str(v.quantize(FOUR, rounding=ROUND_HALF_UP))


def _value_text(v: Decimal | str | None) -> str | None:
    return None if v is None else str(v)


def document(values: dict[str, Decimal | str | None], out: costmodel.Outputs,
             overridden: set[str]) -> dict[str, Any]:
    """Inputs (with their sources) and outputs as plain data: what the page shows and what the
    export contains, so the two cannot disagree."""
    spec = cost_selectors.spec()
    states = {s.key: s for s in cost_selectors.input_states()}
    inputs = []
    for i in spec.inputs:
        s = states[i.key]
        inputs.append({"key": i.key, "label": i.label, "kind": i.kind, "unit": i.unit,
                       "value": _value_text(values.get(i.key)),
                       "default": _value_text(i.default),
                       "source": s.source if i.key not in overridden
                       else "what-if value (not saved)",
                       "what_if": i.key in overridden})
    records = [{"key": r.key, "label": r.label, "records": r.records,
                "cost_per_record": money(r.cost_per_record),
                "expected_cost": money(r.expected_cost)} for r in out.records]
    controls = [{"key": c.key, "label": c.label, "cost": money(c.cost),
                 "reduction": ratio(c.reduction), "ale_reduction": money(c.ale_reduction),
                 "rosi": ratio(c.rosi)} for c in out.controls]
    outputs = {
        "records_cost": money(out.records_cost),
        "records_incomplete": out.records_incomplete,
        "impact_basis": out.impact_basis,
        "impact": money(out.impact),
        "likelihood": ratio(out.likelihood),
        "ale": money(out.ale),
        "reduction": ratio(out.reduction),
        "residual_ale": money(out.residual_ale),
        "ale_reduction": money(out.ale_reduction),
        "staff": out.staff,
        "training_hours_per_person": _value_text(out.training_hours_per_person),
        "training_hours_source": out.training_hours_source,
        "training_cost": money(out.training_cost),
        "headcount_cost": money(out.headcount_cost),
        "controls_cost": money(out.controls_cost),
        "rosi": ratio(out.rosi),
        "turnover_eur": money(out.turnover_eur),
        "fine_exposure_eur": money(out.fine_exposure_eur),
        "fine_turnover_known": out.fine_turnover_known,
    }
    return {"model": "safeguard cost, ROI and planning model", "version": 1,
            "as_of": timezone.now().isoformat(), "currency": spec.currency,
            "inputs": inputs, "records": records, "controls": controls, "outputs": outputs,
            "notes": list(out.notes), "formulas": FORMULAS}


def _computed(request: HttpRequest) -> tuple[dict[str, Any] | None, str]:
    spec = cost_selectors.spec()
    try:
        over = costmodel.overrides(spec, request.GET)
    except costmodel.InputError as exc:
        return None, str(exc)
    saved = cost_selectors.current_values()
    changed = {k: v for k, v in over.items() if v != saved.get(k)}
    values, out = cost_selectors.compute(overrides=changed)
    return document(values, out, set(changed)), ""


_MONEY_OUT = ("records_cost", "impact", "ale", "residual_ale", "ale_reduction",
              "training_cost", "headcount_cost", "controls_cost")
_SHARE_OUT = ("likelihood", "reduction", "rosi")


def _grouped(text: str) -> str:
    whole, _, frac = text.partition(".")
    sign = "−" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}" + (f".{frac}" if frac else "")


def shown(doc: dict[str, Any]) -> dict[str, str]:
    """The outputs for people: money with thousands separators and its currency, shares and
    ROSI as percentages; an output that cannot be computed is absent."""
    out: dict[str, str] = {}
    o = doc["outputs"]
    for k in _MONEY_OUT:
        if o[k] is not None:
            out[k] = f"{doc['currency']} {_grouped(o[k])}"
    for k in _SHARE_OUT:
        if o[k] is not None:
            pct = (Decimal(o[k]) * 100).quantize(CENT, rounding=ROUND_HALF_UP)
            out[k] = f"{_grouped(str(pct))} %"
    out["fine_exposure_eur"] = f"EUR {_grouped(o['fine_exposure_eur'])}"
    return out


@permission_required(perm.KPIS_VIEW)
@require_GET
def cost_page(request: HttpRequest) -> HttpResponse:
    """The model: record classes, ALE, reduction, control costs, ROSI, GDPR fine exposure;
    GET parameters named like the inputs are what-if values for this view only."""
    doc, error = _computed(request)
    status = 200
    if doc is None:
        status = 400
        doc, _ = _computed(HttpRequest())
    can_edit = perm.COST_MODEL_EDIT in request_permissions(request)
    assert doc is not None  # noqa: S101 - the request without parameters always computes
    by_key = {i["key"]: i for i in doc["inputs"]}
    share_inputs = [i for i in doc["inputs"] if i["key"] in SLIDERS]
    other_inputs = [i for i in doc["inputs"] if i["key"] not in SLIDERS]
    return render(request, "metrics/cost/model.html", {
        "doc": doc, "shown": shown(doc), "error": error, "can_edit": can_edit, "by_key": by_key,
        "share_inputs": share_inputs, "other_inputs": other_inputs,
        "query": request.GET.urlencode() if status == 200 else "",
        "history": cost_selectors.input_history(limit=50),
        "coverage": cost_selectors.category_coverage(),
        "impact_bases": costmodel.IMPACT_BASES,
    }, status=status)


@permission_required(perm.KPIS_VIEW)
@require_GET
def cost_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The inputs (with sources) and outputs of the model, what-if values included, as JSON or
    CSV. Audited."""
    if fmt not in ("json", "csv"):
        return HttpResponse("format must be csv or json", status=400,
                            content_type="text/plain; charset=utf-8")
    doc, error = _computed(request)
    if doc is None:
        return HttpResponse(f"The export was not made: {error}", status=400,
                            content_type="text/plain; charset=utf-8")
    audit.record(action="metrics.cost_model_exported", actor=request_actor(request),
                 data={"format": fmt, "what_if": sorted(i["key"] for i in doc["inputs"]
                                                        if i["what_if"])})
    if fmt == "json":
        response = HttpResponse(json.dumps(doc, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(to_csv(doc), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cost-model.{fmt}"'
    return response


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas (a source note is free text, e.g. ``=HYPERLINK(...)``):
    text starting with = + - @ (or a tab or CR) gets a leading quote unless it is a plain number
    (a negative ROSI stays a number). Decision 0135."""
    if not isinstance(value, str) or value[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return value
    try:
        if Decimal(value).is_finite():
            return value
    except (InvalidOperation, ValueError):
        pass
    return "'" + value


class _SafeWriter:
    def __init__(self, buf: io.StringIO) -> None:
        self._w = csv.writer(buf, lineterminator="\n")

    def writerow(self, row: list[object]) -> None:
        self._w.writerow([_cell(v) for v in row])


def to_csv(doc: dict[str, Any]) -> str:
    """The document as CSV rows: section, key, label, value, unit, source."""
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow(["section", "key", "label", "value", "unit", "source"])
    for i in doc["inputs"]:
        w.writerow(["input", i["key"], i["label"], i["value"] or "", i["unit"], i["source"]])
    for r in doc["records"]:
        w.writerow(["records", r["key"], r["label"], "" if r["records"] is None
                    else r["records"], "records", "live count"])
        w.writerow(["expected_cost", r["key"], r["label"], r["expected_cost"] or "",
                    doc["currency"], FORMULAS["expected_cost"]])
    for c in doc["controls"]:
        w.writerow(["control_rosi", c["key"], c["label"], c["rosi"] or "", "ratio",
                    FORMULAS["rosi"]])
    for k, v in doc["outputs"].items():
        w.writerow(["output", k, k, "" if v is None else v, "", FORMULAS.get(k, "")])
    return buf.getvalue()


@permission_required(perm.COST_MODEL_EDIT)
@require_POST
def cost_input_set(request: HttpRequest) -> HttpResponse:
    """Change one input of the model, with the source of the new figure."""
    try:
        state = cost_services.cost_input_set(
            actor=request_actor(request), user_id=request.user.pk,
            key=request.POST.get("key", "")[:100], value=request.POST.get("value", "")[:100],
            source_note=request.POST.get("source_note", "")[:1000])
    except MetricsError as exc:
        return HttpResponse(f"The input was not changed: {exc.detail}", status=400,
                            content_type="text/plain; charset=utf-8")
    shown = "unset" if state.value is None else str(state.value)
    messages.success(request, f"{state.label} is now {shown}.")
    return redirect("metrics:cost")
