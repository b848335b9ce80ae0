"""The pydantic model of `config/deadlines.yaml`: working calendar, deadlines and reminders."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bot.core.calendar import (
    UK_NATIONS,
    WEEKDAYS,
    Nation,
    OpeningHours,
    Span,
    TimeBase,
    WorkingCalendar,
    uk_bank_holidays,
    weekday_numbers,
)
from bot.core.clocks import Clocks
from bot.core.deadlines import (
    DEFAULT_RULES,
    EIR,
    DeadlineRule,
    DeadlineRules,
    Unit,
    known_kinds,
)
from bot.core.posts import Category
from bot.core.reminders import DEFAULT_POLICIES, ReminderPolicies, ReminderPolicy, Threshold

_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_STATUTORY_UNITS = {
    Category.FOI.value: Unit.STATUTORY_WORKING_DAYS,
    EIR: Unit.STATUTORY_WORKING_DAYS,
    Category.SUBJECT_ACCESS.value: Unit.CALENDAR_MONTHS,
}


def _wall_time(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 17:00 as the number 1020 (minutes); read it back as a time."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


WallTime = Annotated[time, BeforeValidator(_wall_time)]


T = TypeVar("T")


def only_known_kinds(value: dict[str, T]) -> dict[str, T]:
    """`value` when every key is a kind of post; ValueError naming the others."""
    unknown = [key for key in value if key not in known_kinds()]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} not a kind of post "
            f"(expected one of {', '.join(known_kinds())})"
        )
    return value


class SpanModel(BaseModel):
    """A length of time: exactly one of working or clock hours or minutes."""

    model_config = ConfigDict(extra="forbid")

    working_hours: float | None = Field(default=None, ge=0, le=24 * 366)
    working_minutes: float | None = Field(default=None, ge=0, le=60 * 24 * 366)
    clock_hours: float | None = Field(default=None, ge=0, le=24 * 366)
    clock_minutes: float | None = Field(default=None, ge=0, le=60 * 24 * 366)

    @model_validator(mode="after")
    def _exactly_one(self) -> SpanModel:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of working_hours, working_minutes, clock_hours, clock_minutes"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    def to_core(self) -> Span:
        """The core span this describes."""
        if self.working_hours is not None:
            return Span(timedelta(hours=self.working_hours), TimeBase.WORKING)
        if self.working_minutes is not None:
            return Span(timedelta(minutes=self.working_minutes), TimeBase.WORKING)
        if self.clock_hours is not None:
            return Span(timedelta(hours=self.clock_hours), TimeBase.CLOCK)
        assert self.clock_minutes is not None
        return Span(timedelta(minutes=self.clock_minutes), TimeBase.CLOCK)


class ClosureDayModel(BaseModel):
    """An extra day the desk is closed."""

    model_config = ConfigDict(extra="forbid")

    date: date
    name: str = Field(min_length=1, max_length=80)


class NotBankHolidayModel(BaseModel):
    """A date the holidays library lists as a bank holiday that is not one."""

    model_config = ConfigDict(extra="forbid")

    date: date
    reason: str = Field(min_length=1, max_length=200)


class CalendarModel(BaseModel):
    """Opening hours, which nations' bank holidays close the desk, and closure days."""

    model_config = ConfigDict(extra="forbid")

    opening_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    opens: WallTime = time(9)
    closes: WallTime = time(17)
    bank_holidays: list[Nation] = Field(default_factory=lambda: list(UK_NATIONS))
    closure_days: list[ClosureDayModel] = Field(default_factory=list)
    not_bank_holidays: list[NotBankHolidayModel] = Field(default_factory=list)

    @field_validator("opening_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        weekday_numbers(value)
        return value

    @model_validator(mode="after")
    def _hours(self) -> CalendarModel:
        if not self.opens < self.closes:
            raise ValueError(
                f"closes ({self.closes:%H:%M}) must be after opens ({self.opens:%H:%M}); "
                "write times in quotes, e.g. opens: '09:00'"
            )
        return self

    @field_validator("not_bank_holidays")
    @classmethod
    def _really_bank_holidays(cls, value: list[NotBankHolidayModel]) -> list[NotBankHolidayModel]:
        listed = uk_bank_holidays(UK_NATIONS)
        wrong = [entry.date.isoformat() for entry in value if entry.date not in listed]
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)} not a bank holiday anywhere in the UK: "
                "nothing to correct (to close the desk, use closure_days)"
            )
        return value

    def to_core(self, zone: ZoneInfo) -> WorkingCalendar:
        """The working calendar this describes, in `zone`."""
        return WorkingCalendar(
            zone=zone,
            hours=OpeningHours(self.opens, self.closes, weekday_numbers(self.opening_days)),
            nations=tuple(n for n in UK_NATIONS if n in self.bank_holidays),
            closure_days=tuple((c.date, c.name) for c in self.closure_days),
            not_bank_holidays=frozenset(c.date for c in self.not_bank_holidays),
        )


class DeadlineRuleModel(BaseModel):
    """One deadline rule: a unit and an amount."""

    model_config = ConfigDict(extra="forbid")

    unit: Unit
    amount: float = Field(gt=0)

    @model_validator(mode="after")
    def _sensible(self) -> DeadlineRuleModel:
        limits = {
            Unit.WORKING_DAYS: 365,
            Unit.STATUTORY_WORKING_DAYS: 365,
            Unit.CALENDAR_MONTHS: 12,
            Unit.WORKING_HOURS: 24 * 366,
            Unit.CLOCK_HOURS: 24 * 366,
        }
        if self.amount > limits[self.unit]:
            raise ValueError(f"{self.unit.value} can be at most {limits[self.unit]}")
        if self.unit not in (Unit.WORKING_HOURS, Unit.CLOCK_HOURS) and self.amount != int(
            self.amount
        ):
            raise ValueError(f"{self.unit.value} must be a whole number")
        return self

    def to_core(self) -> DeadlineRule:
        """The core rule this describes."""
        return DeadlineRule(self.unit, self.amount)


class ThresholdModel(BaseModel):
    """One reminder threshold: an id and exactly one of elapsed, before_due, after_due."""

    model_config = ConfigDict(extra="forbid")

    id: str
    elapsed: float | None = Field(default=None, gt=0, le=1)
    before_due: SpanModel | None = None
    after_due: SpanModel | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} must be a short snake_case id, e.g. one_hour_left")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> ThresholdModel:
        given = [k for k in ("elapsed", "before_due", "after_due") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"threshold {self.id!r} needs exactly one of elapsed, before_due, after_due"
            )
        return self

    def to_core(self) -> Threshold:
        """The core threshold this describes."""
        return Threshold(
            self.id,
            elapsed=self.elapsed,
            before_due=self.before_due.to_core() if self.before_due else None,
            after_due=self.after_due.to_core() if self.after_due else None,
        )


class ReminderPolicyModel(BaseModel):
    """The reminders for one kind of post."""

    model_config = ConfigDict(extra="forbid")

    thresholds: list[ThresholdModel] = Field(min_length=1)
    out_of_hours: bool = False

    @field_validator("thresholds")
    @classmethod
    def _unique(cls, value: list[ThresholdModel]) -> list[ThresholdModel]:
        ids = [t.id for t in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"threshold ids must be unique; repeated: {', '.join(repeated)}")
        return value

    def to_core(self) -> ReminderPolicy:
        """The core policy this describes."""
        return ReminderPolicy(tuple(t.to_core() for t in self.thresholds), self.out_of_hours)


class FoiModel(BaseModel):
    """How FOI and EIR clocks read a request received on a weekend or bank holiday."""

    model_config = ConfigDict(extra="forbid")

    treat_closed_day_receipt_as_next_working_day: bool = False


class DeadlinesFile(BaseModel):
    """The whole of `deadlines.yaml`; anything left out keeps its default."""

    model_config = ConfigDict(extra="forbid")

    calendar: CalendarModel = Field(default_factory=CalendarModel)
    deadlines: dict[str, DeadlineRuleModel] = Field(default_factory=dict)
    foi: FoiModel = Field(default_factory=FoiModel)
    reminders: dict[str, ReminderPolicyModel] = Field(default_factory=dict)

    @field_validator("deadlines", "reminders")
    @classmethod
    def _kinds(cls, value: dict[str, Any]) -> dict[str, Any]:
        return only_known_kinds(value)

    @field_validator("deadlines")
    @classmethod
    def _statutory_units(cls, value: dict[str, DeadlineRuleModel]) -> dict[str, DeadlineRuleModel]:
        problems = [
            f"{kind} must use unit {unit.value} (the law sets how it is counted)"
            for kind, unit in _STATUTORY_UNITS.items()
            if kind in value and value[kind].unit is not unit
        ]
        urgent = value.get(Category.URGENT.value)
        if urgent is not None and urgent.unit is not Unit.CLOCK_HOURS:
            problems.append(
                f"urgent must use unit {Unit.CLOCK_HOURS.value} (risk to life is answered around "
                "the clock, not in opening hours)"
            )
        problems += [
            f"{kind} can be at most {int(limit.amount)} {limit.unit.value} (the statutory "
            "limit); a shorter target is allowed"
            for kind, limit in DEFAULT_RULES.items()
            if kind in _STATUTORY_UNITS
            and kind in value
            and value[kind].unit is limit.unit
            and value[kind].amount > limit.amount
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("reminders")
    @classmethod
    def _urgent_around_the_clock(
        cls, value: dict[str, ReminderPolicyModel]
    ) -> dict[str, ReminderPolicyModel]:
        policy = value.get(Category.URGENT.value)
        if policy is None:
            return value
        problems = []
        if not policy.out_of_hours:
            problems.append(
                "urgent needs out_of_hours: true (urgent posts are watched 24/7, so their "
                "reminders cannot wait for the next opening)"
            )
        working = [
            threshold.id
            for threshold in policy.thresholds
            for span in (threshold.before_due, threshold.after_due)
            if span is not None and (span.working_hours, span.working_minutes) != (None, None)
        ]
        if working:
            problems.append(
                "urgent thresholds count clock time (clock_hours or clock_minutes), not working "
                f"time: {', '.join(working)}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def to_core(self, zone: ZoneInfo) -> Clocks:
        """The desk's clocks as configured, in `zone`."""
        return Clocks(
            calendar=self.calendar.to_core(zone),
            rules=DeadlineRules(
                {**DEFAULT_RULES, **{k: v.to_core() for k, v in self.deadlines.items()}},
                receipt_on_closed_day_is_next_working_day=(
                    self.foi.treat_closed_day_receipt_as_next_working_day
                ),
            ),
            reminders=ReminderPolicies(
                {**DEFAULT_POLICIES, **{k: v.to_core() for k, v in self.reminders.items()}}
            ),
        )
