"""A theme's clocks as stored: its deadline, the reminders sent, and its escalations.

Pure values and transitions with `now` passed in: storage keeps them in the theme's file and
the sweep applies them. A clock runs while its theme is open; answering or closing the
theme stops it (`ThemeClock.stopped`), and acknowledging an escalation stops its levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from bot.core.clocks import Clocks
from bot.core.deadlines import (
    THEME,
    Pause,
    PauseReason,
    SubjectAccessClock,
    subject_access_due,
)
from bot.core.escalation import EscalationPolicy, EscalationSetup, Step, steps
from bot.core.posts import Category
from bot.core.reminders import ClockedItem, Firing


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def deadline_kind(category: str, clocks: Clocks) -> str:
    """The deadline kind of a theme of `category`: its own rule if configured, else `theme`."""
    if category in clocks.rules.rules:
        return category
    return THEME


@dataclass(frozen=True)
class ThemeClock:
    """A theme's deadline and reminders: `due_at` fixed at creation (recomputed only by a
    staff action on a subject access clock), the threshold ids already sent, and `next_at`,
    the next moment a reminder is to be delivered (None when none is left or it is stopped)."""

    kind: str
    received_at: datetime
    due_at: datetime
    sent: tuple[str, ...] = ()
    next_at: datetime | None = None
    stopped: bool = False
    breached: bool = False  # the deadline breach escalation was started
    sar: SubjectAccessClock | None = None

    @property
    def item(self) -> ClockedItem:
        """What the reminder schedule needs."""
        return ClockedItem(self.kind, self.received_at, self.due_at)

    @property
    def paused(self) -> bool:
        """Whether a subject access clock is waiting for identity or clarification."""
        return self.sar is not None and self.sar.open_pause is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        sar = None
        if self.sar is not None:
            sar = {
                "received_on": self.sar.received_on.isoformat(),
                "pauses": [
                    {
                        "reason": p.reason.value,
                        "asked_on": p.asked_on.isoformat(),
                        "answered_on": p.answered_on.isoformat() if p.answered_on else None,
                    }
                    for p in self.sar.pauses
                ],
                "extension_months": self.sar.extension_months,
                "extended_on": self.sar.extended_on.isoformat() if self.sar.extended_on else None,
            }
        return {
            "kind": self.kind,
            "received_at": _iso(self.received_at),
            "due_at": _iso(self.due_at),
            "sent": list(self.sent),
            "next_at": _iso(self.next_at),
            "stopped": self.stopped,
            "breached": self.breached,
            "sar": sar,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThemeClock:
        """The clock `to_dict` wrote; ValueError if it is not one."""
        try:
            sar_data = data.get("sar")
            sar = None
            if sar_data:
                sar = SubjectAccessClock(
                    received_on=date.fromisoformat(sar_data["received_on"]),
                    pauses=tuple(
                        Pause(
                            PauseReason(p["reason"]),
                            date.fromisoformat(p["asked_on"]),
                            date.fromisoformat(p["answered_on"]) if p.get("answered_on") else None,
                        )
                        for p in sar_data.get("pauses") or ()
                    ),
                    extension_months=int(sar_data.get("extension_months", 0)),
                    extended_on=date.fromisoformat(sar_data["extended_on"])
                    if sar_data.get("extended_on")
                    else None,
                )
            received_at, due_at = _dt(data["received_at"]), _dt(data["due_at"])
            assert received_at is not None and due_at is not None
            return cls(
                kind=str(data["kind"]),
                received_at=received_at,
                due_at=due_at,
                sent=tuple(str(s) for s in data.get("sent") or ()),
                next_at=_dt(data.get("next_at")),
                stopped=bool(data.get("stopped")),
                breached=bool(data.get("breached")),
                sar=sar,
            )
        except (KeyError, TypeError, AssertionError) as exc:
            raise ValueError(f"not a stored clock: {exc!r}") from None


def _with_next(clock: ThemeClock, clocks: Clocks) -> ThemeClock:
    """`clock` with `next_at` set from what is left to send."""
    if clock.stopped or clock.paused:
        return replace(clock, next_at=None)
    upcoming = clocks.next_reminder(clock.item, sent=clock.sent)
    return replace(clock, next_at=upcoming.deliver_at if upcoming else None)


def start_clock(*, category: str, received_at: datetime, clocks: Clocks) -> ThemeClock:
    """The clock of a theme opened at `received_at` by a post of `category`."""
    kind = deadline_kind(category, clocks)
    deadline = clocks.deadline(kind, received_at=received_at)
    sar = None
    if kind == Category.SUBJECT_ACCESS.value:
        sar = SubjectAccessClock(received_on=clocks.calendar.local_date(received_at))
    clock = ThemeClock(kind=kind, received_at=received_at, due_at=deadline.due_at, sar=sar)
    return _with_next(clock, clocks)


@dataclass(frozen=True)
class ReminderDue:
    """What a sweep does with one theme's reminders: the clock after, and what to send."""

    clock: ThemeClock
    send: Firing | None
    skipped: tuple[str, ...]


def rekind_clock(clock: ThemeClock, *, category: str, now: datetime, clocks: Clocks) -> ThemeClock:
    """The clock of a theme re-categorised to `category`: the deadline of its kind, counted
    from the same receipt (a statutory clock runs from receipt, not from the staff action);
    reminders already sent stay sent if they are still in the past, a breach is forgotten
    if the new deadline is later. Unchanged when the kind stays the same."""
    kind = deadline_kind(category, clocks)
    if kind == clock.kind:
        return clock
    fresh = start_clock(category=category, received_at=clock.received_at, clocks=clocks)
    fires = {f.threshold_id: f.fires_at for f in clocks.schedule(fresh.item)}
    kept = tuple(s for s in clock.sent if s in fires and fires[s] <= now)
    changed = replace(
        fresh, sent=kept, stopped=clock.stopped, breached=clock.breached and fresh.due_at <= now
    )
    return _with_next(changed, clocks)


def take_reminders(clock: ThemeClock, *, now: datetime, clocks: Clocks) -> ReminderDue:
    """The reminders due at `now`: only the latest is sent, the others recorded as passed."""
    if clock.stopped or clock.paused:
        return ReminderDue(replace(clock, next_at=None), None, ())
    due = clocks.reminders_due(clock.item, now=now, sent=clock.sent)
    if not due:
        return ReminderDue(_with_next(clock, clocks), None, ())
    latest = due[-1]
    marked = replace(clock, sent=(*clock.sent, *(f.threshold_id for f in due)))
    return ReminderDue(_with_next(marked, clocks), latest, tuple(f.threshold_id for f in due[:-1]))


def stop_clock(clock: ThemeClock) -> ThemeClock:
    """The clock of a theme answered or closed: no more reminders."""
    return replace(clock, stopped=True, next_at=None)


def restart_clock(clock: ThemeClock, *, clocks: Clocks) -> ThemeClock:
    """The clock of a theme opened again: reminders not yet sent may follow."""
    return _with_next(replace(clock, stopped=False), clocks)


def with_subject_access(
    clock: ThemeClock, sar: SubjectAccessClock, *, now: datetime, clocks: Clocks
) -> ThemeClock:
    """The clock after staff paused, resumed or extended its subject access request: the
    due date recomputed, and thresholds it moved back into the future to come again."""
    rule = clocks.rule_for(Category.SUBJECT_ACCESS.value)
    today = clocks.calendar.local_date(now)
    deadline = subject_access_due(
        sar, calendar=clocks.calendar, rule=rule, received_at=clock.received_at, as_of=today
    )
    changed = replace(clock, sar=sar, due_at=deadline.due_at)
    fires = {f.threshold_id: f.fires_at for f in clocks.schedule(changed.item)}
    kept = tuple(s for s in changed.sent if s in fires and fires[s] <= now)
    return _with_next(replace(changed, sent=kept), clocks)


# -- escalations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """One escalation of a theme: a configured policy (`policy`) or a person or role named by
    hand (`target`), when it started, who acknowledged it and when, the step ids sent, the
    DMs sent (channel id, ts) so a reaction can find it, and `next_at` (next step)."""

    id: str
    started_at: datetime
    reason: str  # intake, breach or manual
    policy: str | None = None
    target: str | None = None
    note: str | None = None
    by: str | None = None
    sent: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    next_at: datetime | None = None
    dms: tuple[tuple[str, str], ...] = ()
    told: tuple[str, ...] = ()  # user ids told so far

    @property
    def awaiting(self) -> bool:
        """Whether someone has been told and nobody has acknowledged yet."""
        return self.acknowledged_at is None and bool(self.sent)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "id": self.id,
            "started_at": _iso(self.started_at),
            "reason": self.reason,
            "policy": self.policy,
            "target": self.target,
            "note": self.note,
            "by": self.by,
            "sent": list(self.sent),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "next_at": _iso(self.next_at),
            "dms": [list(d) for d in self.dms],
            "told": list(self.told),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Escalation:
        """The escalation `to_dict` wrote; ValueError if it is not one."""
        try:
            started_at = _dt(data["started_at"])
            assert started_at is not None
            return cls(
                id=str(data["id"]),
                started_at=started_at,
                reason=str(data["reason"]),
                policy=data.get("policy"),
                target=data.get("target"),
                note=data.get("note"),
                by=data.get("by"),
                sent=tuple(str(s) for s in data.get("sent") or ()),
                acknowledged_at=_dt(data.get("acknowledged_at")),
                acknowledged_by=data.get("acknowledged_by"),
                next_at=_dt(data.get("next_at")),
                dms=tuple((str(c), str(t)) for c, t in data.get("dms") or ()),
                told=tuple(str(u) for u in data.get("told") or ()),
            )
        except (KeyError, TypeError, AssertionError) as exc:
            raise ValueError(f"not a stored escalation: {exc!r}") from None


def escalation_policy(escalation: Escalation, setup: EscalationSetup) -> EscalationPolicy | None:
    """The policy an escalation follows (None when it is no longer configured)."""
    if escalation.target is not None:
        return setup.manual_policy(escalation.target)
    if escalation.policy is None or escalation.policy not in setup.policies:
        return None
    return setup.policy(escalation.policy)


def _steps(escalation: Escalation, *, setup: EscalationSetup, clocks: Clocks) -> tuple[Step, ...]:
    policy = escalation_policy(escalation, setup)
    if policy is None:
        return ()
    return steps(
        policy,
        started_at=escalation.started_at,
        calendar=clocks.calendar,
        directory=setup.directory,
    )


def _escalation_next(
    escalation: Escalation, *, setup: EscalationSetup, clocks: Clocks
) -> Escalation:
    if escalation.acknowledged_at is not None:
        return replace(escalation, next_at=None)
    left = [
        s for s in _steps(escalation, setup=setup, clocks=clocks) if s.id not in escalation.sent
    ]
    return replace(escalation, next_at=left[0].starts_at if left else None)


def start_escalation(
    *,
    id: str,
    started_at: datetime,
    reason: str,
    setup: EscalationSetup,
    clocks: Clocks,
    policy: str | None = None,
    target: str | None = None,
    note: str | None = None,
    by: str | None = None,
) -> Escalation:
    """A new escalation, its first step due as its policy says."""
    escalation = Escalation(
        id=id,
        started_at=started_at,
        reason=reason,
        policy=policy,
        target=target,
        note=note,
        by=by,
    )
    return _escalation_next(escalation, setup=setup, clocks=clocks)


@dataclass(frozen=True)
class StepsDue:
    """What a sweep does with one escalation: the escalation after, and the steps to send."""

    escalation: Escalation
    send: tuple[Step, ...]


def take_steps(
    escalation: Escalation, *, now: datetime, setup: EscalationSetup, clocks: Clocks
) -> StepsDue:
    """The steps due at `now` not yet sent (none once acknowledged)."""
    if escalation.acknowledged_at is not None:
        return StepsDue(replace(escalation, next_at=None), ())
    due = tuple(
        s
        for s in _steps(escalation, setup=setup, clocks=clocks)
        if s.starts_at <= now and s.id not in escalation.sent
    )
    told = tuple(dict.fromkeys((*escalation.told, *(u for s in due for u in s.user_ids))))
    marked = replace(escalation, sent=(*escalation.sent, *(s.id for s in due)), told=told)
    return StepsDue(_escalation_next(marked, setup=setup, clocks=clocks), due)


def acknowledge(escalation: Escalation, *, by: str, now: datetime) -> Escalation:
    """The escalation acknowledged by `by` at `now`: no further level is told."""
    if escalation.acknowledged_at is not None:
        return escalation
    return replace(escalation, acknowledged_at=now, acknowledged_by=by, next_at=None)


def stop_escalation(escalation: Escalation, *, now: datetime) -> Escalation:
    """The escalation of a theme answered or closed: nothing more is sent."""
    return replace(escalation, next_at=None)
