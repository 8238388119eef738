"""Incident communications (R-IR-6, R-REG-3, R-ORG-1; decisions 0228, 0229): the jurisdictions
of affected customers and the notices they make owed, customer letters (one PDF per affected
customer), the regulator notice (GDPR Art. 33(3), rendered by ``services``) and internal
updates — all kept in a sent log with the SHA-256 of each PDF — and public incident notices
for the trust page.

Every PDF's text is run through the no-PAN guard's detector after rendering and before it is
stored or sent (R-OPS-2): a letter that would carry a card number is withheld (logged, no PDF
kept). PDFs are sealed under the ``data`` keyset, bound to the incident and their SHA-256,
and checked against that hash whenever they are opened again."""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags

from safeguard.accounts import selectors as account_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.customers import selectors as customer_selectors
from safeguard.incidents import clocks, residence, selectors, services
from safeguard.incidents.contracts import AffectedCustomer, IncidentError, IncidentNotFound
from safeguard.incidents.enums import IncidentRole, State
from safeguard.incidents.models import (
    Communication,
    CommunicationPlan,
    Incident,
    LetterRun,
    PublicNotice,
)
from safeguard.protection import services as protection

CUSTOMER_LETTER = "customer_letter"
REGULATOR_NOTICE = "regulator_notice"
INTERNAL_UPDATE = "internal_update"
KINDS = (CUSTOMER_LETTER, REGULATOR_NOTICE, INTERNAL_UPDATE)

GENERATED, SENT, FAILED, SUBMITTED, WITHHELD = (
    "generated", "sent", "failed", "submitted", "withheld")

# Readable names of the privacy inventory's categories, as a letter says them.
CATEGORY_WORDS = {
    "user.name": "your name",
    "user.contact.email": "your e-mail address",
    "user.contact.phone_number": "your phone number",
    "user.contact.address": "your postal address",
    "user.date_of_birth": "your date of birth",
    "user.financial.bank_account": "your bank account details",
    "user.financial.credit_card": "payment card details (masked: we never store a full card "
                                  "number)",
    "user.content.message": "messages you sent us",
    "user.content.attachment": "attachments you sent us",
    "user.content.transcript": "call transcripts",
    "user.content.recording": "call recordings",
    "user.unique_id": "internal reference numbers",
}


# --- views ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommunicationView:
    """One row of the sent log (no PDF bytes, no customer name)."""

    id: int
    incident_id: int
    kind: str
    recipient_ref: str
    jurisdictions: tuple[str, ...]
    data_categories: tuple[str, ...]
    channel: str
    status: str
    pdf_sha256: str
    reference: str
    detail: str
    created_by: str
    created_at: datetime
    sent_at: datetime | None
    sent_by: str


@dataclass(frozen=True)
class PlanView:
    incident_id: int
    what_happened: str
    what_we_did: str
    what_you_can_do: str
    mitigation: str


@dataclass(frozen=True)
class OwedView:
    """The notices owed for the jurisdictions of the affected customers (R-REG-3)."""

    residents: dict[str, int]  # jurisdiction code (or "unknown") -> affected customers
    notices: tuple[clocks.Notice, ...]  # earliest deadline first
    not_in_table: tuple[str, ...]  # codes with residents but no row in the clock table


@dataclass(frozen=True)
class LetterBatch:
    generated: tuple[int, ...]
    withheld: tuple[int, ...]
    not_addressable: tuple[str, ...]  # 12-hex prefixes (a case read) or ids with no profile


def _view(row: Communication) -> CommunicationView:
    return CommunicationView(
        id=row.id, incident_id=row.incident_id, kind=row.kind, recipient_ref=row.recipient_ref,
        jurisdictions=tuple(row.jurisdictions or ()),
        data_categories=tuple(row.data_categories or ()), channel=row.channel,
        status=row.status, pdf_sha256=row.pdf_sha256, reference=row.reference,
        detail=row.detail, created_by=row.created_by, created_at=row.created_at,
        sent_at=row.sent_at, sent_by=row.sent_by)


def communication_list(*, incident_id: int) -> list[CommunicationView]:
    """The incident's sent log, oldest first."""
    return [_view(r) for r in Communication.objects.filter(
        incident_id=incident_id).order_by("created_at", "id")]


def communication_get(*, incident_id: int, communication_id: int) -> CommunicationView:
    row = Communication.objects.filter(id=communication_id, incident_id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No communication {communication_id} on incident {incident_id}.")
    return _view(row)


def plan_get(*, incident_id: int) -> PlanView:
    """The letter content of an incident (empty until someone writes it)."""
    row = CommunicationPlan.objects.filter(incident_id=incident_id).first()
    return PlanView(incident_id=incident_id,
                    what_happened=row.what_happened if row else "",
                    what_we_did=row.what_we_did if row else "",
                    what_you_can_do=row.what_you_can_do if row else "",
                    mitigation=row.mitigation if row else "")


# --- jurisdictions of the affected and the notices they make owed (R-REG-3) ------------------

def notices_owed_for(*, residents: dict[str, int], aware_at: datetime,
                     delays: Iterable[clocks.Delay] = ()) -> OwedView:
    """Every notice the residents' jurisdictions require, with deadlines from ``aware_at``;
    codes the table has no row for are listed, not dropped (decision 0228)."""
    table = clocks.table()
    known = [c for c in residents if c in table]
    missing = tuple(sorted(c for c in residents if c not in table))
    notices = clocks.notifications_owed(known, aware_at, delays) if known else []
    return OwedView(residents=dict(sorted(residents.items())), notices=tuple(notices),
                    not_in_table=missing)


def incident_owed(*, incident_id: int) -> OwedView:
    """Notices owed for the jurisdictions of the customers this incident's letters went to
    (plus the incident's own jurisdictions), in the platform's time zone."""
    view = selectors.incident_get(incident_id=incident_id)
    residents: Counter[str] = Counter()
    for row in Communication.objects.filter(incident_id=incident_id, kind=CUSTOMER_LETTER):
        for code in row.jurisdictions or [residence.UNKNOWN]:
            residents[code] += 1
    for code in view.jurisdictions:
        residents.setdefault(code, 0)
    delays = [clocks.Delay(starts_at=d.starts_at, ends_at=d.ends_at,
                           jurisdiction=d.jurisdiction, reason=d.reason)
              for d in selectors.delay_list(incident_id=incident_id)]
    return notices_owed_for(residents=dict(residents), aware_at=timezone.localtime(view.aware_at),
                            delays=delays)


# --- helpers ----------------------------------------------------------------------------------

def _label(actor: Actor) -> str:
    return actor.label[:200]


def _text(value: str, *, field: str, limit: int, name: str, required: bool = False) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise IncidentError(f"{name} is required.")
    if len(cleaned) > limit:
        raise IncidentError(f"{name} is longer than {limit} characters.")
    # Screened (a card number becomes a token) and then said in customer words.
    return protection.text_for_customers(protection.screen(cleaned, field=field).text) \
        if cleaned else ""


def _context(incident_id: int, sha256: str) -> str:
    return f"incidents.communication:v1:{incident_id}:{sha256}"


def _pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)


_SPACE = re.compile(r"\s+")
# Where a block of the document ends, a reader sees a break: the scan must not glue a phone
# number at the end of one paragraph to the section number that starts the next ("... 0000" +
# "3. Likely consequences" is a Luhn-valid run). Inline tags join, as the reader sees them.
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|td|th|tr|div|ul|ol|table|title)>|<br\s*/?>", re.I)
_BREAK = " | "


def rendered_text(html: str) -> str:
    """The text a reader sees in the rendered HTML: blocks separated, whitespace collapsed."""
    return _SPACE.sub(" ", strip_tags(_BLOCK_END.sub(_BREAK, html)))


def pans_in_document(*, html: str, pdf: bytes) -> int:
    """Card numbers the no-PAN guard's detector finds in a document (R-OPS-2): in the text of
    its rendered HTML and in the text extracted back out of the PDF, line by line (a number
    wrapped over two PDF lines is found in the HTML text, where it is contiguous)."""
    pdf_lines = _BREAK.join(line for line in _pdf_text(pdf).splitlines() if line.strip())
    return (protection.card_numbers_in(rendered_text(html))
            + protection.card_numbers_in(pdf_lines))


def _render(template: str, context: dict[str, Any]) -> tuple[str, bytes]:
    from safeguard.privacy.pdf import render_pdf

    html = render_to_string(template, context)
    return html, render_pdf(template, context)


def _store(*, actor: Actor, incident_id: int, kind: str, recipient_ref: str, html: str,
           pdf: bytes, jurisdictions: Iterable[str] = (), data_categories: Iterable[str] = (),
           ) -> Communication:
    """Check for card numbers, seal and log one generated document (withheld if it holds a PAN:
    no PDF is kept). Audited in the caller's transaction."""
    now = timezone.now()
    pans = pans_in_document(html=html, pdf=pdf)
    common = {"incident_id": incident_id, "kind": kind, "recipient_ref": recipient_ref[:200],
              "jurisdictions": list(jurisdictions), "data_categories": list(data_categories),
              "created_by": _label(actor), "created_at": now}
    if pans:
        row = Communication.objects.create(
            status=WITHHELD, detail="The rendered document held a card number; it was not "
            "kept or sent. Correct the customer's record and generate again.", **common)
        audit.record(action="incident.communication_withheld", actor=actor,
                     subject=("incident", incident_id), outcome="failure",
                     data={"communication": row.id, "kind": kind, "recipient": row.recipient_ref,
                           "reason": "card_number"})
        return row
    digest = hashlib.sha256(pdf).hexdigest()
    row = Communication.objects.create(
        status=GENERATED, pdf_sha256=digest,
        sealed=protection.stash_seal(pdf, context=_context(incident_id, digest)), **common)
    audit.record(action="incident.communication_generated", actor=actor,
                 subject=("incident", incident_id),
                 data={"communication": row.id, "kind": kind, "recipient": row.recipient_ref,
                       "sha256": digest, "bytes": len(pdf)})
    return row


def _open(row: Communication) -> bytes:
    if not row.sealed:
        raise IncidentError("No document is kept for this entry (it was withheld).")
    body = protection.stash_open(row.sealed, context=_context(row.incident_id, row.pdf_sha256))
    if body is None or hashlib.sha256(body).hexdigest() != row.pdf_sha256:
        raise IncidentError("The stored document does not match its recorded SHA-256.")
    return body


def _incident(incident_id: int) -> Incident:
    row = Incident.objects.select_for_update().filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    return row


# --- the letter content (incident level, editable) --------------------------------------------

@transaction.atomic
def plan_save(*, actor: Actor, incident_id: int, what_happened: str, what_we_did: str,
              what_you_can_do: str, mitigation: str) -> PlanView:
    """Write what the incident's customer letters say beyond the recorded facts (R-IR-6):
    what happened, what we did, what you can do, the mitigation offered (screened)."""
    row = _incident(incident_id)
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed.")
    values = {
        "what_happened": _text(what_happened, field="incidents.letter_what_happened",
                               limit=4000, name="What happened", required=True),
        "what_we_did": _text(what_we_did, field="incidents.letter_what_we_did", limit=4000,
                             name="What we did", required=True),
        "what_you_can_do": _text(what_you_can_do, field="incidents.letter_what_you_can_do",
                                 limit=4000, name="What you can do", required=True),
        "mitigation": _text(mitigation, field="incidents.letter_mitigation", limit=2000,
                            name="Mitigation offered"),
        "updated_by": _label(actor)}
    CommunicationPlan.objects.update_or_create(incident=row, defaults=values)
    audit.record(action="incident.letter_plan_saved", actor=actor,
                 subject=("incident", incident_id),
                 data={"mitigation": bool(values["mitigation"])})
    return plan_get(incident_id=incident_id)


# --- customer letters -------------------------------------------------------------------------

def _timeline(view: Any, customer: AffectedCustomer) -> list[tuple[datetime, str]]:
    """The letter's timeline: the customer's own first and last read, awareness, the incident's
    stage times that have happened, this letter."""
    steps = [(customer.first_read, "Your record was first accessed without authorisation."),
             (view.aware_at, "We became aware of the incident.")]
    if customer.last_read != customer.first_read:
        steps.append((customer.last_read, ("Your record was last accessed without "
                                          "authorisation.")))
    words = {"contained": "We contained the incident (the access was stopped).",
             "eradicated": "We removed the cause.",
             "recovered": "Our systems were confirmed back to normal operation."}
    for stage, text in words.items():
        at = view.stage_at.get(stage)
        if at is not None:
            steps.append((at, text))
    return sorted(steps, key=lambda s: s[0])


def letter_pdf(*, incident_id: int, customer: AffectedCustomer, name: str,
               jurisdiction: str, plan: PlanView, now: datetime) -> tuple[str, bytes]:
    """Render one customer's letter (HTML and PDF); nothing stored, nothing recorded."""
    view = selectors.incident_get(incident_id=incident_id)
    data = [CATEGORY_WORDS.get(c, c.replace("user.", "").replace(".", " "))
            for c in customer.data_categories]
    context = {
        "i": view, "org": account_selectors.organisation(), "now": now, "name": name,
        "timeline": _timeline(view, customer), "data": data,
        "revealed": customer.fields_revealed, "plan": plan,
        "actions": selectors.action_list(incident_id=incident_id),
        "jurisdiction": jurisdiction,
    }
    return _render("incidents/pdf_customer_letter.html", context)


QUEUED, RUNNING, DONE = "queued", "running", "done"  # letter-run states (and FAILED)


@dataclass(frozen=True)
class LetterRunView:
    """One "generate letters" action and how far its job has got (R-IR-6)."""

    id: int
    incident_id: int
    state: str
    total: int
    done: int  # customers handled (a letter generated or withheld, skipped, not addressable)
    generated: int
    withheld: int
    skipped: int
    not_addressable: int
    detail: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)


def _run_view(row: LetterRun) -> LetterRunView:
    return LetterRunView(
        id=row.id, incident_id=row.incident_id, state=row.state, total=row.total,
        done=row.position, generated=row.generated, withheld=row.withheld,
        skipped=row.skipped, not_addressable=row.not_addressable, detail=row.detail,
        created_by=row.created_by, created_at=row.created_at, finished_at=row.finished_at)


def letter_run_list(*, incident_id: int, limit: int = 5) -> list[LetterRunView]:
    """The incident's newest letter runs, newest first."""
    return [_run_view(r) for r in LetterRun.objects.filter(
        incident_id=incident_id).order_by("-created_at", "-id")[:max(0, int(limit))]]


def letter_run_get(*, incident_id: int, run_id: int) -> LetterRunView:
    row = LetterRun.objects.filter(id=run_id, incident_id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No letter run {run_id} on incident {incident_id}.")
    return _run_view(row)


def _plan_sha256(plan: PlanView) -> str:
    body = "\x00".join((plan.what_happened, plan.what_we_did, plan.what_you_can_do,
                        plan.mitigation))
    return hashlib.sha256(body.encode()).hexdigest()


def _customer_json(c: AffectedCustomer) -> dict[str, Any]:
    return {"customer": c.customer, "first_read": c.first_read.isoformat(),
            "last_read": c.last_read.isoformat(), "reads": c.reads, "actions": list(c.actions),
            "fields_revealed": list(c.fields_revealed),
            "data_categories": list(c.data_categories), "event_seqs": list(c.event_seqs),
            "jurisdictions": list(c.jurisdictions)}


def _customer_from(d: dict[str, Any]) -> AffectedCustomer:
    return AffectedCustomer(
        customer=d["customer"], first_read=datetime.fromisoformat(d["first_read"]),
        last_read=datetime.fromisoformat(d["last_read"]), reads=d["reads"],
        actions=tuple(d["actions"]), fields_revealed=tuple(d["fields_revealed"]),
        data_categories=tuple(d["data_categories"]), event_seqs=tuple(d["event_seqs"]),
        jurisdictions=tuple(d.get("jurisdictions", ())))


def _letters_plan(*, incident_id: int, customers: list[AffectedCustomer]) -> PlanView:
    """The letter content, once the batch may be asked for: the content is written, the
    incident is open and the list is within SAFEGUARD_INCIDENTS_LETTERS_MAX."""
    plan = plan_get(incident_id=incident_id)
    if not (plan.what_happened and plan.what_we_did and plan.what_you_can_do):
        raise IncidentError("Write what the letters say first (what happened, what we did, "
                            "what you can do).")
    view = selectors.incident_get(incident_id=incident_id)
    if view.state == State.CLOSED:
        raise IncidentError("The incident is closed.")
    most = settings.SAFEGUARD_INCIDENTS_LETTERS_MAX
    if len(customers) > most:
        raise IncidentError(f"At most {most} letters in one batch; narrow the window.")
    return plan


def _run_create(*, actor: Actor, incident_id: int, customers: list[AffectedCustomer],
                plan: PlanView) -> LetterRun:
    """A queued letter run: who asked, the affected list as it is now, the content it renders."""
    return LetterRun.objects.create(
        incident_id=incident_id, state=QUEUED, total=len(customers),
        customers=[_customer_json(c) for c in customers], content_sha256=_plan_sha256(plan),
        actor_kind=actor.kind, actor_id=actor.id[:200], created_by=_label(actor),
        created_at=timezone.now())


def letters_batch_start(*, actor: Actor, incident_id: int, customers: list[AffectedCustomer]
                        ) -> int:
    """Record a "generate letters" action (R-IR-6) — who, when, how many customers, queued —
    and hand it to the background job (``tasks.letters_run``) once committed. The content must
    be written first (``plan_save``); a closed incident or a list over
    SAFEGUARD_INCIDENTS_LETTERS_MAX is refused and nothing is recorded. Returns the run id."""
    from safeguard.incidents import tasks

    plan = _letters_plan(incident_id=incident_id, customers=customers)
    with transaction.atomic():
        _incident(incident_id)
        if LetterRun.objects.filter(incident_id=incident_id,
                                    state__in=(QUEUED, RUNNING)).exists():
            raise IncidentError("Letters are already being generated for this incident; wait "
                                "for that batch to finish.")
        row = _run_create(actor=actor, incident_id=incident_id, customers=customers, plan=plan)
        audit.record(action="incident.letters_queued", actor=actor,
                     subject=("incident", incident_id),
                     data={"run": row.id, "customers": len(customers)})
        run_id = row.id
        transaction.on_commit(lambda: tasks.letters_run(run_id))
    return run_id


def _requeue(row: LetterRun, *, actor: Actor, now: datetime, **data: Any) -> None:
    """Queue a locked run again (counted as moved now), audited as ``incident.letters_resumed``;
    its job is handed to the queue once the caller's transaction commits."""
    from safeguard.incidents import tasks

    row.state, row.detail, row.progressed_at = QUEUED, "", now
    row.save(update_fields=["state", "detail", "progressed_at"])
    audit.record(action="incident.letters_resumed", actor=actor,
                 subject=("incident", row.incident_id),
                 data={"run": row.id, "done": row.position, "customers": row.total, **data})
    transaction.on_commit(partial(tasks.letters_run, row.id))


def letters_batch_resume(*, actor: Actor, incident_id: int, run_id: int) -> None:
    """Queue a failed (or stalled) run again; it carries on at its first customer without a
    letter (nothing lost, nothing twice)."""
    with transaction.atomic():
        _incident(incident_id)
        row = LetterRun.objects.select_for_update().filter(
            id=run_id, incident_id=incident_id).first()
        if row is None:
            raise IncidentNotFound(f"No letter run {run_id} on incident {incident_id}.")
        if row.state == DONE:
            raise IncidentError("This batch is finished.")
        _requeue(row, actor=actor, now=timezone.now())


def letters_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Queue again every queued or running batch that has not moved for
    SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS (its worker died, or its job was lost): the
    periodic job's safety net, so a killed job resumes without anyone pressing Resume. Each is
    audited as ``incident.letters_resumed`` by the system; a second job on a batch that was only
    slow is harmless (each customer is handled once, under the batch's row lock). Returns the
    batches queued again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS)
    system = Actor.system("incidents.letters_resume_stalled")
    resumed: list[int] = []
    with transaction.atomic():
        stalled = (LetterRun.objects.select_for_update(skip_locked=True)
                   .filter(state__in=(QUEUED, RUNNING))
                   .filter(Q(progressed_at__lt=cutoff)
                           | Q(progressed_at__isnull=True, created_at__lt=cutoff))
                   .order_by("id"))
        for row in stalled:
            since = row.progressed_at or row.created_at
            _requeue(row, actor=system, now=now, stalled_since=since.isoformat())
            resumed.append(row.id)
    return resumed


def letters_batch_run(*, run_id: int) -> LetterRunView:
    """The job (R-IR-6): one letter per affected customer of the run, in chunks of
    SAFEGUARD_INCIDENTS_LETTERS_CHUNK. Each letter is rendered outside any transaction, then
    stored (card-number scan, seal, SHA-256, audit) in one transaction with the run's
    ``position`` moved past its customer, so a job killed half-way resumes exactly where it
    stopped. A customer who already has a kept letter on the incident is skipped (one letter
    per customer and incident, whichever run wrote it). Letters are audited as the person who
    asked for them. An error marks the run failed, with its type, and is raised again."""
    row = LetterRun.objects.filter(id=run_id).first()
    if row is None:
        raise IncidentNotFound(f"No letter run {run_id}.")
    if row.state == DONE:
        return _run_view(row)
    actor = Actor(kind=row.actor_kind, id=row.actor_id,  # type: ignore[arg-type]
                  label=row.created_by)
    incident_id = row.incident_id
    started = timezone.now()
    LetterRun.objects.filter(id=run_id).update(state=RUNNING, started_at=started,
                                               progressed_at=started)
    chunk = settings.SAFEGUARD_INCIDENTS_LETTERS_CHUNK
    try:
        plan = plan_get(incident_id=incident_id)
        if _plan_sha256(plan) != row.content_sha256:
            raise IncidentError("The letter content changed after this batch was asked for; "
                                "generate letters again.")
        customers = [_customer_from(d) for d in row.customers]
        now = timezone.now()
        position = row.position
        while position < len(customers):
            part = customers[position:position + chunk]
            found = customer_selectors.customer_addressees_system(
                customer_ids=[c.customer for c in part])
            for offset, customer in enumerate(part):
                index = position + offset
                _letter_one(run_id=run_id, index=index, actor=actor, incident_id=incident_id,
                            customer=customer, person=found.get(customer.customer), plan=plan,
                            now=now)
            position += len(part)
    except Exception as exc:
        detail = str(getattr(exc, "detail", "") or type(exc).__name__)[:500]
        LetterRun.objects.filter(id=run_id).update(state=FAILED, detail=detail)
        audit.record(action="incident.letters_failed", actor=actor,
                     subject=("incident", incident_id), outcome="failure",
                     data={"run": run_id, "error": detail})
        raise
    with transaction.atomic():
        done = LetterRun.objects.select_for_update().get(id=run_id)
        done.state, done.finished_at = DONE, timezone.now()
        done.save(update_fields=["state", "finished_at"])
        audit.record(action="incident.letters_done", actor=actor,
                     subject=("incident", incident_id),
                     data={"run": run_id, "generated": done.generated,
                           "withheld": done.withheld, "skipped": done.skipped,
                           "not_addressable": done.not_addressable})
    return _run_view(done)


def _has_letter(incident_id: int, customer: str) -> bool:
    """Whether the customer already has a kept letter on the incident (one per incident)."""
    return Communication.objects.filter(
        incident_id=incident_id, kind=CUSTOMER_LETTER, recipient_ref=customer
    ).exclude(status=WITHHELD).exists()


def _letter_one(*, run_id: int, index: int, actor: Actor, incident_id: int,
                customer: AffectedCustomer, person: Any, plan: PlanView, now: datetime) -> None:
    """Handle the run's customer at ``index`` once: the letter and the run's cursor move in one
    transaction; a customer the cursor is already past is left alone."""
    rendered: tuple[str, bytes] | None = None
    code = ""
    if person is not None and not _has_letter(incident_id, customer.customer):
        code = residence.jurisdiction_for(person.country, person.region)
        rendered = letter_pdf(incident_id=incident_id, customer=customer, name=person.name,
                              jurisdiction=code, plan=plan, now=now)
    with transaction.atomic():
        _incident(incident_id)
        run = LetterRun.objects.select_for_update().get(id=run_id)
        if run.position != index:
            return  # another worker handled it
        if person is None:
            run.not_addressable += 1
        elif rendered is None or _has_letter(incident_id, customer.customer):
            run.skipped += 1  # one letter per customer per incident
        else:
            html, pdf = rendered
            stored = _store(actor=actor, incident_id=incident_id, kind=CUSTOMER_LETTER,
                            recipient_ref=customer.customer, html=html, pdf=pdf,
                            jurisdictions=[code], data_categories=customer.data_categories)
            if stored.status == WITHHELD:
                run.withheld += 1
            else:
                run.generated += 1
        run.position, run.progressed_at = index + 1, timezone.now()
        run.save(update_fields=["position", "generated", "withheld", "skipped",
                                "not_addressable", "progressed_at"])


def letters_generate(*, actor: Actor, incident_id: int, customers: list[AffectedCustomer]
                     ) -> LetterBatch:
    """One letter per affected customer (R-IR-6), run here and now (commands, tests): records
    a run like ``letters_batch_start`` and runs the job's loop in this process. The timeline,
    the categories exposed for that customer, what we did, what they can do, the mitigation
    offered, the DPO and hotline; a letter whose text holds a card number is withheld (logged,
    no PDF kept); ids without a profile cannot be addressed and are counted."""
    plan = _letters_plan(incident_id=incident_id, customers=customers)
    before = set(Communication.objects.filter(incident_id=incident_id, kind=CUSTOMER_LETTER)
                 .values_list("id", flat=True))
    row = _run_create(actor=actor, incident_id=incident_id, customers=customers, plan=plan)
    letters_batch_run(run_id=row.id)
    new = Communication.objects.filter(incident_id=incident_id, kind=CUSTOMER_LETTER).exclude(
        id__in=before).order_by("id")
    found = customer_selectors.customer_addressees_system(
        customer_ids=[c.customer for c in customers])
    return LetterBatch(
        generated=tuple(r.id for r in new if r.status != WITHHELD),
        withheld=tuple(r.id for r in new if r.status == WITHHELD),
        not_addressable=tuple(c.customer for c in customers if c.customer not in found))


def communication_pdf(*, actor: Actor, incident_id: int, communication_id: int) -> bytes:
    """The stored PDF of a sent-log entry, checked against its SHA-256; the download is
    audited (a letter names its customer)."""
    row = Communication.objects.filter(id=communication_id, incident_id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No communication {communication_id} on incident {incident_id}.")
    body = _open(row)
    audit.record(action="incident.communication_downloaded", actor=actor,
                 subject=("incident", incident_id),
                 data={"communication": row.id, "kind": row.kind, "sha256": row.pdf_sha256})
    return body


# --- sending and recording ------------------------------------------------------------------

def _recipients_internal(incident_id: int) -> list[str]:
    return services._recipients(incident_id)


def communication_send(*, actor: Actor, incident_id: int, communication_id: int) -> \
        CommunicationView:
    """E-mail a generated letter to the customer's address on file, or an internal update to the
    incident's current role holders, with the PDF attached, through the channels app's outbound
    mail (loop and rate brakes apply). The outcome — sent or failed, with the reason — is in the
    sent log and the audit log. A regulator notice is submitted by hand (``mark_submitted``)."""
    from safeguard.channels import services as channel_services

    with transaction.atomic():
        _incident(incident_id)
        row = Communication.objects.select_for_update().filter(
            id=communication_id, incident_id=incident_id).first()
        if row is None:
            raise IncidentNotFound(
                f"No communication {communication_id} on incident {incident_id}.")
        if row.kind == REGULATOR_NOTICE:
            raise IncidentError("A regulator notice is submitted through the regulator's own "
                                "channel; record it as submitted with its reference.")
        if row.status not in (GENERATED, FAILED):
            raise IncidentError(f"This entry is {row.status}; only a generated or failed one "
                                "is sent.")
        body = _open(row)
        if row.kind == CUSTOMER_LETTER:
            to = [customer_selectors.customer_email_for_delivery(
                customer_id=row.recipient_ref).strip()]
            subject = "Important: a security incident affecting your data"
            text = ("Please read the attached letter about a security incident that affected "
                    "your personal data, what we have done and what you can do.\n")
        else:
            to = _recipients_internal(incident_id)
            subject = f"[Incident {incident_id}] internal update"
            text = "The internal update is attached.\n"
        name = f"incident-{incident_id}-{row.kind.replace('_', '-')}-{row.id}.pdf"
        error = ""
        if not any(to):
            error = "No e-mail address to send to."
        else:
            try:
                for address in to:
                    channel_services.notice_send(
                        to=address, subject=subject, body=text,
                        attachments=[(name, body, "application/pdf")])
            except Exception as exc:  # noqa: BLE001 - any delivery failure is logged, not raised
                error = str(getattr(exc, "detail", "") or type(exc).__name__)[:500]
        row.channel = "email"
        row.status = FAILED if error else SENT
        row.detail = error
        row.sent_at = None if error else timezone.now()
        row.sent_by = _label(actor)
        row.save(update_fields=["channel", "status", "detail", "sent_at", "sent_by"])
        audit.record(action="incident.communication_failed" if error
                     else "incident.communication_sent",
                     actor=actor, subject=("incident", incident_id),
                     outcome="failure" if error else "success",
                     data={"communication": row.id, "kind": row.kind, "channel": "email",
                           "recipients": len([t for t in to if t]), "sha256": row.pdf_sha256,
                           "error": error})
        return _view(row)


@transaction.atomic
def mark_submitted(*, actor: Actor, incident_id: int, communication_id: int, reference: str,
                   submitted_at: datetime) -> CommunicationView:
    """Record that a regulator notice was submitted by hand (portal, e-mail, post) with the
    regulator's reference and when (not in the future)."""
    _incident(incident_id)
    row = Communication.objects.select_for_update().filter(
        id=communication_id, incident_id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No communication {communication_id} on incident {incident_id}.")
    if row.kind != REGULATOR_NOTICE:
        raise IncidentError("Only a regulator notice is recorded as submitted by hand.")
    if row.status != GENERATED:
        raise IncidentError(f"This notice is already {row.status}.")
    if timezone.is_naive(submitted_at):
        raise IncidentError("The submission time must carry a time zone.")
    if submitted_at > timezone.now() + services._skew():
        raise IncidentError("The submission time cannot be in the future.")
    clean = _text(reference, field="incidents.notice_reference", limit=200,
                  name="The regulator's reference", required=True)
    row.channel, row.status, row.reference = "manual", SUBMITTED, clean
    row.sent_at, row.sent_by = submitted_at, _label(actor)
    row.save(update_fields=["channel", "status", "reference", "sent_at", "sent_by"])
    audit.record(action="incident.communication_submitted", actor=actor,
                 subject=("incident", incident_id),
                 data={"communication": row.id, "jurisdiction": row.recipient_ref,
                       "reference": clean, "submitted_at": submitted_at.isoformat(),
                       "sha256": row.pdf_sha256})
    return _view(row)


def regulator_notice_file(*, actor: Actor, incident_id: int, jurisdiction: str,
                          approx_subjects: int, approx_records: int, data_categories: str,
                          likely_consequences: str, delay_reasons: str = "") -> tuple[int, bytes]:
    """Render the GDPR Art. 33(3) regulator notice (``services.regulator_notice_render``) and
    keep it in the sent log, sealed with its SHA-256; returns (log id, PDF)."""
    with transaction.atomic():
        pdf = services.regulator_notice_render(
            actor=actor, incident_id=incident_id, jurisdiction=jurisdiction,
            approx_subjects=approx_subjects, approx_records=approx_records,
            data_categories=data_categories, likely_consequences=likely_consequences,
            delay_reasons=delay_reasons)
        row = _store(actor=actor, incident_id=incident_id, kind=REGULATOR_NOTICE,
                     recipient_ref=jurisdiction, html="", pdf=pdf,
                     jurisdictions=[jurisdiction])
    if row.status == WITHHELD:
        raise IncidentError("The notice held a card number and was not kept.")
    return row.id, pdf


def internal_update_create(*, actor: Actor, incident_id: int, text: str) -> int:
    """An internal update (a PDF for the incident's role holders): the state, SLA clocks,
    notices owed with deadlines, containment, the sent log's counts and the responder's text."""
    view = selectors.incident_get(incident_id=incident_id)
    clean = _text(text, field="incidents.internal_update", limit=5000, name="The update",
                  required=True)
    now = timezone.now()
    log = communication_list(incident_id=incident_id)
    counts = Counter((c.kind, c.status) for c in log)
    context = {
        "i": view, "org": account_selectors.organisation(), "now": now, "text": clean,
        "sla": selectors.sla_for(view, now=now), "owed": incident_owed(incident_id=incident_id),
        "roles": [r for r in selectors.role_list(incident_id=incident_id) if r.ended_at is None],
        "actions": selectors.action_list(incident_id=incident_id),
        "counts": sorted((k.replace("_", " "), s, n) for (k, s), n in counts.items()),
        "role_labels": dict(IncidentRole.choices),
    }
    html, pdf = _render("incidents/pdf_internal_update.html", context)
    with transaction.atomic():
        _incident(incident_id)
        row = _store(actor=actor, incident_id=incident_id, kind=INTERNAL_UPDATE,
                     recipient_ref="incident role holders", html=html, pdf=pdf)
    if row.status == WITHHELD:
        raise IncidentError("The update held a card number and was not kept.")
    return row.id


# --- public incident notices (trust page) ---------------------------------------------------

@transaction.atomic
def public_notice_publish(*, actor: Actor, incident_id: int, title: str, summary: str) -> int:
    """Publish a short public notice about an incident (title, summary) for the trust page;
    screened, public text only (no internal detail is added)."""
    _incident(incident_id)
    clean_title = _text(title, field="incidents.public_title", limit=200, name="Title",
                        required=True)
    clean_summary = _text(summary, field="incidents.public_summary", limit=2000,
                          name="Summary", required=True)
    row = PublicNotice.objects.create(incident_id=incident_id, title=clean_title,
                                      summary=clean_summary, published_at=timezone.now(),
                                      published_by=_label(actor))
    audit.record(action="incident.public_notice_published", actor=actor,
                 subject=("incident", incident_id), data={"notice": row.id})
    return row.id


def public_ref(row: PublicNotice) -> str:
    """The public reference of a notice: its year and number, nothing internal."""
    return f"SN-{row.published_at.year}-{row.id:04d}"


def published_notices(limit: int = 5) -> list[dict[str, Any]]:
    """Provider ``incidents.published_notices``: the newest public notices, each
    {"title", "summary", "published_at" (aware), "incident_ref" (public-safe)}."""
    limit = max(0, int(limit))
    rows = PublicNotice.objects.order_by("-published_at", "-id")[:limit]
    return [{"title": r.title, "summary": r.summary, "published_at": r.published_at,
             "incident_ref": public_ref(r)} for r in rows]


def public_notice_list(*, incident_id: int) -> list[dict[str, Any]]:
    rows = PublicNotice.objects.filter(incident_id=incident_id).order_by("-published_at", "-id")
    return [{"id": r.id, "title": r.title, "summary": r.summary,
             "published_at": r.published_at, "published_by": r.published_by,
             "incident_ref": public_ref(r)} for r in rows]
