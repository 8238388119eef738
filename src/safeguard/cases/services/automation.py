"""Automations (issue 15, R-OPS-5): assignment rules, triggers, the satisfaction survey sent on
resolution, auto-close of resolved cases, SLA warnings. Every change an automation makes is a
case-history entry and an audit event naming the rule; every edit of a rule is audited too.

Triggers run once per event, in ``position`` order, and their actions never fire triggers again
(no loops). The assignment rule of the case's queue runs after the triggers, so a trigger that
moves a case to another queue hands it to that queue's rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse

from safeguard.accounts import services as accounts
from safeguard.accounts.contracts import Principal
from safeguard.accounts.enums import NotificationKind
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import lifecycle
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import InvalidInput, QueueNotFound
from safeguard.cases.enums import (
    AssignmentStrategy,
    AuthorKind,
    Channel,
    DeliveryStatus,
    HistoryKind,
    Priority,
    TriggerEvent,
    TriggerNotify,
)
from safeguard.cases.models import (
    AgentSkills,
    AssignmentRule,
    Case,
    CsatSurveySent,
    Interaction,
    Message,
    Queue,
    QueueMembership,
    Tag,
    Trigger,
)
from safeguard.cases.services import _base as base
from safeguard.web.errors import PermissionDenied

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ACTIVE = [s.value for s in lifecycle.ACTIVE]
MAX_TAGS = 20


def _require(principal: Principal) -> None:
    if not principal.has(perm.AUTOMATIONS_MANAGE):
        raise PermissionDenied(f"This needs the permission {perm.AUTOMATIONS_MANAGE}.")


def _tags(raw: Iterable[str]) -> list[str]:
    wanted = sorted({str(t).strip().lower() for t in raw if str(t).strip()})
    bad = [t for t in wanted if not _TAG.match(t)]
    if bad or len(wanted) > MAX_TAGS:
        raise InvalidInput(f"Tags are up to {MAX_TAGS} slugs of letters, digits, - and _ "
                           "(40 characters each).", tags=bad[:5])
    return wanted


def _queue(slug: str) -> Queue:
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise QueueNotFound(f"No queue {slug!r}.", queue=slug[:50])
    return queue


# --- editing (supervisors) ---------------------------------------------------------------------


@transaction.atomic
def assignment_rule_save(*, principal: Principal, queue: str, strategy: str, use_skills: bool,
                         is_active: bool) -> int:
    """Create or change the assignment rule of a queue; audited with before and after."""
    _require(principal)
    if strategy not in AssignmentStrategy.values:
        raise InvalidInput(f"Unknown strategy {strategy!r}.")
    q = _queue(queue)
    rule = AssignmentRule.objects.select_for_update().filter(queue=q).first()
    before = ({"strategy": rule.strategy, "use_skills": rule.use_skills,
               "is_active": rule.is_active} if rule else None)
    if rule is None:
        rule = AssignmentRule(queue=q)
    rule.strategy, rule.use_skills, rule.is_active = strategy, bool(use_skills), bool(is_active)
    rule.save()
    audit.record(action="automation.assignment_rule_saved", actor=principal.actor,
                 subject=("queue", q.slug),
                 data={"rule": rule.id, "before": before,
                       "after": {"strategy": strategy, "use_skills": bool(use_skills),
                                 "is_active": bool(is_active)}})
    return rule.id


@transaction.atomic
def agent_skills_set(*, principal: Principal, user_id: int, tags: Iterable[str]) -> list[str]:
    """Set the tags an agent is skilled in (only a member of some queue); audited."""
    _require(principal)
    wanted = _tags(tags)
    if not QueueMembership.objects.filter(user_id=user_id, user__is_active=True).exists():
        raise InvalidInput("Skills are set for active members of a queue.")
    row, _ = AgentSkills.objects.select_for_update().get_or_create(user_id=user_id)
    before = list(row.tags)
    row.tags = wanted
    row.save()
    audit.record(action="automation.skills_set", actor=principal.actor,
                 subject=("user", user_id), data={"before": before, "after": wanted})
    return wanted


_TRIGGER_FIELDS = ("name", "event", "position", "is_active", "if_queue", "if_channel",
                   "if_priority", "if_subject_contains", "set_queue", "set_priority", "add_tags",
                   "notify")


def _trigger_values(data: dict[str, Any]) -> dict[str, Any]:
    """Check every field of a trigger; InvalidInput names the first wrong one."""
    name = " ".join(str(data.get("name", "")).split())
    if not name or len(name) > 100:
        raise InvalidInput("A trigger needs a name of at most 100 characters.", field="name")
    event = str(data.get("event", ""))
    if event not in TriggerEvent.values:
        raise InvalidInput(f"Unknown event {event!r}.", field="event")
    try:
        position = int(data.get("position", 100))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("The position is a whole number.", field="position") from exc
    if not 0 <= position <= 10_000:
        raise InvalidInput("The position is between 0 and 10000.", field="position")
    channel = str(data.get("if_channel") or "")
    if channel and channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}.", field="if_channel")
    for key in ("if_priority", "set_priority"):
        value = str(data.get(key) or "")
        if value and value not in Priority.values:
            raise InvalidInput(f"Unknown priority {value!r}.", field=key)
    contains = str(data.get("if_subject_contains") or "").strip()
    if len(contains) > 100:
        raise InvalidInput("The subject text is at most 100 characters.",
                           field="if_subject_contains")
    notify = str(data.get("notify") or "")
    if notify not in TriggerNotify.values:
        raise InvalidInput(f"Unknown recipient {notify!r}.", field="notify")
    if_queue = _queue(str(data["if_queue"])) if data.get("if_queue") else None
    set_queue = _queue(str(data["set_queue"])) if data.get("set_queue") else None
    add_tags = _tags(data.get("add_tags") or [])
    if not (set_queue or data.get("set_priority") or add_tags or notify):
        raise InvalidInput("A trigger needs at least one action.", field="set_queue")
    return {"name": name, "event": event, "position": position,
            "is_active": bool(data.get("is_active", True)), "if_queue": if_queue,
            "if_channel": channel, "if_priority": str(data.get("if_priority") or ""),
            "if_subject_contains": contains, "set_queue": set_queue,
            "set_priority": str(data.get("set_priority") or ""), "add_tags": add_tags,
            "notify": notify}


def _trigger_audit_view(t: Trigger) -> dict[str, Any]:
    return {"name": t.name, "event": t.event, "position": t.position, "is_active": t.is_active,
            "if_queue": t.if_queue.slug if t.if_queue else "", "if_channel": t.if_channel,
            "if_priority": t.if_priority, "if_subject_contains": t.if_subject_contains,
            "set_queue": t.set_queue.slug if t.set_queue else "",
            "set_priority": t.set_priority, "add_tags": list(t.add_tags), "notify": t.notify}


@transaction.atomic
def trigger_save(*, principal: Principal, trigger_id: int | None = None,
                 data: dict[str, Any]) -> int:
    """Create (``trigger_id`` None) or change a trigger after checking every field; bad input is
    InvalidInput and changes nothing. Audited with before and after."""
    _require(principal)
    values = _trigger_values(data)
    before = None
    if trigger_id is None:
        trigger = Trigger()
    else:
        found = Trigger.objects.select_for_update().filter(id=trigger_id).first()
        if found is None:
            raise InvalidInput("No such trigger.", field="id")
        trigger = found
        before = _trigger_audit_view(trigger)
    for key, value in values.items():
        setattr(trigger, key, value)
    trigger.save()
    audit.record(action="automation.trigger_saved", actor=principal.actor,
                 subject=("trigger", trigger.id),
                 data={"before": before, "after": _trigger_audit_view(trigger)})
    return trigger.id


@transaction.atomic
def trigger_delete(*, principal: Principal, trigger_id: int) -> None:
    """Delete a trigger; audited with what it was."""
    _require(principal)
    trigger = Trigger.objects.select_for_update().filter(id=trigger_id).first()
    if trigger is None:
        raise InvalidInput("No such trigger.", field="id")
    before = _trigger_audit_view(trigger)
    trigger.delete()
    audit.record(action="automation.trigger_deleted", actor=principal.actor,
                 subject=("trigger", trigger_id), data={"before": before})


# --- running (called by the cases services themselves) -----------------------------------------


def _case_url(case: Case) -> str:
    return reverse("cases:detail", kwargs={"number": case.number})


def _matches(trigger: Trigger, case: Case) -> bool:
    if trigger.if_queue_id and trigger.if_queue_id != case.queue_id:
        return False
    if trigger.if_channel and trigger.if_channel != case.channel:
        return False
    if trigger.if_priority and trigger.if_priority != case.priority:
        return False
    return not (trigger.if_subject_contains
                and trigger.if_subject_contains.casefold() not in case.subject.casefold())


def _notify_for(trigger: Trigger, case: Case, actor: Actor) -> int:
    if trigger.notify == TriggerNotify.ASSIGNEE:
        users = [case.assignee_id] if case.assignee_id else []
    else:
        members = QueueMembership.objects.filter(queue_id=case.queue_id, user__is_active=True)
        if trigger.notify == TriggerNotify.QUEUE_SUPERVISORS:
            members = members.filter(is_supervisor=True)
        users = list(members.values_list("user_id", flat=True))
    sent = 0
    for user_id in users:
        if accounts.notify(user_id, NotificationKind.AUTOMATION,
                           f"{trigger.name}: case #{case.number}", _case_url(case),
                           subject=("case", case.number), actor=actor):
            sent += 1
    return sent


def _run_trigger(trigger: Trigger, case: Case, actor: Actor) -> dict[str, Any]:
    done: dict[str, Any] = {}
    if trigger.set_queue_id and trigger.set_queue_id != case.queue_id:
        previous = case.queue.slug
        case.queue_id = trigger.set_queue_id
        case.save(update_fields=["queue", "updated_at"])
        case.refresh_from_db(fields=["queue"])
        base.history(case, HistoryKind.QUEUE, actor, to=case.queue.slug, previous=previous,
                     trigger=trigger.id)
        done["queue"] = case.queue.slug
    if trigger.set_priority and trigger.set_priority != case.priority:
        previous = case.priority
        case.priority = trigger.set_priority
        case.save(update_fields=["priority", "updated_at"])
        base.history(case, HistoryKind.PRIORITY, actor, to=case.priority, previous=previous,
                     trigger=trigger.id)
        done["priority"] = case.priority
    if trigger.add_tags:
        before = set(case.tags.values_list("name", flat=True))
        added = [t for t in trigger.add_tags if t not in before]
        if added:
            case.tags.add(*[Tag.objects.get_or_create(name=t)[0] for t in added])
            base.history(case, HistoryKind.TAGS, actor, tags=sorted(before | set(added)),
                         previous=sorted(before), trigger=trigger.id)
            done["tags"] = added
    if trigger.notify:
        done["notified"] = _notify_for(trigger, case, actor)
    return done


def automations_run(*, case: Case, event: str) -> None:
    """Run the triggers for ``event`` (created/updated) on ``case``, then, for a new or still
    unassigned case, the assignment rule of its queue. Called inside the ingest transaction."""
    actor = Actor.system("cases.automation")
    events = (event, TriggerEvent.BOTH)
    for trigger in Trigger.objects.filter(is_active=True, event__in=events).select_related(
            "if_queue", "set_queue").order_by("position", "id"):
        if not _matches(trigger, case):
            continue
        done = _run_trigger(trigger, case, actor)
        audit.record(action="automation.trigger_fired", actor=actor,
                     subject=("case", case.number),
                     data={"number": case.number, "trigger": trigger.id, "event": event,
                           "done": done})
    if case.assignee_id is None and case.status in _ACTIVE:
        auto_assign(case=case, actor=actor)


def _eligible(case: Case, rule: AssignmentRule) -> list[int]:
    """Active agents of the queue (not its supervisors), by id; narrowed to those skilled in
    one of the case's tags when the rule uses skills and any agent has such a skill."""
    agents = sorted(QueueMembership.objects.filter(
        queue_id=case.queue_id, is_supervisor=False, user__is_active=True,
        user__is_service_account=False).values_list("user_id", flat=True))
    if rule.use_skills and agents:
        tags = set(case.tags.values_list("name", flat=True))
        if tags:
            skilled = [u for u, skills in AgentSkills.objects.filter(
                user_id__in=agents).values_list("user_id", "tags")
                if tags.intersection(skills or [])]
            if skilled:
                return sorted(skilled)
    return agents


def auto_assign(*, case: Case, actor: Actor) -> int | None:
    """Give ``case`` to an agent by its queue's active rule; returns the agent's id, or None
    when the queue has no rule or no eligible agent. The round-robin turn is kept on the rule
    (locked), so two cases arriving together go to two agents."""
    rule = AssignmentRule.objects.select_for_update().filter(
        queue_id=case.queue_id, is_active=True).first()
    if rule is None:
        return None
    agents = _eligible(case, rule)
    if not agents:
        return None
    if rule.strategy == AssignmentStrategy.LOAD_BALANCED:
        loads = dict(Case.objects.filter(assignee_id__in=agents, status__in=_ACTIVE,
                                         merged_into__isnull=True)
                     .values("assignee_id").annotate(n=Count("id"))
                     .values_list("assignee_id", "n"))
        after = rule.last_assignee_id or 0
        # fewest open cases; ties go to the next in turn after the last one given a case
        chosen = min(agents, key=lambda u: (loads.get(u, 0), u <= after, u))
    else:
        after = rule.last_assignee_id or 0
        chosen = next((u for u in agents if u > after), agents[0])
    case.assignee_id = chosen
    case.save(update_fields=["assignee", "updated_at"])
    rule.last_assignee_id = chosen
    rule.save(update_fields=["last_assignee", "updated_at"])
    base.history(case, HistoryKind.ASSIGNED, actor, to=chosen, previous=None, rule=rule.id)
    audit.record(action="case.assigned", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "assignee": chosen, "previous": None,
                       "rule": rule.id, "strategy": rule.strategy})
    assignment_notify(case=case, user_id=chosen, actor=actor)
    return chosen


def assignment_notify(*, case: Case, user_id: int, actor: Actor) -> None:
    """Tell an agent a case was given to them (no customer data: the number only)."""
    accounts.notify(user_id, NotificationKind.ASSIGNMENT,
                    f"Case #{case.number} was assigned to you", _case_url(case),
                    subject=("case", case.number), actor=actor)


# --- the satisfaction survey on resolution ------------------------------------------------------

CSAT_TEXT = ("Your request #{number} is resolved. How did we do? Please rate us from 1 to 5: "
             "{link}")


def csat_send_on_resolution(*, case: Case, actor: Actor) -> bool:
    """Send the survey link to the customer through the case's channel when it is resolved
    (SAFEGUARD_CSAT_AUTO_SEND), once per case; the message is delivered like any reply (after
    commit). Voice-only cases get it by e-mail, as replies do; a channel with no outbound sender
    (the API) gets none. Returns True when sent."""
    if not settings.SAFEGUARD_CSAT_AUTO_SEND or case.status != lifecycle.Status.RESOLVED:
        return False
    if CsatSurveySent.objects.filter(case=case).exists():
        return False
    from safeguard.cases import outbound
    from safeguard.cases.services.csat import csat_link_for_case

    latest = case.interactions.exclude(channel=Channel.VOICE).order_by("-started_at").first()
    channel = latest.channel if latest else Channel.EMAIL
    if outbound.sender_for(channel) is None:
        return False  # a channel that cannot reach the customer (the API): no survey
    link = csat_link_for_case(case_id=case.id, actor=actor)
    url = f"{settings.SAFEGUARD_CSAT_BASE_URL.rstrip('/')}{link.path}"
    interaction = latest or Interaction.objects.create(case=case, channel=Channel.EMAIL,
                                                       started_at=base.now())
    at = base.now()
    message = Message.objects.create(
        case=case, interaction=interaction, seq=base.next_seq(interaction),
        channel=interaction.channel, author_kind=AuthorKind.SYSTEM,
        body=CSAT_TEXT.format(number=case.number, link=url), findings=[],
        delivery_status=DeliveryStatus.PENDING, created_at=at)
    CsatSurveySent.objects.create(case=case, message=message, sent_at=at)
    base.history(case, HistoryKind.REPLY, actor, at=at, channel=interaction.channel,
                 message=base.short_id(message.id), automation="csat_survey")
    audit.record(action="csat.survey_sent", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "channel": interaction.channel,
                       "message": base.short_id(message.id)})
    base.enqueue_delivery(message.id)
    return True


# --- auto-close and SLA warnings (periodic jobs) ------------------------------------------------


def cases_autoclose(*, batch_size: int | None = None) -> int:
    """Close resolved cases resolved more than SAFEGUARD_AUTOCLOSE_DAYS ago (0: never). Each
    batch is its own transaction and the selection is by state, so a job killed half-way
    resumes where it stopped and closes nothing twice. Returns how many were closed."""
    days = settings.SAFEGUARD_AUTOCLOSE_DAYS
    if days <= 0:
        return 0
    size = batch_size or settings.SAFEGUARD_AUTOCLOSE_BATCH
    actor = Actor.system("cases.autoclose")
    closed = 0
    while True:
        with transaction.atomic():
            cutoff = base.now() - timedelta(days=days)
            batch = list(Case.objects.select_for_update().filter(
                status=lifecycle.Status.RESOLVED, resolved_at__lt=cutoff,
                merged_into__isnull=True).order_by("resolved_at", "id")[:size])
            for case in batch:
                base.apply_status(case, lifecycle.Status.CLOSED, actor, at=base.now(),
                                  reason=f"auto-close after {days} days resolved")
                case.save(update_fields=base.CASE_STATE_FIELDS)
            closed += len(batch)
        if len(batch) < size:
            return closed


def sla_warn() -> int:
    """Notify the assignee of every active case whose SLA clock runs out within
    SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES (once per case, clock and due time). Returns how many
    notifications were new."""
    at = base.now()
    until = at + timedelta(minutes=settings.SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES)
    actor = Actor.system("cases.sla")
    sent = 0
    clocks = (("first response", "first_response_due_at", Q(first_response_at__isnull=True,
                                                             first_response_breached_at__isnull=True)),
              ("resolution", "resolution_due_at", Q(resolution_breached_at__isnull=True)))
    for label, due_field, open_clock in clocks:
        rows = (Case.objects.filter(open_clock, status__in=_ACTIVE, merged_into__isnull=True,
                                    assignee__isnull=False,
                                    **{f"{due_field}__gte": at, f"{due_field}__lte": until})
                .values_list("number", "assignee_id", due_field))
        for number, assignee_id, due in rows:
            minutes = max(1, int((due - at).total_seconds() // 60))
            if accounts.notify(
                    assignee_id, NotificationKind.SLA_WARNING,
                    f"Case #{number}: {label} due in {minutes} min",
                    reverse("cases:detail", kwargs={"number": number}),
                    subject=("case", number), actor=actor,
                    dedupe_key=f"sla:{number}:{due_field}:{due.isoformat()}"[:100]):
                sent += 1
    return sent
