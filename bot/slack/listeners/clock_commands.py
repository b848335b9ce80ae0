"""`/comms` subcommands for deadlines and ownership: queue, mine, assign, escalate, sar,
answered, crisis. The `/comms` dispatcher hands them here; each answers privately."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.crisis import Crisis
from bot.core.deadlines import ClockError, PauseReason
from bot.core.escalation import EscalationError
from bot.core.people import People, is_one_of
from bot.services import Services
from bot.slack.clock_messages import QUEUE_PAGE, queue_text, row, when

SUBCOMMANDS = frozenset({"queue", "mine", "assign", "escalate", "sar", "answered", "crisis"})
# The officer role that may start and end crisis mode (with the desk's admins, once they
# are configured).
CRISIS_ROLE = "head_of_comms"
_REF = re.compile(r"^[A-Za-z]+-\d+$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{8,})(?:\|[^>]*)?>$")
USAGE = {
    "assign": "/comms assign T-0042 @person",
    "escalate": "/comms escalate T-0042 <role or @person> [note]",
    "sar": "/comms sar pause|resume|extend T-0042 [identity|clarification|months]",
    "answered": "/comms answered T-0042",
    "crisis": "/comms crisis start <note> | /comms crisis end",
}


def _reply(services: Services, what: str, **context: object) -> str:
    return services.renderer.render("slack/clock_reply.j2", what=what, **context)


def _ref(word: str) -> str | None:
    return word.upper() if _REF.match(word) else None


def answer(services: Services, subcommand: str, argument: str, *, user: str) -> str:
    """The private answer to one of the clock subcommands."""
    now = services.clock()
    words = argument.split()
    try:
        if subcommand in ("queue", "mine"):
            page = int(words[0]) if words and words[0].isdigit() else 1
            return _queue(
                services, page=max(page, 1), owner=user if subcommand == "mine" else None, now=now
            )
        if subcommand == "crisis":
            return _crisis(services, words, argument, user=user, now=now)
        if subcommand == "sar":
            return _sar(services, words, user=user, now=now)
        ref = _ref(words[0]) if words else None
        if ref is None:
            return _reply(services, "usage", usage=USAGE[subcommand])
        if subcommand == "answered":
            services.desk.mark_answered(ref, by=user, now=now)
            return _reply(services, "answered", ref=ref)
        if subcommand == "assign":
            found = _USER.match(words[1]) if len(words) > 1 else None
            if found is None:
                return _reply(services, "usage", usage=USAGE["assign"])
            services.store.claim_theme(ref, owner=found.group(1), by=user, now=now)
            return _reply(services, "assigned", ref=ref, owner=found.group(1))
        if len(words) < 2:
            return _reply(services, "usage", usage=USAGE["escalate"])
        note = " ".join(words[2:]) or None
        services.desk.escalate(ref, target=words[1], note=note, by=user, now=now)
        return _reply(services, "escalated", ref=ref, target=words[1])
    except KeyError:
        return _reply(services, "no_theme", ref=words[0] if words else "")
    except (ClockError, EscalationError) as exc:
        return str(exc)


def _queue(services: Services, *, page: int, owner: str | None, now: datetime) -> str:
    clocks = services.config.clocks
    themes, total = services.store.waiting_themes(
        owner=owner, limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE
    )
    rows = [
        row(s, now=now, calendar=clocks.calendar, base=clocks.rule_for(s.clock.kind).base)
        for s in themes
        if s.clock is not None
    ]
    return queue_text(services.renderer, rows=rows, total=total, page=page, mine=owner is not None)


def may_declare_crisis(services: Services, user: str) -> bool:
    """Whether `user` may start or end crisis mode: an officer of the head of comms role."""
    heads = services.config.escalation.directory.with_role(CRISIS_ROLE)
    people = People(users=frozenset(o.slack_user_id for o in heads), usergroups=frozenset())
    return is_one_of(user, people, usergroup_members={})


def _crisis(
    services: Services, words: list[str], argument: str, *, user: str, now: datetime
) -> str:
    action = words[0].lower() if words else ""
    if action not in ("start", "end"):
        return _reply(services, "usage", usage=USAGE["crisis"])
    if not may_declare_crisis(services, user):
        return _reply(services, "not_allowed")
    if action == "start":
        note = argument.strip()[len(words[0]) :].strip()
        if not note:
            return _reply(services, "usage", usage=USAGE["crisis"])
        services.store.set_crisis(Crisis(note=note, by=user, since=now), by=user, now=now)
        return _reply(services, "crisis_started")
    if services.store.crisis() is None:
        return _reply(services, "no_crisis")
    services.store.set_crisis(None, by=user, now=now)
    return _reply(services, "crisis_ended")


def _sar(services: Services, words: list[str], *, user: str, now: datetime) -> str:
    action = words[0].lower() if words else ""
    ref = _ref(words[1]) if len(words) > 1 else None
    if action not in ("pause", "resume", "extend") or ref is None:
        return _reply(services, "usage", usage=USAGE["sar"])
    reason, months = None, 0
    if action == "pause":
        try:
            reason = PauseReason(words[2].lower() if len(words) > 2 else "")
        except ValueError:
            return _reply(services, "usage", usage=USAGE["sar"])
    if action == "extend":
        months = int(words[2]) if len(words) > 2 and words[2].isdigit() else 0
        if months < 1:
            return _reply(services, "usage", usage=USAGE["sar"])
    stored = services.store.subject_access(
        ref, action=action, reason=reason, months=months, by=user, now=now
    )
    assert stored.clock is not None
    return _reply(
        services,
        "sar",
        ref=ref,
        action={"pause": "paused", "resume": "resumed", "extend": "extended"}[action],
        due=when(stored.clock.due_at, services.config.zone),
        paused=stored.clock.paused,
    )
