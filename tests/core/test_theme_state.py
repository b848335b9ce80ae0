"""Theme state and staff actions as pure transitions: what the desk would see change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.theme_state import (
    ChangeKind,
    CloseReason,
    DeskMembers,
    PostInTheme,
    Theme,
    ThemeStatus,
    add_post,
    claim,
    close,
    mark_answered,
    may_act,
    merge,
    move_post,
    new_theme,
    priority_of,
    recategorise_post,
    recategorise_theme,
    reopen,
)
from bot.core.themes import (
    Placement,
    PlacementReason,
    Priority,
    ThemeKind,
    ThemeMatcher,
    ThemeSettings,
    ThemeSignature,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ENQUIRIES, COMPLAINTS, URGENT, DUTY = "#enquiries", "#complaints", "#urgent", "#duty"


def placement(kind: ThemeKind = ThemeKind.CONVERSATION, **extra) -> Placement:
    return Placement(
        kind=kind,
        reason=PlacementReason.NEW_CONVERSATION,
        signature=ThemeSignature(topics=(("bins", 1),)),
        title="Bins missed on Elm Road",
        topic="bins",
        **extra,
    )


def item(
    key: str,
    category: str = "enquiry",
    *,
    channels: tuple[str, ...] = (ENQUIRIES,),
    network: str = "x",
    minutes: int = 0,
    priority: Priority = Priority.ROUTINE,
) -> PostInTheme:
    return PostInTheme(
        key=key,
        category=category,
        network=network,
        channels=channels,
        posted_at=NOW + timedelta(minutes=minutes),
        priority=priority,
    )


def theme_of(*posts: PostInTheme, ref: str = "T-0001") -> Theme:
    first, *rest = posts
    theme = new_theme(ref=ref, account="council", placement=placement(), post=first, now=NOW).theme
    for post in rest:
        theme = add_post(theme, placement=placement(), post=post).theme
    return theme


def test_a_new_theme_lists_its_first_post_and_says_which_view_changed() -> None:
    added = new_theme(
        ref="T-0001", account="council", placement=placement(), post=item("x:1"), now=NOW
    )
    theme = added.theme
    assert (theme.ref, theme.category, theme.title, theme.topic) == (
        "T-0001",
        "enquiry",
        "Bins missed on Elm Road",
        "bins",
    )
    assert (theme.seq, theme.post_count, theme.status) == (1, 1, ThemeStatus.OPEN)
    assert added.positions == ((ENQUIRIES, 1),)
    assert [(c.ref, c.kind, c.channels) for c in added.changes] == [
        ("T-0001", ChangeKind.NEW_POSTS, (ENQUIRIES,))
    ]
    assert theme.channel(ENQUIRIES).latest == ("x:1",)


def test_posts_of_other_categories_are_counted_in_their_own_channels() -> None:
    theme = theme_of(
        item("x:1"),
        item("x:2", "complaint", channels=(COMPLAINTS,), network="facebook", minutes=5),
        item("x:3", "complaint", channels=(COMPLAINTS,), minutes=9),
    )
    assert theme.by_category == (("complaint", 2), ("enquiry", 1))
    assert theme.by_network == (("x", 2), ("facebook", 1))
    assert theme.category == "complaint"  # a conversation's main category: the most common
    assert theme.channel(COMPLAINTS).appended == 2
    assert theme.channel(ENQUIRIES).count == 1
    assert theme.last_seen == NOW + timedelta(minutes=9)


def test_a_tie_keeps_the_category_that_opened_the_theme() -> None:
    theme = theme_of(item("x:1"), item("x:2", "complaint", channels=(COMPLAINTS,)))
    assert theme.category == "enquiry"


def test_a_duty_copy_lists_the_post_in_both_channels() -> None:
    added = new_theme(
        ref="T-0002",
        account="council",
        placement=placement(ThemeKind.CASE),
        post=item("x:9", "urgent", channels=(URGENT, DUTY), priority=Priority.URGENT),
        now=NOW,
    )
    assert added.positions == ((URGENT, 1), (DUTY, 1))
    assert added.changes[0].channels == (URGENT, DUTY)
    assert added.theme.priority is Priority.URGENT


@pytest.mark.parametrize(
    ("category", "placed", "expected"),
    [
        ("foi", Priority.ROUTINE, Priority.STATUTORY),
        ("subject_access", Priority.ROUTINE, Priority.STATUTORY),
        ("enquiry", Priority.ROUTINE, Priority.ROUTINE),
        ("urgent", Priority.URGENT, Priority.URGENT),
        ("urgent", Priority.PERSON_IN_DANGER, Priority.PERSON_IN_DANGER),
    ],
)
def test_priority_person_in_danger_then_urgent_then_statutory(
    category: str, placed: Priority, expected: Priority
) -> None:
    assert priority_of(category, placed) is expected


def test_the_latest_posts_are_the_newest_three_per_channel() -> None:
    theme = theme_of(*(item(f"x:{n}", minutes=n) for n in range(5)))
    assert theme.channel(ENQUIRIES).latest == ("x:2", "x:3", "x:4")
    assert theme.channel(ENQUIRIES).appended == 5


def test_moving_a_post_to_another_theme_counts_it_there_and_keeps_positions() -> None:
    source = theme_of(item("x:1"), item("x:2"), item("x:3"))
    target = theme_of(item("x:7"), ref="T-0009")
    moved = item("x:2")
    outcome = move_post(source, target, post=moved, now=NOW)
    left, joined = outcome.themes
    assert (left.post_count, left.channel(ENQUIRIES).appended) == (2, 3)
    assert left.channel(ENQUIRIES).latest == ("x:1", "x:3")
    assert (joined.post_count, joined.seq) == (2, 2)
    assert outcome.listed == {"x:2": ("T-0009", 2, ((ENQUIRIES, 2),))}
    kinds = {(c.ref, c.kind) for c in outcome.changes}
    assert kinds == {("T-0001", ChangeKind.POSTS_LEFT), ("T-0009", ChangeKind.NEW_POSTS)}


def test_moving_a_post_to_a_new_theme() -> None:
    source = theme_of(item("x:1"), item("x:2"))
    outcome = move_post(source, None, post=item("x:2"), new_ref="T-0003", now=NOW)
    new = outcome.themes[1]
    assert (new.ref, new.post_count, new.kind, new.account) == (
        "T-0003",
        1,
        ThemeKind.CONVERSATION,
        "council",
    )
    with pytest.raises(ValueError, match="already in"):
        move_post(source, source, post=item("x:2"), now=NOW)


def test_merging_lists_every_post_in_the_kept_theme_and_closes_the_other() -> None:
    into = theme_of(item("x:1"))
    away = theme_of(item("x:5"), item("x:6", "complaint", channels=(COMPLAINTS,)), ref="T-0002")
    posts = [item("x:5"), item("x:6", "complaint", channels=(COMPLAINTS,))]
    outcome = merge(into, away, posts=posts, by="U1", now=NOW)
    kept, gone = outcome.themes
    assert kept.post_count == 3 and kept.channel(COMPLAINTS).count == 1
    assert (gone.status, gone.close_reason, gone.merged_into, gone.status_by) == (
        ThemeStatus.CLOSED,
        CloseReason.MERGED,
        "T-0001",
        "U1",
    )
    assert set(outcome.listed) == {"x:5", "x:6"}
    by_ref = {(c.ref, c.kind): c.channels for c in outcome.changes}
    assert by_ref[("T-0001", ChangeKind.NEW_POSTS)] == (ENQUIRIES, COMPLAINTS)
    assert by_ref[("T-0002", ChangeKind.STATUS)] == (ENQUIRIES, COMPLAINTS)


def test_recategorising_a_post_moves_it_and_the_old_view_says_where() -> None:
    theme = theme_of(item("x:1"), item("x:2"))
    outcome = recategorise_post(
        theme, post=item("x:2"), category="complaint", channels=(COMPLAINTS,)
    )
    [changed] = outcome.themes
    assert changed.channel(ENQUIRIES).count == 1
    assert changed.channel(ENQUIRIES).moved_to == COMPLAINTS
    assert changed.channel(COMPLAINTS).appended == 1
    assert changed.by_category == (("complaint", 1), ("enquiry", 1))
    assert outcome.listed["x:2"][2] == ((COMPLAINTS, 1),)


def test_recategorising_within_one_channel_only_recounts() -> None:
    theme = theme_of(item("x:1"))
    outcome = recategorise_post(theme, post=item("x:1"), category="general", channels=(ENQUIRIES,))
    [changed] = outcome.themes
    assert changed.by_category == (("general", 1),)
    assert changed.channel(ENQUIRIES).latest == ("x:1",) and not outcome.listed
    assert outcome.changes[0].kind is ChangeKind.CATEGORY


def test_recategorising_a_theme_moves_all_its_posts() -> None:
    posts = [item("x:1"), item("x:2", "general")]
    theme = theme_of(*posts)
    outcome = recategorise_theme(theme, category="media", channels=("#press",), posts=posts)
    [changed] = outcome.themes
    assert changed.category == "media"
    assert changed.channel("#press").count == 2
    assert changed.channel(ENQUIRIES).count == 0
    assert changed.channel(ENQUIRIES).moved_to == "#press"


@pytest.mark.parametrize(
    ("action", "status", "reason"),
    [
        (lambda t: close(t, reason=CloseReason.SPAM, by="U1", now=NOW), "closed", "spam"),
        (lambda t: mark_answered(t, by="U1", now=NOW), "answered", None),
        (
            lambda t: reopen(
                close(t, reason=CloseReason.DUPLICATE, by="U1", now=NOW).themes[0],
                by="U2",
                now=NOW,
            ),
            "open",
            None,
        ),
    ],
    ids=["close", "answered", "reopen"],
)
def test_status_changes_reach_every_view(action, status: str, reason: str | None) -> None:
    theme = theme_of(item("x:1"), item("x:2", "complaint", channels=(COMPLAINTS,)))
    outcome = action(theme)
    [changed] = outcome.themes
    assert changed.status.value == status
    assert (changed.close_reason.value if changed.close_reason else None) == reason
    assert outcome.changes[-1].channels == (ENQUIRIES, COMPLAINTS)


def test_claiming_sets_the_owner_and_closing_as_merged_needs_a_merge() -> None:
    theme = theme_of(item("x:1"))
    outcome = claim(theme, owner="U0STAFF", now=NOW)
    assert outcome.themes[0].owner == "U0STAFF"
    assert outcome.changes[0].kind is ChangeKind.OWNER
    with pytest.raises(ValueError, match="merging"):
        close(theme, reason=CloseReason.MERGED, by="U1", now=NOW)


def test_a_theme_round_trips_as_plain_data() -> None:
    theme = theme_of(item("x:1"), item("x:2", "complaint", channels=(COMPLAINTS, DUTY)))
    theme = claim(theme, owner="U1", now=NOW).themes[0]
    theme = close(theme, reason=CloseReason.NO_REPLY_NEEDED, by="U1", now=NOW).themes[0]
    assert Theme.from_dict(theme.to_dict()) == theme
    with pytest.raises(ValueError, match="not a stored theme"):
        Theme.from_dict({"ref": "T-0001"})
    naive = theme.to_dict() | {"first_seen": "2026-11-20T10:00:00"}
    with pytest.raises(ValueError, match="UTC offset"):
        Theme.from_dict(naive)


def test_the_matcher_takes_a_stored_theme_back() -> None:
    theme = theme_of(item("x:1"), item("x:2"))
    matcher = ThemeMatcher(ThemeSettings())
    matcher.add(theme.as_open_theme())
    assert matcher.get("T-0001") is not None
    assert matcher.get("T-0001").post_count == 2


MEMBERS = {"council": DeskMembers(users=frozenset({"U1"}), usergroups=frozenset({"S1"}))}


@pytest.mark.parametrize(
    ("user", "account", "groups", "allowed"),
    [
        ("U1", "council", {}, True),
        ("U2", "council", {"S1": frozenset({"U2"})}, True),
        ("U2", "council", {"S1": frozenset({"U3"})}, False),
        ("U2", "council", {}, False),  # a group not resolved counts as empty
        ("U1", "fire", {}, False),  # members of another account
    ],
)
def test_only_desk_members_of_the_account_may_act(
    user: str, account: str, groups: dict, allowed: bool
) -> None:
    assert may_act(user, account=account, members=MEMBERS, usergroup_members=groups) is allowed


def test_moving_across_accounts_is_refused() -> None:
    source = theme_of(item("x:1"))
    other = replace(theme_of(item("x:2"), ref="T-0002"), account="fire")
    with pytest.raises(ValueError, match="another account"):
        move_post(source, other, post=item("x:1"), now=NOW)
