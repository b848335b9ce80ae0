"""Reminder thresholds: when each is crossed, when it is delivered, and that each goes once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import Span, TimeBase, WorkingCalendar
from bot.core.clocks import Clocks
from bot.core.reminders import (
    ClockedItem,
    ReminderPolicies,
    ReminderPolicy,
    Threshold,
)

LONDON = ZoneInfo("Europe/London")
SWEEP = timedelta(minutes=15)
CLOCKS = Clocks(WorkingCalendar(LONDON))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def item(kind: str, received_at: datetime, clocks: Clocks = CLOCKS) -> ClockedItem:
    deadline = clocks.deadline(kind, received_at=received_at)
    return ClockedItem(kind, deadline.received_at, deadline.due_at)


def timeline(clocked: ClockedItem, clocks: Clocks = CLOCKS) -> list[tuple[str, datetime, datetime]]:
    return [(f.threshold_id, f.fires_at, f.deliver_at) for f in clocks.schedule(clocked)]


def test_theme_thresholds_from_a_friday_afternoon() -> None:
    # Received Friday 16:00, due Monday 16:00: eight working hours.
    theme = item("theme", local(2026, 11, 20, 16, 0))
    assert timeline(theme) == [
        ("half_time", local(2026, 11, 23, 12, 0), local(2026, 11, 23, 12, 0)),  # 4 h in
        ("one_hour_left", local(2026, 11, 23, 15, 0), local(2026, 11, 23, 15, 0)),
        ("due_now", local(2026, 11, 23, 16, 0), local(2026, 11, 23, 16, 0)),
        # An hour of working time after 16:00 is the 17:00 close: still in hours.
        ("overdue", local(2026, 11, 23, 17, 0), local(2026, 11, 23, 17, 0)),
    ]


def test_urgent_reminders_go_out_at_night() -> None:
    urgent = item("urgent", local(2026, 11, 21, 2, 0))  # a Saturday, 02:00
    assert timeline(urgent) == [
        ("half_time", local(2026, 11, 21, 2, 30), local(2026, 11, 21, 2, 30)),
        ("fifteen_minutes_left", local(2026, 11, 21, 2, 45), local(2026, 11, 21, 2, 45)),
        ("due_now", local(2026, 11, 21, 3, 0), local(2026, 11, 21, 3, 0)),
        ("overdue", local(2026, 11, 21, 3, 15), local(2026, 11, 21, 3, 15)),
    ]


def test_foi_reminders_and_the_overnight_wait() -> None:
    # Received Monday 2 November 2026. Day 20 is Tuesday 1 December: Monday 30 November is
    # St Andrew's Day. The desk skips it too, so working time runs 2 Nov 10:00 to 1 Dec 17:00:
    # 7 + 20 x 8 = 167 hours; half is 83.5 hours, reached at 13:30 on Monday 16 November.
    foi = item("foi", local(2026, 11, 2, 10, 0))
    assert foi.due_at == local(2026, 12, 1, 23, 59, 59)
    assert timeline(foi) == [
        ("half_time", local(2026, 11, 16, 13, 30), local(2026, 11, 16, 13, 30)),
        # 40 working hours before the end of 1 December, skipping St Andrew's Day.
        ("five_days_left", local(2026, 11, 24, 9, 0), local(2026, 11, 24, 9, 0)),
        ("one_day_left", local(2026, 12, 1, 9, 0), local(2026, 12, 1, 9, 0)),
        # Overdue at midnight; not urgent, so it waits for the desk to open.
        ("overdue", local(2026, 12, 1, 23, 59, 59), local(2026, 12, 2, 9, 0)),
    ]


def test_thresholds_crossed_at_a_moment() -> None:
    foi = item("foi", local(2026, 11, 2, 10, 0))
    crossed = CLOCKS.crossed(foi, now=local(2026, 11, 24, 12, 0))
    assert [f.threshold_id for f in crossed] == ["half_time", "five_days_left"]
    assert CLOCKS.crossed(foi, now=local(2026, 11, 2, 10, 0)) == ()
    # Crossed is not delivered: at 00:30 the overdue threshold is crossed but waits.
    late = local(2026, 12, 2, 0, 30)
    assert [f.threshold_id for f in CLOCKS.crossed(foi, now=late)][-1] == "overdue"
    sent = {"half_time", "five_days_left", "one_day_left"}
    assert CLOCKS.reminders_due(foi, now=late, sent=sent) == ()
    [overdue] = CLOCKS.reminders_due(foi, now=local(2026, 12, 2, 9, 0), sent=sent)
    assert overdue.threshold_id == "overdue"


def test_next_reminder_skips_what_was_sent() -> None:
    foi = item("foi", local(2026, 11, 2, 10, 0))
    first = CLOCKS.next_reminder(foi, sent=set())
    assert first is not None and first.threshold_id == "half_time"
    after = CLOCKS.next_reminder(foi, sent={"half_time", "five_days_left"})
    assert after is not None
    assert (after.threshold_id, after.deliver_at) == ("one_day_left", local(2026, 12, 1, 9, 0))
    everything = {"half_time", "five_days_left", "one_day_left", "overdue"}
    assert CLOCKS.next_reminder(foi, sent=everything) is None


def test_a_reminder_outside_hours_waits_for_the_next_opening() -> None:
    clocks = Clocks(
        CLOCKS.calendar,
        reminders=ReminderPolicies(
            {
                "theme": ReminderPolicy(
                    (
                        Threshold(
                            "two_hours_late", after_due=Span(timedelta(hours=2), TimeBase.CLOCK)
                        ),
                    )
                )
            }
        ),
    )
    # Due Monday 16:00, two clock hours late is 18:00: delivered at 09:00 on Tuesday.
    [(name, fires_at, deliver_at)] = timeline(item("theme", local(2026, 11, 20, 16, 0)), clocks)
    assert (name, fires_at) == ("two_hours_late", local(2026, 11, 23, 18, 0))
    assert deliver_at == local(2026, 11, 24, 9, 0)
    # Over a bank holiday weekend it waits until the desk opens after it.
    [(_, fires_at, deliver_at)] = timeline(item("theme", local(2026, 12, 23, 16, 0)), clocks)
    assert fires_at == local(2026, 12, 24, 18, 0)
    assert deliver_at == local(2026, 12, 29, 9, 0)


def test_kinds_without_a_policy_follow_theme() -> None:
    complaint = item("complaint", local(2026, 11, 20, 16, 0))
    assert [f.threshold_id for f in CLOCKS.schedule(complaint)] == [
        "half_time",
        "one_hour_left",
        "due_now",
        "overdue",
    ]
    eir = item("eir", local(2026, 11, 2, 10, 0))
    assert CLOCKS.schedule(eir)[-1].threshold_id == "overdue"


@pytest.mark.parametrize(
    ("kind", "received_at"),
    [
        ("theme", local(2026, 11, 20, 16, 0)),
        ("theme", local(2026, 10, 23, 16, 30)),  # over the autumn clock change
        ("urgent", local(2026, 3, 29, 0, 40)),  # over the spring clock change, at night
        ("foi", local(2026, 12, 5, 10, 0)),  # over Christmas
        ("subject_access", local(2027, 1, 30, 20, 0)),
    ],
)
def test_a_sweeping_scheduler_sends_each_reminder_once_in_order(
    kind: str, received_at: datetime
) -> None:
    """Sweeps every 15 minutes, restarting half-way with only the record of what was sent."""
    clocked = item(kind, received_at)
    schedule = CLOCKS.schedule(clocked)
    sent: dict[str, datetime] = {}
    now = received_at.astimezone(UTC)
    end = max(f.deliver_at for f in schedule) + timedelta(hours=1)
    restart_at = now + (end - now) / 2
    restarted = False
    while now <= end:
        if not restarted and now >= restart_at:
            sent = dict(sent)  # a new process: all it has is the stored record
            restarted = True
        for firing in CLOCKS.reminders_due(clocked, now=now, sent=sent.keys()):
            assert firing.threshold_id not in sent
            sent[firing.threshold_id] = now
        now += SWEEP
    assert list(sent) == [f.threshold_id for f in sorted(schedule, key=lambda f: f.deliver_at)]
    for firing in schedule:
        # Sent at the first sweep at or after its delivery time.
        assert (
            firing.deliver_at
            <= sent[firing.threshold_id]
            < firing.deliver_at + timedelta(minutes=5)
        )
        if not CLOCKS.reminder_policy(kind).out_of_hours:
            assert CLOCKS.calendar.opening_period(
                CLOCKS.calendar.local_date(sent[firing.threshold_id])
            )


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="needs one of"):
        Threshold("nothing")
    with pytest.raises(ValueError, match="at most 1"):
        Threshold("too_late", elapsed=1.5)
    with pytest.raises(ValueError, match="unique"):
        ReminderPolicy((Threshold("a", elapsed=0.5), Threshold("a", elapsed=0.6)))
