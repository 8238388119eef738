"""System checks of the incidents app, ids safeguard.E520-E529 and E530-E536.

* E520: the jurisdiction table (SAFEGUARD_INCIDENTS_JURISDICTIONS or the default file) cannot
  be loaded: a missing file, bad YAML, a row without citation or effective date, a notice with a
  bad period, or not exactly one regulator notice.
* E521: the SLA periods are out of order (triage <= containment <= eradication <= recovery).
* E522: SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES is not within 1 byte..50 MiB (items are sealed and
  held in the database).
* E523: SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS is not within 1..100000.
* E524: an exercise cadence (SAFEGUARD_IR_TABLETOP_MONTHS, SAFEGUARD_IR_DRILL_MONTHS) is not at
  least one month, or the tabletop cadence is longer than the full drill's.
* E525: the exercise score range (SAFEGUARD_IR_SCORE_MIN..MAX) is empty or starts below 1, or
  SAFEGUARD_IR_RETAINER_WARN_DAYS is negative.
* E526: the playbooks (SAFEGUARD_INCIDENTS_PLAYBOOK_DIR or the shipped directory) do not load:
  the message names the file and the field at fault (decision 0225).
* E530: SAFEGUARD_INCIDENTS_LETTERS_MAX is not within 1..100000 (customer letters per batch).
* E535: SAFEGUARD_INCIDENTS_LETTERS_CHUNK is not within 1..1000 (letters per chunk of the job).
* E536: SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS is not within 1..300 (progress refresh).
* E537: SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS is not within 60..86400 (stalled batches).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def jurisdiction_table_loads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The regulator clocks refuse a broken table; say so at start."""
    from safeguard.incidents import clocks

    try:
        clocks.load_table(settings.SAFEGUARD_INCIDENTS_JURISDICTIONS or None)
    except (OSError, clocks.TableError) as exc:
        return [checks.Error(f"Jurisdiction table: {exc}",
                             hint="Fix the file named by SAFEGUARD_INCIDENTS_JURISDICTIONS "
                                  "(docs/incidents.md).", id="safeguard.E520")]
    except Exception as exc:  # noqa: BLE001 - bad YAML raises yaml's own error types
        return [checks.Error(f"Jurisdiction table unreadable: {exc}",
                             hint="Fix the file named by SAFEGUARD_INCIDENTS_JURISDICTIONS "
                                  "(docs/incidents.md).", id="safeguard.E520")]
    return []


def sla_periods_ordered(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Each later stage has at least as long as the one before (all count from awareness)."""
    hours = [settings.SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS]
    if hours != sorted(hours):
        return [checks.Error(f"Incident SLA hours out of order: {hours}",
                             hint="triage <= containment <= eradication <= recovery, all from "
                                  "awareness (docs/incidents.md).", id="safeguard.E521")]
    return []


def exercise_cadence_valid(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    tabletop, drill = settings.SAFEGUARD_IR_TABLETOP_MONTHS, settings.SAFEGUARD_IR_DRILL_MONTHS
    if min(tabletop, drill) < 1 or tabletop > drill:
        return [checks.Error(f"Exercise cadence: tabletop {tabletop}, drill {drill} months",
                             hint="Both at least 1 month, tabletop <= full drill "
                                  "(docs/incidents.md).", id="safeguard.E524")]
    return []


def scores_and_retainers_valid(app_configs: Any = None,
                               **kwargs: Any) -> list[checks.CheckMessage]:
    low, high = settings.SAFEGUARD_IR_SCORE_MIN, settings.SAFEGUARD_IR_SCORE_MAX
    if low < 1 or high < low or settings.SAFEGUARD_IR_RETAINER_WARN_DAYS < 0:
        return [checks.Error(f"Exercise scores {low}..{high}, retainer warning "
                             f"{settings.SAFEGUARD_IR_RETAINER_WARN_DAYS} days",
                             hint="1 <= SAFEGUARD_IR_SCORE_MIN <= SAFEGUARD_IR_SCORE_MAX and "
                                  "SAFEGUARD_IR_RETAINER_WARN_DAYS >= 0 (docs/incidents.md).",
                             id="safeguard.E525")]
    return []


EVIDENCE_UPLOAD_CEILING = 50 * 1024 * 1024
EVIDENCE_SLICE_CEILING = 100_000


def evidence_limits(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The evidence locker's size limits are usable (R-IR-5)."""
    errors: list[checks.CheckMessage] = []
    if not 1 <= settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES <= EVIDENCE_UPLOAD_CEILING:
        errors.append(checks.Error(
            f"SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES={settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES}",
            hint=f"Between 1 and {EVIDENCE_UPLOAD_CEILING} (docs/configuration.md).",
            id="safeguard.E522"))
    if not 1 <= settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS <= EVIDENCE_SLICE_CEILING:
        errors.append(checks.Error(
            f"SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS={settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS}",
            hint=f"Between 1 and {EVIDENCE_SLICE_CEILING} (docs/configuration.md).",
            id="safeguard.E523"))
    return errors


def playbooks_load(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every category has a valid playbook; a bad one names its file and field (R-IR-7)."""
    from safeguard.incidents import playbooks

    try:
        playbooks.load_dir(settings.SAFEGUARD_INCIDENTS_PLAYBOOK_DIR or None)
    except (OSError, playbooks.PlaybookError) as exc:
        return [checks.Error(f"Playbook: {exc}",
                             hint="Fix the file (format: docs/incidents.md, \"Playbooks\"); "
                                  "incidents open without a checklist meanwhile.",
                             id="safeguard.E526")]
    return []


LETTERS_CEILING = 100_000


def letters_limit(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E530: SAFEGUARD_INCIDENTS_LETTERS_MAX is within 1..100000 (R-IR-6 letters per batch)."""
    if not 1 <= settings.SAFEGUARD_INCIDENTS_LETTERS_MAX <= LETTERS_CEILING:
        return [checks.Error(
            f"SAFEGUARD_INCIDENTS_LETTERS_MAX={settings.SAFEGUARD_INCIDENTS_LETTERS_MAX}",
            hint=f"Between 1 and {LETTERS_CEILING} (docs/incidents.md).", id="safeguard.E530")]
    return []


def letters_job(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E535-E537: the letter job's chunk size, the page's progress refresh and the stalled-batch
    threshold are in range (R-IR-6)."""
    out: list[checks.CheckMessage] = []
    chunk = settings.SAFEGUARD_INCIDENTS_LETTERS_CHUNK
    if not isinstance(chunk, int) or not 1 <= chunk <= 1000:
        out.append(checks.Error(f"SAFEGUARD_INCIDENTS_LETTERS_CHUNK={chunk!r}",
                                hint="Between 1 and 1000 letters (docs/incidents.md).",
                                id="safeguard.E535"))
    poll = settings.SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS
    if not isinstance(poll, int) or not 1 <= poll <= 300:
        out.append(checks.Error(f"SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS={poll!r}",
                                hint="Between 1 and 300 seconds (docs/incidents.md).",
                                id="safeguard.E536"))
    stale = settings.SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS
    if not isinstance(stale, int) or not 60 <= stale <= 86400:
        out.append(checks.Error(f"SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS={stale!r}",
                                hint="Between 60 and 86400 seconds (docs/incidents.md).",
                                id="safeguard.E537"))
    return out


def register() -> None:
    checks.register(letters_job)
    checks.register(playbooks_load)
    checks.register(letters_limit)
    checks.register(evidence_limits)
    checks.register(jurisdiction_table_loads)
    checks.register(sla_periods_ordered)
    checks.register(exercise_cadence_valid)
    checks.register(scores_and_retainers_valid)
