"""Days as the desk lives them: opening hours, UK bank holidays and closure days.

Instants are timezone-aware and returned in UTC; days and hours are reckoned in the desk's
zone, so an opening period is always 09:00-17:00 on the wall clock whether the clocks have
gone forward or back. Nothing here reads the clock: callers pass the instants in.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

# The years for which bank holidays are known; a date outside them is refused rather than
# quietly treated as a working day.
FIRST_YEAR = 2000
LAST_YEAR = 2100
# No working calendar leaves ten years without a working day; a search that finds none stops.
_MAX_SCAN_DAYS = 3660
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which the local day containing `now` starts and ends.

    A day is 23 or 25 hours long when the clocks change; both ends are local midnights.
    """
    _check_aware(now, "now")
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last second of local `day` (23:59:59 on the wall clock), in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def _check_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


class Nation(StrEnum):
    """The parts of the UK with their own bank holidays."""

    ENGLAND_AND_WALES = "england_and_wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"


UK_NATIONS: tuple[Nation, ...] = tuple(Nation)

# Subdivision codes of the `holidays` library for each nation.
_SUBDIVISIONS = {
    Nation.ENGLAND_AND_WALES: ("ENG", "WLS"),
    Nation.SCOTLAND: ("SCT",),
    Nation.NORTHERN_IRELAND: ("NIR",),
}


@dataclass(frozen=True)
class BankHoliday:
    """A bank holiday by name and the nations that keep it on that day."""

    name: str
    nations: tuple[Nation, ...]


@functools.lru_cache(maxsize=16)
def uk_bank_holidays(nations: tuple[Nation, ...]) -> Mapping[date, tuple[BankHoliday, ...]]:
    """Bank holidays in any of `nations`, FIRST_YEAR to LAST_YEAR, by date (from `holidays`)."""
    names: dict[date, dict[str, list[Nation]]] = {}
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    for nation in UK_NATIONS:
        if nation not in nations:
            continue
        for subdivision in _SUBDIVISIONS[nation]:
            for day, name in holidays.country_holidays(
                "GB", subdiv=subdivision, years=years
            ).items():
                # The library joins two holidays on one date with "; ".
                for one in name.split("; "):
                    keepers = names.setdefault(day, {}).setdefault(one, [])
                    if nation not in keepers:
                        keepers.append(nation)
    return MappingProxyType(
        {
            day: tuple(
                BankHoliday(name, tuple(n for n in UK_NATIONS if n in keepers))
                for name, keepers in by_name.items()
            )
            for day, by_name in sorted(names.items())
        }
    )


class ClosureKind(StrEnum):
    """Why a day is not a working day."""

    WEEKEND = "weekend"  # a day of the week the desk does not open (Saturday, Sunday)
    BANK_HOLIDAY = "bank_holiday"
    CLOSURE = "closure"  # an extra closure day set in config


@dataclass(frozen=True)
class Closure:
    """One reason a day is not worked: its kind, and the holiday's name and nations."""

    kind: ClosureKind
    name: str | None = None
    nations: tuple[Nation, ...] = ()


@dataclass(frozen=True)
class DayOff:
    """A day that is not a working day, with every reason it is not."""

    day: date
    closures: tuple[Closure, ...]

    @property
    def weekend_only(self) -> bool:
        """True when the only reason is the day of the week."""
        return all(c.kind is ClosureKind.WEEKEND for c in self.closures)


class TimeBase(StrEnum):
    """Whether a span of time runs only while the desk is open, or around the clock."""

    WORKING = "working"
    CLOCK = "clock"


@dataclass(frozen=True)
class Span:
    """A length of time in working time (opening hours only) or clock time (24/7)."""

    length: timedelta
    base: TimeBase

    def __post_init__(self) -> None:
        if self.length < timedelta(0):
            raise ValueError("a span cannot be negative")


@dataclass(frozen=True)
class OpeningHours:
    """When the desk is open: the same hours on each of its opening days (0 is Monday)."""

    opens: time = time(9)
    closes: time = time(17)
    days: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError("opening hours must close after they open")
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("opening days must be weekdays 0 (Monday) to 6 (Sunday)")

    @property
    def day_length(self) -> timedelta:
        """How long the desk is open on an opening day, by the wall clock."""
        start = datetime.combine(date(2000, 1, 3), self.opens)
        return datetime.combine(date(2000, 1, 3), self.closes) - start


@dataclass(frozen=True)
class WorkingCalendar:
    """The desk's working days and hours in its zone.

    A working day is an opening day that is neither a bank holiday in one of `nations` (less
    `not_bank_holidays`, corrections to the library's list) nor one of `closure_days`.
    """

    zone: ZoneInfo
    hours: OpeningHours = OpeningHours()
    nations: tuple[Nation, ...] = UK_NATIONS
    closure_days: tuple[tuple[date, str], ...] = ()
    not_bank_holidays: frozenset[date] = frozenset()
    _closures: Mapping[date, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_closures", MappingProxyType(dict(self.closure_days)))

    # --- Days ----------------------------------------------------------------------------

    def statutory(self, nations: tuple[Nation, ...] = UK_NATIONS) -> WorkingCalendar:
        """The calendar the law counts in: Monday to Friday less bank holidays in `nations`.

        The desk's own closure days and opening days do not change a statutory clock; the
        corrections in `not_bank_holidays` still apply.
        """
        return WorkingCalendar(
            zone=self.zone,
            hours=OpeningHours(opens=self.hours.opens, closes=self.hours.closes),
            nations=nations,
            not_bank_holidays=self.not_bank_holidays,
        )

    def bank_holidays_on(self, day: date) -> tuple[BankHoliday, ...]:
        """The bank holidays on `day` in the calendar's nations (none if corrected away)."""
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(
                f"{day.isoformat()} is outside the years with known bank holidays "
                f"({FIRST_YEAR}-{LAST_YEAR})"
            )
        if day in self.not_bank_holidays:
            return ()
        return uk_bank_holidays(self.nations).get(day, ())

    def closures_on(self, day: date) -> tuple[Closure, ...]:
        """Every reason `day` is not a working day; empty when it is one."""
        reasons: list[Closure] = []
        if day.weekday() not in self.hours.days:
            reasons.append(Closure(ClosureKind.WEEKEND))
        reasons.extend(
            Closure(ClosureKind.BANK_HOLIDAY, h.name, h.nations) for h in self.bank_holidays_on(day)
        )
        if day in self._closures:
            reasons.append(Closure(ClosureKind.CLOSURE, self._closures[day]))
        return tuple(reasons)

    def is_working_day(self, day: date) -> bool:
        """True when the desk works on `day`."""
        if day.weekday() not in self.hours.days or day in self._closures:
            return False
        return not self.bank_holidays_on(day)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        return self.add_working_days(day, 1)

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`th working day after `day` (`day` itself when `count` is 0)."""
        if count < 0:
            raise ValueError("count must not be negative")
        current = day
        for _ in range(count):
            current = self._next_working_day(current)
        return current

    def _next_working_day(self, day: date) -> date:
        current = day
        for _ in range(_MAX_SCAN_DAYS):
            current += timedelta(days=1)
            if self.is_working_day(current):
                return current
        raise ValueError(f"no working day in the {_MAX_SCAN_DAYS} days after {day.isoformat()}")

    def days_off_between(self, first: date, last: date) -> tuple[DayOff, ...]:
        """The days from `first` to `last` inclusive that are not working days."""
        found = []
        current = first
        while current <= last:
            closures = self.closures_on(current)
            if closures:
                found.append(DayOff(current, closures))
            current += timedelta(days=1)
        return tuple(found)

    def local_date(self, instant: datetime) -> date:
        """The date on the desk's wall calendar at `instant`."""
        _check_aware(instant, "instant")
        return instant.astimezone(self.zone).date()

    # --- Hours ---------------------------------------------------------------------------

    def opening_period(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants the desk opens and closes on `day`, or None when it is closed."""
        if not self.is_working_day(day):
            return None
        opens = datetime.combine(day, self.hours.opens, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.hours.closes, tzinfo=self.zone).astimezone(UTC)
        return opens, closes

    def _periods_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        current = day
        for _ in range(_MAX_SCAN_DAYS):
            period = self.opening_period(current)
            if period is not None:
                yield period
            current += timedelta(days=1)
        raise ValueError(f"the desk does not open in the {_MAX_SCAN_DAYS} days after {day}")

    def _periods_back_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        current = day
        for _ in range(_MAX_SCAN_DAYS):
            period = self.opening_period(current)
            if period is not None:
                yield period
            current -= timedelta(days=1)
        raise ValueError(f"the desk was not open in the {_MAX_SCAN_DAYS} days before {day}")

    def is_open(self, instant: datetime) -> bool:
        """True when the desk is open at `instant` (opening time included, closing excluded)."""
        period = self.opening_period(self.local_date(instant))
        return period is not None and period[0] <= instant < period[1]

    def next_opening(self, instant: datetime) -> datetime:
        """`instant` itself when the desk is open then, else the next time it opens (UTC)."""
        for opens, closes in self._periods_from(self.local_date(instant)):
            if instant < closes:
                return max(opens, instant).astimezone(UTC)
        raise AssertionError("unreachable")  # pragma: no cover

    def add_working_time(self, start: datetime, length: timedelta) -> datetime:
        """The instant by which `length` of opening hours has passed since `start` (UTC).

        Ends at a closing time when the time runs out exactly then (Saturday plus one 8-hour
        working day is 17:00 on Monday). A negative `length` counts back from `start`.
        """
        _check_aware(start, "start")
        if length < timedelta(0):
            return self._subtract_working_time(start, -length)
        if length == timedelta(0):
            return start.astimezone(UTC)
        remaining = length
        for opens, closes in self._periods_from(self.local_date(start)):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return (begin + remaining).astimezone(UTC)
            remaining -= closes - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def _subtract_working_time(self, end: datetime, length: timedelta) -> datetime:
        remaining = length
        for opens, closes in self._periods_back_from(self.local_date(end)):
            stop = min(closes, end)
            if stop <= opens:
                continue
            if remaining <= stop - opens:
                return (stop - remaining).astimezone(UTC)
            remaining -= stop - opens
        raise AssertionError("unreachable")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much opening time lies between `start` and `end` (negative if `end` is earlier)."""
        _check_aware(start, "start")
        _check_aware(end, "end")
        if end < start:
            return -self.working_time_between(end, start)
        total = timedelta(0)
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            period = self.opening_period(day)
            if period is not None:
                begin, stop = max(period[0], start), min(period[1], end)
                if stop > begin:
                    total += stop - begin
            day += timedelta(days=1)
        return total

    def advance(self, instant: datetime, span: Span) -> datetime:
        """`instant` moved forward by `span`, in working or clock time (UTC)."""
        if span.base is TimeBase.CLOCK:
            return (instant + span.length).astimezone(UTC)
        return self.add_working_time(instant, span.length)

    def retreat(self, instant: datetime, span: Span) -> datetime:
        """`instant` moved back by `span`, in working or clock time (UTC)."""
        if span.base is TimeBase.CLOCK:
            return (instant - span.length).astimezone(UTC)
        return self.add_working_time(instant, -span.length)

    def elapsed(self, start: datetime, end: datetime, base: TimeBase) -> timedelta:
        """The time between `start` and `end` in working or clock time."""
        if base is TimeBase.CLOCK:
            return end - start
        return self.working_time_between(start, end)


_DAY_NAMES = {
    name: number
    for number, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, WEEKDAYS[number])
}


def weekday_numbers(names: Iterable[str]) -> frozenset[int]:
    """Day numbers (0 is Monday) for names like 'mon' or 'Monday'."""
    numbers = set()
    for name in names:
        number = _DAY_NAMES.get(name.strip().lower())
        if number is None:
            raise ValueError(
                f"{name!r} is not a day of the week (mon, tue, wed, thu, fri, sat, sun)"
            )
        numbers.add(number)
    return frozenset(numbers)
