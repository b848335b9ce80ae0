"""The desk's clocks in one place: its calendar, deadline rules and reminder policies."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.calendar import WorkingCalendar
from bot.core.deadlines import Deadline, DeadlineRule, DeadlineRules, deadline_for
from bot.core.reminders import (
    ClockedItem,
    Firing,
    ReminderPolicies,
    ReminderPolicy,
    crossed,
    due_reminders,
    next_reminder,
    schedule,
)


@dataclass(frozen=True)
class Clocks:
    """Deadlines and reminders worked out on the desk's working calendar."""

    calendar: WorkingCalendar
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    reminders: ReminderPolicies = field(default_factory=ReminderPolicies)

    def rule_for(self, kind: str) -> DeadlineRule:
        """The deadline rule for `kind` (ValueError if the kind is unknown)."""
        return self.rules.rule_for(kind)

    def reminder_policy(self, kind: str) -> ReminderPolicy:
        """The reminder policy for `kind`."""
        return self.reminders.policy_for(kind, self.rules)

    def deadline(self, kind: str, *, received_at: datetime) -> Deadline:
        """When a post of `kind` received at `received_at` is due, and why."""
        return deadline_for(kind, received_at=received_at, rules=self.rules, calendar=self.calendar)

    def schedule(self, item: ClockedItem) -> tuple[Firing, ...]:
        """Every reminder threshold of `item`, in the order they are crossed."""
        return schedule(
            item,
            policy=self.reminder_policy(item.kind),
            rule=self.rule_for(item.kind),
            calendar=self.calendar,
        )

    def crossed(self, item: ClockedItem, *, now: datetime) -> tuple[Firing, ...]:
        """The thresholds `item` has crossed by `now`."""
        return crossed(
            item,
            now=now,
            policy=self.reminder_policy(item.kind),
            rule=self.rule_for(item.kind),
            calendar=self.calendar,
        )

    def reminders_due(
        self, item: ClockedItem, *, now: datetime, sent: Collection[str]
    ) -> tuple[Firing, ...]:
        """The reminders of `item` to deliver at `now` that were not already `sent`."""
        return due_reminders(
            item,
            now=now,
            sent=sent,
            policy=self.reminder_policy(item.kind),
            rule=self.rule_for(item.kind),
            calendar=self.calendar,
        )

    def next_reminder(self, item: ClockedItem, *, sent: Collection[str]) -> Firing | None:
        """The next reminder of `item` not yet `sent`, by delivery time."""
        return next_reminder(
            item,
            sent=sent,
            policy=self.reminder_policy(item.kind),
            rule=self.rule_for(item.kind),
            calendar=self.calendar,
        )
