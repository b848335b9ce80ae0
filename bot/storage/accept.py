"""Accepting posts: each stored once and placed in a theme, whatever a crash interrupts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from tinydb import Query

from bot.core.theme_state import PostInTheme, add_post, new_theme, priority_of
from bot.storage.atomic import StorageError
from bot.storage.docs import PostToAccept, hour_of, iso, parse, routed_doc
from bot.storage.parts import Parts
from bot.storage.themes import StoredTheme


def _complete_legacy(stored: Mapping[str, Any]) -> bool:
    """Whether a post stored by an earlier commsbot is done: delivered, or imported."""
    return bool(stored.get("delivery") or stored.get("imported"))


def committed(parts: Parts, key: str, doc: Mapping[str, Any] | None) -> bool:
    """Whether a stored post's accept finished: its theme lists it (or, for a post an
    earlier commsbot stored, it was delivered, imported, or its rendered message waits)."""
    if doc is None:
        return False
    if _complete_legacy(doc) or parts.outbox.holds(key):
        return True
    ref = doc.get("theme")
    if not ref:
        return False
    stored = parts.themes.get(ref)
    if stored is None or stored.theme.seq < int(doc.get("theme_seq") or 0):
        return False
    channel = doc["channel"]
    position = (doc.get("positions") or {}).get(channel)
    if position is None or int(position) > stored.theme.channel(channel).appended:
        return False
    entry = parts.themes.journal_entry(ref, channel, int(position))
    return entry is not None and entry.get("key") == key


def accept_batch(
    parts: Parts, offers: dict[str, PostToAccept], *, now: datetime
) -> tuple[set[str], dict[str, str]]:
    """Store a batch of posts, each placed in a theme (see `Store.accept_posts` for the
    write order and what a crash at each write leaves). Returns the keys already accepted
    and the theme of each post."""
    entries = parts.posts.index_entries(offers)
    duplicates: set[str] = set()
    resumed: dict[str, Mapping[str, Any] | None] = {}
    themes_of: dict[str, str] = {}
    for key, entry in entries.items():
        doc = parts.posts.doc(key, entry["part"])
        if committed(parts, key, doc):
            duplicates.add(key)
            if doc is not None and doc.get("theme"):
                themes_of[key] = doc["theme"]
        else:
            resumed[key] = doc
    working, placed, counter_moved = _place(parts, offers, duplicates, now=now)
    themes_of.update({key: fields["theme"] for key, fields in placed.items()})
    new = [key for key in offers if key not in entries]
    docs = {key: routed_doc(offers[key], received_at=now) | placed[key] for key in new}
    batches = list(parts.posts.hourly.fill(hour_of(now), [docs[key] for key in new]))
    part_of = {doc["key"]: part for part, batch in batches for doc in batch}
    part_of.update({key: str(entries[key]["part"]) for key in resumed})
    # 1. the index entries of the new posts
    with parts.batch.together():
        for key in new:
            parts.posts.index_table(key).insert(
                {"key": key, "part": part_of[key], "received_at": iso(now)}
            )
    # 2. the posts, new and resumed
    rewritten = 0
    with parts.batch.together():
        for part, batch in batches:
            parts.posts.hourly.table(part).insert_multiple(batch)
        for key, doc in resumed.items():
            table = parts.posts.hourly.table(part_of[key])
            if doc is None:
                received_at = parse(entries[key].get("received_at") or iso(now))
                table.insert(routed_doc(offers[key], received_at=received_at) | placed[key])
                rewritten += 1
            else:
                table.update(placed[key], Query().key == key)
    # 3. audit
    with parts.batch.together():
        for key, offer in offers.items():
            if key in duplicates:
                continue
            parts.audit.record(
                "post.routed",
                now=now,
                post=key,
                account=offer.post.account,
                category=offer.classification.category.value,
                rule=offer.classification.rule,
                channel=offer.channel,
                also=list(offer.also) or None,
                theme=placed[key]["theme"],
                flagged_by=offer.post.flagged_by,
                resumed=(key in resumed) or None,
            )
    # 4. the counter, 5. the journals, 6. the themes (the accepts are complete)
    if counter_moved:
        parts.themes.write_counter()
    appends = [
        (fields["theme"], channel, position, {"key": key, "part": part_of[key]})
        for key, fields in placed.items()
        for channel, position in fields["positions"].items()
    ]
    with parts.batch.together():
        parts.themes.write_journal(appends)
    with parts.batch.together():
        parts.themes.write_themes(working.values())
    parts.themes.adopt(working.values())
    if new or rewritten:
        parts.totals.add(now, len(new) + rewritten)
    return duplicates, themes_of


def _place(
    parts: Parts, offers: dict[str, PostToAccept], duplicates: set[str], *, now: datetime
) -> tuple[dict[str, StoredTheme], dict[str, dict[str, Any]], bool]:
    """Place each post to store in a theme, in the order offered (in memory only).

    Returns the themes as they will be, each post's place (its theme, `theme_seq` and
    position in each channel's list), and whether new references were handed out.
    """
    matcher = parts.themes.matcher
    working: dict[str, StoredTheme] = {}
    placed: dict[str, dict[str, Any]] = {}
    counter_moved = False
    for key, offer in offers.items():
        if key in duplicates:
            continue
        post, category = offer.post, offer.classification.category.value
        # Posts are grouped by when they were posted (as `group_in_order` does): one
        # flagged hours late still joins the theme of its time.
        placement = matcher.place(post, category, now=min(now, post.posted_at))
        item = PostInTheme(
            key=key,
            category=category,
            network=post.network.value,
            channels=offer.channels,
            posted_at=post.posted_at,
            priority=priority_of(category, placement.priority),
        )
        if placement.join_ref is None:
            ref = parts.themes.next_ref()
            counter_moved = True
            added = new_theme(
                ref=ref, account=post.account, placement=placement, post=item, now=now
            )
            current = StoredTheme(added.theme)
            matcher.commit(placement, post=post, now=min(now, post.posted_at), ref=ref)
        else:
            ref = placement.join_ref
            before = working.get(ref) or parts.themes.get(ref)
            if before is None:
                raise StorageError(f"theme {ref} is open in the matcher but not stored")
            added = add_post(before.theme, placement=placement, post=item)
            current = replace(before, theme=added.theme)
            matcher.commit(placement, post=post, now=min(now, post.posted_at))
        current = parts.clockwork.placed(
            current,
            new=placement.join_ref is None,
            category=category,
            rule=offer.classification.rule,
            text=post.text,
            now=now,
        )
        working[ref] = current.with_changes(added.changes, now)
        placed[key] = {
            "theme": ref,
            "theme_seq": added.theme.seq,
            "positions": dict(added.positions),
            "placed": placement.reason.value,
            "priority": int(item.priority),
        }
    return working, placed, counter_moved
