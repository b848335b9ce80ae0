"""Theme views: what the outbox worker reads to render them, and what it records."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.theme_state import Theme, ThemeStatus
from bot.storage.docs import channels_of
from bot.storage.parts import Parts
from bot.storage.themes import StoredTheme, ViewRecord


@dataclass(frozen=True)
class ViewSnapshot:
    """What one theme's view in one channel must show now: rendered by the Slack edge."""

    theme: Theme
    channel: str
    view: ViewRecord
    latest: tuple[Mapping[str, Any], ...]  # the channel's newest posts (oldest first)
    # (position, post) after `view.shown`, to list in the thread, in order.
    digest: tuple[tuple[int, Mapping[str, Any]], ...]
    digest_upto: int  # the last position the digest covers (`view.shown` if none)
    others: tuple[tuple[str, ViewRecord], ...]  # the theme's views in its other channels

    @property
    def single(self) -> bool:
        """Whether the parent shows the channel's only post itself (no thread needed)."""
        return self.theme.channel(self.channel).count <= 1 and self.view.shown == 0

    @property
    def waiting(self) -> int:
        """Positions of the channel's list not yet in the thread."""
        if self.single:
            return 0
        return max(self.theme.channel(self.channel).appended - self.view.shown, 0)


def theme_docs(parts: Parts, stored: StoredTheme, channel: str | None) -> list[Mapping[str, Any]]:
    """The posts in a theme now (in `channel` only, if given), in the order listed."""
    ref = stored.theme.ref
    channels = [channel] if channel else list(stored.theme.channel_names)
    seen: dict[str, Mapping[str, Any]] = {}
    for name in channels:
        upto = stored.theme.channel(name).appended
        for _, entry in parts.themes.journal_range(ref, name, after=0, upto=upto):
            doc = parts.posts.doc(entry["key"], entry.get("part"))
            if doc is not None and doc.get("theme") == ref and name in channels_of(doc):
                seen.setdefault(doc["key"], doc)
    return list(seen.values())


def snapshot(parts: Parts, ref: str, channel: str, *, digest_limit: int) -> ViewSnapshot | None:
    """What theme `ref`'s view in `channel` must show now (see `Store.view_snapshot`)."""
    stored = parts.themes.get(ref)
    if stored is None or channel not in stored.theme.channel_names:
        return None
    theme, view = stored.theme, stored.view(channel)
    posts = theme.channel(channel)
    latest = tuple(doc for key in posts.latest if (doc := parts.posts.doc(key)) is not None)
    digest: list[tuple[int, Mapping[str, Any]]] = []
    upto = view.shown
    if not (posts.count <= 1 and view.shown == 0):
        upto = min(posts.appended, view.shown + digest_limit)
        for position, entry in parts.themes.journal_range(
            ref, channel, after=view.shown, upto=upto
        ):
            doc = parts.posts.doc(entry["key"], entry.get("part"))
            if doc is not None and doc.get("theme") == ref and channel in channels_of(doc):
                digest.append((position, copy.deepcopy(dict(doc))))
    return ViewSnapshot(
        theme=theme,
        channel=channel,
        view=view,
        latest=tuple(copy.deepcopy(dict(doc)) for doc in latest),
        digest=tuple(digest),
        digest_upto=upto,
        others=tuple((name, stored.view(name)) for name in theme.channel_names if name != channel),
    )


def record(
    parts: Parts,
    ref: str,
    channel: str,
    *,
    now: datetime,
    fields: dict[str, Any],
    done_version: int | None,
    since: datetime | None,
) -> None:
    """Write what one Slack call did to a view (see `Store.record_view`)."""
    stored = parts.themes.get(ref)
    if stored is None:
        return
    before = stored.view(channel)
    if "shown" in fields:
        fields["shown"] = max(before.shown, fields["shown"])
    if fields.pop("digest_posted", False):
        fields["digests"] = before.digests + 1
    if done_version is not None and done_version > before.done:
        fields["done"] = done_version
    if "dead" in fields:
        fields["dead_version"] = before.version
    elif fields.get("parent_ts") or fields.get("hash") or fields.get("shown") is not None:
        fields["dead"] = None  # Slack took it this time
    view = replace(before, **fields)
    if done_version is not None:
        view = replace(view, since=None if view.version <= view.done else (since or now))
    changed = stored.with_view(channel, view)
    if fields.get("parent_ts") is not None and before.parent_ts is None:
        # A new parent changes the links the theme's other views show.
        for other, other_view in changed.views.items():
            if other != channel and other_view.parent_ts is not None:
                changed = changed.with_view(other, other_view.changed(now))
    parts.themes.write_themes([changed])
    parts.themes.adopt([changed])
    if changed.theme.status is ThemeStatus.CLOSED and changed.settled:
        parts.themes.archive(ref)
