"""The working calendar: local days, UK bank holidays, opening hours and the clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import (
    ClosureKind,
    Nation,
    OpeningHours,
    Span,
    TimeBase,
    WorkingCalendar,
    local_day_bounds,
    weekday_numbers,
)

LONDON = ZoneInfo("Europe/London")
DESK = WorkingCalendar(LONDON)
EW, SCO, NI = Nation.ENGLAND_AND_WALES, Nation.SCOTLAND, Nation.NORTHERN_IRELAND
UK = (EW, SCO, NI)


def local(*args: int) -> datetime:
    """A wall-clock time in London."""
    return datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "hours"),
    [
        # Winter: local midnight is UTC midnight.
        (datetime(2026, 11, 20, 23, 30, tzinfo=UTC), datetime(2026, 11, 20, 0, 0, tzinfo=UTC), 24),
        # Summer: 00:30 UTC is already the next local day, which began at 23:00 UTC.
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 23, 0, tzinfo=UTC), 24),
        # Clocks go forward on 29 March 2026: a 23-hour day.
        (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 23),
        # Clocks go back on 25 October 2026: a 25-hour day.
        (datetime(2026, 10, 25, 12, 0, tzinfo=UTC), datetime(2026, 10, 24, 23, 0, tzinfo=UTC), 25),
    ],
)
def test_local_day_bounds(now: datetime, start: datetime, hours: int) -> None:
    day_start, day_end = local_day_bounds(now, LONDON)
    assert day_start == start
    assert day_end - day_start == timedelta(hours=hours)
    assert day_start <= now < day_end


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day_bounds(datetime(2026, 1, 1), LONDON)


# Bank holidays in any part of the UK close the desk by default (the ICO's reading of FOIA
# s.10(6)); each is named with the nations that keep it.
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 25), [("Christmas Day", UK)]),
        (date(2026, 12, 28), [("Boxing Day (observed)", UK)]),  # 26 December is a Saturday
        (date(2027, 1, 1), [("New Year's Day", UK)]),
        (date(2026, 1, 2), [("New Year Holiday", (SCO,))]),
        (date(2027, 1, 4), [("New Year Holiday (observed)", (SCO,))]),  # 2 January is a Saturday
        (date(2026, 11, 30), [("Saint Andrew's Day", (SCO,))]),
        (date(2025, 12, 1), [("Saint Andrew's Day (observed)", (SCO,))]),  # 30 Nov is a Sunday
        (date(2026, 3, 17), [("Saint Patrick's Day", (NI,))]),
        (date(2026, 7, 13), [("Battle of the Boyne (observed)", (NI,))]),  # 12 July is a Sunday
        (date(2027, 7, 12), [("Battle of the Boyne", (NI,))]),
        (date(2026, 4, 3), [("Good Friday", UK)]),
        (date(2026, 4, 6), [("Easter Monday", (EW, NI))]),  # not a bank holiday in Scotland
        (date(2026, 8, 3), [("Summer Bank Holiday", (SCO,))]),
        (date(2026, 8, 31), [("Late Summer Bank Holiday", (EW, NI))]),
    ],
)
def test_bank_holidays_anywhere_in_the_uk(day: date, expected: list) -> None:
    closures = DESK.closures_on(day)
    assert [(c.name, c.nations) for c in closures] == expected
    assert all(c.kind is ClosureKind.BANK_HOLIDAY for c in closures)
    assert not DESK.is_working_day(day)


def test_ordinary_days_and_weekends() -> None:
    assert DESK.is_working_day(date(2026, 11, 20))  # a Friday
    assert DESK.closures_on(date(2026, 11, 20)) == ()
    [saturday] = DESK.closures_on(date(2026, 11, 21))
    assert saturday.kind is ClosureKind.WEEKEND
    # A bank holiday on a Sunday is both.
    kinds = [c.kind for c in DESK.closures_on(date(2026, 7, 12))]
    assert kinds == [ClosureKind.WEEKEND, ClosureKind.BANK_HOLIDAY]


def test_a_desk_can_follow_one_nation_only_and_close_extra_days() -> None:
    english = WorkingCalendar(
        LONDON,
        nations=(EW,),
        closure_days=((date(2026, 12, 24), "Christmas Eve closure"),),
    )
    assert english.is_working_day(date(2026, 3, 17))  # St Patrick's Day is worked in England
    assert english.is_working_day(date(2026, 1, 2))
    assert not english.is_working_day(date(2026, 4, 6))
    [closure] = english.closures_on(date(2026, 12, 24))
    assert (closure.kind, closure.name) == (ClosureKind.CLOSURE, "Christmas Eve closure")
    # The law's calendar ignores both choices: all UK bank holidays, no closure days.
    law = english.statutory()
    assert not law.is_working_day(date(2026, 3, 17))
    assert law.is_working_day(date(2026, 12, 24))


def test_a_correction_removes_a_listed_bank_holiday() -> None:
    corrected = WorkingCalendar(LONDON, not_bank_holidays=frozenset({date(2026, 8, 3)}))
    assert corrected.is_working_day(date(2026, 8, 3))
    assert corrected.statutory().is_working_day(date(2026, 8, 3))  # corrections apply everywhere
    assert not DESK.is_working_day(date(2026, 8, 3))


@pytest.mark.parametrize(
    ("day", "count", "expected"),
    [
        (date(2026, 11, 20), 0, date(2026, 11, 20)),
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday -> Monday
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # Saturday -> Monday
        # Thu 24 Dec 2026: Christmas (Fri), the weekend and Boxing Day observed (Mon 28) skipped.
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # Thu 31 Dec 2026: New Year's Day, the weekend, and Scotland's 2 January observed on
        # Mon 4 January 2027 are all skipped.
        (date(2026, 12, 31), 1, date(2027, 1, 5)),
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April.
        (date(2026, 4, 2), 1, date(2026, 4, 7)),
        (date(2026, 3, 16), 1, date(2026, 3, 18)),  # over St Patrick's Day
    ],
)
def test_add_working_days(day: date, count: int, expected: date) -> None:
    assert DESK.add_working_days(day, count) == expected
    if count == 1:
        assert DESK.next_working_day(day) == expected


# Opening hours are on the wall clock: 09:00 is 09:00 GMT in winter and 08:00 UTC in summer.
@pytest.mark.parametrize(
    ("instant", "open_"),
    [
        (utc(2026, 11, 20, 9, 0), True),  # opening time counts as open
        (utc(2026, 11, 20, 16, 59), True),
        (utc(2026, 11, 20, 17, 0), False),  # closing time does not
        (utc(2026, 11, 20, 8, 59), False),
        (utc(2026, 11, 21, 12, 0), False),  # Saturday
        (utc(2026, 12, 25, 12, 0), False),  # Christmas Day
        # Monday after the clocks go forward: 08:00 UTC is 09:00 BST.
        (utc(2026, 3, 30, 8, 0), True),
        (utc(2026, 3, 30, 7, 59), False),
        (utc(2026, 3, 30, 16, 0), False),  # 17:00 BST
        # Friday before the clocks go back is still BST; the Monday after is GMT.
        (utc(2026, 10, 23, 8, 0), True),
        (utc(2026, 10, 26, 8, 0), False),
        (utc(2026, 10, 26, 9, 0), True),
    ],
)
def test_is_open(instant: datetime, open_: bool) -> None:
    assert DESK.is_open(instant) is open_


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 11, 20, 10, 0), utc(2026, 11, 20, 10, 0)),  # open: itself
        (utc(2026, 11, 20, 17, 0), utc(2026, 11, 23, 9, 0)),  # Friday closing -> Monday
        (utc(2026, 11, 21, 3, 0), utc(2026, 11, 23, 9, 0)),
        (local(2026, 12, 24, 17, 30), utc(2026, 12, 29, 9, 0)),  # over Christmas
        (local(2026, 3, 28, 12, 0), utc(2026, 3, 30, 8, 0)),  # 09:00 BST on Monday
    ],
)
def test_next_opening(instant: datetime, expected: datetime) -> None:
    assert DESK.next_opening(instant) == expected


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # The examples: one working day (8 hours) from Friday 16:00 is Monday 16:00;
        # from Saturday it is Monday 17:00.
        (local(2026, 11, 20, 16, 0), 8, local(2026, 11, 23, 16, 0)),
        (local(2026, 11, 21, 10, 0), 8, local(2026, 11, 23, 17, 0)),
        (local(2026, 11, 20, 18, 0), 8, local(2026, 11, 23, 17, 0)),  # after closing
        (local(2026, 11, 20, 7, 0), 2, local(2026, 11, 20, 11, 0)),  # before opening
        # Clocks go forward between: 16:00 GMT Friday to 16:00 BST Monday (15:00 UTC).
        (local(2026, 3, 27, 16, 0), 8, local(2026, 3, 30, 16, 0)),
        # Clocks go back between: 16:00 BST Friday to 16:00 GMT Monday.
        (local(2026, 10, 23, 16, 0), 8, local(2026, 10, 26, 16, 0)),
        # Christmas: Thu 24 Dec 16:00 to Tue 29 Dec 16:00.
        (local(2026, 12, 24, 16, 0), 8, local(2026, 12, 29, 16, 0)),
        (local(2026, 11, 23, 10, 0), -2, local(2026, 11, 20, 16, 0)),  # back over a weekend
        (local(2026, 11, 23, 10, 0), 0, local(2026, 11, 23, 10, 0)),
    ],
)
def test_add_working_time(start: datetime, hours: int, expected: datetime) -> None:
    result = DESK.add_working_time(start, timedelta(hours=hours))
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (local(2026, 11, 20, 16, 0), local(2026, 11, 23, 10, 0), 2),
        (local(2026, 11, 21, 0, 0), local(2026, 11, 22, 23, 0), 0),  # a weekend
        (local(2026, 3, 27, 9, 0), local(2026, 3, 30, 17, 0), 16),  # over the clock change
        (local(2026, 10, 23, 9, 0), local(2026, 10, 26, 17, 0), 16),
        (local(2026, 12, 24, 9, 0), local(2027, 1, 5, 17, 0), 5 * 8),  # 24, 29, 30, 31 Dec, 5 Jan
        (local(2026, 11, 23, 10, 0), local(2026, 11, 20, 16, 0), -2),
    ],
)
def test_working_time_between(start: datetime, end: datetime, hours: int) -> None:
    assert DESK.working_time_between(start, end) == timedelta(hours=hours)


@pytest.mark.parametrize("minutes", [1, 59, 60, 61, 8 * 60, 9 * 60 + 7, 40 * 60, 200 * 60])
@pytest.mark.parametrize(
    "start",
    [local(2026, 11, 20, 16, 0), local(2026, 3, 27, 12, 34), local(2026, 12, 23, 20, 0)],
)
def test_working_time_added_is_working_time_between(start: datetime, minutes: int) -> None:
    length = timedelta(minutes=minutes)
    end = DESK.add_working_time(start, length)
    assert DESK.working_time_between(start, end) == length
    assert DESK.add_working_time(end, -length) == DESK.next_opening(start)


def test_spans_in_clock_time_ignore_opening_hours() -> None:
    saturday = local(2026, 11, 21, 2, 0)
    assert DESK.advance(saturday, Span(timedelta(minutes=15), TimeBase.CLOCK)) == local(
        2026, 11, 21, 2, 15
    )
    assert DESK.advance(saturday, Span(timedelta(minutes=15), TimeBase.WORKING)) == local(
        2026, 11, 23, 9, 15
    )
    # One clock hour over the spring change is 00:30 GMT to 02:30 BST.
    assert DESK.advance(local(2026, 3, 29, 0, 30), Span(timedelta(hours=1), TimeBase.CLOCK)) == (
        utc(2026, 3, 29, 1, 30)
    )


def test_other_opening_days_and_hours() -> None:
    saturdays = WorkingCalendar(
        LONDON, hours=OpeningHours(time(8, 30), time(12, 30), weekday_numbers(["mon", "Saturday"]))
    )
    assert saturdays.is_working_day(date(2026, 11, 21))
    assert not saturdays.is_working_day(date(2026, 11, 24))  # a Tuesday
    assert saturdays.add_working_time(local(2026, 11, 21, 12, 0), timedelta(hours=1)) == local(
        2026, 11, 23, 9, 0
    )
    assert saturdays.statutory().is_working_day(date(2026, 11, 24))  # the law works Tuesdays


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the years"):
        DESK.is_working_day(date(1999, 12, 31))
    with pytest.raises(ValueError, match="timezone-aware"):
        DESK.is_open(datetime(2026, 1, 1, 12, 0))
    with pytest.raises(ValueError, match="close after they open"):
        OpeningHours(time(17), time(9))
    with pytest.raises(ValueError, match="not a day of the week"):
        weekday_numbers(["funday"])
