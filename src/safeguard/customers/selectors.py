"""Reads of the customers app: masked frozen views, scoped to the viewer, audited.

Scope (decision 0006, R-WORK-4): every read that serves a person takes ``viewer: Principal``
and asks the provider named by ``SAFEGUARD_CUSTOMER_SCOPE`` which customers that person may
see (``customers.view_all`` sees all). A missing provider means an empty scope. A customer
outside the scope gets the same :class:`CustomerNotFound` as one that does not exist.

Audit on read (R-DATA-2, ARCHITECTURE "every read of customer data records an audit event"):
the selectors that serve a person record ``customer.viewed`` / ``customer.searched`` /
``customer.listed`` themselves — the one write a selector does — so that no entry point (page,
API, export, job run on a person's behalf) can read customer data without leaving a trace.
Events carry customer ids and field names, never values. Reads for the system (screening,
matching, jobs) are the ``*_system`` selectors and ``customer_known_values``: not a person's
read, not audited per row.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import phonenumbers
from django.conf import settings
from django.db import connections, router
from django.db.models import BooleanField, Count, Max, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.module_loading import import_string

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.customers import masking
from safeguard.customers.contracts import (
    Addressee,
    ApprovalNotFound,
    ApprovalView,
    CustomerError,
    CustomerInvalid,
    CustomerNotFound,
    CustomerScope,
    CustomerSummary,
    CustomerView,
    PanelView,
    RevealedValue,
    VerificationView,
)
from safeguard.customers.enums import (
    ApprovalKind,
    ApprovalStatus,
    CustomerField,
    CustomerKind,
    VerificationMethod,
)
from safeguard.customers.models import Approval, Customer, IdentityVerification, RevealGrant
from safeguard.customers.permissions import APPROVE, VIEW_ALL
from safeguard.protection import blind, emailid
from safeguard.protection import services as protection
from safeguard.protection.fields import BlindIndexField, blind_lookup
from safeguard.web import providers
from safeguard.web.dbbackends import prepared_cursor
from safeguard.web.pagination import Page, decode_cursor, encode_cursor

logger = logging.getLogger("safeguard.customers")

ScopeProvider = Callable[[Principal], Any]
_missing_warned: set[str] = set()


# --- scope -----------------------------------------------------------------------------------


def _provider() -> ScopeProvider | None:
    """The scope provider named in settings, imported on use; None when it is not installed."""
    path = getattr(settings, "SAFEGUARD_CUSTOMER_SCOPE", "") or ""
    if not path:
        return None
    try:
        return import_string(path)
    except ImportError:
        if path not in _missing_warned:
            _missing_warned.add(path)
            logger.warning("customers.scope_provider_missing", extra={"provider": path})
        return None


def as_uuid(value: object) -> UUID | None:
    """``value`` as a UUID, or None when it is not one (a malformed id is simply not found)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def customer_scope_for(*, viewer: Principal) -> CustomerScope:
    """Which customers ``viewer`` may see: all with ``customers.view_all``, else the provider's
    answer, else nothing (deny by default)."""
    if viewer.has(VIEW_ALL):
        return CustomerScope.everything()
    provider = _provider()
    if provider is None:
        return CustomerScope.nothing()
    answer = provider(viewer)
    if getattr(answer, "all", False):
        return CustomerScope.everything()
    ids = frozenset(u for u in (as_uuid(x) for x in getattr(answer, "customer_ids", ()) or ())
                    if u is not None)
    return CustomerScope(all=False, customer_ids=ids)


def customer_allowed(*, viewer: Principal, customer_id: UUID) -> bool:
    """Whether ``viewer`` may see this one customer, deny by default (decision 0006).

    A provider that can answer for one customer (an ``allows(principal, customer_id)``
    method, as the cases app's has: one EXISTS query) is asked that; otherwise its whole scope
    is listed and the id tested. The answer is the same either way.
    """
    if viewer.has(VIEW_ALL):
        return True
    provider = _provider()
    check = getattr(provider, "allows", None)
    if provider is None or not callable(check):
        return customer_scope_for(viewer=viewer).allows(customer_id)
    return bool(check(viewer, customer_id))


def _scoped(qs: QuerySet[Any], scope: CustomerScope, field: str = "id") -> QuerySet[Any]:
    return qs if scope.all else qs.filter(**{f"{field}__in": scope.customer_ids})


def _deny(viewer: Principal, customer_id: object, why: str) -> CustomerNotFound:
    audit.record(action="customer.view_denied", actor=viewer.actor,
                 subject=("customer", str(customer_id)[:64]), outcome="denied",
                 data={"why": why})
    return CustomerNotFound("No such customer.")


def _customer_for(viewer: Principal, customer_id: object, *,
                  grants_of: int | None = None) -> Customer:
    """The row, if it exists and is in ``viewer``'s scope; else CustomerNotFound (audited).
    With ``grants_of`` (a user id) the row also says whether that user holds a live reveal
    grant on it (:func:`_with_live_grant_flag`)."""
    cid = as_uuid(customer_id)
    if cid is None:
        raise CustomerNotFound("No such customer.")
    if not customer_allowed(viewer=viewer, customer_id=cid):
        raise _deny(viewer, cid, "out of scope")
    row = (_customer_row(cid, user_id=grants_of) if grants_of is not None
           else Customer.objects.filter(id=cid).first())
    if row is None:
        raise _deny(viewer, cid, "absent")
    return row


_LIVE_GRANT = "sg_has_live_reveal_grant"  # the annotation _with_live_grant_flag adds


def _live_grant_sql(connection: Any) -> str:
    """Whether the user (first parameter) holds a live reveal grant (expiring after the second
    parameter) on the outer query's customer row: an ``EXISTS`` over this app's two tables,
    quoted names from the models' metadata."""
    quote = connection.ops.quote_name
    grants, customers = (quote(RevealGrant._meta.db_table),
                         quote(Customer._meta.db_table))
    column = {f.name: quote(f.column) for f in RevealGrant._meta.concrete_fields}
    return (f"EXISTS (SELECT 1 FROM {grants} WHERE {grants}.{column['user']} = %s"  # noqa: S608 - quoted names from the models' metadata, values bound
            f" AND {grants}.{column['customer']} = {customers}.{quote(Customer._meta.pk.column)}"
            f" AND {grants}.{column['expires_at']} > %s)")


def _with_live_grant_flag(qs: QuerySet[Customer], *, user_id: int | None,
                          now: datetime | None = None) -> QuerySet[Customer]:
    """The customer rows with whether ``user_id`` holds a live reveal grant on each, in the
    same statement (an EXISTS): the grants themselves are then read only when there are some,
    which is rare (issue 10).

    The queryset form of the flag, and the reference the case page's and the panel's
    one-row read (:func:`_customer_row`, decision 0279, which does not go through it) is held
    to by the tests. Written as SQL over this app's own two tables (:func:`_live_grant_sql`,
    which ``_customer_row`` shares): the same ``EXISTS`` the ORM's
    ``Exists(RevealGrant.objects...)`` compiles to (tested against it), without building and
    compiling a subquery per call. No user: no grant, as the ORM's ``user_id = NULL`` test
    would find none (the column is NOT NULL)."""
    if user_id is None:
        return qs.annotate(**{_LIVE_GRANT: Value(False, output_field=BooleanField())})
    connection = connections[qs.db]
    expires_after = connection.ops.adapt_datetimefield_value(now or timezone.now())
    return qs.annotate(**{_LIVE_GRANT: RawSQL(_live_grant_sql(connection),  # noqa: S611
                                              (int(user_id), expires_after),
                                              output_field=BooleanField())})


class _RowRead:
    """One customer row by id with the live-grant flag: the statement and the column
    converters of ``_with_live_grant_flag(Customer.objects.filter(id=...)).first()``, built
    once per database connection (decision 0279) instead of on every case page and panel."""

    __slots__ = ("attnames", "converters", "sql")

    def __init__(self, connection: Any) -> None:
        quote = connection.ops.quote_name
        table = quote(Customer._meta.db_table)
        fields = Customer._meta.concrete_fields
        columns = [f.get_col(Customer._meta.db_table) for f in fields]
        flag = RawSQL("", (), output_field=BooleanField())  # only its converters
        self.attnames = [f.attname for f in fields]
        # Django's own converters of each column (the backend's, then the field's) with the
        # expression they are given, as SQLCompiler.get_converters and apply_converters use them.
        self.converters = [
            ([*connection.ops.get_db_converters(e), *e.get_db_converters(connection)], e)
            for e in [*columns, flag]]
        self.sql = (f"SELECT {', '.join(f'{table}.{quote(f.column)}' for f in fields)},"  # noqa: S608 - quoted names from the models' metadata, values bound
                    f" {_live_grant_sql(connection)} FROM {table}"
                    f" WHERE {table}.{quote(Customer._meta.pk.column)} = %s")


# Per connection object (Django's are per thread): the converters are bound to its operations.
_ROW_READS: weakref.WeakKeyDictionary[Any, _RowRead] = weakref.WeakKeyDictionary()


def _customer_row(customer_id: UUID, *, user_id: int, now: datetime | None = None
                  ) -> Customer | None:
    """The customer row (None when absent) and whether ``user_id`` holds a live reveal grant
    on it (:func:`_no_live_grant`): the answer of ``_with_live_grant_flag(Customer.objects
    .filter(id=customer_id), user_id=user_id, now=now).first()`` (the tests hold it to that)
    from a statement built once per process, the ids and the time bound as parameters."""
    alias = router.db_for_read(Customer)
    connection = connections[alias]
    read = _ROW_READS.get(connection)
    if read is None:
        read = _ROW_READS[connection] = _RowRead(connection)
    params = (int(user_id),
              connection.ops.adapt_datetimefield_value(now or timezone.now()),
              Customer._meta.pk.get_db_prep_value(customer_id, connection))
    # Prepared on PostgreSQL: parsed and planned once per connection (decision 0281).
    with prepared_cursor(connection) as cursor:
        cursor.execute(read.sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    values = []
    for stored, (converters, expression) in zip(found, read.converters, strict=True):
        value = stored
        for convert in converters:
            value = convert(value, expression, connection)
        values.append(value)
    row = Customer.from_db(alias, read.attnames, values[:-1])
    setattr(row, _LIVE_GRANT, values[-1])
    return row


def _no_live_grant(row: Customer) -> bool:
    """True when ``row`` carries the live-grant flag (read by :func:`_customer_row` or
    :func:`_with_live_grant_flag`) and the flag says none."""
    return getattr(row, _LIVE_GRANT, None) is False


def customer_in_scope(*, viewer: Principal, customer_id: object) -> bool:
    """Whether ``viewer`` may see this customer (no audit event: it reads no customer data)."""
    cid = as_uuid(customer_id)
    return cid is not None and customer_allowed(viewer=viewer, customer_id=cid)


# --- views -----------------------------------------------------------------------------------


def clear_value(row: Customer, field: str) -> str:
    """The clear text of one revealable field (decrypts; only for reveals and screening)."""
    if field == CustomerField.ADDRESS:
        return masking.format_address(row.address)
    if field == CustomerField.PAYOUT:
        return masking.format_payout(row.payout)
    if field == CustomerField.PHONE and row.phone:
        try:  # stored in E.164; shown grouped, as people read it out
            return phonenumbers.format_number(phonenumbers.parse(row.phone, None),
                                              phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            return row.phone
    return str(getattr(row, field) or "")


def customer_view(row: Customer, *, last_verified_at: datetime | None = None) -> CustomerView:
    """The masked view of a row (decrypts in memory, hands out masked values only)."""
    present = frozenset(f for f in CustomerField.values if getattr(row, f))
    return CustomerView(
        id=row.id, name=masking.mask_name(row.name), email=masking.mask_email(row.email),
        phone=masking.mask_phone(row.phone), address=masking.mask_address(row.address),
        date_of_birth=masking.mask_date(row.date_of_birth),
        payout=masking.mask_payout(row.payout), status=row.status, language=row.language,
        created_at=row.created_at, updated_at=row.updated_at, closed_at=row.closed_at,
        last_verified_at=last_verified_at, present=present,
        unverified=row.kind == CustomerKind.UNVERIFIED)


def _summary(row: Customer) -> CustomerSummary:
    return CustomerSummary(id=row.id, name=masking.mask_name(row.name),
                           email=masking.mask_email(row.email),
                           phone=masking.mask_phone(row.phone), status=row.status,
                           unverified=row.kind == CustomerKind.UNVERIFIED)


def _last_verified(customer_id: UUID) -> datetime | None:
    return IdentityVerification.objects.filter(customer_id=customer_id).aggregate(
        at=Max("verified_at"))["at"]


def _viewed(viewer: Principal, customer_id: UUID, *, revealed: Iterable[str] = (),
            what: str = "profile") -> None:
    audit.record(action="customer.viewed", actor=viewer.actor, subject=("customer", customer_id),
                 data={"what": what, "via": viewer.via, "revealed": sorted(revealed)})


def customer_get(*, viewer: Principal, customer_id: object) -> CustomerView:
    """One customer, masked, if in ``viewer``'s scope (else CustomerNotFound); audited."""
    row = _customer_for(viewer, customer_id)
    view = customer_view(row, last_verified_at=_last_verified(row.id))
    _viewed(viewer, row.id)
    return view


def _verification_view(v: IdentityVerification) -> VerificationView:
    return VerificationView(
        id=v.id, customer_id=v.customer_id, method=v.method,
        method_label=str(VerificationMethod(v.method).label) if v.method in
        VerificationMethod.values else v.method,
        verified_by_id=v.verified_by_id, verified_by=v.verified_by.email if v.verified_by else "",
        verified_at=v.verified_at, interaction_ref=v.interaction_ref)


def active_reveals(*, user_id: int, customer: Customer,
                   now: datetime | None = None) -> tuple[RevealedValue, ...]:
    """The live reveal grants of one person on one customer, with their clear values. No read
    when ``customer`` was loaded with the live-grant flag (:func:`_customer_row`) and holds
    none."""
    if _no_live_grant(customer):
        return ()
    now = now or timezone.now()
    grants = (RevealGrant.objects.filter(user_id=user_id, customer_id=customer.id,
                                         expires_at__gt=now)
              .only("id", "field", "expires_at", "customer_id").order_by("field", "-expires_at"))
    out: dict[str, RevealedValue] = {}
    for g in grants:
        if g.field not in out:
            out[g.field] = RevealedValue(customer_id=customer.id, field=g.field,
                                         value=clear_value(customer, g.field),
                                         expires_at=g.expires_at, grant_id=g.id)
    return tuple(out.values())


def customer_panel(*, viewer: Principal, customer_id: object) -> PanelView:
    """The customer panel: masked profile, the viewer's live reveals (clear until they expire),
    recent verifications and the count of pending approvals; audited as one view."""
    row = _customer_for(viewer, customer_id,
                        grants_of=viewer.user_id if viewer.via == "session" else None)
    verifications = tuple(
        _verification_view(v) for v in IdentityVerification.objects.filter(customer_id=row.id)
        .select_related("verified_by").order_by("-verified_at")[:5])
    revealed = active_reveals(user_id=viewer.user_id, customer=row) if viewer.via == "session" \
        else ()
    pending = Approval.objects.filter(customer_id=row.id, status=ApprovalStatus.PENDING).count()
    panel = PanelView(
        customer=customer_view(row, last_verified_at=verifications[0].verified_at
                               if verifications else None),
        revealed=revealed, verifications=verifications, pending_approvals=pending)
    _viewed(viewer, row.id, revealed=[r.field for r in revealed], what="panel")
    return panel


def verification_list(*, viewer: Principal, customer_id: object) -> list[VerificationView]:
    """Every identity verification of one customer in scope, newest first; audited."""
    row = _customer_for(viewer, customer_id)
    out = [_verification_view(v) for v in IdentityVerification.objects.filter(customer_id=row.id)
           .select_related("verified_by").order_by("-verified_at")]
    _viewed(viewer, row.id, what="verifications")
    return out


def customer_search(*, viewer: Principal, email: str = "", phone: str = "",
                    limit: int = 20) -> list[CustomerSummary]:
    """Customers in scope whose e-mail or phone equals the given one (blind index), masked.

    Exact match only, by design: no partial search over personal data. Audited with the count
    and ids found, never the search term.
    """
    email, phone = (email or "").strip(), (phone or "").strip()
    if not email and not phone:
        return []
    cond = Q()
    if email:
        cond |= email_lookup_q(email)
    if phone:
        cond |= blind_lookup(Customer, "phone_index", phone)
    scope = customer_scope_for(viewer=viewer)
    rows = list(_scoped(Customer.objects.filter(cond), scope).order_by("created_at")[:limit])
    if email:  # an e-mail candidate counts only when exactly the address (decision 0101)
        by_phone = set(Customer.objects.filter(blind_lookup(Customer, "phone_index", phone))
                       .values_list("id", flat=True)) if phone else set()
        rows = [r for r in rows if email_is_exactly(r.email, email) or r.id in by_phone]
    audit.record(action="customer.searched", actor=viewer.actor,
                 data={"by": "+".join(k for k, v in (("email", email), ("phone", phone)) if v),
                       "count": len(rows), "customer_ids": [str(r.id) for r in rows]})
    return [_summary(r) for r in rows]


def _initials(name: str | None) -> str:
    """The two letters the masked name shows (``J. S•••`` -> ``JS``), upper case."""
    parts = [p for p in (name or "").split() if p]
    if not parts:
        return ""
    return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()


def customer_search_masked(*, viewer: Principal, last4: str = "", initials: str = "",
                           city: str = "", limit: int = 20) -> list[CustomerSummary]:
    """Customers in scope matching what their masks already show (issue 15, R-DATA-2): the last
    four digits of the phone, the name's initials, the city. All given criteria must match.

    A search on these fields tells the agent nothing a masked list would not, so it cannot be
    used to learn a hidden value. In-scope rows are decrypted in memory to compare; a scope
    larger than ``SAFEGUARD_CUSTOMER_SEARCH_SCAN_MAX`` asks for an exact value instead
    (CustomerInvalid). Audited with the criteria's kinds, the count and the ids found.
    """
    last4 = "".join(ch for ch in (last4 or "") if ch.isdigit())
    initials = "".join(ch for ch in (initials or "") if ch.isalpha()).upper()
    city = " ".join((city or "").split()).casefold()
    if not (last4 or initials or city):
        return []
    scope = customer_scope_for(viewer=viewer)
    qs = _scoped(Customer.objects.all(), scope)
    cap = settings.SAFEGUARD_CUSTOMER_SEARCH_SCAN_MAX
    if qs.count() > cap:
        raise CustomerInvalid(
            f"You may see more than {cap} customers: search by exact e-mail or phone, or by "
            "case number.")
    rows = []
    for row in qs.order_by("created_at").iterator(chunk_size=500):
        if last4 and masking.last_digits(row.phone) != last4:
            continue
        if initials and not _initials(row.name).startswith(initials):
            continue
        if city and str((row.address or {}).get("city") or "").casefold().strip() != city:
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    audit.record(action="customer.searched", actor=viewer.actor,
                 data={"by": "+".join(k for k, v in (("last4", last4), ("initials", initials),
                                                     ("city", city)) if v),
                       "count": len(rows), "customer_ids": [str(r.id) for r in rows]})
    return [_summary(r) for r in rows]


def customer_summaries(*, viewer: Principal,
                       customer_ids: Iterable[object]) -> dict[UUID, CustomerSummary]:
    """Masked summaries of the given customers that are in scope (others silently left out),
    for lists such as a queue of cases; one audit event for the whole list."""
    wanted = {u for u in (as_uuid(x) for x in customer_ids) if u is not None}
    if not wanted:
        return {}
    scope = customer_scope_for(viewer=viewer)
    allowed = wanted if scope.all else wanted & scope.customer_ids
    rows = list(Customer.objects.filter(id__in=allowed)) if allowed else []
    if rows:
        audit.record(action="customer.listed", actor=viewer.actor,
                     data={"count": len(rows),
                           "customer_ids": sorted(str(r.id) for r in rows)[:200]})
    return {r.id: _summary(r) for r in rows}


# --- for the system (screening, matching, jobs): not a person's read -------------------------


def customer_exists(*, customer_id: object) -> bool:
    cid = as_uuid(customer_id)
    return cid is not None and Customer.objects.filter(id=cid).exists()


def customer_view_system(*, customer_id: object) -> CustomerView:
    """A masked view for jobs and system actors (explicit system scope: all customers)."""
    cid = as_uuid(customer_id)
    row = Customer.objects.filter(id=cid).first() if cid else None
    if row is None:
        raise CustomerNotFound("No such customer.")
    return customer_view(row, last_verified_at=_last_verified(row.id))


def _exact(value: str) -> str:
    return emailid.exact_address(value, fold_domains=settings.SAFEGUARD_EMAIL_CASEFOLD_DOMAINS)


def email_lookup_q(email: str) -> Q:
    """Rows whose e-mail index may equal ``email``: the exact index, and (until
    ``safeguard customers reindex-email`` has run) the index of rows written before it, under
    the former NFKC normalisation. Confirm each candidate with :func:`email_is_exactly`."""
    index = Customer._meta.get_field("email_index")
    assert isinstance(index, BlindIndexField)  # noqa: S101 - the model declares it so
    legacy = blind.candidates(email, normaliser="email", keyset=index.keyset,
                              purpose=index.index_purpose)
    return blind_lookup(Customer, "email_index", email) | Q(email_index__in=legacy)


def email_is_exactly(stored: str | None, email: str) -> bool:
    """Whether a stored address is exactly ``email`` (IDNA domain; never NFKC; R-WORK-4)."""
    return bool(stored) and _exact(str(stored)) == _exact(email)


def customer_ids_matching(*, email: str = "", phone: str = "",
                          kind: str = CustomerKind.CUSTOMER) -> list[UUID]:
    """Ids of profiles (or, with ``kind``, unverified contacts) with exactly this e-mail
    (or, without one, this phone), oldest first."""
    email, phone = (email or "").strip(), (phone or "").strip()
    if email:
        rows = (Customer.objects.filter(email_lookup_q(email), kind=kind)
                .order_by("created_at", "id").only("id", "email"))
        return [r.id for r in rows if email_is_exactly(r.email, email)]
    if phone:
        qs = Customer.objects.filter(blind_lookup(Customer, "phone_index", phone), kind=kind)
        return list(qs.order_by("created_at", "id").values_list("id", flat=True))
    return []


def customer_ids_looking_like(*, email: str) -> list[UUID]:
    """Profiles whose address looks like ``email`` (same confusables skeleton) without being
    exactly it: look-alikes to flag, never to link (decision 0101)."""
    email = (email or "").strip()
    if not email:
        return []
    rows = (Customer.objects.filter(blind_lookup(Customer, "email_skeleton_index", email),
                                    kind=CustomerKind.CUSTOMER)
            .order_by("created_at", "id").only("id", "email"))
    return [r.id for r in rows if not email_is_exactly(r.email, email)]


def unverified_ids(*, customer_ids: Iterable[object]) -> frozenset[UUID]:
    """Which of these ids are unverified contacts (a system read: kinds only, no values)."""
    ids = [u for u in (as_uuid(x) for x in customer_ids) if u is not None]
    if not ids:
        return frozenset()
    return frozenset(Customer.objects.filter(id__in=ids, kind=CustomerKind.UNVERIFIED)
                     .values_list("id", flat=True))


def customer_email_for_delivery(*, customer_id: object) -> str:
    """The customer's e-mail address for an outbound message ('' if none): a system read for
    the channel that sends; never store, log or display it."""
    cid = as_uuid(customer_id)
    row = Customer.objects.filter(id=cid).only("id", "email").first() if cid else None
    return (row.email or "") if row is not None else ""


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{4,30}")


def _iban_variants(iban: str) -> list[str]:
    """An IBAN as stored and in its two standard writings (ISO 13616): compact, as in
    "GB82WEST12345698765432", and in groups of four, "GB82 WEST 1234 5698 7654 32"; the
    known-value matcher ignores case and runs of whitespace, not where the spaces are."""
    compact = "".join(c for c in iban if c.isalnum()).upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        return [iban]
    grouped = " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return list(dict.fromkeys([iban, compact, grouped]))


def _dob_variants(iso: str) -> list[str]:
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return [iso]
    return [iso, d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y")]


def customer_known_values(*, customer_id: object) -> dict[str, list[str]]:
    """The customer's own values, by category, for ``protection.screen(customer=...)``.

    Clear values: pass them straight to the screener, never store, log or display them.
    """
    cid = as_uuid(customer_id)
    return _known_values(Customer.objects.filter(id=cid).first() if cid else None)


def _known_values(row: Customer | None) -> dict[str, list[str]]:
    if row is None:
        return {}
    known: dict[str, list[str]] = {}
    if row.name:
        parts = row.name.split()
        known["name"] = [row.name, *([parts[-1]] if len(parts) > 1 and len(parts[-1]) >= 3
                                     else [])]
    if row.email:
        known["email"] = [row.email]
    if row.phone:
        known["phone"] = [row.phone]
    if row.address:
        known["address"] = [v for k, v in row.address.items()
                            if k in ("line1", "line2", "postcode") and v]
    if row.date_of_birth:
        known["dob"] = _dob_variants(row.date_of_birth)
    if row.payout:
        known["account"] = [w for k, v in row.payout.items()
                            if k in ("iban", "account_number") and v
                            for w in (_iban_variants(str(v)) if k == "iban" else [v])]
    return {k: v for k, v in known.items() if v}


# --- masked conversations (issue 15, R-DATA-2) -----------------------------------------------

_DISPLAY_FIELDS: dict[str, str] = {
    "KNOWN_NAME": CustomerField.NAME, "KNOWN_EMAIL": CustomerField.EMAIL,
    "KNOWN_PHONE": CustomerField.PHONE, "KNOWN_ADDRESS": CustomerField.ADDRESS,
    "KNOWN_DOB": CustomerField.DATE_OF_BIRTH, "KNOWN_ACCOUNT": CustomerField.PAYOUT,
}
_DISPLAY_MASKS: dict[str, Callable[[str], str]] = {
    "KNOWN_NAME": masking.mask_name, "KNOWN_EMAIL": masking.mask_email, "EMAIL":
    masking.mask_email, "KNOWN_PHONE": masking.mask_phone, "PHONE": masking.mask_phone,
    "KNOWN_ADDRESS": lambda _: "[address]", "KNOWN_DOB": masking.mask_date,
    "KNOWN_ACCOUNT": masking.mask_iban,
}


class TextMasker:
    """Masks texts one customer wrote for one viewer's display (see :func:`text_masker`).

    Built once per page from one read of the customer row: the row's kind is kept, so the
    page need not read it again to say whether the conversation is an unverified contact's
    (issue 10)."""

    __slots__ = ("_known", "_revealed", "_row", "_shown", "_viewer", "unverified")

    def __init__(self, viewer: Principal, row: Customer | None,
                 revealed: frozenset[str]) -> None:
        self._viewer, self._row, self._revealed = viewer, row, revealed
        # The row's values compiled once for the whole thread, not once per message.
        self._known = protection.known_values(_known_values(row))
        self._shown: set[str] = set()
        self.unverified = row is not None and row.kind == CustomerKind.UNVERIFIED

    def __call__(self, text: str) -> str:
        if not text:
            return text
        out, last = [], 0
        for f in protection.findings_for_display(text, customer=self._known):
            value = text[f.start:f.end]
            field = _DISPLAY_FIELDS.get(f.type)
            if field is not None and field in self._revealed:
                if field not in self._shown:
                    self._shown.add(field)
                    _viewed(self._viewer, self._row.id,  # type: ignore[union-attr]
                            revealed=[field], what="conversation")
                replacement = value
            else:
                masker = _DISPLAY_MASKS.get(f.type)
                replacement = (masker(value) if masker else f"[{f.type}]") or "•••"
            out += [text[last:f.start], replacement]
            last = f.end
        out.append(text[last:])
        return "".join(out)


def text_masker(*, viewer: Principal, customer_id: object) -> TextMasker:
    """A function masking a text the customer wrote for ``viewer``'s display, exactly like the
    profile (R-DATA-2): the customer's own values (name, e-mail, phone, address, date of birth,
    bank details) and any e-mail address or phone number. A value of the customer's profile
    the viewer has revealed (reason, fresh second factor, live grant: the profile's reveal)
    shows as written until the grant expires, recorded as a view of the revealed fields.
    Outside ``viewer``'s scope everything found is masked and nothing is revealed.

    Reads the customer row once, with whether the viewer holds a live reveal grant on it in
    the same statement (the masker keeps its kind: ``.unverified``); only when there is a grant
    are the granted fields read (names only: the masker shows the text as written, so no value
    of the grant is decrypted) and the viewer's scope checked (one EXISTS) — with no grant
    there is nothing to reveal, so the answer is the same without them (issue 10)."""
    cid = as_uuid(customer_id)
    now = timezone.now()
    row = _customer_row(cid, user_id=viewer.user_id, now=now) if cid else None
    revealed: frozenset[str] = frozenset()
    if row is not None and not _no_live_grant(row):
        fields = frozenset(RevealGrant.objects.filter(
            user_id=viewer.user_id, customer_id=row.id, expires_at__gt=now)
            .values_list("field", flat=True))
        if fields and customer_allowed(viewer=viewer, customer_id=row.id):
            revealed = fields
    return TextMasker(viewer, row, revealed)


# --- approvals -------------------------------------------------------------------------------


_CHANGE_MASKS: dict[str, tuple[str, Callable[[Any], str]]] = {
    ApprovalKind.EMAIL_CHANGE: ("email", masking.mask_email),
    ApprovalKind.PHONE_CHANGE: ("phone", masking.mask_phone),
    ApprovalKind.ADDRESS_CHANGE: ("address", masking.mask_address),
    ApprovalKind.PAYOUT_CHANGE: ("payout", masking.mask_payout),
    ApprovalKind.DATE_OF_BIRTH_CHANGE: ("date_of_birth", masking.mask_date),
}


def _describe_change(kind: str, payload: dict[str, Any]) -> dict[str, str]:
    """The requested change, masked, for the approver's screen."""
    if kind in _CHANGE_MASKS:
        key, mask = _CHANGE_MASKS[kind]
        return {key: mask(payload.get(key))}
    if kind == ApprovalKind.REFUND:
        # the case is named by its number beside the change (ApprovalView.case_number)
        return {"amount": f"{payload.get('amount', '')} {payload.get('currency', '')}".strip()}
    return {}


def _case_refs(refs: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Case references (an id or a number, as requests carry them) to (case id, case number),
    through the cases app's provider ``cases.case_refs``; empty when no installed app offers
    it (the request then shows the reference as typed)."""
    wanted = sorted({r for r in refs if r})
    provider = providers.get("cases.case_refs")
    if not wanted or provider is None:
        return {}
    return dict(provider(wanted))


def approval_view(a: Approval, *, case_refs: dict[str, tuple[str, int]] | None = None,
                  customer_label: str = "") -> ApprovalView:
    """A frozen view of an approval; the payload is described masked, never in clear."""
    payload = a.payload or {}
    refund = a.kind == ApprovalKind.REFUND
    ref = str(payload.get("case_id") or "").strip() if refund else ""
    refs = case_refs if case_refs is not None else _case_refs([ref])
    case_ref, case_number = refs.get(ref, ("", None))
    return ApprovalView(
        id=a.id, customer_id=a.customer_id, kind=a.kind,
        kind_label=str(ApprovalKind(a.kind).label), status=a.status,
        change=_describe_change(a.kind, payload), reason=a.reason,
        requested_by_id=a.requested_by_id, requested_by=a.requested_by.email,
        requested_at=a.requested_at, decided_by_id=a.decided_by_id,
        decided_by=a.decided_by.email if a.decided_by else "", decided_at=a.decided_at,
        decision_note=a.decision_note,
        amount=Decimal(payload["amount"]) if refund and payload.get("amount") else None,
        currency=str(payload.get("currency", "")) if refund else "",
        case_id=ref, auto_granted=a.auto_granted,
        customer_label=customer_label, case_number=case_number, case_ref=case_ref)


def _approval_views(rows: list[Approval]) -> list[ApprovalView]:
    """Views of many approvals with their customers' masked names and case numbers, resolved
    in one look-up each."""
    refs = _case_refs(str((a.payload or {}).get("case_id") or "").strip()
                      for a in rows if a.kind == ApprovalKind.REFUND)
    return [approval_view(a, case_refs=refs,
                          customer_label=masking.mask_name(a.customer.name) or "(no name)")
            for a in rows]


def _approvals() -> QuerySet[Approval]:
    return Approval.objects.select_related("requested_by", "decided_by", "customer")


def approval_page(*, viewer: Principal, status: str | None = ApprovalStatus.PENDING,
                  cursor: str | None = None, limit: int = 50,
                  newest_first: bool = True) -> Page[ApprovalView]:
    """Approvals of customers in scope, newest first (``newest_first=False``: oldest first),
    cursor-paginated, each with its customer's masked name and its case number; audited."""
    if limit < 1 or limit > 200:
        raise CustomerError("limit must be between 1 and 200")
    listing = f"customers.approvals:{status or 'all'}:{'new' if newest_first else 'old'}"
    qs = _scoped(_approvals(), customer_scope_for(viewer=viewer), "customer_id")
    if status:
        qs = qs.filter(status=status)
    qs = qs.order_by(*(("-requested_at", "-id") if newest_first else ("requested_at", "id")))
    if cursor:
        at, last_id = decode_cursor(cursor, scope=listing)
        moment = datetime.fromisoformat(at)
        if newest_first:
            qs = qs.filter(Q(requested_at__lt=moment) | Q(requested_at=moment, id__lt=last_id))
        else:
            qs = qs.filter(Q(requested_at__gt=moment) | Q(requested_at=moment, id__gt=last_id))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        audit.record(action="customer.approvals_listed", actor=viewer.actor,
                     data={"count": len(rows), "status": status or "all"})
    next_cursor = (encode_cursor([rows[-1].requested_at.isoformat(), str(rows[-1].id)],
                                 scope=listing) if more else None)
    return Page(items=_approval_views(rows), next_cursor=next_cursor)


def approval_get(*, viewer: Principal, approval_id: object) -> ApprovalView:
    """One approval of a customer in scope (else ApprovalNotFound); audited."""
    aid = as_uuid(approval_id)
    row = _approvals().filter(id=aid).first() if aid else None
    if row is None or not customer_allowed(viewer=viewer, customer_id=row.customer_id):
        raise ApprovalNotFound("No such approval.")
    audit.record(action="customer.viewed", actor=viewer.actor,
                 subject=("customer", row.customer_id),
                 data={"what": "approval", "approval_id": str(row.id), "via": viewer.via,
                       "revealed": []})
    return _approval_views([row])[0]


_CHANGE_CLEAR: dict[str, tuple[str, str, Callable[[Any], str]]] = {
    ApprovalKind.EMAIL_CHANGE: ("email", "New e-mail", lambda v: str(v or "")),
    ApprovalKind.PHONE_CHANGE: ("phone", "New phone", lambda v: str(v or "")),
    ApprovalKind.ADDRESS_CHANGE: ("address", "New address", masking.format_address),
    ApprovalKind.PAYOUT_CHANGE: ("payout", "New payout account", masking.format_payout),
    ApprovalKind.DATE_OF_BIRTH_CHANGE: ("date_of_birth", "New date of birth",
                                        lambda v: str(v or "")),
}


def approval_proposed_value(*, viewer: Principal, approval_id: object) -> dict[str, str]:
    """The proposed new value of a pending change request, in clear, for the supervisor who
    decides it — that is what they approve (issue 15 item 6, R-WORK-4). Needs
    ``customers.approve`` and the customer in scope (ApprovalNotFound otherwise, same answer);
    audited as a view of customer data naming the field shown. Empty for requests that carry
    no value (closure, refund) and once the request is decided."""
    aid = as_uuid(approval_id)
    row = Approval.objects.filter(id=aid).first() if aid else None
    if (row is None or not viewer.has(APPROVE)
            or not customer_allowed(viewer=viewer, customer_id=row.customer_id)):
        raise ApprovalNotFound("No such approval.")
    if row.kind not in _CHANGE_CLEAR or row.status != ApprovalStatus.PENDING:
        return {}
    key, label, fmt = _CHANGE_CLEAR[row.kind]
    audit.record(action="customer.viewed", actor=viewer.actor,
                 subject=("customer", row.customer_id),
                 data={"what": "approval_change", "approval_id": str(row.id),
                       "via": viewer.via, "revealed": [key]})
    return {label: fmt((row.payload or {}).get(key))}


def approvals_for_customer(*, viewer: Principal, customer_id: object,
                           limit: int = 20) -> list[ApprovalView]:
    """The newest approvals of one customer in scope (CustomerNotFound otherwise)."""
    row = _customer_for(viewer, customer_id)
    out = _approval_views(list(
        _approvals().filter(customer_id=row.id).order_by("-requested_at")[:limit]))
    _viewed(viewer, row.id, what="approvals")
    return out


def approval_counts(*, viewer: Principal) -> dict[str, int]:
    """How many approvals of customers in scope are in each status (no customer data)."""
    qs = _scoped(Approval.objects.all(), customer_scope_for(viewer=viewer), "customer_id")
    return {r["status"]: r["n"] for r in qs.values("status").annotate(n=Count("id"))}


def customer_export_system(*, customer_id: object) -> dict[str, Any]:
    """Every stored value of one customer, in clear, for the customer's own access request
    (GDPR Art. 15 / 20, R-DATA-7). Called only by the privacy app's export, which verifies the
    requester and audits the export; no page shows this."""
    cid = as_uuid(customer_id)
    row = Customer.objects.filter(id=cid).first() if cid else None
    if row is None:
        raise CustomerNotFound("No such customer.")
    verifications = IdentityVerification.objects.filter(customer_id=row.id).order_by(
        "verified_at")
    return {
        "id": str(row.id),
        "kind": row.kind,
        "name": row.name or "",
        "email": row.email or "",
        "phone": row.phone or "",
        "address": row.address or {},
        "date_of_birth": row.date_of_birth or "",
        "payout": row.payout or {},
        "language": row.language,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "identity_verifications": [
            {"method": v.method, "verified_at": v.verified_at.isoformat()}
            for v in verifications],
    }


def customer_counts() -> dict[str, int]:
    """How many records the customers table holds, by kind (``customer``, ``unverified``):
    aggregates only, for the breach-cost model of the metrics app (R-KPI-10)."""
    counts = dict.fromkeys(CustomerKind.values, 0)
    for row in Customer.objects.values("kind").annotate(n=Count("id")):
        counts[row["kind"]] = row["n"]
    return counts
def customer_addressees_system(*, customer_ids: Iterable[object]) -> dict[str, Addressee]:
    """Name and country/region of residence of each customer (system read, R-IR-6): what a
    breach-notification letter is addressed with and which jurisdiction's clock it runs.
    Unknown ids are left out. The caller audits the read and never stores the name."""
    ids = [u for u in (as_uuid(x) for x in customer_ids) if u is not None]
    out: dict[str, Addressee] = {}
    for row in Customer.objects.filter(id__in=ids).only("id", "name", "address"):
        address = row.address if isinstance(row.address, dict) else {}
        out[str(row.id)] = Addressee(
            id=row.id, name=row.name or "",
            country=str(address.get("country") or "").strip().upper(),
            region=str(address.get("region") or "").strip())
    return out
