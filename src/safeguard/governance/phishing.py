"""Phishing simulations imported from GoPhish: click and report rates per campaign and per team
against the click-rate target, and the metrics KPI (R-KPI-7, R-WORK-2; decision 0244).

An import is all or nothing: ``gophish.parse`` refuses a bad file with where and why before
anything is written, and the write is one transaction. Recipients are matched to staff accounts by
e-mail (case-insensitive); the team is the staff member's team at import time (``workforce.teams``);
unmatched recipients are counted in the campaign's rates, listed, and in no team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import gophish, workforce
from safeguard.governance.gophish import ResultsRefused
from safeguard.governance.models import PhishingCampaign, PhishingRecipient
from safeguard.governance.vulns import Ratio
from safeguard.protection import services as protection
from safeguard.protection.contracts import PanRefused

_CARD = ("holds a card number; nothing of a card may be stored (remove it and import again)")


def _refuse_cards(parsed: gophish.ParsedCampaign, name: str) -> None:
    """A card number in the name or any address refuses the whole file (R-OPS-2), naming where;
    the no-PAN guard would refuse the write anyway, this says which line."""
    if protection.card_numbers_in(name):
        raise ResultsRefused("name", _CARD)
    for r in parsed.recipients:
        if sum(c.isdigit() for c in r.email) >= 12 and protection.card_numbers_in(r.email):
            raise ResultsRefused(r.where or "file", f"the e-mail address {_CARD}")


@dataclass(frozen=True)
class ImportResult:
    campaign_id: int
    name: str
    fmt: str
    recipients: int
    sent: int
    clicked: int
    reported: int
    matched: int
    unmatched: tuple[str, ...]
    replaced: bool


def click_target() -> float | None:
    """The click-rate target: the metrics KPI target ``phishing_click_rate`` (below)."""
    target = settings.SAFEGUARD_KPI_TARGETS.get("phishing_click_rate", {}).get("below")
    return float(target) if target is not None else None


def import_results(*, raw: bytes, name: str, actor: Actor, fallback_name: str = "") -> ImportResult:
    """Parse then store one campaign's results in one transaction. The campaign's name is
    ``name``, else GoPhish's (JSON only), else ``fallback_name`` (the file's name). Re-importing a
    name replaces that campaign's recipients."""
    limit = settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES
    if len(raw) > limit:
        raise ResultsRefused("file", f"larger than {limit} bytes")
    parsed = gophish.parse(raw)
    name = (name.strip() or parsed.name or fallback_name.strip())[:200]
    if not name:
        raise ResultsRefused("name", "a campaign name is required (a CSV export has none)")
    _refuse_cards(parsed, name)
    users = {u.email.lower(): u for u in accounts.user_list(include_disabled=True)}
    team_of = workforce.teams()
    now = timezone.now()
    sent_times = [r.sent_at for r in parsed.recipients if r.sent_at is not None]
    try:
        return _store(parsed, name=name, users=users, team_of=team_of, now=now,
                      sent_times=sent_times, actor=actor)
    except PanRefused:  # any card number the checks above missed: the guard refused the write
        raise ResultsRefused("file", _CARD) from None


def _store(parsed: gophish.ParsedCampaign, *, name: str, users: dict[str, Any],
           team_of: dict[int, str], now: datetime, sent_times: list[datetime],
           actor: Actor) -> ImportResult:
    with transaction.atomic():
        campaign = PhishingCampaign.objects.select_for_update().filter(name=name).first()
        replaced = campaign is not None
        if campaign is None:
            campaign = PhishingCampaign(name=name)
        else:
            campaign.recipients.all().delete()
        campaign.gophish_id = parsed.gophish_id
        campaign.fmt = parsed.fmt
        campaign.imported_at = now
        campaign.imported_by = actor.label[:254]
        campaign.first_sent_at = min(sent_times) if sent_times else None
        campaign.save()
        rows, unmatched = [], []
        for r in parsed.recipients:
            user = users.get(r.email)
            if user is None:
                unmatched.append(r.email)
            rows.append(PhishingRecipient(
                campaign=campaign, email=r.email[:254], user_id=user.id if user else None,
                team=team_of.get(user.id, "")[:80] if user else "", status=r.status,
                sent_at=r.sent_at, clicked=r.clicked, submitted=r.submitted,
                reported=r.reported))
        PhishingRecipient.objects.bulk_create(rows)
        result = ImportResult(
            campaign_id=campaign.id, name=name, fmt=parsed.fmt, recipients=len(rows),
            sent=sum(r.sent for r in parsed.recipients),
            clicked=sum(r.sent and r.clicked for r in parsed.recipients),
            reported=sum(r.sent and r.reported for r in parsed.recipients),
            matched=len(rows) - len(unmatched), unmatched=tuple(sorted(unmatched)),
            replaced=replaced)
        audit.record(action="governance.phishing_imported", actor=actor,
                     subject=("phishing_campaign", campaign.id),
                     data={"name": name, "format": parsed.fmt, "recipients": result.recipients,
                           "sent": result.sent, "clicked": result.clicked,
                           "reported": result.reported, "unmatched": len(unmatched),
                           "replaced": replaced})
    return result


# --- reads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rates:
    """Of the recipients an e-mail reached: how many clicked (or submitted data), reported."""

    sent: int
    clicked: int
    submitted: int
    reported: int

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None

    @property
    def report_rate(self) -> float | None:
        return self.reported / self.sent if self.sent else None

    @property
    def meets_target(self) -> bool | None:
        target, rate = click_target(), self.click_rate
        return None if target is None or rate is None else rate < target


_SENT = Q(sent_at__isnull=False)
_AGG = {"sent": Count("id", filter=_SENT),
        "clicked": Count("id", filter=_SENT & Q(clicked=True)),
        "submitted": Count("id", filter=_SENT & Q(submitted=True)),
        "reported": Count("id", filter=_SENT & Q(reported=True))}


def _rates(values: dict[str, int]) -> Rates:
    return Rates(sent=values["sent"], clicked=values["clicked"], submitted=values["submitted"],
                 reported=values["reported"])


@dataclass(frozen=True)
class CampaignView:
    id: int
    name: str
    gophish_id: int | None
    fmt: str
    imported_at: datetime
    imported_by: str
    first_sent_at: datetime | None
    recipients: int
    unmatched: int
    rates: Rates


def campaigns(*, campaign_id: int | None = None) -> list[CampaignView]:
    """Every imported campaign (or the one asked for) with its rates, newest first."""
    qs = PhishingCampaign.objects.annotate(
        n=Count("recipients"), unmatched=Count("recipients", filter=Q(recipients__user=None)))
    if campaign_id is not None:
        qs = qs.filter(id=campaign_id)
    out = []
    for c in qs.order_by(F("first_sent_at").desc(nulls_last=True), "-id"):
        values = c.recipients.aggregate(**_AGG)
        out.append(CampaignView(id=c.id, name=c.name, gophish_id=c.gophish_id, fmt=c.fmt,
                                imported_at=c.imported_at, imported_by=c.imported_by,
                                first_sent_at=c.first_sent_at, recipients=c.n,
                                unmatched=c.unmatched,
                                rates=_rates(values)))
    return out


def campaign_get(*, campaign_id: int) -> CampaignView | None:
    found = campaigns(campaign_id=campaign_id)
    return found[0] if found else None


def _recipients(*, start: datetime | None, end: datetime | None,
                campaign_id: int | None) -> QuerySet[PhishingRecipient]:
    qs = PhishingRecipient.objects.all()
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    if start is not None:
        qs = qs.filter(sent_at__gte=start)
    if end is not None:
        qs = qs.filter(sent_at__lt=end)
    return qs


def team_rates(*, start: datetime | None = None, end: datetime | None = None,
               campaign_id: int | None = None) -> list[tuple[str, Rates]]:
    """Per team (staff recipients only), by team name: rates over recipients sent in
    [start, end) (all time when not given), of one campaign or all."""
    qs = (_recipients(start=start, end=end, campaign_id=campaign_id).exclude(user=None)
          .values("team").annotate(**_AGG).order_by("team"))
    return [(row["team"], _rates(row)) for row in qs]


def unmatched(*, campaign_id: int) -> list[str]:
    """Recipients of a campaign matched to no staff account (by e-mail)."""
    return list(PhishingRecipient.objects.filter(campaign_id=campaign_id, user=None)
                .order_by("email").values_list("email", flat=True))


def overall(*, start: datetime | None = None, end: datetime | None = None) -> Rates:
    return _rates(_recipients(start=start, end=end, campaign_id=None).aggregate(**_AGG))


def first_sent() -> datetime | None:
    return PhishingRecipient.objects.aggregate(first=Min("sent_at"))["first"]


def kpi_click_rate(*, start: datetime, end: datetime) -> Ratio:
    """Provider ``kpi.phishing_click_rate`` (R-KPI-7): recipients who clicked (or submitted
    data) ÷ recipients whose simulation e-mail was sent in [start, end)."""
    r = overall(start=start, end=end)
    return Ratio(hits=r.clicked, total=r.sent)
