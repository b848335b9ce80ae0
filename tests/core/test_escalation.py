"""Escalation: which level is due when, acknowledgement, triggers and escalating by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import Span, TimeBase, WorkingCalendar
from bot.core.escalation import (
    EscalationError,
    EscalationLevel,
    EscalationPolicy,
    EscalationSetup,
    IntakeTrigger,
    Officer,
    OfficerDirectory,
    next_step,
    steps,
    steps_due,
)

LONDON = ZoneInfo("Europe/London")
CALENDAR = WorkingCalendar(LONDON)
DIRECTORY = OfficerDirectory(
    (
        Officer("head", "Head of Comms", "head_of_comms", "U0EXAMPLE01", "head@example.org"),
        Officer("foi", "FOI Lead", "foi_lead", "U0EXAMPLE02", "foi@example.org"),
        Officer("ripa1", "RIPA SRO", "ripa", "U0EXAMPLE04", "sro@example.org"),
        Officer("ripa2", "RIPA Coordinator", "ripa", "U0EXAMPLE05", "coord@example.org"),
        Officer("safe", "Safeguarding Lead", "safeguarding_lead", "U0EXAMPLE06", "s@example.org"),
        Officer("duty", "Duty Manager", "duty_manager", "U0EXAMPLE08", "duty@example.org"),
    )
)
FOI = EscalationPolicy(
    "foi",
    (
        EscalationLevel(roles=("foi_lead",), wait=Span(timedelta(hours=4), TimeBase.WORKING)),
        EscalationLevel(roles=("head_of_comms",)),
    ),
)
QUARTER = Span(timedelta(minutes=15), TimeBase.CLOCK)
URGENT = EscalationPolicy(
    "urgent",
    (
        EscalationLevel(roles=("safeguarding_lead", "duty_manager"), wait=QUARTER),
        EscalationLevel(roles=("head_of_comms",), wait=QUARTER),
    ),
    repeat=2,
    any_hour=True,
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def timing(policy: EscalationPolicy, started_at: datetime) -> list[tuple[str, datetime, tuple]]:
    return [
        (s.id, s.starts_at, s.user_ids)
        for s in steps(policy, started_at=started_at, calendar=CALENDAR, directory=DIRECTORY)
    ]


def test_levels_wait_in_working_time() -> None:
    # Started at 16:00 on Friday: the FOI lead at once, the head of comms four working
    # hours later (one on Friday, three on Monday).
    assert timing(FOI, local(2026, 11, 20, 16, 0)) == [
        ("1.1", local(2026, 11, 20, 16, 0), ("U0EXAMPLE02",)),
        ("1.2", local(2026, 11, 23, 12, 0), ("U0EXAMPLE01",)),
    ]


def test_levels_that_are_not_urgent_wait_for_the_desk_to_open() -> None:
    assert timing(FOI, local(2026, 11, 21, 10, 0)) == [
        ("1.1", local(2026, 11, 23, 9, 0), ("U0EXAMPLE02",)),
        ("1.2", local(2026, 11, 23, 13, 0), ("U0EXAMPLE01",)),
    ]


def test_urgent_levels_run_at_any_hour_and_repeat() -> None:
    assert timing(URGENT, local(2026, 11, 21, 2, 0)) == [
        ("1.1", local(2026, 11, 21, 2, 0), ("U0EXAMPLE06", "U0EXAMPLE08")),
        ("1.2", local(2026, 11, 21, 2, 15), ("U0EXAMPLE01",)),
        ("2.1", local(2026, 11, 21, 2, 30), ("U0EXAMPLE06", "U0EXAMPLE08")),
        ("2.2", local(2026, 11, 21, 2, 45), ("U0EXAMPLE01",)),
        ("3.1", local(2026, 11, 21, 3, 0), ("U0EXAMPLE06", "U0EXAMPLE08")),
        ("3.2", local(2026, 11, 21, 3, 15), ("U0EXAMPLE01",)),
    ]


def test_urgent_levels_over_the_clock_change() -> None:
    # 00:50 GMT on 29 March 2026; fifteen real minutes later it is 02:05 BST.
    [first, second, *_] = timing(URGENT, local(2026, 3, 29, 0, 50))
    assert second[1] - first[1] == timedelta(minutes=15)
    assert second[1] == local(2026, 3, 29, 2, 5)


def due_ids(*, now: datetime, acknowledged_at: datetime | None = None) -> list[str]:
    return [
        s.id
        for s in steps_due(
            URGENT,
            started_at=local(2026, 11, 21, 2, 0),
            now=now,
            acknowledged_at=acknowledged_at,
            calendar=CALENDAR,
            directory=DIRECTORY,
        )
    ]


def upcoming(*, now: datetime, acknowledged_at: datetime | None = None):
    return next_step(
        URGENT,
        started_at=local(2026, 11, 21, 2, 0),
        now=now,
        acknowledged_at=acknowledged_at,
        calendar=CALENDAR,
        directory=DIRECTORY,
    )


def test_which_levels_are_due_and_what_comes_next() -> None:
    assert due_ids(now=local(2026, 11, 21, 2, 0)) == ["1.1"]
    assert due_ids(now=local(2026, 11, 21, 2, 31)) == ["1.1", "1.2", "2.1"]
    coming = upcoming(now=local(2026, 11, 21, 2, 31))
    assert coming is not None and (coming.id, coming.starts_at) == (
        "2.2",
        local(2026, 11, 21, 2, 45),
    )
    assert upcoming(now=local(2026, 11, 21, 3, 15)) is None  # every round done


def test_acknowledging_stops_the_levels_not_yet_reached() -> None:
    ack = local(2026, 11, 21, 2, 20)
    assert due_ids(now=local(2026, 11, 21, 5, 0), acknowledged_at=ack) == ["1.1", "1.2"]
    assert upcoming(now=local(2026, 11, 21, 2, 21), acknowledged_at=ack) is None
    # An acknowledgement at the very moment a level falls due stops that level.
    assert due_ids(now=local(2026, 11, 21, 5, 0), acknowledged_at=local(2026, 11, 21, 2, 15)) == [
        "1.1"
    ]


def test_a_level_tells_each_person_once_and_names_the_officers_it_knows() -> None:
    policy = EscalationPolicy(
        "ripa", (EscalationLevel(roles=("ripa",), users=("U0EXAMPLE04", "U0OUTSIDE1")),)
    )
    [step] = steps(
        policy, started_at=local(2026, 11, 20, 10, 0), calendar=CALENDAR, directory=DIRECTORY
    )
    assert step.user_ids == ("U0EXAMPLE04", "U0EXAMPLE05", "U0OUTSIDE1")
    assert [o.name for o in step.officers] == ["RIPA SRO", "RIPA Coordinator"]


def test_policies_need_waits_between_levels() -> None:
    with pytest.raises(ValueError, match="needs a wait"):
        EscalationPolicy("bad", (EscalationLevel(roles=("a",)), EscalationLevel(roles=("b",))))
    with pytest.raises(ValueError, match="needs a wait"):
        EscalationPolicy("loop", (EscalationLevel(roles=("a",)),), repeat=1)
    with pytest.raises(ValueError, match="at least one role or user"):
        EscalationLevel()


SETUP = EscalationSetup(
    directory=DIRECTORY,
    policies=MappingProxyType({"foi": FOI, "urgent": URGENT}),
    intake_triggers=(
        IntakeTrigger("FOI", "foi", categories=frozenset({"foi"})),
        IntakeTrigger("urgent", "urgent", categories=frozenset({"urgent"})),
        IntakeTrigger("hate", "hate_crime", rules=frozenset({"hate-speech"})),
        IntakeTrigger(
            "RIPA",
            "ripa",
            terms=("surveillance", "covert human intelligence source", "CHIS", "spying on me"),
        ),
        IntakeTrigger("FOI by words", "foi", terms=("freedom of information",)),
    ),
    breach_default="missed",
    breach_by_kind=MappingProxyType({"foi": "foi"}),
)


@pytest.mark.parametrize(
    ("category", "rule", "text", "policies"),
    [
        ("foi", "foi-named", "How much did you spend on taxis?", ("foi",)),
        ("urgent", "risk-to-life", "someone is on the bridge", ("urgent",)),
        ("moderation", "hate-speech", "(abuse)", ("hate_crime",)),
        (
            "enquiry",
            "question-mark",
            "Is the council running SURVEILLANCE on our street?",
            ("ripa",),
        ),
        ("general", "default", "they\u2019re spying on me again", ("ripa",)),  # curly apostrophe
        ("general", "default", "a covert human\nintelligence source", ("ripa",)),
        ("general", "default", "my chisel was stolen from the allotment", ()),  # whole words only
        # Several triggers: each policy once, in trigger order.
        ("foi", "foi-named", "Freedom of Information: surveillance cameras", ("foi", "ripa")),
    ],
)
def test_intake_triggers(category: str, rule: str, text: str, policies: tuple[str, ...]) -> None:
    assert SETUP.intake_policies(category=category, rule=rule, text=text) == policies


def test_breach_policy_per_kind() -> None:
    assert SETUP.breach_policy("foi") == "foi"
    assert SETUP.breach_policy("complaint") == "missed"
    assert EscalationSetup().breach_policy("foi") is None


@pytest.mark.parametrize(
    ("target", "roles", "users"),
    [
        ("foi_lead", ("foi_lead",), ()),
        ("FOI lead", ("foi_lead",), ()),
        ("<@U0EXAMPLE02>", (), ("U0EXAMPLE02",)),
        ("<@U0EXAMPLE02|foi.lead>", (), ("U0EXAMPLE02",)),
        ("@U0EXAMPLE02", (), ("U0EXAMPLE02",)),
    ],
)
def test_escalating_by_hand(target: str, roles: tuple, users: tuple) -> None:
    policy = SETUP.manual_policy(target)
    [level] = policy.levels
    assert (level.roles, level.users) == (roles, users)
    [step] = steps(
        policy, started_at=local(2026, 11, 21, 23, 0), calendar=CALENDAR, directory=DIRECTORY
    )
    assert step.starts_at == local(2026, 11, 21, 23, 0)  # asked for by a person: at once


def test_escalating_by_hand_to_an_unknown_role_says_which_exist() -> None:
    with pytest.raises(EscalationError) as caught:
        SETUP.manual_policy("<press office>")
    message = str(caught.value)
    assert "&lt;press office&gt;" in message  # shown in Slack: escaped
    assert "foi_lead" in message and "ripa" in message
