"""Reminder thresholds: when each fires for an item, and when its reminder is delivered.

A threshold is a point on an item's clock (half the time gone, one working hour left, due,
overdue) with a stable id, so a scheduler can record that it was sent and never send it
twice. Reminders that are not urgent and fall outside opening hours (the closing moment
itself is inside) are delivered at the next opening; urgent ones are delivered at once.
Nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from bot.core.calendar import Span, TimeBase, WorkingCalendar
from bot.core.deadlines import THEME, DeadlineRule, DeadlineRules, Unit
from bot.core.posts import Category


@dataclass(frozen=True)
class Threshold:
    """A point on an item's clock, set by exactly one of three ways.

    `elapsed`: this share of the allowed time has gone (0.5 is half), in the rule's own time
    (clock time for clock-hour rules, else working time); `before_due`: this long before the
    due moment (zero is the due moment itself); `after_due`: this long after it.
    """

    id: str
    elapsed: float | None = None
    before_due: Span | None = None
    after_due: Span | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.elapsed, self.before_due, self.after_due) if x is not None]
        if len(given) != 1:
            raise ValueError(f"threshold {self.id!r} needs one of elapsed, before_due, after_due")
        if self.elapsed is not None and not 0 < self.elapsed <= 1:
            raise ValueError(f"threshold {self.id!r}: elapsed must be above 0 and at most 1")


@dataclass(frozen=True)
class ReminderPolicy:
    """The thresholds for a kind of post, and whether reminders may go out of hours."""

    thresholds: tuple[Threshold, ...]
    out_of_hours: bool = False

    def __post_init__(self) -> None:
        ids = [t.id for t in self.thresholds]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"threshold ids must be unique: {', '.join(repeated)} repeated")


def _working(hours: float) -> Span:
    return Span(timedelta(hours=hours), TimeBase.WORKING)


def _clock(minutes: float) -> Span:
    return Span(timedelta(minutes=minutes), TimeBase.CLOCK)


_STATUTORY = ReminderPolicy(
    (
        Threshold("half_time", elapsed=0.5),
        Threshold("five_days_left", before_due=_working(5 * 8)),
        Threshold("one_day_left", before_due=_working(8)),
        Threshold("overdue", after_due=_clock(0)),
    )
)

DEFAULT_POLICIES: Mapping[str, ReminderPolicy] = MappingProxyType(
    {
        THEME: ReminderPolicy(
            (
                Threshold("half_time", elapsed=0.5),
                Threshold("one_hour_left", before_due=_working(1)),
                Threshold("due_now", before_due=_working(0)),
                Threshold("overdue", after_due=_working(1)),
            )
        ),
        Category.URGENT.value: ReminderPolicy(
            (
                Threshold("half_time", elapsed=0.5),
                Threshold("fifteen_minutes_left", before_due=_clock(15)),
                Threshold("due_now", before_due=_clock(0)),
                Threshold("overdue", after_due=_clock(15)),
            ),
            out_of_hours=True,
        ),
        Category.FOI.value: _STATUTORY,
        "eir": _STATUTORY,
        Category.SUBJECT_ACCESS.value: _STATUTORY,
    }
)


@dataclass(frozen=True)
class ReminderPolicies:
    """The reminder policy for each kind; kinds without their own follow `theme`."""

    policies: Mapping[str, ReminderPolicy] = field(default_factory=lambda: DEFAULT_POLICIES)

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_POLICIES) | dict(self.policies)
        object.__setattr__(self, "policies", MappingProxyType(merged))

    def policy_for(self, kind: str, rules: DeadlineRules) -> ReminderPolicy:
        """The policy for `kind` (named as DeadlineRules names kinds)."""
        key = rules.kind(kind)
        return self.policies.get(key, self.policies[THEME])


@dataclass(frozen=True)
class ClockedItem:
    """What reminders need to know of a theme or case: its kind and its clock."""

    kind: str
    received_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class Firing:
    """A threshold of one item: when it is crossed and when its reminder goes out (UTC)."""

    threshold_id: str
    fires_at: datetime
    deliver_at: datetime


def _fires_at(
    threshold: Threshold, *, item: ClockedItem, rule: DeadlineRule, calendar: WorkingCalendar
) -> datetime:
    if threshold.before_due is not None:
        return calendar.retreat(item.due_at, threshold.before_due)
    if threshold.after_due is not None:
        return calendar.advance(item.due_at, threshold.after_due)
    assert threshold.elapsed is not None
    base = TimeBase.CLOCK if rule.unit is Unit.CLOCK_HOURS else TimeBase.WORKING
    allowed = calendar.elapsed(item.received_at, item.due_at, base)
    return calendar.advance(item.received_at, Span(allowed * threshold.elapsed, base))


def _in_hours(instant: datetime, calendar: WorkingCalendar) -> bool:
    """Open at `instant`, counting the closing moment itself (a 17:00 deadline is in hours)."""
    period = calendar.opening_period(calendar.local_date(instant))
    return period is not None and period[0] <= instant <= period[1]


def schedule(
    item: ClockedItem,
    *,
    policy: ReminderPolicy,
    rule: DeadlineRule,
    calendar: WorkingCalendar,
) -> tuple[Firing, ...]:
    """Every threshold of `item`, in the order they are crossed."""
    firings = []
    for threshold in policy.thresholds:
        fires_at = _fires_at(threshold, item=item, rule=rule, calendar=calendar)
        deliver_at = (
            fires_at
            if policy.out_of_hours or _in_hours(fires_at, calendar)
            else calendar.next_opening(fires_at)
        )
        firings.append(Firing(threshold.id, fires_at.astimezone(UTC), deliver_at))
    return tuple(sorted(firings, key=lambda f: (f.fires_at, f.threshold_id)))


def crossed(
    item: ClockedItem,
    *,
    now: datetime,
    policy: ReminderPolicy,
    rule: DeadlineRule,
    calendar: WorkingCalendar,
) -> tuple[Firing, ...]:
    """The thresholds `item` has crossed by `now`."""
    return tuple(
        f for f in schedule(item, policy=policy, rule=rule, calendar=calendar) if f.fires_at <= now
    )


def due_reminders(
    item: ClockedItem,
    *,
    now: datetime,
    sent: Collection[str],
    policy: ReminderPolicy,
    rule: DeadlineRule,
    calendar: WorkingCalendar,
) -> tuple[Firing, ...]:
    """The reminders to deliver at `now`: crossed, deliverable, and not already `sent`.

    Several can be due at once (after a night or a restart); the last one is the most
    pressing, and a sender may send only it and record the others as sent.
    """
    return tuple(
        f
        for f in schedule(item, policy=policy, rule=rule, calendar=calendar)
        if f.deliver_at <= now and f.threshold_id not in sent
    )


def next_reminder(
    item: ClockedItem,
    *,
    sent: Collection[str],
    policy: ReminderPolicy,
    rule: DeadlineRule,
    calendar: WorkingCalendar,
) -> Firing | None:
    """The next reminder not yet `sent`, by delivery time, or None when none is left."""
    pending = [
        f
        for f in schedule(item, policy=policy, rule=rule, calendar=calendar)
        if f.threshold_id not in sent
    ]
    return min(pending, key=lambda f: (f.deliver_at, f.fires_at), default=None)
