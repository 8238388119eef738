"""Demo data of the features that came after the contact centre: workforce records (training,
background checks, a GoPhish phishing campaign, team QA and attrition), an access-review campaign
half way through, the MFA coverage snapshot and labelled cost-model inputs, and an incident opened
from the detection demo's attack alert with its playbook checklist started (decision 0171).

Like the centre, it writes only through each app's services (never a model), so every row is
audited and validated as in production. It runs after the detection demo (``ORDER`` 95 > 90):
the incident needs the attack's alert, the access review snapshots the attack's API token.
Deterministic (fixed tables, dates relative to today) and idempotent: each part looks for what it
made before and, when found, writes nothing. Demo mode only (``settings.DEMO``; the ``safeguard
demo`` command has checked the database's demo mark before any loader runs, decision 0170).

Every figure here is invented for the demo. The cost-model inputs say so in their source note
(``DEMO_NOTE``) and never stand in for a published benchmark.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from safeguard.accounts import reviews
from safeguard.accounts import selectors as accounts
from safeguard.accounts import services as account_services
from safeguard.accounts.contracts import Principal, UserNotFound
from safeguard.accounts.review_contracts import ReviewItemView
from safeguard.accounts.review_selectors import campaign_items, campaign_list, current_period
from safeguard.audit.contracts import Actor
from safeguard.detection import selectors as detection
from safeguard.governance import phishing, workforce
from safeguard.incidents import checklists
from safeguard.incidents import selectors as incidents
from safeguard.incidents import services as incident_services
from safeguard.metrics import cost_selectors, cost_services, mfa_history

__all__ = ["BACKGROUND_CHECKS", "COST_INPUTS", "COURSES", "DEMO_NOTE", "ORDER", "PHISHING_NAME",
           "REVIEW_DECISIONS", "TEAM_MONTHS", "load", "phishing_csv", "phishing_rows"]

ORDER = 95  # after the detection demo (90): its attack alert and API token exist
ACTOR = Actor.system("demo")
DOMAIN = "demo.safeguard.test"

# --- workforce ------------------------------------------------------------------------------

# title, hours, roles (empty: everyone), refresher months
COURSES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("Security awareness essentials", "2", (), 12),
    ("Card data on calls and chats", "1.5", ("agent", "supervisor"), 12),
    ("Incident response for analysts", "3", ("security_analyst",), 0),
)
# Who has not finished "Security awareness essentials": the first is past due (the training
# control fails and names them), the others are still inside their due date.
OVERDUE = "leo.martin"
OPEN = ("nia.okoro", "auditor")
OVERDUE_DAYS = 12  # the overdue assignment was due this many days ago
DUE_IN_DAYS = 21  # the other assignments are due this many days from today

# local part, check type, result, checked (days ago), valid for (days; 0 = no expiry)
BACKGROUND_CHECKS: tuple[tuple[str, str, str, int, int], ...] = (
    ("agent", "identity", "clear", 700, 0),
    ("agent", "criminal", "clear", 700, 1095),
    ("supervisor", "identity", "clear", 900, 0),
    ("supervisor", "criminal", "clear", 1080, 1095),  # expires in 15 days: "expiring"
    ("bea.bauer", "identity", "clear", 400, 0),
    ("bea.bauer", "criminal", "clear", 400, 1095),
    ("tomasz.nowak", "identity", "clear", 380, 0),
    ("tomasz.nowak", "right_to_work", "clear", 380, 730),
    ("farah.idris", "identity", "clear", 250, 0),
    ("farah.idris", "criminal", "clear", 250, 1095),
    ("leo.martin", "identity", "clear", 200, 0),
    ("nia.okoro", "identity", "clear", 20, 0),
    ("nia.okoro", "criminal", "pending", 20, 0),  # ordered, no outcome yet
    ("admin", "criminal", "clear", 600, 1095),
    ("analyst", "criminal", "clear", 500, 1095),
)
PROVIDER = "Demo screening provider (fictitious)"

# Contact-centre agents by team (the phishing results are grouped by team).
TEAMS: tuple[tuple[str, str], ...] = (
    ("agent", "Billing"), ("bea.bauer", "Billing"), ("tomasz.nowak", "Technical"),
    ("leo.martin", "Technical"), ("farah.idris", "Fraud"), ("nia.okoro", "Fraud"),
)
# team, months before this one, QA score, headcount at start, at end, leavers
TEAM_MONTHS: tuple[tuple[str, int, str, int, int, int], ...] = (
    ("Billing", 3, "86.5", 12, 12, 1), ("Billing", 2, "88.0", 12, 11, 1),
    ("Billing", 1, "89.25", 11, 12, 0),
    ("Technical", 3, "91.0", 9, 9, 0), ("Technical", 2, "90.5", 9, 10, 0),
    ("Technical", 1, "87.0", 10, 9, 2),
    ("Fraud", 3, "93.0", 6, 6, 0), ("Fraud", 2, "94.5", 6, 7, 0), ("Fraud", 1, "92.0", 7, 7, 1),
)

# --- the phishing simulation ----------------------------------------------------------------

PHISHING_NAME = "Parcel delivery lure (demo)"
PHISHING_DAYS_AGO = 18
# One outcome per recipient in e-mail order: (GoPhish status, reported). "Error": the e-mail was
# never delivered (not counted as sent). The last recipient has left: no staff account matches.
_OUTCOMES: tuple[tuple[str, bool], ...] = (
    ("Email Opened", True), ("Clicked Link", False), ("Email Sent", False),
    ("Email Opened", False), ("Submitted Data", False), ("Email Opened", True),
    ("Email Sent", True), ("Clicked Link", True), ("Email Opened", False),
    ("Email Sent", False), ("Error", False), ("Email Opened", True), ("Email Sent", False),
)
LEAVER = f"former.temp@{DOMAIN}"

# --- access review --------------------------------------------------------------------------

STALE_TOKEN = "old CRM sync (unused)"  # noqa: S105 - a token's name, not a secret
STALE_OWNER = "supervisor"  # a demo user with a second factor (a token needs one)
# local part of the user whose grant is decided, kind, decision, comment
REVIEW_DECISIONS: tuple[tuple[str, str, str, str], ...] = (
    ("supervisor", "token", "revoke",
     "Token of a CRM sync switched off in the spring; never used since. Revoked."),
    ("bea.bauer", "role", "keep", "Works the billing queue every day; the agent role fits."),
    ("tomasz.nowak", "role", "keep", "Technical support agent; role matches the job."),
    ("farah.idris", "role", "keep", "Fraud team agent; still needs the agent role."),
)
ATTACK_TOKEN = "export script (simulated attack)"  # noqa: S105 - the detection demo's token

# --- metrics --------------------------------------------------------------------------------

DEMO_NOTE = "demo value, not a benchmark"
# Inputs the cost model ships without a default (no published figure): invented for the demo so
# the page computes an annual loss expectancy; each change carries DEMO_NOTE.
COST_INPUTS: tuple[tuple[str, str], ...] = (
    ("annual_breach_likelihood", "0.12"),
    ("annual_turnover_eur", "18000000"),
)

# --- incidents ------------------------------------------------------------------------------

# The correlation "Mass customer access" (detection/rules/mass_customer_access.yml), not its
# informational base rule "Customer record opened" (63966afe-...), which raises no alert.
ATTACK_RULE = "d1905858-c750-40cb-9c2e-a7df6cbf50e2"
ANALYST = f"analyst@{DOMAIN}"
CHECK_NOTE = "Alert reviewed with the evidence list; the API token's owner is known."


def _email(local: str) -> str:
    return f"{local}@{DOMAIN}"


def _user_id(local: str) -> int | None:
    try:
        return accounts.user_get_by_email(email=_email(local)).id
    except UserNotFound:
        return None


def load(*, say: Callable[[str], None]) -> None:
    """Load each part once (demo mode only); a second run writes nothing."""
    if not (settings.DEMO or settings.TESTING):
        raise RuntimeError("the demo data exists only in demo mode (SAFEGUARD_ENV=demo)")
    today = timezone.localdate()
    say(_workforce(today))
    say(_phishing(today))
    say(_access_review())
    say(_metrics())
    say(_incident())


# --- workforce ------------------------------------------------------------------------------

def _workforce(today: date) -> str:
    made = {c["title"] for c in workforce.courses()}
    if COURSES[0][0] in made:
        return "Workforce: demo training and checks already loaded."
    ids = {local: uid for local in {t[0] for t in TEAMS} | {t[0] for t in BACKGROUND_CHECKS}
           | {OVERDUE, *OPEN} if (uid := _user_id(local)) is not None}
    for local, team in TEAMS:
        if local in ids:
            workforce.staff_team_set(user_id=ids[local], team=team, actor=ACTOR)
    course_ids = [workforce.course_create(title=title, hours=hours, roles=list(roles),
                                          refresher_months=months, actor=ACTOR)
                  for title, hours, roles, months in COURSES]
    if OVERDUE in ids:  # assigned earlier, due before today, not done: the control fails
        workforce.assignment_create(course_id=course_ids[0], user_id=ids[OVERDUE],
                                    due_on=today - timedelta(days=OVERDUE_DAYS), actor=ACTOR)
    due = today + timedelta(days=DUE_IN_DAYS)
    for course_id in course_ids:
        workforce.assign_by_role(course_id=course_id, due_on=due, actor=ACTOR)
    left_open = {ids.get(OVERDUE), *(ids.get(o) for o in OPEN)}
    by_title = {title: course_id for (title, *_), course_id in zip(COURSES, course_ids,
                                                                   strict=True)}
    for n, a in enumerate(workforce.open_assignments(today=today)):
        if a.user_id in left_open and a.course == COURSES[0][0]:
            continue
        if a.course == COURSES[2][0]:
            continue  # the analysts' course: assigned, due in three weeks
        workforce.completion_record(course_id=by_title[a.course], user_id=a.user_id,
                                    completed_on=today - timedelta(days=2 + n % 9), actor=ACTOR)
    checks = 0
    for local, kind, result, ago, valid in BACKGROUND_CHECKS:
        if local not in ids:
            continue
        checked = today - timedelta(days=ago)
        workforce.background_check_record(
            user_id=ids[local], check_type=kind, result=result, checked_on=checked,
            expires_on=checked + timedelta(days=valid) if valid else None,
            reference=f"DEMO-BGC-{checks + 1:04d}", provider=PROVIDER, actor=ACTOR)
        checks += 1
    month = today.replace(day=1)
    for team, back, qa, start, end, leavers in TEAM_MONTHS:
        workforce.team_month_record(team=team, month=workforce.add_months(month, -back),
                                    qa_score=qa, headcount_start=start, headcount_end=end,
                                    leavers=leavers, actor=ACTOR)
    control = workforce.control_training_complete()
    return (f"Workforce: {len(COURSES)} courses, {checks} background checks, "
            f"{len(TEAM_MONTHS)} team months; training control {control['status']} "
            f"(one assignment {OVERDUE_DAYS} days overdue).")


def phishing_rows(emails: list[str], sent_on: date) -> list[dict[str, str]]:
    """The rows of the demo campaign's GoPhish "Export CSV", one per e-mail in order."""
    sent_at = datetime.combine(sent_on, time(9, 30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    for n, email in enumerate(emails):
        status, reported = _OUTCOMES[n % len(_OUTCOMES)]
        local = email.split("@")[0].split(".")
        delivered = status != "Error"
        rows.append({
            "id": f"demo{n + 1:04d}", "email": email, "first_name": local[0].title(),
            "last_name": local[1].title() if len(local) > 1 else "", "position": "",
            "status": status, "ip": "", "latitude": "0", "longitude": "0",
            "send_date": sent_at if delivered else "0001-01-01T00:00:00Z",
            "reported": "true" if reported and delivered else "false",
            "modified_date": sent_at})
    return rows


def phishing_csv(emails: list[str], sent_on: date) -> bytes:
    """The demo campaign as GoPhish exports it (its CSV columns, UTF-8)."""
    from safeguard.governance.gophish import CSV_COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(phishing_rows(emails, sent_on))
    return out.getvalue().encode()


def phishing_recipients() -> list[str]:
    """Every active staff member's e-mail (sorted) and one leaver nobody matches."""
    return [*sorted(u.email.lower() for u in workforce.staff()), LEAVER]


def _phishing(today: date) -> str:
    if any(c.name == PHISHING_NAME for c in phishing.campaigns()):
        return "Phishing: demo campaign already imported."
    raw = phishing_csv(phishing_recipients(), today - timedelta(days=PHISHING_DAYS_AGO))
    result = phishing.import_results(raw=raw, name=PHISHING_NAME, actor=ACTOR,
                                     fallback_name="demo-results.csv")
    return (f"Phishing: campaign {PHISHING_NAME!r} imported from a GoPhish CSV: "
            f"{result.clicked} of {result.sent} clicked, {result.reported} reported, "
            f"{len(result.unmatched)} unmatched.")


# --- access review --------------------------------------------------------------------------

def _person(user_id: int) -> Actor:
    user = accounts.user_get(user_id=user_id)
    return Actor(kind="user", id=str(user.id), label=user.email)


def _access_review() -> str:
    period = current_period()
    if any(c.period_start == period.start for c in campaign_list()):
        return "Access review: the current period's campaign already exists."
    stale = _user_id(STALE_OWNER)
    if stale is not None and not any(t.name == STALE_TOKEN
                                     for t in accounts.token_list(user_id=stale)):
        account_services.token_issue(actor=ACTOR, user_id=stale, name=STALE_TOKEN,
                                     scopes=["customers.view"], expires_in_days=180)
    admin = _user_id("admin")
    campaign = reviews.campaign_start(
        actor=_person(admin) if admin is not None else ACTOR)
    items = campaign_items(campaign_id=campaign.id)
    for local, kind, decision, comment in REVIEW_DECISIONS:
        item = _review_item(items, local, kind)
        if item is None or item.reviewer_id is None:
            continue
        reviews.item_decide(actor=_person(item.reviewer_id), item_id=item.id,
                            decision=decision, comment=comment)
    attack = next((i for i in items if i.kind == "token" and ATTACK_TOKEN in i.grant_label),
                  None)
    if attack is not None and attack.reviewer_id is not None:
        reviews.item_decide(actor=_person(attack.reviewer_id), item_id=attack.id,
                            decision="revoke",
                            comment="Personal token used for a bulk customer export "
                                    "(detection alert, incident opened). Revoked.")
    done = next(c for c in campaign_list() if c.id == campaign.id)
    return (f"Access review: campaign {done.label} started, {done.decided} of {done.total} "
            f"grants decided ({done.revoked} revoked), {done.pending} waiting in the "
            "reviewers' queues.")


def _review_item(items: list[ReviewItemView], local: str,
                 kind: str) -> ReviewItemView | None:
    email = _email(local)
    for item in items:
        if item.user_email == email and item.kind == kind and item.decision == "pending":
            if kind == "token" and STALE_TOKEN not in item.grant_label:
                continue
            return item
    return None


# --- metrics --------------------------------------------------------------------------------

def _metrics() -> str:
    # the daily job's service (its task is the metrics app's own); once a day by itself
    snap = mfa_history.mfa_snapshot_take(actor=ACTOR)
    states = {s.key: s for s in cost_selectors.input_states()}
    set_now = []
    for key, value in COST_INPUTS:
        if states[key].value is None:  # never over an organisation's own figure
            cost_services.cost_input_set(actor=ACTOR, user_id=None, key=key, value=value,
                                         source_note=DEMO_NOTE)
            set_now.append(key)
    _, outputs = cost_selectors.compute()
    ale = getattr(outputs, "ale", None)
    return (f"Metrics: MFA snapshot {snap.day} ({snap.privileged_with_mfa} of "
            f"{snap.privileged} privileged staff with MFA); cost-model inputs "
            f"{', '.join(k for k, _ in COST_INPUTS)} set as {DEMO_NOTE!r}"
            f"{'' if set_now else ' (already set)'}"
            f"{f', ALE {ale:,.0f}' if ale is not None else ''}.")


# --- incidents ------------------------------------------------------------------------------

def _attack_alert() -> Any | None:
    """The detection demo's "Mass customer access" alert (None when the attack was not staged,
    e.g. at a scale too small for it)."""
    found = detection.alert_list(rule=ATTACK_RULE, limit=1)
    return found[0] if found else None


def _incident() -> str:
    alert = _attack_alert()
    if alert is None:
        return "Incidents: no attack alert to open an incident from (none opened)."
    try:
        analyst = accounts.user_get_by_email(email=ANALYST)
    except UserNotFound:
        return "Incidents: no analyst to open the incident (none opened)."
    principal = Principal(user_id=analyst.id, email=analyst.email, via="session",
                          permissions=accounts.user_permissions(user_id=analyst.id))
    incident_services.open_from_alert(alert=alert, principal=principal)
    incident = next(i for i in incidents.incident_list() if i.source_alert_id == int(alert.id))
    checklist = checklists.checklist_get(incident_id=incident.id)
    items = [i for stage in checklist.stages for i in stage.items]
    if items and not any(i.done_at for i in items):
        checklists.checklist_item_check(
            actor=Actor(kind="user", id=str(analyst.id), label=analyst.email),
            incident_id=incident.id, item_id=items[0].id, note=CHECK_NOTE)
        items = [i for stage in checklists.checklist_get(incident_id=incident.id).stages
                 for i in stage.items]
    done = sum(1 for i in items if i.done_at)
    return (f"Incidents: incident {incident.id} opened from alert {alert.id} "
            f"({incident.category}); playbook checklist {done} of {len(items)} checked off.")


