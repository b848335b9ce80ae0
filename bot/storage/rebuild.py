"""Rebuilding what a damaged file held, from the files that can tell it (at start only).

What each area's damage means:
- `index/`: rebuilt from the posts files; nothing is lost.
- `themes/counter.json`: rebuilt as the highest reference found in open themes, history and
  journals; a number is never handed out twice.
- `themes/journal/…`: a channel's list of a theme's posts, rebuilt from the posts files
  (each post records its theme and its position in each channel's list).
- `themes/open/…` and `themes/closed/…`: rebuilt from the theme's posts (counts, title,
  what it is about); its Slack views start again (each view's parent message and thread
  are posted anew; the old ones stay in Slack, out of date); status and owner are reset
  (open, or closed for a theme in history; the audit trail has what staff had done).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.theme_state import ChannelPosts, PostInTheme, Theme, ThemeStatus, add_post, new_theme
from bot.core.themes import Priority, ThemeMatcher, ThemeSettings
from bot.storage.atomic import encode, read_data_file, write_many_atomically
from bot.storage.docs import channels_of, parse, post_from_doc
from bot.storage.themes import (
    LATEST_IN_VIEW,
    StoredTheme,
    ThemeFiles,
    ViewRecord,
    journal_of,
    ref_number,
)

logger = logging.getLogger(__name__)


def post_docs(data_dir: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(part, doc) of every stored post, file by file (reads every posts file)."""
    root = data_dir / "posts"
    for path in sorted(root.rglob("*.json")):
        data = read_data_file(path) or {}
        part = str(path.relative_to(root).with_suffix(""))
        for doc in data.get("posts", {}).values():
            yield part, doc


def rebuild_index(data_dir: Path, buckets: set[str], bucket_of: Any, bucket_path: Any) -> None:
    """Write the index buckets again from the posts files."""
    entries: dict[str, dict[str, dict[str, Any]]] = {bucket: {} for bucket in buckets}
    for part, doc in post_docs(data_dir):
        bucket = bucket_of(doc["key"])
        if bucket in entries:
            number = str(len(entries[bucket]) + 1)
            entries[bucket][number] = {
                "key": doc["key"],
                "part": part,
                "received_at": doc.get("received_at"),
            }
    write_many_atomically(
        [(bucket_path(b), encode({"keys": found})) for b, found in entries.items()]
    )
    logger.warning("rebuilt %d index file(s) from the posts files", len(buckets))


def rebuild_counter(themes_root: Path) -> int:
    """The counter rewritten as the highest reference anywhere under `themes/`."""
    highest = 0
    candidates = [
        *(p.stem for p in (themes_root / "open").glob("*.json")),
        *(p.stem for p in (themes_root / "closed").glob("*/*.json")),
        *(journal_of(p)[0] for p in (themes_root / "journal").glob("*/*.json")),
    ]
    for name in candidates:
        try:
            highest = max(highest, ref_number(name))
        except ValueError:
            continue
    write_many_atomically([(themes_root / "counter.json", encode({"counter": {"last": highest}}))])
    logger.warning("rebuilt the theme counter: the last reference was %d", highest)
    return highest


def rebuild_themes(
    data_dir: Path,
    *,
    journals: set[tuple[str, str]],
    themes: Mapping[str, bool],
    settings: ThemeSettings,
    now: datetime,
) -> None:
    """Write again the damaged journals (ref, channel) and themes (ref -> was closed)."""
    refs = {ref for ref, _ in journals} | set(themes)
    found: dict[str, list[tuple[str, Mapping[str, Any]]]] = {ref: [] for ref in refs}
    for part, doc in post_docs(data_dir):
        if doc.get("theme") in found:
            found[doc["theme"]].append((part, doc))
    root = data_dir / "themes"
    writes: list[tuple[Path, str]] = []
    files = ThemeFiles(root, batch=None, settings=settings)  # type: ignore[arg-type]
    for ref, channel in sorted(journals):
        by_file: dict[Path, dict[str, Any]] = {}
        for part, doc in found[ref]:
            position = (doc.get("positions") or {}).get(channel)
            if position:
                path = files.journal_path(ref, channel, int(position))
                by_file.setdefault(path, {})[str(position)] = {"key": doc["key"], "part": part}
        writes.extend((path, encode({"entries": entries})) for path, entries in by_file.items())
    for ref, closed in sorted(themes.items()):
        docs = sorted(found[ref], key=lambda pair: pair[1].get("theme_seq") or 0)
        if not docs:
            logger.error("theme %s was damaged and none of its posts name it: not rebuilt", ref)
            continue
        stored = _theme_from_posts(ref, [doc for _, doc in docs], settings, closed=closed, now=now)
        path = files.closed_path(ref) if closed else files.open_path(ref)
        writes.append((path, encode(stored.to_data())))
    write_many_atomically(writes)
    logger.warning(
        "rebuilt %d theme(s) and %d journal(s) from the posts files", len(themes), len(journals)
    )


def _theme_from_posts(
    ref: str,
    docs: list[Mapping[str, Any]],
    settings: ThemeSettings,
    *,
    closed: bool,
    now: datetime,
) -> StoredTheme:
    matcher = ThemeMatcher(settings)
    first = post_from_doc(docs[0])
    placement = matcher.place(first, docs[0]["category"], now=now)

    def item(doc: Mapping[str, Any]) -> PostInTheme:
        return PostInTheme(
            key=doc["key"],
            category=doc["category"],
            network=doc["network"],
            channels=channels_of(doc),
            posted_at=parse(doc["posted_at"]),
            priority=Priority(int(doc.get("priority") or Priority.ROUTINE)),
        )

    theme = new_theme(
        ref=ref, account=first.account, placement=placement, post=item(docs[0]), now=now
    ).theme
    for doc in docs[1:]:
        signature = theme.signature.merged(matcher.features(post_from_doc(doc)).signature())
        joined = replace(placement, signature=signature, title=theme.title, join_ref=ref)
        theme = add_post(theme, placement=joined, post=item(doc)).theme
    # Positions as the posts recorded them (moves may have left gaps).
    channels = []
    for posts in theme.channels:
        listed = sorted(
            (int((doc.get("positions") or {}).get(posts.channel) or 0), doc["key"])
            for doc in docs
            if posts.channel in channels_of(doc)
        )
        channels.append(
            ChannelPosts(
                channel=posts.channel,
                count=len(listed),
                appended=max((position for position, _ in listed), default=0),
                latest=tuple(key for _, key in listed[-LATEST_IN_VIEW:]),
            )
        )
    seq = max(int(doc.get("theme_seq") or 0) for doc in docs)
    theme = replace(
        theme,
        channels=tuple(channels),
        seq=max(seq, theme.seq),
        status=ThemeStatus.CLOSED if closed else ThemeStatus.OPEN,
    )
    views = {c.channel: ViewRecord(version=1, since=now) for c in theme.channels}
    return StoredTheme(Theme.from_dict(theme.to_dict()), views)
