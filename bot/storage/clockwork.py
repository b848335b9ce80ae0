"""Deadlines, reminders and escalations kept with open work (the sweep's write path).

Each theme's clock and escalations live in its own file (`bot.storage.themes`), so they
change in the same write as the theme. `ThemeFiles` indexes the next moment each open theme
has something due, so a sweep reads only those themes. A sweep writes, as one intent, the
themes it changed, the one-off messages it queued (reminders, escalation DMs) and their
audit entries: "sent" and "queued" can never disagree, whatever a crash interrupts, so a
restart neither loses a reminder nor sends one twice.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.calendar import WorkingCalendar
from bot.core.clocks import Clocks
from bot.core.escalation import EscalationSetup
from bot.core.theme_clock import (
    Escalation,
    ThemeClock,
    acknowledge,
    rekind_clock,
    restart_clock,
    start_clock,
    start_escalation,
    stop_clock,
    stop_escalation,
    take_reminders,
    take_steps,
)
from bot.core.theme_state import ThemeStatus
from bot.storage.atomic import AtomicJSONStorage
from bot.storage.audit import AuditLog
from bot.storage.docs import iso, parse
from bot.storage.intents import FileWrite
from bot.storage.parts import Parts
from bot.storage.themes import StoredTheme
from bot.storage.views import theme_docs

# One-off message kinds the sweep queues (rendered by the Slack edge).
REMINDER = "reminder"
ESCALATION = "escalation"
DUE_DIGEST = "due_digest"  # the daily digest of one channel


def _default_clocks() -> Clocks:
    return Clocks(WorkingCalendar(ZoneInfo("Europe/London")))


@dataclass(frozen=True)
class Clockwork:
    """The desk's clocks and escalation setup, as storage applies them."""

    clocks: Clocks = field(default_factory=_default_clocks)
    setup: EscalationSetup = field(default_factory=EscalationSetup)

    def placed(
        self,
        stored: StoredTheme,
        *,
        new: bool,
        category: str,
        rule: str,
        text: str,
        now: datetime,
    ) -> StoredTheme:
        """A theme a post opened (its clock starts now) or joined, with the escalations the
        post starts (each policy once while one of it is running)."""
        if new or stored.clock is None:
            stored = replace(
                stored, clock=start_clock(category=category, received_at=now, clocks=self.clocks)
            )
        running = {e.policy for e in stored.escalations if e.acknowledged_at is None}
        for policy in self.setup.intake_policies(category=category, rule=rule, text=text):
            if policy in running or policy not in self.setup.policies:
                continue
            stored = self.escalate(stored, reason="intake", policy=policy, now=now)
            running.add(policy)
        return stored

    def escalate(
        self,
        stored: StoredTheme,
        *,
        reason: str,
        now: datetime,
        policy: str | None = None,
        target: str | None = None,
        note: str | None = None,
        by: str | None = None,
    ) -> StoredTheme:
        """`stored` with a new escalation started at `now`."""
        escalation = start_escalation(
            id=f"E{len(stored.escalations) + 1}",
            started_at=now,
            reason=reason,
            policy=policy,
            target=target,
            note=note,
            by=by,
            setup=self.setup,
            clocks=self.clocks,
        )
        return replace(stored, escalations=(*stored.escalations, escalation))

    def clocked(self, stored: StoredTheme, *, received_at: datetime) -> StoredTheme:
        """A theme stored without a clock (before clocks existed, or rebuilt from
        quarantine) with the one it would have had, counted from `received_at` (its first
        post's arrival)."""
        if stored.clock is not None:
            return stored
        clock = start_clock(
            category=stored.theme.category, received_at=received_at, clocks=self.clocks
        )
        return replace(stored, clock=clock)

    def rekinded(self, stored: StoredTheme, *, now: datetime) -> ThemeClock | None:
        """The clock `stored` has for its category now (a new deadline if it changed kind)."""
        if stored.clock is None:
            return None
        return rekind_clock(
            stored.clock, category=stored.theme.category, now=now, clocks=self.clocks
        )

    def settled(self, stored: StoredTheme, *, now: datetime) -> StoredTheme:
        """A theme after a staff action: re-categorised takes the deadline of its new kind;
        answered or closed stops its clock and escalations; opened again restarts its
        reminders."""
        clock = stored.clock
        if clock is not None:
            clock = self.rekinded(stored, now=now)
            stored = replace(stored, clock=clock)
        if stored.theme.status is ThemeStatus.OPEN:
            if clock is None:
                # A theme a staff action opened (a post moved out to a new theme).
                clock = start_clock(
                    category=stored.theme.category, received_at=now, clocks=self.clocks
                )
                return replace(stored, clock=clock)
            if clock.stopped:
                stored = replace(stored, clock=restart_clock(clock, clocks=self.clocks))
            return stored
        if clock is not None and not clock.stopped:
            stored = replace(stored, clock=stop_clock(clock))
        if any(e.next_at is not None for e in stored.escalations):
            stored = replace(
                stored, escalations=tuple(stop_escalation(e, now=now) for e in stored.escalations)
            )
        return stored


@dataclass
class _Sweep:
    """What one sweep changes, gathered for one intent."""

    themes: list[StoredTheme] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: themes looked at, reminders and escalation DMs queued."""

    themes: int = 0
    reminders: int = 0
    escalation_dms: int = 0


def outbox_doc(channel: str, kind: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A one-off message as the outbox stores it, queued at `now`."""
    return {
        "channel": channel,
        "kind": kind,
        "data": dict(data),
        "post_key": None,
        "attempts": 0,
        "next_attempt_at": iso(now),
        "last_error": None,
        "dead": False,
        "queued_at": iso(now),
    }


def _about(stored: StoredTheme) -> dict[str, Any]:
    """What every reminder and escalation message says of its theme."""
    theme = stored.theme
    channel = theme.channel_names[0] if theme.channel_names else None
    view = stored.view(channel) if channel else None
    return {
        "ref": theme.ref,
        "title": theme.title,
        "category": theme.category,
        "posts": theme.post_count,
        "owner": theme.owner,
        "channel": channel,
        "permalink": view.permalink if view else None,
        "due_at": iso(stored.clock.due_at) if stored.clock else None,
        "kind": stored.clock.kind if stored.clock else None,
    }


def first_arrival(parts: Parts, stored: StoredTheme) -> datetime:
    """When the first post of a theme now in it arrived (when it was posted if none says)."""
    arrivals = [
        parse(d["received_at"]) for d in theme_docs(parts, stored, None) if d.get("received_at")
    ]
    return min(arrivals, default=stored.theme.first_seen)


def sweep(parts: Parts, work: Clockwork, *, now: datetime) -> SweepOutcome:
    """Send what is due at `now` for every theme the index says has something due; first
    give a deadline to any open theme that has none."""
    found = _Sweep()
    outcome = SweepOutcome()
    reminders = dms = 0
    unclocked = parts.themes.unclocked()
    refs = [*unclocked, *(r for r in parts.themes.due_refs(now) if r not in unclocked)]
    for ref in refs:
        stored = parts.themes.get(ref)
        if stored is None:
            continue
        if stored.clock is None:
            stored = work.clocked(stored, received_at=first_arrival(parts, stored))
            clock = stored.clock
            assert clock is not None
            found.audit.append(
                (
                    "deadline.started",
                    {"theme": ref, "kind": clock.kind, "due_at": iso(clock.due_at)},
                )
            )
        changed, sent_reminder, sent_dms = _sweep_one(stored, work, found, now=now)
        reminders += sent_reminder
        dms += sent_dms
        found.themes.append(changed)
    if not found.themes:
        return outcome
    write(parts, found.themes, now=now, messages=found.messages, audit=found.audit)
    return SweepOutcome(themes=len(refs), reminders=reminders, escalation_dms=dms)


def _sweep_one(
    stored: StoredTheme, work: Clockwork, found: _Sweep, *, now: datetime
) -> tuple[StoredTheme, int, int]:
    ref = stored.theme.ref
    reminders = dms = 0
    if stored.theme.status is not ThemeStatus.OPEN:
        return work.settled(stored, now=now), 0, 0
    clock = stored.clock
    if clock is not None:
        due = take_reminders(clock, now=now, clocks=work.clocks)
        clock = due.clock
        if due.send is not None:
            stored = replace(stored, clock=clock)
            about = _about(stored) | {"threshold": due.send.threshold_id}
            channel = about["channel"]
            if channel is not None:
                found.messages.append(
                    outbox_doc(
                        channel,
                        REMINDER,
                        about | {"thread_of": ref, "broadcast": stored.theme.owner is None},
                        now,
                    )
                )
            if stored.theme.owner is not None:
                found.messages.append(outbox_doc(stored.theme.owner, REMINDER, about, now))
            found.audit.append(
                (
                    "reminder.sent",
                    {
                        "theme": ref,
                        "threshold": due.send.threshold_id,
                        "passed": list(due.skipped) or None,
                        "owner": stored.theme.owner,
                    },
                )
            )
            reminders += 1
        if not clock.breached and not clock.paused and clock.due_at <= now:
            clock = replace(clock, breached=True)
            policy = work.setup.breach_policy(clock.kind)
            stored = replace(stored, clock=clock)
            if policy is not None and policy in work.setup.policies:
                stored = work.escalate(stored, reason="breach", policy=policy, now=clock.due_at)
            found.audit.append(("deadline.missed", {"theme": ref, "policy": policy}))
        stored = replace(stored, clock=clock)
    escalations = []
    for escalation in stored.escalations:
        steps = take_steps(escalation, now=now, setup=work.setup, clocks=work.clocks)
        escalations.append(steps.escalation)
        for step in steps.send:
            data = _about(stored) | {
                "escalation": escalation.id,
                "step": step.id,
                "reason": escalation.reason,
                "policy": escalation.policy or escalation.target,
                "note": escalation.note,
                "by": escalation.by,
            }
            for user in step.user_ids:
                found.messages.append(outbox_doc(user, ESCALATION, data, now))
                dms += 1
            found.audit.append(
                (
                    "escalation.notified",
                    {
                        "theme": ref,
                        "escalation": escalation.id,
                        "step": step.id,
                        "reason": escalation.reason,
                        "policy": escalation.policy or escalation.target,
                        "users": list(step.user_ids),
                    },
                )
            )
    return replace(stored, escalations=tuple(escalations)), reminders, dms


def write(
    parts: Parts,
    themes: list[StoredTheme],
    *,
    now: datetime,
    messages: Sequence[dict[str, Any]] = (),
    audit: Sequence[tuple[str, dict[str, Any]]] = (),
    action: str = "clocks.swept",
) -> None:
    """Write themes, queued messages and audit entries as one intent, then hold them."""
    writes = [FileWrite(parts.themes.open_path(s.theme.ref), data=s.to_data()) for s in themes]
    seqs, outbox_files = parts.outbox.staged(list(messages))
    writes.extend(FileWrite(path, data=data) for path, data in outbox_files.items())
    audit_path = None
    if audit:
        audit_path = parts.audit.files.path(parts.audit.files.part_for(now))
        data = copy.deepcopy(
            dict(AtomicJSONStorage(audit_path, parts.batch).read() or {"audit": {}})
        )
        entries = data.setdefault("audit", {})
        next_id = max((int(i) for i in entries), default=0) + 1
        for offset, (name, details) in enumerate(audit):
            entries[str(next_id + offset)] = AuditLog.entry(name, now, details)
        writes.append(FileWrite(audit_path, data=data))
    parts.intents.apply(action, writes)
    if audit_path is not None:
        parts.files.drop(audit_path)
        parts.audit.forget()
    parts.outbox.took(seqs, list(messages))
    parts.themes.adopt(themes)


def acknowledge_escalation(
    parts: Parts, ref: str, escalation_id: str, *, by: str, now: datetime
) -> bool:
    """Record that `by` acknowledged an escalation; False if it already was (or is gone)."""
    stored = None if parts.themes.in_history(ref) else parts.themes.get(ref)
    found = stored.escalation(escalation_id) if stored else None
    if stored is None or found is None or found.acknowledged_at is not None:
        return False
    done = acknowledge(found, by=by, now=now)
    changed = replace(
        stored,
        escalations=tuple(done if e.id == escalation_id else e for e in stored.escalations),
    )
    write(
        parts,
        [changed],
        now=now,
        audit=[("escalation.acknowledged", {"theme": ref, "escalation": escalation_id, "by": by})],
        action="escalation.acknowledged",
    )
    return True


def note_dm(parts: Parts, ref: str, escalation_id: str, *, channel_id: str, ts: str) -> None:
    """Remember where an escalation DM landed, so a 👀 reaction on it acknowledges it."""
    stored = None if parts.themes.in_history(ref) else parts.themes.get(ref)
    found = stored.escalation(escalation_id) if stored else None
    if stored is None or found is None or (channel_id, ts) in found.dms:
        return
    noted: Escalation = replace(found, dms=(*found.dms, (channel_id, ts)))
    changed = replace(
        stored,
        escalations=tuple(noted if e.id == escalation_id else e for e in stored.escalations),
    )
    parts.themes.write_themes([changed])
    parts.themes.adopt([changed])
