"""Incident pages (R-IR-1, R-IR-2, R-IR-6, R-IR-7, R-REG-3). Thin: parse, authorize, call one
service or selector, render. Containment and the affected-customer list need a fresh step-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.audit import services as audit
from safeguard.incidents import clocks, communications, selectors, services
from safeguard.incidents.contracts import AffectedCustomer, IncidentNotFound
from safeguard.incidents.enums import (
    Category,
    ExerciseKind,
    IncidentRole,
    ItemStatus,
    RetainerKind,
    RetestResult,
    Severity,
)
from safeguard.incidents.permissions import (
    INCIDENTS_AFFECTED,
    INCIDENTS_CONTAIN,
    INCIDENTS_MANAGE,
    INCIDENTS_VIEW,
)
from safeguard.web.errors import ApplicationError

_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _jurisdiction_choices() -> list[tuple[str, str]]:
    return [(j.code, f"{j.code} - {j.name}") for j in selectors.jurisdiction_rows()]


class OpenForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=Severity.choices)
    category = forms.ChoiceField(choices=Category.choices)
    aware_at = forms.DateTimeField(label="Aware since", widget=_DT,
                                   help_text="When the organisation became aware (starts every "
                                             "clock)")
    jurisdictions = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              max_length=5000)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["jurisdictions"].choices = _jurisdiction_choices()  # type: ignore[attr-defined]


class JurisdictionsForm(forms.Form):
    jurisdictions = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["jurisdictions"].choices = _jurisdiction_choices()  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=IncidentRole.choices)
    user = forms.TypedChoiceField(coerce=int, label="Staff member")
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["user"].choices = [  # type: ignore[attr-defined]
            (u.id, u.email) for u in account_selectors.user_list(include_disabled=False)
            if not u.is_service_account]


class TimelineForm(forms.Form):
    at = forms.DateTimeField(label="When", widget=_DT)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class DelayForm(forms.Form):
    jurisdiction = forms.ChoiceField(required=False)
    starts_at = forms.DateTimeField(label="Delay from", widget=_DT)
    ends_at = forms.DateTimeField(label="Delay until", widget=_DT, required=False,
                                  help_text="Empty while the request stands")
    reason = forms.CharField(max_length=2000, help_text="The agency's request, as stated")
    evidence = forms.CharField(max_length=2000,
                               help_text="Where the written request (or the note of an oral "
                                         "one) is kept")

    def __init__(self, *args: object, codes: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["jurisdiction"].choices = [("", "All")] + [  # type: ignore[attr-defined]
            (c, c) for c in codes]


class NoticeForm(forms.Form):
    jurisdiction = forms.ChoiceField()
    approx_subjects = forms.IntegerField(label="Approximate number of data subjects",
                                         min_value=0)
    approx_records = forms.IntegerField(label="Approximate number of records", min_value=0)
    data_categories = forms.CharField(label="Categories of personal data", max_length=2000)
    likely_consequences = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                                          max_length=4000)
    delay_reasons = forms.CharField(label="Reasons for the delay (required when late)",
                                    required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: object, codes: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["jurisdiction"].choices = [(c, c) for c in codes]  # type: ignore[attr-defined]


class ContainUserForm(forms.Form):
    user = forms.IntegerField(label="Staff user id", min_value=1)
    reason = forms.CharField(max_length=200)


class ContainTokenForm(forms.Form):
    token = forms.IntegerField(label="API token id", min_value=1)
    reason = forms.CharField(max_length=200)


class AffectedForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "Staff user id"), ("token", "API token id"),
                                      ("ip", "Source address")], label="Suspect")
    value = forms.CharField(max_length=64)
    since = forms.DateTimeField(widget=_DT)
    until = forms.DateTimeField(widget=_DT)


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return (f"{days} d " if days else "") + f"{hours} h {mins:02d} min"


def _sla_rows(clocks_: list[clocks.SlaClock]) -> list[dict[str, object]]:
    """Each clock with its state in words: met (on time / late), time remaining, or overdue."""
    rows = []
    for c in clocks_:
        if c.met_at is not None:
            text = f"met {'late' if c.breached else 'on time'}"
        elif c.remaining is not None and c.remaining.total_seconds() >= 0:
            text = f"{_span(c.remaining.total_seconds())} left"
        else:
            text = f"overdue by {_span(c.remaining.total_seconds() if c.remaining else 0)}"
        rows.append({"clock": c, "text": text})
    return rows


def _fail(request: HttpRequest, exc: ApplicationError) -> None:
    messages.error(request, exc.detail)


@permission_required(INCIDENTS_VIEW)
def incident_list(request: HttpRequest) -> HttpResponse:
    form = OpenForm(request.POST or None)
    if request.method == "POST":
        if INCIDENTS_MANAGE not in request_permissions(request):
            return HttpResponse("Opening incidents needs incidents.manage.", status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                view = services.incident_open(
                    actor=request_actor(request), title=d["title"], severity=d["severity"],
                    category=d["category"], aware_at=d["aware_at"], summary=d["summary"],
                    jurisdictions=d["jurisdictions"])
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                return redirect("incidents:detail", incident_id=view.id)
    now = timezone.now()
    rows = [(i, _sla_rows(selectors.sla_for(i, now=now))) for i in selectors.incident_list()]
    return render(request, "incidents/list.html", {
        "rows": rows, "form": form,
        "can_manage": INCIDENTS_MANAGE in request_permissions(request),
        "can_affected": INCIDENTS_AFFECTED in request_permissions(request)},
        status=400 if form.errors else 200)


@permission_required(INCIDENTS_VIEW)
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        view = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    perms = request_permissions(request)
    now = timezone.now()
    return render(request, "incidents/detail.html", {
        "i": view, "now": now, "sla": _sla_rows(selectors.sla_for(view, now=now)),
        "notices": selectors.notices_owed(incident_id=view.id),
        "roles": selectors.role_list(incident_id=view.id),
        "timeline": selectors.timeline(incident_id=view.id,
                                       latest=settings.SAFEGUARD_INCIDENTS_TIMELINE_PAGE),
        "timeline_page": settings.SAFEGUARD_INCIDENTS_TIMELINE_PAGE,
        "delays": selectors.delay_list(incident_id=view.id),
        "actions": selectors.action_list(incident_id=view.id),
        "can_manage": INCIDENTS_MANAGE in perms, "can_contain": INCIDENTS_CONTAIN in perms,
        "can_affected": INCIDENTS_AFFECTED in perms,
        # One page, several forms: each its own id prefix so no two fields share an id.
        "role_form": RoleForm(auto_id="role_%s"),
        "timeline_form": TimelineForm(initial={"at": now}, auto_id="timeline_%s"),
        "jurisdictions_form": JurisdictionsForm(initial={"jurisdictions": view.jurisdictions},
                                                auto_id="jur_%s"),
        "delay_form": DelayForm(codes=view.jurisdictions, auto_id="delay_%s"),
        "user_form": ContainUserForm(auto_id="cu_%s"),
        "token_form": ContainTokenForm(auto_id="ct_%s"),
        "notice_form": NoticeForm(codes=view.jurisdictions, auto_id="notice_%s"),
        **_playbook_context(view.id),
    })


def _playbook_context(incident_id: int) -> dict[str, object]:
    from safeguard.incidents import playbook_views  # it imports this module (decision 0225)

    return playbook_views.detail_context(incident_id)


def _post(form_class: Callable[..., forms.Form],
          call: Callable[[HttpRequest, int, dict[str, object]], object],
          done: str) -> Callable[[HttpRequest, int], HttpResponse]:
    """A POST action on one incident: validate, call one service, report, back to the page.
    Invalid input or a refused rule changes nothing and says why."""

    @require_POST
    def action(request: HttpRequest, incident_id: int) -> HttpResponse:
        form = form_class(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}"
                               for k, v in form.errors.items())
            messages.error(request, f"Nothing changed - {errors}")
            return redirect("incidents:detail", incident_id=incident_id)
        try:
            call(request, incident_id, form.cleaned_data)
        except ApplicationError as exc:
            _fail(request, exc)
        else:
            messages.success(request, done)
        return redirect("incidents:detail", incident_id=incident_id)

    return action


class AdvanceForm(forms.Form):
    to_state = forms.CharField(max_length=16)


incident_advance = permission_required(INCIDENTS_MANAGE)(_post(
    AdvanceForm, lambda r, i, d: services.incident_advance(
        actor=request_actor(r), incident_id=i, to_state=str(d["to_state"])), "State changed."))
incident_jurisdictions = permission_required(INCIDENTS_MANAGE)(_post(
    JurisdictionsForm, lambda r, i, d: services.incident_set_jurisdictions(
        actor=request_actor(r), incident_id=i, jurisdictions=d["jurisdictions"]),  # type: ignore[arg-type]
    "Jurisdictions saved."))
role_assign = permission_required(INCIDENTS_MANAGE)(_post(
    RoleForm, lambda r, i, d: services.role_assign(
        actor=request_actor(r), incident_id=i, role=str(d["role"]), user_id=int(d["user"]),  # type: ignore[call-overload]
        note=str(d["note"])), "Role assigned."))
timeline_add = permission_required(INCIDENTS_MANAGE)(_post(
    TimelineForm, lambda r, i, d: services.timeline_add(
        actor=request_actor(r), incident_id=i, at=d["at"], text=str(d["text"])),  # type: ignore[arg-type]
    "Entry added."))


def _delay(request: HttpRequest, incident_id: int, d: dict[str, object]) -> object:
    return services.delay_record(
        actor=request_actor(request), incident_id=incident_id, starts_at=d["starts_at"],  # type: ignore[arg-type]
        ends_at=d["ends_at"], reason=str(d["reason"]), evidence=str(d["evidence"]),  # type: ignore[arg-type]
        jurisdiction=str(d["jurisdiction"] or ""))


class _DelayPostForm(DelayForm):
    def __init__(self, data: object) -> None:
        codes = tuple(clocks.table())
        super().__init__(data, codes=codes)


delay_record = permission_required(INCIDENTS_MANAGE)(_post(_DelayPostForm, _delay,
                                                           "Delay recorded."))
contain_user = permission_required(INCIDENTS_CONTAIN)(step_up_required(action=(
    "Disable a user and end their sessions"))(_post(
    ContainUserForm, lambda r, i, d: services.contain_user_disable(
        actor=request_actor(r), incident_id=i, user_id=int(d["user"]), reason=str(d["reason"])),  # type: ignore[call-overload]
    "User disabled: their sessions and API tokens are gone.")))
contain_token = permission_required(INCIDENTS_CONTAIN)(step_up_required(action=(
    "Revoke an API token"))(_post(
    ContainTokenForm, lambda r, i, d: services.contain_token_revoke(
        actor=request_actor(r), incident_id=i, token_id=int(d["token"]),  # type: ignore[call-overload]
        reason=str(d["reason"])), "Token revoked.")))


@permission_required(INCIDENTS_CONTAIN)
@step_up_required(action="Reverse a containment action")
@require_POST
def containment_reverse(request: HttpRequest, incident_id: int, action_id: int) -> HttpResponse:
    try:
        services.containment_reverse(actor=request_actor(request), incident_id=incident_id,
                                     action_id=action_id,
                                     reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, "Reversed.")
    return redirect("incidents:detail", incident_id=incident_id)


def _affected(request: HttpRequest) -> tuple[AffectedForm, list[AffectedCustomer] | None,
                                             str | None]:
    form = AffectedForm(request.GET or None)
    if not request.GET or not form.is_valid():
        return form, None, None
    d = form.cleaned_data
    since: datetime = d["since"]
    until: datetime = d["until"]
    try:
        rows = selectors.affected_customers(
            actor=request_actor(request),
            suspect=selectors.Suspect(kind=d["kind"], value=d["value"].strip()),
            since=since, until=until)
    except ApplicationError as exc:
        form.add_error(None, exc.detail)
        return form, None, None
    return form, list(rows), selectors.affected_csv(rows)


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="List the customers affected")
def affected(request: HttpRequest) -> HttpResponse:
    form, rows, _ = _affected(request)
    owed = None
    if rows:
        residents: dict[str, int] = {}
        for r in rows:
            for code in r.jurisdictions:
                residents[code] = residents.get(code, 0) + 1
        owed = communications.notices_owed_for(residents=residents, aware_at=timezone.now())
    return render(request, "incidents/affected.html", {
        "form": form, "rows": rows, "query": request.GET.urlencode(), "owed": owed},
        status=400 if form.errors else 200)


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="Export the customers affected")
def affected_csv(request: HttpRequest) -> HttpResponse:
    try:  # an export freeze (containment, decision 0225) refuses and records, before any read
        audit.export_guard(actor=request_actor(request), export="incidents.affected_csv")
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    _form, _, body = _affected(request)
    if body is None:
        return HttpResponse("Give a valid suspect and window.", status=400,
                            content_type="text/plain")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="affected-customers.csv"'
    return response


@permission_required(INCIDENTS_MANAGE)
@require_POST
def regulator_notice(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The regulator notice PDF (GDPR Art. 33(3) contents); bad input: a message, no PDF."""
    try:
        view = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    form = NoticeForm(request.POST, codes=view.jurisdictions)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}"
                           for k, v in form.errors.items())
        messages.error(request, f"No notice - {errors}")
        return redirect("incidents:detail", incident_id=incident_id)
    d = form.cleaned_data
    try:
        _, body = communications.regulator_notice_file(  # kept in the sent log
            actor=request_actor(request), incident_id=incident_id,
            jurisdiction=d["jurisdiction"], approx_subjects=d["approx_subjects"],
            approx_records=d["approx_records"], data_categories=d["data_categories"],
            likely_consequences=d["likely_consequences"], delay_reasons=d["delay_reasons"])
    except ApplicationError as exc:
        _fail(request, exc)
        return redirect("incidents:detail", incident_id=incident_id)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="incident-{incident_id}-{d["jurisdiction"]}-notice.pdf"')
    return response


# --- Post-incident review, exercises, retainers (R-IR-7, R-IR-3, R-IR-4; decision 0224) -------

_D = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReviewForm(forms.Form):
    root_cause = forms.CharField(required=False, max_length=5000,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    lessons = forms.CharField(label="Lessons learned", required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    playbook_updated = forms.BooleanField(required=False)
    playbook_reference = forms.CharField(required=False, max_length=300,
                                         help_text="Which playbook, which version or change")
    retest_on = forms.DateField(label="Re-test date", required=False, widget=_D)
    retest_result = forms.ChoiceField(label="Re-test result", required=False,
                                      choices=[("", "Not re-tested yet"),
                                               *RetestResult.choices])


class ItemForm(forms.Form):
    text = forms.CharField(label="Action", max_length=1000)
    owner = forms.CharField(max_length=200)
    due_on = forms.DateField(label="Due", widget=_D)


class ResolveForm(forms.Form):
    status = forms.ChoiceField(choices=[(ItemStatus.CLOSED, ItemStatus.CLOSED.label),
                                        (ItemStatus.ACCEPTED, ItemStatus.ACCEPTED.label)])
    resolution = forms.CharField(required=False, max_length=1000,
                                 help_text="Required when accepting: why it is accepted")


class ScheduleForm(forms.Form):
    kind = forms.ChoiceField(choices=ExerciseKind.choices)
    title = forms.CharField(max_length=200)
    scheduled_on = forms.DateField(label="Scheduled for", widget=_D)


def _score_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=settings.SAFEGUARD_IR_SCORE_MIN,
                              max_value=settings.SAFEGUARD_IR_SCORE_MAX)


class RunForm(forms.Form):
    run_on = forms.DateField(label="Run on", widget=_D)
    duration_minutes = forms.IntegerField(label="Duration (minutes, timed)", min_value=1)
    external_observers = forms.CharField(required=False, max_length=500,
                                         help_text="Required for a full drill")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["timeliness_score"] = _score_field("Timeliness score")
        self.fields["clarity_score"] = _score_field("Clarity of communication score")


class RetainerForm(forms.Form):
    kind = forms.ChoiceField(choices=RetainerKind.choices)
    firm = forms.CharField(max_length=200)
    service = forms.CharField(max_length=300)
    contact = forms.CharField(max_length=300, help_text="Name, 24/7 number or address")
    contract_reference = forms.CharField(max_length=200)
    starts_on = forms.DateField(label="Starts", widget=_D)
    ends_on = forms.DateField(label="Ends", widget=_D)
    hours_included = forms.IntegerField(min_value=0)
    last_tested_on = forms.DateField(label="Last tested", required=False, widget=_D,
                                     help_text="Last time the call-out was tested")


def _errors(form: forms.Form) -> str:
    return "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())


@permission_required(INCIDENTS_VIEW)
def review(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The post-incident review page (R-IR-7); POST (incidents.manage) saves the review."""
    try:
        incident = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    can_manage = INCIDENTS_MANAGE in request_permissions(request)
    current = selectors.review_get(incident_id=incident_id)
    form = ReviewForm(request.POST or None, initial={
        "root_cause": current.root_cause, "lessons": current.lessons,
        "playbook_updated": current.playbook_updated,
        "playbook_reference": current.playbook_reference, "retest_on": current.retest_on,
        "retest_result": current.retest_result}, auto_id="review_%s")
    if request.method == "POST":
        if not can_manage:
            return HttpResponse("Writing the review needs incidents.manage.", status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.review_save(
                    actor=request_actor(request), incident_id=incident_id,
                    root_cause=d["root_cause"], lessons=d["lessons"],
                    playbook_updated=d["playbook_updated"],
                    playbook_reference=d["playbook_reference"], retest_on=d["retest_on"],
                    retest_result=d["retest_result"])
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Review saved.")
                return redirect("incidents:review", incident_id=incident_id)
    return render(request, "incidents/review.html", {
        "i": incident, "review": current, "form": form, "can_manage": can_manage,
        "checklist": _review_checklist(incident_id),
        "item_form": ItemForm(auto_id="item_%s"), "resolve_form": ResolveForm},
        status=400 if form.errors else 200)


def _review_checklist(incident_id: int) -> object:
    """The playbook version the incident followed and the one in use now (decision 0225)."""
    from safeguard.incidents import checklists

    return checklists.checklist_get(incident_id=incident_id)


def _back_to_review(request: HttpRequest, incident_id: int, call: Callable[[], object],
                    done: str) -> HttpResponse:
    try:
        call()
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed - {exc.detail}")
        return redirect("incidents:review", incident_id=incident_id)
    messages.success(request, done)
    return redirect("incidents:review", incident_id=incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def action_item_add(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = ItemForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return redirect("incidents:review", incident_id=incident_id)
    d = form.cleaned_data
    return _back_to_review(request, incident_id, lambda: services.action_item_add(
        actor=request_actor(request), incident_id=incident_id, text=d["text"],
        owner=d["owner"], due_on=d["due_on"]), "Action item added.")


@permission_required(INCIDENTS_MANAGE)
@require_POST
def action_item_resolve(request: HttpRequest, incident_id: int, item_id: int) -> HttpResponse:
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return redirect("incidents:review", incident_id=incident_id)
    d = form.cleaned_data
    return _back_to_review(request, incident_id, lambda: services.action_item_resolve(
        actor=request_actor(request), incident_id=incident_id, item_id=item_id,
        status=d["status"], resolution=d["resolution"]), "Action item resolved.")


@permission_required(INCIDENTS_VIEW)
def exercises(request: HttpRequest) -> HttpResponse:
    """The exercise register with the cadence (R-IR-3); POST schedules one."""
    can_manage = INCIDENTS_MANAGE in request_permissions(request)
    form = ScheduleForm(request.POST or None, auto_id="schedule_%s")
    if request.method == "POST":
        if not can_manage:
            return HttpResponse("Scheduling exercises needs incidents.manage.", status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                new_id = services.exercise_schedule(
                    actor=request_actor(request), kind=d["kind"], title=d["title"],
                    scheduled_on=d["scheduled_on"])
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Exercise scheduled.")
                return redirect("incidents:exercise", exercise_id=new_id)
    return render(request, "incidents/exercises.html", {
        "cadence": selectors.exercise_cadence(), "rows": selectors.exercise_list(),
        "form": form, "can_manage": can_manage}, status=400 if form.errors else 200)


@permission_required(INCIDENTS_VIEW)
def exercise(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """One exercise: its run (date, timed duration, observers, scores) and its findings."""
    try:
        view = selectors.exercise_get(exercise_id=exercise_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    can_manage = INCIDENTS_MANAGE in request_permissions(request)
    form = RunForm(request.POST or None, auto_id="run_%s")
    if request.method == "POST":
        if not can_manage:
            return HttpResponse("Recording exercises needs incidents.manage.", status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.exercise_record_run(
                    actor=request_actor(request), exercise_id=exercise_id, run_on=d["run_on"],
                    duration_minutes=d["duration_minutes"],
                    external_observers=d["external_observers"],
                    timeliness_score=d["timeliness_score"], clarity_score=d["clarity_score"])
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Run recorded.")
                return redirect("incidents:exercise", exercise_id=exercise_id)
    return render(request, "incidents/exercise.html", {
        "e": view, "form": form, "can_manage": can_manage,
        "finding_form": ItemForm(auto_id="finding_%s"), "resolve_form": ResolveForm},
        status=400 if form.errors else 200)


def _back_to_exercise(request: HttpRequest, exercise_id: int, form: forms.Form,
                      call: Callable[[dict[str, object]], object], done: str) -> HttpResponse:
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return redirect("incidents:exercise", exercise_id=exercise_id)
    try:
        call(form.cleaned_data)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        messages.error(request, f"Nothing changed - {exc.detail}")
    else:
        messages.success(request, done)
    return redirect("incidents:exercise", exercise_id=exercise_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def finding_add(request: HttpRequest, exercise_id: int) -> HttpResponse:
    return _back_to_exercise(request, exercise_id, ItemForm(request.POST), lambda d: (
        services.finding_add(actor=request_actor(request), exercise_id=exercise_id,
                             text=str(d["text"]), owner=str(d["owner"]),
                             due_on=d["due_on"])),  # type: ignore[arg-type]
        "Finding added.")


@permission_required(INCIDENTS_MANAGE)
@require_POST
def finding_resolve(request: HttpRequest, exercise_id: int, finding_id: int) -> HttpResponse:
    return _back_to_exercise(request, exercise_id, ResolveForm(request.POST), lambda d: (
        services.finding_resolve(actor=request_actor(request), exercise_id=exercise_id,
                                 finding_id=finding_id, status=str(d["status"]),
                                 resolution=str(d["resolution"]))), "Finding resolved.")


@permission_required(INCIDENTS_VIEW)
def retainers(request: HttpRequest) -> HttpResponse:
    """The forensic and legal retainer register (R-IR-4); POST adds one."""
    can_manage = INCIDENTS_MANAGE in request_permissions(request)
    form = RetainerForm(request.POST or None, auto_id="retainer_%s")
    if request.method == "POST":
        if not can_manage:
            return HttpResponse("Adding retainers needs incidents.manage.", status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.retainer_save(actor=request_actor(request), **d)
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Retainer added.")
                return redirect("incidents:retainers")
    return render(request, "incidents/retainers.html", {
        "rows": selectors.retainer_list(), "form": form, "can_manage": can_manage,
        "warn_days": settings.SAFEGUARD_IR_RETAINER_WARN_DAYS},
        status=400 if form.errors else 200)


@permission_required(INCIDENTS_MANAGE)
def retainer_edit(request: HttpRequest, retainer_id: int) -> HttpResponse:
    """Edit one retainer (renewal, a new contact, the date of the last call-out test)."""
    current = next((r for r in selectors.retainer_list() if r.id == retainer_id), None)
    if current is None:
        return render(request, "404.html", status=404)
    form = RetainerForm(request.POST or None, auto_id="retainer_%s", initial={
        name: getattr(current, name) for name in RetainerForm.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            services.retainer_save(actor=request_actor(request), retainer_id=retainer_id,
                                   **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Retainer saved.")
            return redirect("incidents:retainers")
    return render(request, "incidents/retainer_edit.html", {"r": current, "form": form},
                  status=400 if form.errors else 200)
