"""When work is due: deadline rules per kind of post, and the statutory clocks.

Every function takes the instants it needs; nothing reads the clock. Instants are UTC; days
are the desk's local days. The rules (config/deadlines.yaml) name their unit explicitly:

- working_days: working time, each day a full day of opening hours (a post at 16:00 on a
  Friday with 1 working day is due 16:00 on Monday; one on Saturday is due 17:00 on Monday);
- working_hours: working time in hours;
- clock_hours: hours around the clock, 24/7;
- statutory_working_days: FOI and EIR, the end of the Nth working day following the date of
  receipt, counting only Monday to Friday less bank holidays anywhere in the UK;
- calendar_months: subject access, the corresponding date N months on (the last day of the
  month when it has no such date), moved to the next working day off a weekend or holiday.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from bot.core.calendar import (
    ClosureKind,
    DayOff,
    TimeBase,
    WorkingCalendar,
    end_of_day,
)
from bot.core.errors import DeskError
from bot.core.posts import Category

THEME = "theme"
EIR = "eir"
# Other names people use for a kind of deadline.
KIND_ALIASES = {"sar": Category.SUBJECT_ACCESS.value, "themes": THEME}
# Extensions of a subject access request: up to two further months in all.
MAX_EXTENSION_MONTHS = 2


class Unit(StrEnum):
    """How a deadline rule counts its amount."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CLOCK_HOURS = "clock_hours"
    STATUTORY_WORKING_DAYS = "statutory_working_days"
    CALENDAR_MONTHS = "calendar_months"


@dataclass(frozen=True)
class DeadlineRule:
    """How long a kind of post may wait for an answer."""

    unit: Unit
    amount: float

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a deadline needs a positive amount")
        whole = self.unit in (
            Unit.WORKING_DAYS,
            Unit.STATUTORY_WORKING_DAYS,
            Unit.CALENDAR_MONTHS,
        )
        if whole and self.amount != int(self.amount):
            raise ValueError(f"{self.unit.value} must be a whole number")

    @property
    def base(self) -> TimeBase:
        """The time the rule runs in: clock time for clock hours, else working time."""
        return TimeBase.CLOCK if self.unit is Unit.CLOCK_HOURS else TimeBase.WORKING

    @property
    def statutory(self) -> bool:
        """True for the clocks the law sets (FOI/EIR working days, subject access months)."""
        return self.unit in (Unit.STATUTORY_WORKING_DAYS, Unit.CALENDAR_MONTHS)


DEFAULT_RULES: Mapping[str, DeadlineRule] = MappingProxyType(
    {
        THEME: DeadlineRule(Unit.WORKING_DAYS, 1),
        Category.URGENT.value: DeadlineRule(Unit.CLOCK_HOURS, 1),
        Category.FOI.value: DeadlineRule(Unit.STATUTORY_WORKING_DAYS, 20),
        EIR: DeadlineRule(Unit.STATUTORY_WORKING_DAYS, 20),
        Category.SUBJECT_ACCESS.value: DeadlineRule(Unit.CALENDAR_MONTHS, 1),
    }
)


def known_kinds() -> tuple[str, ...]:
    """Every kind a deadline can be asked for: the categories, `theme` and `eir`."""
    return (THEME, EIR, *(c.value for c in Category))


@dataclass(frozen=True)
class DeadlineRules:
    """The rule for each kind of post; kinds without their own rule follow `theme`.

    `receipt_on_closed_day_is_next_working_day`: for FOI/EIR, treat a request received on a
    weekend or bank holiday as received on the next working day (so day one is the working
    day after that). Off by default: day one is then the first working day after receipt.
    """

    rules: Mapping[str, DeadlineRule] = field(default_factory=lambda: DEFAULT_RULES)
    receipt_on_closed_day_is_next_working_day: bool = False

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_RULES) | dict(self.rules)
        object.__setattr__(self, "rules", MappingProxyType(merged))

    def kind(self, name: str) -> str:
        """The canonical name of a kind ('SAR' is subject_access); ValueError if unknown."""
        key = name.strip().lower().replace("-", "_")
        key = KIND_ALIASES.get(key, key)
        if key not in self.rules and key not in known_kinds():
            choices = ", ".join(sorted(set(self.rules) | set(known_kinds())))
            raise ValueError(f"unknown kind {name!r}: choose one of {choices}")
        return key

    def rule_for(self, kind: str) -> DeadlineRule:
        """The rule for `kind`, or the theme rule when it has none of its own."""
        key = self.kind(kind)
        return self.rules.get(key, self.rules[THEME])


@dataclass(frozen=True)
class Deadline:
    """When something received at `received_at` is due, and how that was worked out.

    `days_off` are the days passed over without counting them. For statutory clocks:
    `received_on_day_off` is the day of receipt when it was not a working day,
    `treated_as_received_on` the next working day when config says to treat it so,
    `first_counted_day` is day one, and `closures_counted` are desk closure days the law
    still counts. For calendar months: `month_end` when the next month had no such date,
    `moved_from` the date before it was moved off a weekend or bank holiday.
    """

    kind: str
    rule: DeadlineRule
    received_at: datetime
    due_at: datetime
    days_off: tuple[DayOff, ...] = ()
    received_on_day_off: DayOff | None = None
    treated_as_received_on: date | None = None
    first_counted_day: date | None = None
    closures_counted: tuple[DayOff, ...] = ()
    month_end: bool = False
    moved_from: date | None = None
    clock: SubjectAccessClock | None = None
    paused_days: int = 0
    paused: bool = False

    def due_local(self, zone: ZoneInfo) -> datetime:
        """The due moment on the desk's wall clock."""
        return self.due_at.astimezone(zone)


_OUT_OF_RANGE = "is too far in the past or the future to work out a deadline"


def deadline_for(
    kind: str, *, received_at: datetime, rules: DeadlineRules, calendar: WorkingCalendar
) -> Deadline:
    """When a post of `kind` received at `received_at` is due (ValueError if it cannot be)."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    try:
        return _deadline_for(kind, received_at=received_at, rules=rules, calendar=calendar)
    except OverflowError:
        raise ValueError(f"{received_at.isoformat()} {_OUT_OF_RANGE}") from None


def _deadline_for(
    kind: str, *, received_at: datetime, rules: DeadlineRules, calendar: WorkingCalendar
) -> Deadline:
    key = rules.kind(kind)
    rule = rules.rule_for(key)
    received_at = received_at.astimezone(UTC)
    if rule.unit is Unit.STATUTORY_WORKING_DAYS:
        return _statutory_working_days(key, rule, received_at, rules, calendar)
    if rule.unit is Unit.CALENDAR_MONTHS:
        clock = SubjectAccessClock(received_on=calendar.local_date(received_at))
        return subject_access_due(clock, calendar=calendar, rule=rule, received_at=received_at)
    if rule.unit is Unit.CLOCK_HOURS:
        due = received_at + timedelta(hours=rule.amount)
        return Deadline(key, rule, received_at, due)
    length = (
        calendar.hours.day_length * rule.amount
        if rule.unit is Unit.WORKING_DAYS
        else timedelta(hours=rule.amount)
    )
    due = calendar.add_working_time(received_at, length)
    days_off = calendar.days_off_between(calendar.local_date(received_at), calendar.local_date(due))
    return Deadline(key, rule, received_at, due, days_off=days_off)


def _statutory_working_days(
    kind: str,
    rule: DeadlineRule,
    received_at: datetime,
    rules: DeadlineRules,
    calendar: WorkingCalendar,
) -> Deadline:
    # FOIA s.10(1): the twentieth working day following the date of receipt; s.10(6): a
    # working day is any day but a Saturday, a Sunday, Christmas Day, Good Friday or a bank
    # holiday in any part of the UK. Closure days of the body's own do not stop the count.
    law = calendar.statutory()
    receipt = calendar.local_date(received_at)
    closures = law.closures_on(receipt)
    received_on_day_off = DayOff(receipt, closures) if closures else None
    counting_from = receipt
    treated = None
    if received_on_day_off and rules.receipt_on_closed_day_is_next_working_day:
        counting_from = treated = law.next_working_day(receipt)
    due_day = law.add_working_days(counting_from, int(rule.amount))
    first = law.next_working_day(counting_from)
    days_off = law.days_off_between(counting_from + timedelta(days=1), due_day)
    closures_counted = tuple(
        day
        for day in calendar.days_off_between(first, due_day)
        if law.is_working_day(day.day) and any(c.kind is ClosureKind.CLOSURE for c in day.closures)
    )
    return Deadline(
        kind,
        rule,
        received_at,
        end_of_day(due_day, calendar.zone),
        days_off=days_off,
        received_on_day_off=received_on_day_off,
        treated_as_received_on=treated,
        first_counted_day=first,
        closures_counted=closures_counted,
    )


def add_months(day: date, months: int) -> tuple[date, bool]:
    """The same day of the month `months` later, or that month's last day; True if clamped."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = month_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last)), day.day > last


# --- Subject access -----------------------------------------------------------------------


class PauseReason(StrEnum):
    """Why a subject access clock stopped."""

    IDENTITY = "identity"  # waiting for proof of who the requester is
    CLARIFICATION = "clarification"  # waiting for the requester to say what they want


class ClockError(DeskError):
    """A staff action on a statutory clock cannot be recorded; the message says why."""


@dataclass(frozen=True)
class Pause:
    """A stop of a subject access clock: asked on one day, answered (if yet) on another."""

    reason: PauseReason
    asked_on: date
    answered_on: date | None = None

    def __post_init__(self) -> None:
        if self.answered_on is not None and self.answered_on < self.asked_on:
            raise ValueError("a pause cannot end before it starts")


@dataclass(frozen=True)
class SubjectAccessClock:
    """A subject access request's clock as staff have recorded it: pauses and extension.

    The month runs from the day of receipt, which is day one (ICO guidance since 2019), or
    from the day proof of identity arrived when it was asked for. While clarification is
    awaited the clock stops: the days from asking to the answer, both included, do not count
    (the wording of DPA 2018 s.54(3C) for the same pause). An extension adds up to two
    months for complex requests and must be decided within the first month.
    """

    received_on: date
    pauses: tuple[Pause, ...] = ()
    extension_months: int = 0
    extended_on: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.extension_months <= MAX_EXTENSION_MONTHS:
            raise ClockError(
                f"a subject access request can be extended by at most {MAX_EXTENSION_MONTHS} "
                f"months in all, not {self.extension_months}"
            )
        previous_end: date | None = None
        for index, pause in enumerate(self.pauses):
            if pause.asked_on < self.received_on:
                raise ClockError("a pause cannot start before the request was received")
            if pause.answered_on is None and index != len(self.pauses) - 1:
                raise ClockError("only the latest pause can still be waiting for an answer")
            if previous_end is not None and pause.asked_on < previous_end:
                raise ClockError("pauses cannot overlap")
            previous_end = pause.answered_on

    @property
    def open_pause(self) -> Pause | None:
        """The pause still waiting for an answer, if any."""
        if self.pauses and self.pauses[-1].answered_on is None:
            return self.pauses[-1]
        return None

    def pause(self, *, reason: PauseReason, on: date) -> SubjectAccessClock:
        """The clock stopped on `on` to wait for identity or clarification."""
        if self.open_pause is not None:
            raise ClockError(
                f"the clock is already paused for {self.open_pause.reason.value} since "
                f"{self.open_pause.asked_on.isoformat()}; record the answer first"
            )
        return replace(self, pauses=(*self.pauses, Pause(reason, on)))

    def resume(self, *, on: date) -> SubjectAccessClock:
        """The clock restarted on `on`, when the awaited answer arrived."""
        waiting = self.open_pause
        if waiting is None:
            raise ClockError("the clock is not paused")
        if on < waiting.asked_on:
            raise ClockError(
                f"the answer cannot arrive before it was asked for ({waiting.asked_on.isoformat()})"
            )
        return replace(self, pauses=(*self.pauses[:-1], replace(waiting, answered_on=on)))

    def extend(self, *, months: int, on: date, calendar: WorkingCalendar) -> SubjectAccessClock:
        """The clock extended by `months` more, decided on `on` (within the first month)."""
        total = self.extension_months + months
        if months < 1 or total > MAX_EXTENSION_MONTHS:
            raise ClockError(
                f"a subject access request can be extended by at most {MAX_EXTENSION_MONTHS} "
                f"months in all (already extended by {self.extension_months}); "
                f"{months} more is refused"
            )
        first_month = subject_access_due(
            replace(self, extension_months=0), calendar=calendar, as_of=on
        )
        if on > calendar.local_date(first_month.due_at):
            raise ClockError(
                "an extension must be decided, and the requester told, within the first "
                f"month (by {calendar.local_date(first_month.due_at).isoformat()})"
            )
        return replace(self, extension_months=total, extended_on=on)


def subject_access_due(
    clock: SubjectAccessClock,
    *,
    calendar: WorkingCalendar,
    rule: DeadlineRule | None = None,
    received_at: datetime | None = None,
    as_of: date | None = None,
) -> Deadline:
    """When a subject access request is due, by the end of that day in the desk's zone.

    While a pause is open the due date is not fixed: it is worked out as if the answer came
    on `as_of` (required then), and the result says `paused`.
    """
    rule = rule or DEFAULT_RULES[Category.SUBJECT_ACCESS.value]
    open_pause = clock.open_pause
    if open_pause is not None and as_of is None:
        raise ValueError("the clock is paused: pass as_of to see where the deadline stands")
    start = clock.received_on
    for pause in clock.pauses:
        if pause.reason is PauseReason.IDENTITY:
            start = max(start, pause.answered_on or as_of or start)
    paused_days = 0
    for pause in clock.pauses:
        if pause.reason is PauseReason.CLARIFICATION:
            first = max(pause.asked_on, start)
            last = pause.answered_on or as_of or first
            paused_days += max((last - first).days + 1, 0)
    target, month_end = add_months(start, int(rule.amount) + clock.extension_months)
    target += timedelta(days=paused_days)
    # ICO: a date on a weekend or bank holiday moves to the next working day. The desk's own
    # closure days do not move it.
    law = calendar.statutory(calendar.nations)
    due_day = target if law.is_working_day(target) else law.next_working_day(target)
    if received_at is None:
        received_at = datetime.combine(clock.received_on, time(0), tzinfo=calendar.zone).astimezone(
            UTC
        )
    return Deadline(
        Category.SUBJECT_ACCESS.value,
        rule,
        received_at,
        end_of_day(due_day, calendar.zone),
        days_off=law.days_off_between(target, due_day) if due_day != target else (),
        month_end=month_end,
        moved_from=target if due_day != target else None,
        clock=clock,
        paused_days=paused_days,
        paused=open_pause is not None,
    )


# --- Reading a time of receipt --------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A time of receipt as a person gave it: the instant, and whether only a date was given."""

    at: datetime
    date_only: bool = field(default=False)


def parse_received(text: str, *, zone: ZoneInfo) -> Received:
    """An ISO 8601 date or date-time; local to `zone` when it has no offset (ValueError)."""
    value = text.strip()
    if not value:
        raise ValueError("give the date or time of receipt, e.g. 2026-12-04 or 2026-12-04T16:30")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return Received(_in_utc(datetime.combine(day, time(0), tzinfo=zone), value), True)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-12-04 or "
            "2026-12-04T16:30 or 2026-12-04T16:30+00:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return Received(_in_utc(moment, value), False)


def _in_utc(moment: datetime, given: str) -> datetime:
    """`moment` in UTC; ValueError when that is beyond the years datetime can hold."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{given!r} {_OUT_OF_RANGE}") from None
