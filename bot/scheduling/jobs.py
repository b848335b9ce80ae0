"""Scheduled jobs: plain `job(services, now)` functions the scheduler and tests both call."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.services import Services

logger = logging.getLogger(__name__)

# Slack retries an event for about an hour at most; a day is a wide margin.
EVENT_MEMORY = timedelta(days=1)


def forget_old_events(services: Services, now: datetime) -> int:
    """Drop handled Slack event ids older than a day so the file stays small."""
    removed = services.store.prune_events(older_than=EVENT_MEMORY, now=now)
    if removed:
        logger.info("forgot %d handled Slack event ids", removed)
    return removed


def expire_themes(services: Services, now: datetime) -> int:
    """Stop themes whose join window has passed taking new posts (they stay open work)."""
    expired = services.store.expire_themes(now)
    if expired:
        logger.info("%d theme(s) no longer take new posts", len(expired))
    return len(expired)


def refresh_suggestions(services: Services, now: datetime) -> int:
    """Give each open theme a suggestion for its situation now (out of hours, crisis…)."""
    if services.replies is None:
        return 0
    made = services.replies.refresh_all(now=now)
    if made:
        logger.info("%d suggested repl(ies) made for a changed situation", made)
    return made


def sweep_clocks(services: Services, now: datetime) -> int:
    """Queue the reminders and escalation DMs due now (idempotent: each is sent once)."""
    outcome = services.desk.sweep_clocks(now=now)
    if outcome.reminders or outcome.escalation_dms:
        logger.info(
            "%d reminder(s) and %d escalation DM(s) queued",
            outcome.reminders,
            outcome.escalation_dms,
        )
    return outcome.reminders + outcome.escalation_dms


def daily_digest(services: Services, now: datetime) -> int:
    """At opening time: what is due today and overdue, per channel (on working days only)."""
    if not services.config.clocks.calendar.is_open(now):
        return 0
    return services.desk.daily_digest(now=now)
