"""Theme state and its transitions: pure functions on frozen values.

A theme is the unit of work: the posts one public response answers (a conversation), one
post handled on its own (a case), the reports of one emergency (an incident) or one author's
repeated text (a repeat). `bot.core.themes` decides where a post goes; this module keeps
what a theme *is* once posts are in it, and how staff actions change it:

- `new_theme` / `add_post`: a placed post opens or joins a theme;
- `remove_post`, `move_post`: a post leaves a theme (for another, or a new one);
- `merge`: every post of one theme joins another, which is closed as merged;
- `recategorise_post` / `recategorise_theme`: a post (or all of a theme's posts) takes
  another category, and so moves to that category's channel;
- `close`, `reopen`, `claim`: status and owner.

Every transition returns the new values and the list of `Change`s it made: which theme's
view in which channel must show something new. Storage records the changes and the Slack
edge renders the views from the state at send time, so the functions here know nothing of
messages, storage or Slack.

Each channel where a theme has posts keeps an append-only list of them (positions 1, 2, …,
`appended`): a post is listed in its category's channel and in any channel that also sees
it (a duty copy). A post moved away stays in the old list (storage skips it when showing),
so positions never change once given.

Who may act on a theme is `may_act`, a pure check over a snapshot of desk membership.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.people import People, is_one_of
from bot.core.themes import OpenTheme, Placement, Priority, ThemeKind, ThemeSignature

# How many of the newest posts each channel of a theme remembers, for its parent message.
LATEST = 3
STATUTORY_CATEGORIES = frozenset({"foi", "subject_access"})


class ThemeStatus(StrEnum):
    """Where a theme stands with the desk."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """Why a theme was closed (machine-readable; the words shown live in templates)."""

    ANSWERED_ELSEWHERE = "answered_elsewhere"
    NO_REPLY_NEEDED = "no_reply_needed"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    MERGED = "merged"  # its posts joined another theme (`Theme.merged_into`)


class ChangeKind(StrEnum):
    """What changed in a theme, as its views must show."""

    NEW_POSTS = "new_posts"
    POSTS_LEFT = "posts_left"  # moved to another theme or channel
    STATUS = "status"
    OWNER = "owner"
    CATEGORY = "category"


@dataclass(frozen=True)
class Change:
    """One change to a theme that its views in `channels` must show."""

    ref: str
    kind: ChangeKind
    channels: tuple[str, ...]


@dataclass(frozen=True)
class PostInTheme:
    """What a theme needs to know of one of its posts."""

    key: str
    category: str
    network: str
    channels: tuple[str, ...]  # its category's channel first, then any that also see it
    posted_at: datetime
    priority: Priority = Priority.ROUTINE
    signature: ThemeSignature | None = None  # what it is about, when it joins by a move

    @property
    def channel(self) -> str:
        """The channel of the post's category."""
        return self.channels[0]


@dataclass(frozen=True)
class ChannelPosts:
    """A theme's posts in one channel: how many are there now and the list they were added to."""

    channel: str
    count: int = 0  # posts of the theme shown in this channel now
    appended: int = 0  # positions handed out in this channel's list (moves leave gaps)
    latest: tuple[str, ...] = ()  # keys of the newest posts here, oldest first
    moved_to: str | None = None  # where this channel's posts went when the theme moved


@dataclass(frozen=True)
class Theme:
    """A theme as the desk works on it."""

    ref: str
    account: str
    kind: ThemeKind
    category: str  # the theme's main category (its posts keep their own)
    title: str
    signature: ThemeSignature
    first_seen: datetime
    last_seen: datetime
    topic: str | None = None
    status: ThemeStatus = ThemeStatus.OPEN
    close_reason: CloseReason | None = None
    status_by: str | None = None  # who last set the status (None: commsbot)
    status_at: datetime | None = None
    owner: str | None = None
    priority: Priority = Priority.ROUTINE
    related_ref: str | None = None  # the incident a person-in-danger case belongs to
    merged_into: str | None = None
    seq: int = 0  # posts ever added (a post's `theme_seq`); never goes back
    post_count: int = 0  # posts in the theme now
    by_network: tuple[tuple[str, int], ...] = ()
    by_category: tuple[tuple[str, int], ...] = ()
    opened_as: str = ""  # the category of the post that opened it
    channels: tuple[ChannelPosts, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        """Whether the theme still needs the desk (open or answered, not closed)."""
        return self.status is not ThemeStatus.CLOSED

    def channel(self, channel: str) -> ChannelPosts:
        """This theme's posts in `channel` (an empty list if it has none there)."""
        for found in self.channels:
            if found.channel == channel:
                return found
        return ChannelPosts(channel)

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Every channel where the theme has, or had, posts (each has a view)."""
        return tuple(c.channel for c in self.channels)

    def as_open_theme(self) -> OpenTheme:
        """What the matcher holds of this theme while new posts may join it."""
        return OpenTheme(
            ref=self.ref,
            account=self.account,
            kind=self.kind,
            signature=self.signature,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            post_count=max(self.post_count, 1),
            category=None if self.kind is ThemeKind.CONVERSATION else self.category,
            title=self.title,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (instants as ISO 8601 text)."""
        return {
            "ref": self.ref,
            "account": self.account,
            "kind": self.kind.value,
            "category": self.category,
            "title": self.title,
            "signature": self.signature.to_dict(),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "topic": self.topic,
            "status": self.status.value,
            "close_reason": self.close_reason.value if self.close_reason else None,
            "status_by": self.status_by,
            "status_at": self.status_at.isoformat() if self.status_at else None,
            "owner": self.owner,
            "priority": int(self.priority),
            "related_ref": self.related_ref,
            "merged_into": self.merged_into,
            "seq": self.seq,
            "post_count": self.post_count,
            "by_network": dict(self.by_network),
            "by_category": dict(self.by_category),
            "opened_as": self.opened_as,
            "channels": [
                {
                    "channel": c.channel,
                    "count": c.count,
                    "appended": c.appended,
                    "latest": list(c.latest),
                    "moved_to": c.moved_to,
                }
                for c in self.channels
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Theme:
        """The theme `to_dict` wrote; ValueError if the data is not one."""
        try:
            status_at = data.get("status_at")
            theme = cls(
                ref=str(data["ref"]),
                account=str(data["account"]),
                kind=ThemeKind(data["kind"]),
                category=str(data["category"]),
                title=str(data.get("title", "")),
                signature=ThemeSignature.from_dict(data.get("signature") or {}),
                first_seen=datetime.fromisoformat(data["first_seen"]),
                last_seen=datetime.fromisoformat(data["last_seen"]),
                topic=data.get("topic"),
                status=ThemeStatus(data.get("status", "open")),
                close_reason=CloseReason(data["close_reason"])
                if data.get("close_reason")
                else None,
                status_by=data.get("status_by"),
                status_at=datetime.fromisoformat(status_at) if status_at else None,
                owner=data.get("owner"),
                priority=Priority(int(data.get("priority", Priority.ROUTINE))),
                related_ref=data.get("related_ref"),
                merged_into=data.get("merged_into"),
                seq=int(data.get("seq", 0)),
                post_count=int(data.get("post_count", 0)),
                by_network=_counts((data.get("by_network") or {}).items()),
                by_category=_counts((data.get("by_category") or {}).items()),
                opened_as=str(data.get("opened_as") or data["category"]),
                channels=tuple(
                    ChannelPosts(
                        channel=str(c["channel"]),
                        count=int(c.get("count", 0)),
                        appended=int(c.get("appended", 0)),
                        latest=tuple(str(k) for k in c.get("latest") or ()),
                        moved_to=c.get("moved_to"),
                    )
                    for c in data.get("channels") or ()
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored theme: {exc!r}") from None
        if theme.first_seen.tzinfo is None or theme.last_seen.tzinfo is None:
            raise ValueError("theme instants must carry a UTC offset")
        return theme


@dataclass(frozen=True)
class Added:
    """A post added to a theme: the theme after it, where the post was listed, what changed."""

    theme: Theme
    positions: tuple[tuple[str, int], ...]  # (channel, position in that channel's list)
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Outcome:
    """What a staff action made of the themes it touched, and what changed."""

    themes: tuple[Theme, ...]
    changes: tuple[Change, ...]
    # Posts listed anew: key -> (theme ref, theme_seq, ((channel, position), ...)).
    listed: Mapping[str, tuple[str, int, tuple[tuple[str, int], ...]]] = field(default_factory=dict)


def _counts(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """A count table in canonical form: most first, then by name; zeros dropped."""
    merged: dict[str, int] = {}
    for key, count in pairs:
        merged[str(key)] = merged.get(str(key), 0) + int(count)
    return tuple(
        sorted(((k, v) for k, v in merged.items() if v > 0), key=lambda item: (-item[1], item[0]))
    )


def priority_of(category: str, placement_priority: Priority = Priority.ROUTINE) -> Priority:
    """How soon a post must be seen: its placement's priority, statutory requests next."""
    if category in STATUTORY_CATEGORIES:
        return min(placement_priority, Priority.STATUTORY)
    return placement_priority


def _main_category(by_category: Sequence[tuple[str, int]], opened_as: str) -> str:
    """A theme's main category: the most common among its posts, the opening one on a tie."""
    if not by_category:
        return opened_as
    top = by_category[0][1]
    tied = {name for name, count in by_category if count == top}
    return opened_as if opened_as in tied else by_category[0][0]


def _with_channel(theme: Theme, posts: ChannelPosts) -> tuple[ChannelPosts, ...]:
    found = False
    channels = []
    for existing in theme.channels:
        if existing.channel == posts.channel:
            channels.append(posts)
            found = True
        else:
            channels.append(existing)
    if not found:
        channels.append(posts)
    return tuple(channels)


def _listed(theme: Theme, post: PostInTheme) -> tuple[Theme, tuple[tuple[str, int], ...]]:
    """The theme with `post` added to each of its channels' lists; where it was listed."""
    positions = []
    for channel in dict.fromkeys(post.channels):
        current = theme.channel(channel)
        position = current.appended + 1
        latest = (*current.latest, post.key)[-LATEST:]
        updated = replace(
            current, count=current.count + 1, appended=position, latest=latest, moved_to=None
        )
        theme = replace(theme, channels=_with_channel(theme, updated))
        positions.append((channel, position))
    return theme, tuple(positions)


def _counted(theme: Theme, post: PostInTheme, sign: int) -> Theme:
    """The theme with a post counted in (sign 1) or out (sign -1) of its totals."""
    by_network = _counts((*theme.by_network, (post.network, sign)))
    by_category = _counts((*theme.by_category, (post.category, sign)))
    return replace(
        theme,
        post_count=max(theme.post_count + sign, 0),
        by_network=by_network,
        by_category=by_category,
        category=(
            _main_category(by_category, theme.opened_as)
            if theme.kind is ThemeKind.CONVERSATION
            else theme.category
        ),
    )


def new_theme(
    *, ref: str, account: str, placement: Placement, post: PostInTheme, now: datetime
) -> Added:
    """A theme opened by `post`, placed as `placement` says."""
    theme = Theme(
        ref=ref,
        account=account,
        kind=placement.kind,
        category=post.category,
        title=placement.title,
        signature=placement.signature,
        first_seen=post.posted_at,
        last_seen=post.posted_at,
        topic=placement.topic,
        priority=post.priority,
        related_ref=placement.related_ref,
        opened_as=post.category,
    )
    return _add(theme, post, signature=placement.signature, title=placement.title)


def add_post(theme: Theme, *, placement: Placement, post: PostInTheme) -> Added:
    """`theme` with `post` joined to it, as `placement` (which joined it there) says."""
    return _add(
        replace(theme, kind=placement.kind, topic=placement.topic or theme.topic),
        post,
        signature=placement.signature,
        title=placement.title,
    )


def _add(theme: Theme, post: PostInTheme, *, signature: ThemeSignature, title: str) -> Added:
    listed, positions = _listed(theme, post)
    counted = _counted(listed, post, 1)
    theme = replace(
        counted,
        signature=signature,
        title=title or counted.title,
        seq=counted.seq + 1,
        first_seen=min(counted.first_seen, post.posted_at),
        last_seen=max(counted.last_seen, post.posted_at),
        priority=min(counted.priority, post.priority),
    )
    change = Change(theme.ref, ChangeKind.NEW_POSTS, tuple(ch for ch, _ in positions))
    return Added(theme, positions, (change,))


def remove_post(theme: Theme, *, post: PostInTheme, moved_to: str | None = None) -> Outcome:
    """`theme` without `post` (moved to another theme, or to `moved_to` channel)."""
    channels = []
    for current in theme.channels:
        if current.channel in post.channels:
            current = replace(
                current,
                count=max(current.count - 1, 0),
                latest=tuple(key for key in current.latest if key != post.key),
                moved_to=moved_to if moved_to != current.channel else current.moved_to,
            )
        channels.append(current)
    theme = _counted(replace(theme, channels=tuple(channels)), post, -1)
    change = Change(theme.ref, ChangeKind.POSTS_LEFT, tuple(dict.fromkeys(post.channels)))
    return Outcome((theme,), (change,))


def _joined(target: Theme, post: PostInTheme) -> Added:
    """`target` with `post` joined by a person (not the matcher): its signature merged in."""
    signature = target.signature
    if post.signature is not None:
        signature = signature.merged(post.signature)
    return _add(target, post, signature=signature, title=target.title)


def move_post(
    source: Theme,
    target: Theme | None,
    *,
    post: PostInTheme,
    new_ref: str | None = None,
    title: str = "",
    now: datetime,
) -> Outcome:
    """Move `post` from `source` to `target`, or to a new theme `new_ref` when target is None."""
    if target is not None and target.ref == source.ref:
        raise ValueError(f"{post.key} is already in {source.ref}")
    if target is not None and target.account != source.account:
        raise ValueError(f"{target.ref} is on another account than {source.ref}")
    left = remove_post(source, post=post)
    if target is None:
        if new_ref is None:
            raise ValueError("a new theme needs a reference")
        target = Theme(
            ref=new_ref,
            account=source.account,
            kind=ThemeKind.CASE if source.kind is not ThemeKind.CONVERSATION else source.kind,
            category=post.category,
            title=title or source.title,
            signature=post.signature or ThemeSignature(),
            first_seen=post.posted_at,
            last_seen=post.posted_at,
            priority=post.priority,
            opened_as=post.category,
        )
        added = _add(target, post, signature=target.signature, title=target.title)
    else:
        added = _joined(target, post)
    listed = {post.key: (added.theme.ref, added.theme.seq, added.positions)}
    return Outcome((left.themes[0], added.theme), (*left.changes, *added.changes), listed)


def merge(
    into: Theme, away: Theme, *, posts: Sequence[PostInTheme], by: str | None, now: datetime
) -> Outcome:
    """Every post of `away` (`posts`) joins `into`; `away` is closed as merged into it."""
    if into.ref == away.ref:
        raise ValueError(f"cannot merge {into.ref} into itself")
    if into.account != away.account:
        raise ValueError(f"{into.ref} and {away.ref} are on different accounts")
    target = replace(into, signature=into.signature.merged(away.signature))
    listed: dict[str, tuple[str, int, tuple[tuple[str, int], ...]]] = {}
    changes: list[Change] = []
    for post in posts:
        added = _add(target, post, signature=target.signature, title=target.title)
        target = added.theme
        listed[post.key] = (target.ref, target.seq, added.positions)
        changes.extend(added.changes)
    target = replace(target, priority=min(target.priority, away.priority))
    closed = replace(
        away,
        status=ThemeStatus.CLOSED,
        close_reason=CloseReason.MERGED,
        status_by=by,
        status_at=now,
        merged_into=into.ref,
    )
    changes.append(Change(away.ref, ChangeKind.STATUS, away.channel_names))
    return Outcome((target, closed), _merge_changes(changes), listed)


def _merge_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """The same changes with one entry per (theme, kind), channels in first-seen order."""
    merged: dict[tuple[str, ChangeKind], dict[str, None]] = {}
    for change in changes:
        merged.setdefault((change.ref, change.kind), {}).update(dict.fromkeys(change.channels))
    return tuple(Change(ref, kind, tuple(channels)) for (ref, kind), channels in merged.items())


def recategorise_post(
    theme: Theme, *, post: PostInTheme, category: str, channels: tuple[str, ...]
) -> Outcome:
    """`post` takes `category`, whose channels (its own first, then copies) are `channels`.

    A post that changes channel leaves the old channel's list (the old view says where it
    went) and is listed in the new one.
    """
    if category == post.category and channels == post.channels:
        return Outcome((theme,), ())
    changed = replace(post, category=category, channels=channels, priority=priority_of(category))
    if channels == post.channels:
        # Only its category changed: it stays listed where it was.
        theme = _counted(_counted(theme, post, -1), changed, 1)
        change = Change(theme.ref, ChangeKind.CATEGORY, tuple(dict.fromkeys(post.channels)))
        return Outcome((theme,), (change,))
    left = remove_post(theme, post=post, moved_to=channels[0])
    added = _add(left.themes[0], changed, signature=theme.signature, title=theme.title)
    listed = {post.key: (added.theme.ref, added.theme.seq, added.positions)}
    return Outcome(
        (added.theme,),
        _merge_changes((*left.changes, *added.changes)),
        listed,
    )


def recategorise_theme(
    theme: Theme,
    *,
    category: str,
    channels: tuple[str, ...],
    posts: Sequence[PostInTheme],
) -> Outcome:
    """Every post of `theme` (`posts`) takes `category` and moves to its `channels`."""
    listed: dict[str, tuple[str, int, tuple[tuple[str, int], ...]]] = {}
    changes: list[Change] = []
    for post in posts:
        outcome = recategorise_post(theme, post=post, category=category, channels=channels)
        theme = outcome.themes[0]
        listed.update(outcome.listed)
        changes.extend(outcome.changes)
    theme = replace(theme, category=category, opened_as=category)
    changes.append(Change(theme.ref, ChangeKind.CATEGORY, theme.channel_names))
    return Outcome((theme,), _merge_changes(changes), listed)


def _status(
    theme: Theme,
    status: ThemeStatus,
    *,
    reason: CloseReason | None,
    by: str | None,
    now: datetime,
) -> Outcome:
    changed = replace(theme, status=status, close_reason=reason, status_by=by, status_at=now)
    return Outcome((changed,), (Change(theme.ref, ChangeKind.STATUS, theme.channel_names),))


def close(theme: Theme, *, reason: CloseReason, by: str | None, now: datetime) -> Outcome:
    """`theme` closed for `reason`."""
    if reason is CloseReason.MERGED:
        raise ValueError("a theme is closed as merged only by merging it")
    return _status(theme, ThemeStatus.CLOSED, reason=reason, by=by, now=now)


def mark_answered(theme: Theme, *, by: str | None, now: datetime) -> Outcome:
    """`theme` answered (its public response is out); it stays open for more posts."""
    return _status(theme, ThemeStatus.ANSWERED, reason=None, by=by, now=now)


def reopen(theme: Theme, *, by: str | None, now: datetime) -> Outcome:
    """`theme` open again."""
    outcome = _status(theme, ThemeStatus.OPEN, reason=None, by=by, now=now)
    return replace(outcome, themes=(replace(outcome.themes[0], merged_into=None),))


def claim(theme: Theme, *, owner: str | None, now: datetime) -> Outcome:
    """`theme` owned by `owner` (None: nobody)."""
    changed = replace(theme, owner=owner)
    return Outcome((changed,), (Change(theme.ref, ChangeKind.OWNER, theme.channel_names),))


# Desk members of an account: the users and user groups who may act on its themes.
DeskMembers = People


def may_act(
    user: str,
    *,
    account: str,
    members: Mapping[str, People],
    usergroup_members: Mapping[str, frozenset[str]],
) -> bool:
    """Whether `user` is a desk member of `account`: named, or in one of its user groups.

    `usergroup_members` is a snapshot of who is in each user group (resolved through Slack
    by the edge); a group not in it counts as empty. An account with no members configured
    lets nobody act.
    """
    found = members.get(account)
    if found is None:
        return False
    return is_one_of(user, found, usergroup_members=usergroup_members)
