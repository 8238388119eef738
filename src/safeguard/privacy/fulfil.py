"""Fulfilment of data-subject requests beyond erasure (R-DATA-7, R-ORG-1): the access bundle as
a zip (JSON + one CSV per table) behind an expiring signed link, rectification, restriction
and objection (CCPA opt-out and limit too) through the handlers apps register, the closing of
requests that could not be verified or that name no data, and the CCPA acknowledgement.

Each closure writes the reply (with the DPO contact from the organisation settings) and, for
a public request, e-mails it to the requester's own address. Every step is audited.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import zipfile
from datetime import date
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as case_selectors
from safeguard.channels import services as channel_services
from safeguard.channels.contracts import DeliverySuppressed
from safeguard.customers import selectors as customer_selectors
from safeguard.customers import services as customer_services
from safeguard.privacy import handlers
from safeguard.privacy.contracts import BundleFile, RequestError, RequestView
from safeguard.privacy.enums import (
    KIND_ACTION,
    KIND_SCOPE,
    RequestAction,
    RequestStatus,
)
from safeguard.privacy.models import DataSubjectRequest
from safeguard.privacy.requests import (
    _get,
    _open,
    access_bundle,
    export_requests,
    jurisdictions,
    request_view,
    restriction_place,
)
from safeguard.protection import services as protection
from safeguard.web.errors import NotFound

LINK_SALT = "safeguard.privacy.dsr.bundle"
UNVERIFIABLE_REASONS = {
    "code_expired": "the code we e-mailed to the address you gave was not entered in time",
    "no_proof": "you did not provide the proof of identity we asked for",
    "no_contact": "we could not reach you at the contact details you gave",
}

# --- the platform's handlers (apps below the privacy app cannot import it) -------------------


def _screened(text: Any) -> Any:
    return protection.card_refs_for_people(text) if isinstance(text, str) and text else text


def export_customers(*, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """The customers app's tables: the profile in clear (their own data) and verifications."""
    profile = dict(customer_selectors.customer_export_system(customer_id=customer_id))
    verifications = profile.pop("identity_verifications", [])
    return {"profile": [profile], "identity_verifications": list(verifications)}


def export_cases(*, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """The cases app's tables, one row per case, message, attachment, call or chat and
    satisfaction answer; every text as stored, screened (card numbers are tokens, shown
    without their vault token)."""
    cases, messages, attachments, calls, csat = [], [], [], [], []
    for case in case_selectors.customer_cases_export(customer_id=customer_id):
        n = case["number"]
        cases.append({k: _screened(v) for k, v in case.items()
                      if k not in ("messages", "calls_and_chats", "satisfaction")})
        for i, m in enumerate(case["messages"], 1):
            messages.append({"case": n, "seq": i, "at": m["at"], "channel": m["channel"],
                             "from": m["from"], "internal_note": m["internal_note"],
                             "text": _screened(m["text"])})
            attachments += [{"case": n, "message_seq": i, **a,
                             "file": _attachment_path(n, a) if a["state"] == "screened" else ""}
                            for a in m["attachments"]]
        calls += [{"case": n, **{k: _screened(v) for k, v in c.items()}}
                  for c in case["calls_and_chats"]]
        if case["satisfaction"]:
            csat.append({"case": n, **{k: _screened(v)
                                       for k, v in case["satisfaction"].items()}})
    return {"cases": cases, "messages": messages, "attachments": attachments,
            "calls_and_chats": calls, "satisfaction": csat}


def _attachment_path(case: int, attachment: dict[str, Any]) -> str:
    """Where an attachment's file lies in the bundle's zip: its case, its id and its name with
    anything but letters, digits, dot, dash and underscore replaced (no path tricks)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(attachment["filename"]))[-80:].lstrip(".")
    return f"attachments/{case}-{attachment['id']}-{name or 'file'}"


_RENAME = {"name": "name", "language": "language"}
_APPROVALS = {"email": "email_change", "phone": "phone_change",
              "date_of_birth": "date_of_birth_change"}


def rectify_customers(*, principal: Principal, customer_id: str,
                      corrections: dict[str, str]) -> list[str]:
    """The customers app's rectification: name and language are corrected at once; e-mail,
    phone and date of birth go through the app's approval (a supervisor grants it, R-WORK-4)."""
    done: list[str] = []
    direct = {k: v for k, v in corrections.items() if k in _RENAME}
    if direct:
        customer_services.customer_update(viewer=principal, customer_id=customer_id, **direct)
        done += [f"{k} corrected" for k in direct]
    for key, kind in _APPROVALS.items():
        if key in corrections:
            customer_services.approval_request(
                viewer=principal, customer_id=customer_id, kind=kind,
                change={key: corrections[key]}, reason="Data-subject rectification request")
            done.append(f"{key} correction sent for a supervisor's approval")
    return done


RECTIFIABLE = (*_RENAME, *_APPROVALS)


def register_platform_handlers() -> None:
    """Called from the privacy app's ready(): the handlers of customers, cases and privacy."""
    handlers.handler_register(action=RequestAction.EXPORT, app="customers",
                              handler=export_customers)
    handlers.handler_register(action=RequestAction.EXPORT, app="cases", handler=export_cases)
    handlers.handler_register(action=RequestAction.EXPORT, app="privacy",
                              handler=export_requests)
    handlers.handler_register(action=RequestAction.RECTIFY, app="customers",
                              handler=rectify_customers)


# --- the bundle -------------------------------------------------------------------------------


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    writer = csv.DictWriter(out, fieldnames=fields or ["(no rows)"])
    writer.writeheader()
    for row in handlers.flat_rows(rows):
        # a cell that would start a spreadsheet formula is prefixed, as the inventory CSV does
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v)
                         for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def bundle_build(*, request_id: str, actor: Actor) -> BundleFile:
    """The zip of an access bundle: ``personal-data.json`` (everything), one CSV per table
    (``<app>/<table>.csv``), ``access-log.csv`` and a README; audited as
    ``dsr.access_exported`` with the table sizes."""
    row = _get(request_id)
    if KIND_ACTION[row.kind] != RequestAction.EXPORT or row.status != RequestStatus.FULFILLED:
        raise NotFound("No bundle for that request.")
    bundle = access_bundle(request_id=str(row.id))
    counts: dict[str, int] = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("personal-data.json", json.dumps(bundle, indent=2, ensure_ascii=False))
        for app, tables in bundle["tables"].items():
            for table, rows in tables.items():
                z.writestr(f"{app}/{table}.csv", _csv(rows))
                counts[f"{app}/{table}"] = len(rows)
        z.writestr("access-log.csv", _csv(bundle["access_log"]))
        files = 0
        if row.customer_id:
            for f in case_selectors.customer_attachment_files(customer_id=str(row.customer_id)):
                z.writestr(_attachment_path(f["case"], f), f["content"])
                files += 1
        counts["attachments/files"] = files
        z.writestr("README.txt", (
            "The personal data we hold about you (format safeguard.dsr.access/2).\n"
            "personal-data.json holds everything; each CSV file is one table of it.\n"
            "access-log.csv lists who or what accessed your data and when.\n"
            "attachments/ holds the files you and we sent in your cases; the attachments table\n"
            "says which file is which. A file that held a card number was never stored, and a\n"
            "file we could not check is not included: ask us for it.\n"
            "Card numbers never appear: they were replaced by tokens before anything was "
            "stored.\n"))
    audit.record(action="dsr.access_exported", actor=actor, subject=("dsr", row.id),
                 data={"customer": str(row.customer_id or ""), "tables": counts,
                       "format": "zip"})
    return BundleFile(filename=f"personal-data-{row.id}.zip", content=buf.getvalue(),
                      tables=counts)


def bundle_link(*, request_id: str) -> str:
    """A signed link to the bundle of one fulfilled export request, bound to its customer,
    valid SAFEGUARD_DSR_LINK_HOURS from now (a path: the page adds its own origin)."""
    row = _get(request_id)
    token = signing.dumps({"r": str(row.id), "c": str(row.customer_id or "")}, salt=LINK_SALT,
                          compress=True)
    return reverse("privacy_public:bundle", kwargs={"token": token})


def bundle_by_link(*, token: str, client: str) -> BundleFile:
    """The bundle a signed link names: refused (and audited) when the signature is wrong, the
    link has expired, or the request no longer matches its customer or is not fulfilled."""
    try:
        payload = signing.loads(token, salt=LINK_SALT,
                                max_age=settings.SAFEGUARD_DSR_LINK_HOURS * 3600)
        row = _get(str(payload["r"]))
        if str(row.customer_id or "") != str(payload["c"]):
            raise NotFound("No bundle.")
    except (signing.BadSignature, KeyError, TypeError, NotFound) as exc:
        expired = isinstance(exc, signing.SignatureExpired)
        audit.record(action="dsr.bundle_link_refused", actor=Actor.system("privacy.public"),
                     outcome="denied", data={"expired": expired, "client": client[:64]})
        raise NotFound("This link is not valid or has expired; open the status page of your "
                       "request for a new one.") from exc
    bundle = bundle_build(request_id=str(row.id), actor=Actor.system("privacy.bundle_link"))
    audit.record(action="dsr.bundle_downloaded", actor=Actor.system("privacy.bundle_link"),
                 subject=("dsr", row.id),
                 data={"customer": str(row.customer_id or ""), "client": client[:64]})
    return bundle


# --- letters and closures ---------------------------------------------------------------------


def letter(row: DataSubjectRequest, body: list[str]) -> str:
    """A reply: the request it answers, ``body``, the organisation and its DPO (R-ORG-1)."""
    org = account_selectors.organisation()
    regime = jurisdictions()[row.regime]
    dpo = ", ".join(v for v in (org.dpo_name, org.dpo_email) if v)
    return "\n".join([
        (f"Your {row.kind.replace('_', ' ')} request of {row.received_on.isoformat()} "
         f"({regime['label']}, {regime['kinds'].get(row.kind, row.kind)})"),
        "", *body, "", org.name, f"Data Protection Officer: {dpo or 'not named yet'}",
        "You may complain to a supervisory authority if you are not satisfied."])


def reply_send(row: DataSubjectRequest, *, extra: str = "") -> bool:
    """E-mail the reply to a public request's own address (after the commit); staff send the
    letter of a request they recorded. False when nothing is sent."""
    if not row.contact_email:
        return False
    to, body = row.contact_email, row.reply + (f"\n\n{extra}" if extra else "")
    subject = "Reply to your data request"

    def send() -> None:
        # refused: the reply stays on the status page; the officers see the request closed
        with contextlib.suppress(DeliverySuppressed):
            channel_services.notice_send(to=to, subject=subject, body=body)

    transaction.on_commit(send)
    return True


def _close(row: DataSubjectRequest, *, status: str, reply: str, actor: Actor,
           data: dict[str, Any]) -> None:
    today = timezone.localdate()
    row.status = status
    row.closed_on = today
    row.reply = reply
    row.save(update_fields=["status", "closed_on", "reply"])
    audit.record(action="dsr.fulfilled" if status == RequestStatus.FULFILLED else "dsr.closed",
                 actor=actor, subject=("dsr", row.id),
                 data={"status": status, "on_time": today <= row.due_on, **data})


def _verified(row: DataSubjectRequest) -> None:
    _open(row)
    if row.status != RequestStatus.VERIFIED:
        raise RequestError("Verify the requester's identity first.")


@transaction.atomic
def dsr_fulfil_rectify(*, principal: Principal, request_id: str,
                       corrections: dict[str, str], note: str = "") -> RequestView:
    """Close a verified rectification (GDPR Art. 16; CCPA correct): each app's ``rectify``
    handler applies the corrections it owns; the reply lists what changed and, with the
    officer's note, what was not changed and why."""
    row = _get(request_id, lock=True)
    _verified(row)
    if KIND_ACTION[row.kind] != RequestAction.RECTIFY:
        raise RequestError("Only rectification and correction requests are closed here.")
    clean = {k: v.strip() for k, v in corrections.items() if k in RECTIFIABLE and v.strip()}
    unknown = sorted(set(corrections) - set(RECTIFIABLE))
    if unknown:
        raise RequestError(f"Cannot correct {', '.join(unknown)}; correctable: "
                           f"{', '.join(RECTIFIABLE)}.")
    note = protection.screen(note.strip()[:2000], field="privacy.dsr_note").text
    if not clean and not note:
        raise RequestError("Give the corrections, or a note saying why nothing is corrected.")
    done: list[str] = []
    if clean and row.customer_id:
        for handler in handlers.handlers(RequestAction.RECTIFY).values():
            done += handler(principal=principal, customer_id=str(row.customer_id),
                            corrections=clean)
    body = ([f"- {d}" for d in done] or ["We have not changed your data."])
    if note:
        body += ["", note]
    row_reply = letter(row, ["We have dealt with your request to correct your data:", *body])
    _close(row, status=RequestStatus.FULFILLED, reply=row_reply, actor=principal.actor,
           data={"corrected": sorted(clean)})
    reply_send(row)
    return request_view(row)


@transaction.atomic
def dsr_fulfil_restrict(*, principal: Principal, request_id: str, note: str = "") -> RequestView:
    """Close a verified restriction, objection, opt-out or limit request: the restriction of
    its scope is recorded for the customer (apps ask ``privacy.customer_restrictions``), every
    app's ``restrict`` handler is told, and the reply says what stopped."""
    row = _get(request_id, lock=True)
    _verified(row)
    if KIND_ACTION[row.kind] != RequestAction.RESTRICT:
        raise RequestError("Only restriction, objection, opt-out and limit requests are "
                           "closed here.")
    if row.customer_id is None:
        raise RequestError("This request names no customer: close it as holding no data.")
    scope = KIND_SCOPE[row.kind]
    restriction_place(row, scope=scope, actor=principal.actor)
    told = []
    for app, handler in handlers.handlers(RequestAction.RESTRICT).items():
        told.append(f"{app}: {handler(customer_id=str(row.customer_id), scope=scope)}")
    from safeguard.privacy.enums import RestrictionScope

    note = protection.screen(note.strip()[:2000], field="privacy.dsr_note").text
    body = [(f"From {timezone.localdate().isoformat()} we have stopped: "
             f"{RestrictionScope(scope).label}."), *told]
    if note:
        body += ["", note]
    _close(row, status=RequestStatus.FULFILLED, reply=letter(row, body), actor=principal.actor,
           data={"scope": scope})
    reply_send(row)
    return request_view(row)


@transaction.atomic
def dsr_close_no_data(*, principal: Principal, request_id: str) -> RequestView:
    """Close a verified public request whose address matches no customer: the requester proved
    they hold the address, so we may tell them we hold nothing under it (GDPR Art. 15(1))."""
    row = _get(request_id, lock=True)
    _verified(row)
    if row.customer_id is not None:
        raise RequestError("This request names a customer; fulfil it.")
    _close(row, status=RequestStatus.FULFILLED, actor=principal.actor, data={"no_data": True},
           reply=letter(row, [("We hold no personal data linked to the address you gave, "
                               "so there is nothing to export, correct, erase or "
                               "restrict.")]))
    reply_send(row)
    return request_view(row)


def _unverifiable_reply(row: DataSubjectRequest, reason: str) -> str:
    return letter(row, [
        f"We could not verify your identity: {UNVERIFIABLE_REASONS[reason]}.",
        ("Without it we cannot act on your request, because giving your data to, or changing "
         "it for, someone else would harm you (GDPR Art. 12(6); 11 CCR § 7060)."),
        "You are welcome to make a new request at any time."])


@transaction.atomic
def dsr_close_unverifiable(*, actor: Actor, request_id: str, reason: str) -> RequestView:
    """Close a request whose requester could not be verified, with a letter saying why (sent
    to a public requester's address)."""
    if reason not in UNVERIFIABLE_REASONS:
        raise RequestError(f"Reason must be one of {', '.join(UNVERIFIABLE_REASONS)}.")
    row = _get(request_id, lock=True)
    _open(row)
    if row.status != RequestStatus.RECEIVED:
        raise RequestError("The requester's identity is verified; this request must be "
                           "fulfilled.")
    _close(row, status=RequestStatus.UNVERIFIABLE, reply=_unverifiable_reply(row, reason),
           actor=actor, data={"reason": reason})
    reply_send(row)
    return request_view(row)


@transaction.atomic
def dsr_acknowledge(*, principal: Principal, request_id: str) -> RequestView:
    """Record that the requester was told their request arrived (CCPA: within ten business
    days, 11 CCR § 7021(a)); once."""
    row = _get(request_id, lock=True)
    _open(row)
    if row.acknowledged_on is not None:
        raise RequestError("This request is already acknowledged.")
    row.acknowledged_on = timezone.localdate()
    row.save(update_fields=["acknowledged_on"])
    audit.record(action="dsr.acknowledged", actor=principal.actor, subject=("dsr", row.id),
                 data={"on_time": row.acknowledge_by is None
                       or row.acknowledged_on <= row.acknowledge_by})
    return request_view(row)


def dsr_fulfil(*, principal: Principal, request_id: str, origin: str = "") -> RequestView:
    """Fulfil a verified export or erasure request (a request naming no customer is answered
    that we hold nothing); a public requester is e-mailed the reply and, for an export, a
    signed link to the bundle (``origin``: the site's scheme and host, from the request)."""
    from safeguard.privacy import requests as dsr

    row = _get(request_id)
    action = KIND_ACTION[row.kind]
    if row.customer_id is None:
        return dsr_close_no_data(principal=principal, request_id=request_id)
    with transaction.atomic():
        if action == RequestAction.EXPORT:
            view = dsr.dsr_fulfil_access(principal=principal, request_id=request_id)
        elif action == RequestAction.ERASE:
            view = dsr.dsr_fulfil_erasure(principal=principal, request_id=request_id)
        else:
            raise RequestError("Rectification and restriction requests have their own form.")
        row = _get(request_id)
        extra = ""
        if action == RequestAction.EXPORT and origin:
            extra = (f"Download your data (valid {settings.SAFEGUARD_DSR_LINK_HOURS} hours): "
                     f"{origin.rstrip('/')}{bundle_link(request_id=request_id)}")
        reply_send(row, extra=extra)
    return view


_NOTIFY = {"due_soon": "is due soon", "overdue": "is OVERDUE",
           "ack_due": "has not been acknowledged within ten business days (CCPA)"}


def dsr_clock_run(*, today: date | None = None) -> dict[str, int]:
    """The request clock's daily pass: close public requests whose code expired unconfirmed
    (a letter says why), then move each open request to its clock state and, when it changes
    to due soon, overdue or unacknowledged, e-mail every privacy officer (audited as
    ``dsr.clock_notified``). Idempotent: a state is notified once."""
    from safeguard.privacy import clock

    today = today or timezone.localdate()
    counts = {"unverifiable": 0, "notified": 0}
    expired = DataSubjectRequest.objects.filter(
        closed_on__isnull=True, status=RequestStatus.RECEIVED,
        code_expires_at__lt=timezone.now()).values_list("id", flat=True)
    for rid in list(expired):
        dsr_close_unverifiable(actor=Actor.system("privacy.dsr_clock"), request_id=str(rid),
                               reason="code_expired")
        counts["unverifiable"] += 1
    officers = [u.email for u in account_selectors.role_holders(slug="privacy_officer")]
    for row in DataSubjectRequest.objects.filter(closed_on__isnull=True).order_by("due_on"):
        state = clock.clock_state(today=today, due=row.due_on, ack_by=row.acknowledge_by,
                                  acknowledged=row.acknowledged_on)
        if state == row.clock_state:
            continue
        with transaction.atomic():
            updated = DataSubjectRequest.objects.filter(id=row.id, clock_state=row.clock_state) \
                .update(clock_state=state)
            if not updated or state not in _NOTIFY:
                continue
            audit.record(action="dsr.clock_notified", actor=Actor.system("privacy.dsr_clock"),
                         subject=("dsr", row.id),
                         data={"state": state, "due_on": row.due_on.isoformat(),
                               "officers": len(officers)})
            subject = f"Data-subject request {_NOTIFY[state]}"
            body = (f"The {row.kind.replace('_', ' ')} request {row.id} received "
                    f"{row.received_on.isoformat()} {_NOTIFY[state]}: due "
                    f"{row.due_on.isoformat()}.\nOpen it under Privacy > Requests.\n")

            def send(subject: str = subject, body: str = body) -> None:
                for to in officers:
                    try:
                        channel_services.notice_send(to=to, subject=subject, body=body)
                    except DeliverySuppressed:
                        continue

            transaction.on_commit(send)
            counts["notified"] += 1
    return counts
