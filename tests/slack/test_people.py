"""The people resolver: user groups resolved through (fake) Slack, cached, fail safe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.core.people import People, is_one_of
from bot.fakeslack import FakeSlack
from bot.slack.people import PeopleResolver

TOKEN = "xoxb-test-token"
DESK = People(users=frozenset({"U0NAMED01"}), usergroups=frozenset({"S0DESK001"}))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(
        bot_token=TOKEN,
        usergroups={"comms-desk": "S0DESK001"},
        usergroup_members={"S0DESK001": ["U0INGROUP1"]},
    ) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def resolver(fake: FakeSlack, clock: Clock) -> PeopleResolver:
    client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])
    return PeopleResolver(client, refresh_seconds=300, clock=clock)


@pytest.mark.parametrize(
    ("user", "expected"),
    [("U0NAMED01", True), ("U0INGROUP1", True), ("U0STRANGER", False), ("", False)],
)
def test_named_users_and_group_members_are_one_of_them(
    resolver: PeopleResolver, user: str, expected: bool
) -> None:
    assert resolver.is_one_of(user, DESK) is expected


def test_the_pure_check_counts_an_unresolved_group_as_empty() -> None:
    assert not is_one_of("U0INGROUP1", DESK, usergroup_members={})
    assert is_one_of("U0INGROUP1", DESK, usergroup_members={"S0DESK001": frozenset({"U0INGROUP1"})})


def test_group_members_are_cached_until_the_refresh_interval(
    fake: FakeSlack, resolver: PeopleResolver, clock: Clock
) -> None:
    assert resolver.is_one_of("U0INGROUP1", DESK)
    fake.set_usergroup_members("S0DESK001", ["U0NEWCOMER"])
    assert resolver.is_one_of("U0INGROUP1", DESK)  # cached
    assert len(fake.calls_to("usergroups.users.list")) == 1
    clock.now += timedelta(seconds=301)
    assert resolver.is_one_of("U0NEWCOMER", DESK)
    assert not resolver.is_one_of("U0INGROUP1", DESK)


def test_when_slack_fails_the_last_known_members_are_kept(
    fake: FakeSlack, resolver: PeopleResolver, clock: Clock
) -> None:
    assert resolver.is_one_of("U0INGROUP1", DESK)
    clock.now += timedelta(seconds=301)
    fake.fail("usergroups.users.list", "ratelimited")
    assert resolver.is_one_of("U0INGROUP1", DESK)


def test_a_group_slack_never_resolved_lets_nobody_in(
    fake: FakeSlack, resolver: PeopleResolver
) -> None:
    fake.fail("usergroups.users.list", "missing_scope")
    assert not resolver.is_one_of("U0INGROUP1", DESK)
    assert resolver.is_one_of("U0NAMED01", DESK)  # named users need no Slack call


def test_an_unknown_group_is_refused_by_slack_and_counts_as_empty(
    resolver: PeopleResolver,
) -> None:
    stranger = People(usergroups=frozenset({"S0NOSUCH01"}))
    assert resolver.usergroup_members(["S0NOSUCH01"]) == {"S0NOSUCH01": frozenset()}
    assert not resolver.is_one_of("U0INGROUP1", stranger)
