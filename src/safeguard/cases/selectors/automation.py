"""Reads of the automations editor (issue 15): queues with their assignment rules and agents'
skills, and the triggers. Configuration only: no customer data."""

from __future__ import annotations

from django.db.models import Count

from safeguard.cases import lifecycle
from safeguard.cases.contracts import AgentSkillView, AssignmentRuleView, TriggerView
from safeguard.cases.enums import AssignmentStrategy
from safeguard.cases.models import (
    AgentSkills,
    AssignmentRule,
    Case,
    Queue,
    QueueMembership,
    Trigger,
)

_ACTIVE = [s.value for s in lifecycle.ACTIVE]


def assignment_rules() -> list[AssignmentRuleView]:
    """Every active queue, its rule (if any) and its members with skills and open cases."""
    rules = {r.queue_id: r for r in AssignmentRule.objects.all()}
    skills = dict(AgentSkills.objects.values_list("user_id", "tags"))
    loads = dict(Case.objects.filter(status__in=_ACTIVE, assignee__isnull=False)
                 .values("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n"))
    members: dict[int, list[AgentSkillView]] = {}
    for m in (QueueMembership.objects.filter(user__is_active=True).select_related("user")
              .order_by("user__email")):
        members.setdefault(m.queue_id, []).append(AgentSkillView(
            user_id=m.user_id, email=m.user.email, is_supervisor=m.is_supervisor,
            skills=tuple(skills.get(m.user_id) or ()), open_cases=loads.get(m.user_id, 0)))
    out = []
    for q in Queue.objects.filter(is_active=True).order_by("name"):
        rule = rules.get(q.id)
        out.append(AssignmentRuleView(
            queue=q.slug, queue_name=q.name, strategy=rule.strategy if rule else "",
            strategy_label=str(AssignmentStrategy(rule.strategy).label) if rule else "",
            use_skills=rule.use_skills if rule else True,
            is_active=rule.is_active if rule else False,
            members=tuple(members.get(q.id, ()))))
    return out


def _trigger_view(t: Trigger) -> TriggerView:
    return TriggerView(
        id=t.id, name=t.name, event=t.event, position=t.position, is_active=t.is_active,
        if_queue=t.if_queue.slug if t.if_queue else "", if_channel=t.if_channel,
        if_priority=t.if_priority, if_subject_contains=t.if_subject_contains,
        set_queue=t.set_queue.slug if t.set_queue else "", set_priority=t.set_priority,
        add_tags=tuple(t.add_tags or ()), notify=t.notify)


def trigger_list() -> list[TriggerView]:
    """Every trigger in the order they run."""
    return [_trigger_view(t) for t in
            Trigger.objects.select_related("if_queue", "set_queue").order_by("position", "id")]


def trigger_get(*, trigger_id: int) -> TriggerView | None:
    t = Trigger.objects.select_related("if_queue", "set_queue").filter(id=trigger_id).first()
    return _trigger_view(t) if t else None
