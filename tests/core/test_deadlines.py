"""Deadlines: working-day themes, urgent clock hours, the FOI/EIR and subject access clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import ClosureKind, Nation, WorkingCalendar
from bot.core.deadlines import (
    ClockError,
    DeadlineRule,
    DeadlineRules,
    PauseReason,
    SubjectAccessClock,
    Unit,
    add_months,
    deadline_for,
    parse_received,
    subject_access_due,
)

LONDON = ZoneInfo("Europe/London")
DESK = WorkingCalendar(LONDON)
RULES = DeadlineRules()
SWITCHED = DeadlineRules(receipt_on_closed_day_is_next_working_day=True)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def due_day(kind: str, received_at: datetime, *, rules: DeadlineRules = RULES, calendar=DESK):
    deadline = deadline_for(kind, received_at=received_at, rules=rules, calendar=calendar)
    return deadline.due_at.astimezone(LONDON).date()


# --- FOI and EIR ----------------------------------------------------------------------------
#
# Facts from public guidance and practitioners (not their words):
# - FOIA s.10(1): reply no later than the twentieth working day following the date of
#   receipt; s.10(6): a working day is any day but a Saturday, Sunday, Christmas Day, Good
#   Friday or a bank holiday in any part of the UK. The ICO's line to take LTT47 (as kept on
#   FOIwiki) adds that a holiday kept in only one nation, St Patrick's Day say, is a non-working
#   day everywhere, that the date of receipt need not be a working day, and that an office's
#   own privilege or closure days do not stop the count.
# - FOIMan's ready reckoner for Christmas 2014/15 (foiman.com/archives/1345) gives a due date
#   for each day of receipt from 17 November 2014 to 9 January 2015. It takes in Christmas and
#   New Year, Scotland's St Andrew's Day substitute on Monday 1 December 2014 and Scotland's
#   2 January 2015. For the two receipts on a day that is a holiday only in Scotland it treats
#   the request as received on the next working day (both 1 and 2 December give 5 January).
# - The blog "What a difference a day makes" (confirmordeny.org.uk, 23 November 2014) argues
#   the other reading for the same request of 1 December 2014: the date of receipt is the date
#   it arrived, so day one is 2 December and the reply is due on 31 December 2014.
# commsbot follows the second reading by default and the first when configured.
FOIMAN_2014 = [
    # (received, due by default, due when received on a closed day counts as the next working day)
    ("2014-11-17", "2014-12-16", "2014-12-16"),
    ("2014-11-18", "2014-12-17", "2014-12-17"),
    ("2014-11-19", "2014-12-18", "2014-12-18"),
    ("2014-11-20", "2014-12-19", "2014-12-19"),
    ("2014-11-21", "2014-12-22", "2014-12-22"),
    ("2014-11-24", "2014-12-23", "2014-12-23"),
    ("2014-11-26", "2014-12-29", "2014-12-29"),
    ("2014-11-27", "2014-12-30", "2014-12-30"),
    ("2014-11-28", "2014-12-31", "2014-12-31"),
    ("2014-12-01", "2014-12-31", "2015-01-05"),  # St Andrew's Day (observed), Scotland
    ("2014-12-02", "2015-01-05", "2015-01-05"),
    ("2014-12-03", "2015-01-06", "2015-01-06"),
    ("2014-12-04", "2015-01-07", "2015-01-07"),
    ("2014-12-05", "2015-01-08", "2015-01-08"),
    ("2014-12-08", "2015-01-09", "2015-01-09"),
    ("2014-12-09", "2015-01-12", "2015-01-12"),
    ("2014-12-10", "2015-01-13", "2015-01-13"),
    ("2014-12-11", "2015-01-14", "2015-01-14"),
    ("2014-12-12", "2015-01-15", "2015-01-15"),
    ("2014-12-15", "2015-01-16", "2015-01-16"),
    ("2014-12-16", "2015-01-19", "2015-01-19"),
    ("2014-12-17", "2015-01-20", "2015-01-20"),
    ("2014-12-18", "2015-01-21", "2015-01-21"),
    ("2014-12-19", "2015-01-22", "2015-01-22"),
    ("2014-12-22", "2015-01-23", "2015-01-23"),
    ("2014-12-23", "2015-01-26", "2015-01-26"),
    ("2014-12-24", "2015-01-27", "2015-01-27"),
    ("2014-12-29", "2015-01-28", "2015-01-28"),
    ("2014-12-30", "2015-01-29", "2015-01-29"),
    ("2014-12-31", "2015-01-30", "2015-01-30"),
    ("2015-01-02", "2015-01-30", "2015-02-02"),  # New Year Holiday, Scotland
    ("2015-01-05", "2015-02-02", "2015-02-02"),
    ("2015-01-06", "2015-02-03", "2015-02-03"),
    ("2015-01-07", "2015-02-04", "2015-02-04"),
    ("2015-01-08", "2015-02-05", "2015-02-05"),
    ("2015-01-09", "2015-02-06", "2015-02-06"),
]


@pytest.mark.parametrize(("received", "default", "switched"), FOIMAN_2014)
def test_foi_table_christmas_2014(received: str, default: str, switched: str) -> None:
    at = local(*date.fromisoformat(received).timetuple()[:3], 11, 0)
    assert due_day("foi", at) == date.fromisoformat(default)
    assert due_day("foi", at, rules=SWITCHED) == date.fromisoformat(switched)
    assert due_day("eir", at) == date.fromisoformat(default)


# Worked by hand from the rule (day-by-day counts in the comments).
FOI_CASES = [
    # Saturday receipt: day one is Monday 7 Dec; 25 and 28 Dec, 1 Jan and Scotland's 2 Jan
    # (observed Monday 4 Jan 2027) are skipped; day 20 is Thursday 7 January 2027.
    (local(2026, 12, 5, 10, 0), date(2027, 1, 7), date(2027, 1, 8)),
    # Friday 13 March 2026: St Patrick's Day (NI, Tue 17), Good Friday, Easter Monday (E&W and
    # NI) skipped; the clocks go forward on 29 March. Day 20 is Wednesday 15 April.
    (local(2026, 3, 13, 18, 0), date(2026, 4, 15), date(2026, 4, 15)),
    # Friday 10 July 2026: the Battle of the Boyne (NI, observed Mon 13 July) and Scotland's
    # Summer Bank Holiday (Mon 3 August) skipped. Day 20 is Tuesday 11 August.
    (local(2026, 7, 10, 9, 30), date(2026, 8, 11), date(2026, 8, 11)),
    # Received on a bank holiday (Late Summer, Mon 31 Aug 2026): day one is Tue 1 Sep, day 20
    # Mon 28 Sep; or, treated as received on 1 Sep, day 20 is Tue 29 Sep.
    (local(2026, 8, 31, 12, 0), date(2026, 9, 28), date(2026, 9, 29)),
    # Easter 2027 with St Patrick's Day on a Wednesday: Mon 15 March 2027 -> Thu 15 April.
    (local(2027, 3, 15, 12, 0), date(2027, 4, 15), date(2027, 4, 15)),
    # St Andrew's Day 2026 (Mon 30 Nov), Christmas, Boxing Day observed: Fri 27 Nov -> Wed 30 Dec.
    (local(2026, 11, 27, 12, 0), date(2026, 12, 30), date(2026, 12, 30)),
    # 23:30 UTC on Thursday 2 July is 00:30 BST on Friday 3 July: received on the Friday.
    # Day one Mon 6 July; 13 July (NI) and 3 August (Scotland) skipped -> Tue 4 August.
    (utc(2026, 7, 2, 23, 30), date(2026, 8, 4), date(2026, 8, 4)),
    # 23:30 UTC on Sat 24 Oct is 00:30 BST on Sun 25 Oct, the night the clocks go back.
    # Day one Mon 26 Oct; day 20 Fri 20 November (GMT by then).
    (utc(2026, 10, 24, 23, 30), date(2026, 11, 20), date(2026, 11, 23)),
]


@pytest.mark.parametrize(("received_at", "default", "switched"), FOI_CASES)
def test_foi_worked_examples(received_at: datetime, default: date, switched: date) -> None:
    assert due_day("foi", received_at) == default
    assert due_day("foi", received_at, rules=SWITCHED) == switched


def test_foi_is_due_by_the_end_of_the_day_in_the_desks_zone() -> None:
    summer = deadline_for("foi", received_at=utc(2026, 7, 2, 23, 30), rules=RULES, calendar=DESK)
    assert summer.due_local(LONDON).isoformat() == "2026-08-04T23:59:59+01:00"
    assert summer.due_at == utc(2026, 8, 4, 22, 59, 59)
    winter = deadline_for("foi", received_at=utc(2026, 10, 24, 23, 30), rules=RULES, calendar=DESK)
    assert winter.due_local(LONDON).isoformat() == "2026-11-20T23:59:59+00:00"


def test_foi_explains_what_was_skipped() -> None:
    deadline = deadline_for(
        "foi", received_at=local(2026, 12, 5, 10, 0), rules=RULES, calendar=DESK
    )
    assert deadline.received_on_day_off is not None
    assert deadline.received_on_day_off.closures[0].kind is ClosureKind.WEEKEND
    assert deadline.first_counted_day == date(2026, 12, 7)
    holidays = {
        off.day: [c.name for c in off.closures if c.kind is ClosureKind.BANK_HOLIDAY]
        for off in deadline.days_off
        if not off.weekend_only
    }
    assert holidays == {
        date(2026, 12, 25): ["Christmas Day"],
        date(2026, 12, 26): ["Boxing Day"],
        date(2026, 12, 28): ["Boxing Day (observed)"],
        date(2027, 1, 1): ["New Year's Day"],
        date(2027, 1, 2): ["New Year Holiday"],
        date(2027, 1, 4): ["New Year Holiday (observed)"],
    }
    assert sum(off.weekend_only for off in deadline.days_off) == 7
    switched = deadline_for(
        "foi", received_at=local(2026, 12, 5, 10, 0), rules=SWITCHED, calendar=DESK
    )
    assert switched.treated_as_received_on == date(2026, 12, 7)
    assert switched.first_counted_day == date(2026, 12, 8)


def test_foi_ignores_desk_closures_and_the_desks_choice_of_nations() -> None:
    english = WorkingCalendar(
        LONDON,
        nations=(Nation.ENGLAND_AND_WALES,),
        closure_days=((date(2026, 12, 24), "Christmas Eve closure"),),
    )
    deadline = deadline_for(
        "foi", received_at=local(2026, 11, 27, 12, 0), rules=RULES, calendar=english
    )
    # St Andrew's Day (Scotland) is still skipped; the closure on 24 December still counts.
    assert deadline.due_local(LONDON).date() == date(2026, 12, 30)
    assert [off.day for off in deadline.closures_counted] == [date(2026, 12, 24)]
    # The desk's own working-hours clock does stop for its closure.
    theme = deadline_for(
        "theme", received_at=local(2026, 12, 23, 16, 0), rules=RULES, calendar=english
    )
    assert theme.due_at == local(2026, 12, 29, 16, 0)  # 24 Dec closed, 28 Dec Boxing Day (obs.)


# --- Themes and urgent posts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "received_at", "due_at"),
    [
        # The examples: 1 working day.
        ("theme", local(2026, 11, 20, 16, 0), local(2026, 11, 23, 16, 0)),
        ("theme", local(2026, 11, 21, 11, 0), local(2026, 11, 23, 17, 0)),
        ("complaint", local(2026, 11, 20, 16, 0), local(2026, 11, 23, 16, 0)),  # follows theme
        ("enquiry", local(2026, 12, 24, 10, 0), local(2026, 12, 29, 10, 0)),  # over Christmas
        ("theme", local(2026, 3, 27, 16, 0), local(2026, 3, 30, 16, 0)),  # clocks go forward
        ("theme", local(2026, 10, 23, 16, 0), local(2026, 10, 26, 16, 0)),  # clocks go back
        # Urgent: one hour around the clock, whatever the day.
        ("urgent", local(2026, 12, 25, 3, 0), local(2026, 12, 25, 4, 0)),
        # 00:30 GMT + 1 hour on the spring night is 02:30 BST.
        ("urgent", local(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)),
        # 00:30 BST + 1 hour on the autumn night is the first 01:30 (still BST).
        ("urgent", utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_working_day_and_clock_hour_deadlines(
    kind: str, received_at: datetime, due_at: datetime
) -> None:
    deadline = deadline_for(kind, received_at=received_at, rules=RULES, calendar=DESK)
    assert deadline.due_at == due_at
    assert deadline.due_at.tzinfo is UTC


def test_the_autumn_urgent_deadline_shows_the_right_offset() -> None:
    deadline = deadline_for(
        "urgent", received_at=utc(2026, 10, 24, 23, 30), rules=RULES, calendar=DESK
    )
    assert deadline.due_local(LONDON).isoformat() == "2026-10-25T01:30:00+01:00"


def test_configured_rules_per_category() -> None:
    rules = DeadlineRules({"media": DeadlineRule(Unit.WORKING_HOURS, 4)})
    deadline = deadline_for(
        "media", received_at=local(2026, 11, 20, 15, 0), rules=rules, calendar=DESK
    )
    assert deadline.due_at == local(2026, 11, 23, 11, 0)
    # Defaults still hold for the kinds not configured.
    assert rules.rule_for("foi") == DeadlineRule(Unit.STATUTORY_WORKING_DAYS, 20)
    assert rules.rule_for("general") == DeadlineRule(Unit.WORKING_DAYS, 1)


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("foi", "foi"),
        ("FOI", "foi"),
        ("SAR", "subject_access"),
        ("subject-access", "subject_access"),
    ],
)
def test_kind_names(given: str, kind: str) -> None:
    assert RULES.kind(given) == kind


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown kind 'fooi': choose one of .*foi.*urgent"):
        RULES.kind("fooi")


def test_rules_check_their_units() -> None:
    with pytest.raises(ValueError, match="whole number"):
        DeadlineRule(Unit.STATUTORY_WORKING_DAYS, 20.5)
    with pytest.raises(ValueError, match="positive"):
        DeadlineRule(Unit.CLOCK_HOURS, 0)


# --- Subject access -------------------------------------------------------------------------
#
# ICO guidance since 2019 (facts, as reported when it changed on 15 August 2019 and on the
# ICO's right of access pages): the day of receipt is day one, whether or not it is a working
# day; the reply is due on the corresponding date of the next month (received 3 September,
# due 3 October); the last day of that month when it has no such date (31 January gives 28 or
# 29 February); the next working day when that date is a weekend or public holiday. An
# extension of up to two further months runs three months from the original start date.


@pytest.mark.parametrize(
    ("received", "due", "month_end", "moved"),
    [
        (date(2025, 9, 3), date(2025, 10, 3), False, False),  # the ICO's example dates
        (date(2025, 1, 31), date(2025, 2, 28), True, False),
        (date(2028, 1, 31), date(2028, 2, 29), True, False),  # leap year
        (date(2027, 1, 30), date(2027, 3, 1), True, True),  # 28 Feb 2027 is a Sunday
        (date(2026, 3, 31), date(2026, 4, 30), True, False),
        (date(2026, 9, 3), date(2026, 10, 5), False, True),  # 3 Oct 2026 is a Saturday
        (date(2025, 11, 25), date(2025, 12, 29), False, True),  # Christmas, Boxing Day, weekend
        (date(2026, 10, 30), date(2026, 12, 1), False, True),  # St Andrew's Day, Scotland
        (date(2026, 10, 3), date(2026, 11, 3), False, False),  # received on a Saturday
    ],
)
def test_subject_access_month(received: date, due: date, month_end: bool, moved: bool) -> None:
    deadline = deadline_for(
        "subject_access",
        received_at=local(*received.timetuple()[:3], 15, 0),
        rules=RULES,
        calendar=DESK,
    )
    assert deadline.due_local(LONDON).date() == due
    assert deadline.due_local(LONDON).time().isoformat() == "23:59:59"
    assert deadline.month_end is month_end
    assert (deadline.moved_from is not None) is moved


def test_subject_access_receipt_is_the_local_day() -> None:
    # 23:30 UTC on 31 August 2026 is 00:30 BST on 1 September.
    assert due_day("sar", utc(2026, 8, 31, 23, 30)) == date(2026, 10, 1)


def test_subject_access_moves_only_for_the_desks_bank_holidays() -> None:
    english = WorkingCalendar(LONDON, nations=(Nation.ENGLAND_AND_WALES,))
    assert due_day("subject_access", local(2026, 10, 30, 9, 0), calendar=english) == date(
        2026, 11, 30
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, (date(2026, 2, 28), True)),
        (date(2026, 11, 30), 3, (date(2027, 2, 28), True)),
        (date(2026, 12, 15), 1, (date(2027, 1, 15), False)),
        (date(2027, 12, 31), 2, (date(2028, 2, 29), True)),
    ],
)
def test_add_months(day: date, months: int, expected: tuple[date, bool]) -> None:
    assert add_months(day, months) == expected


MARCH_1 = SubjectAccessClock(received_on=date(2027, 3, 1))  # due Thursday 1 April 2027


def sar_due(clock: SubjectAccessClock, as_of: date | None = None) -> date:
    return subject_access_due(clock, calendar=DESK, as_of=as_of).due_local(LONDON).date()


def test_a_clarification_pause_adds_the_days_waited() -> None:
    assert sar_due(MARCH_1) == date(2027, 4, 1)
    clock = MARCH_1.pause(reason=PauseReason.CLARIFICATION, on=date(2027, 3, 5))
    # Still waiting on 8 March: 5, 6, 7 and 8 March do not count so far.
    waiting = subject_access_due(clock, calendar=DESK, as_of=date(2027, 3, 8))
    assert waiting.paused and waiting.paused_days == 4
    assert waiting.due_local(LONDON).date() == date(2027, 4, 5)
    with pytest.raises(ValueError, match="as_of"):
        subject_access_due(clock, calendar=DESK)
    # Answered on 9 March: five days (5th to 9th, both included) are added.
    answered = clock.resume(on=date(2027, 3, 9))
    result = subject_access_due(answered, calendar=DESK)
    assert not result.paused and result.paused_days == 5
    assert result.due_local(LONDON).date() == date(2027, 4, 6)


def test_waiting_for_identity_restarts_the_month_from_its_arrival() -> None:
    clock = MARCH_1.pause(reason=PauseReason.IDENTITY, on=date(2027, 3, 2)).resume(
        on=date(2027, 3, 10)
    )
    assert sar_due(clock) == date(2027, 4, 12)  # 10 April 2027 is a Saturday
    # A clarification after identity arrived adds its days to the restarted month.
    both = clock.pause(reason=PauseReason.CLARIFICATION, on=date(2027, 3, 12)).resume(
        on=date(2027, 3, 15)
    )
    assert sar_due(both) == date(2027, 4, 14)


def test_an_extension_runs_three_months_from_the_start() -> None:
    clock = SubjectAccessClock(received_on=date(2025, 9, 3))
    extended = clock.extend(months=2, on=date(2025, 9, 10), calendar=DESK)
    assert sar_due(extended) == date(2025, 12, 3)
    once = clock.extend(months=1, on=date(2025, 9, 10), calendar=DESK)
    assert sar_due(once) == date(2025, 11, 3)
    twice = once.extend(months=1, on=date(2025, 9, 20), calendar=DESK)
    assert sar_due(twice) == date(2025, 12, 3)


@pytest.mark.parametrize(
    ("months", "on", "message"),
    [
        (3, date(2025, 9, 10), "at most 2 months in all"),
        (0, date(2025, 9, 10), "at most 2 months in all"),
        (1, date(2025, 10, 4), r"within the first month \(by 2025-10-03\)"),
    ],
)
def test_extensions_beyond_the_law_are_refused(months: int, on: date, message: str) -> None:
    clock = SubjectAccessClock(received_on=date(2025, 9, 3))
    with pytest.raises(ClockError, match=message):
        clock.extend(months=months, on=on, calendar=DESK)


def test_a_third_month_of_extension_is_refused() -> None:
    clock = SubjectAccessClock(received_on=date(2025, 9, 3)).extend(
        months=2, on=date(2025, 9, 4), calendar=DESK
    )
    with pytest.raises(ClockError, match="already extended by 2"):
        clock.extend(months=1, on=date(2025, 9, 5), calendar=DESK)
    with pytest.raises(ClockError, match="at most 2 months"):
        SubjectAccessClock(received_on=date(2025, 9, 3), extension_months=3)


def test_pauses_are_recorded_in_order() -> None:
    paused = MARCH_1.pause(reason=PauseReason.CLARIFICATION, on=date(2027, 3, 5))
    with pytest.raises(ClockError, match="already paused for clarification since 2027-03-05"):
        paused.pause(reason=PauseReason.IDENTITY, on=date(2027, 3, 6))
    with pytest.raises(ClockError, match="not paused"):
        MARCH_1.resume(on=date(2027, 3, 6))
    with pytest.raises(ClockError, match="cannot arrive before"):
        paused.resume(on=date(2027, 3, 4))
    with pytest.raises(ClockError, match="before the request was received"):
        MARCH_1.pause(reason=PauseReason.IDENTITY, on=date(2027, 2, 28))


# --- Reading a time of receipt --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "date_only"),
    [
        ("2026-12-04", utc(2026, 12, 4, 0, 0), True),
        ("2026-07-04", utc(2026, 7, 3, 23, 0), True),  # local midnight in BST
        (" 2026-12-04T16:30 ", utc(2026, 12, 4, 16, 30), False),
        ("2026-07-04T16:30", utc(2026, 7, 4, 15, 30), False),
        ("2026-07-04T16:30+00:00", utc(2026, 7, 4, 16, 30), False),
        ("2026-07-04T16:30Z", utc(2026, 7, 4, 16, 30), False),
        ("2026-07-04T18:30+02:00", utc(2026, 7, 4, 16, 30), False),
    ],
)
def test_parse_received(text: str, at: datetime, date_only: bool) -> None:
    received = parse_received(text, zone=LONDON)
    assert received.at == at and received.date_only is date_only


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "04/12/2026", "2026-12-04 at 9"])
def test_parse_received_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 8601|give the date"):
        parse_received(text, zone=LONDON)


def test_naive_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_for("foi", received_at=datetime(2026, 1, 1), rules=RULES, calendar=DESK)
