"""Staff actions on themes, each written all-or-nothing through an intent record.

Move a post, merge two themes, re-categorise a post or a theme, close, mark answered,
reopen, claim. Each applies a pure transition (`bot.core.theme_state`) and writes everything
it changed as one intent (`bot.storage.intents`): the theme files with their views' change
markers, the journal lists, the posts whose place or category changed, the counter when a
theme is opened, the audit entry with who and when, and any labelled example. A crash
leaves the action wholly done (the next start finishes it) or not done at all.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.theme_state import (
    CloseReason,
    Outcome,
    PostInTheme,
    ThemeStatus,
    claim,
    close,
    mark_answered,
    merge,
    move_post,
    priority_of,
    recategorise_post,
    recategorise_theme,
    reopen,
)
from bot.core.themes import Priority, ThemeSignature
from bot.storage.atomic import AtomicJSONStorage
from bot.storage.audit import AuditLog
from bot.storage.docs import channels_of, iso, parse, post_from_doc
from bot.storage.intents import FileWrite
from bot.storage.parts import Parts
from bot.storage.themes import StoredTheme
from bot.storage.views import theme_docs

Listed = tuple[str, int, tuple[tuple[str, int], ...]]


def post_item(doc: Mapping[str, Any], *, signature: ThemeSignature | None = None) -> PostInTheme:
    """What a theme needs to know of a stored post."""
    return PostInTheme(
        key=doc["key"],
        category=doc["category"],
        network=doc["network"],
        channels=channels_of(doc),
        posted_at=parse(doc["posted_at"]),
        priority=Priority(int(doc.get("priority") or Priority.ROUTINE)),
        signature=signature,
    )


class StaffActions:
    """The write paths of staff actions. Used under the `Store`'s lock only."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def _stored(self, ref: str) -> StoredTheme:
        stored = self.parts.themes.get(ref)
        if stored is None:
            raise KeyError(f"no theme {ref}")
        return stored

    def _post(self, key: str) -> Mapping[str, Any]:
        doc = self.parts.posts.doc(key)
        if doc is None or not doc.get("theme"):
            raise KeyError(f"no post {key} in a theme")
        return doc

    def _placed(self, doc: Mapping[str, Any], listed: Listed) -> dict[str, Any]:
        ref, seq, positions = listed
        return dict(doc) | {"theme": ref, "theme_seq": seq, "positions": dict(positions)}

    def move_post(self, key: str, *, to: str | None, by: str | None, now: datetime) -> str:
        """Move a post to theme `to`, or to a new theme when `to` is None; its theme's ref."""
        doc = self._post(key)
        source = self._stored(doc["theme"])
        target = self._stored(to) if to is not None else None
        signature = self.parts.themes.matcher.features(post_from_doc(doc)).signature()
        new_ref = self.parts.themes.next_ref() if target is None else None
        outcome = move_post(
            source.theme,
            target.theme if target else None,
            post=post_item(doc, signature=signature),
            new_ref=new_ref,
            now=now,
        )
        ref = outcome.themes[1].ref
        self._apply(
            "theme.post_moved",
            outcome,
            now=now,
            by=by,
            counter_moved=new_ref is not None,
            posts={key: self._placed(doc, outcome.listed[key])},
            audit={"post": key, "from": source.theme.ref, "to": ref},
        )
        return ref

    def merge(self, *, into: str, away: str, by: str | None, now: datetime) -> None:
        """Every post of theme `away` joins `into`; `away` is closed as merged into it."""
        kept, gone = self._stored(into), self._stored(away)
        docs = theme_docs(self.parts, gone, None)
        outcome = merge(kept.theme, gone.theme, posts=[post_item(d) for d in docs], by=by, now=now)
        self._apply(
            "theme.merged",
            outcome,
            now=now,
            by=by,
            posts={d["key"]: self._placed(d, outcome.listed[d["key"]]) for d in docs},
            audit={"into": into, "away": away, "posts": len(docs)},
        )

    def _recategorised(
        self,
        doc: Mapping[str, Any],
        outcome: Outcome,
        category: str,
        channels: tuple[str, ...],
    ) -> dict[str, Any]:
        changed = dict(doc)
        if doc["key"] in outcome.listed:
            changed = self._placed(doc, outcome.listed[doc["key"]])
        return changed | {
            "category": category,
            "channel": channels[0],
            "also": list(channels[1:]),
            "priority": int(priority_of(category)),
        }

    def recategorise_post(
        self, key: str, *, category: str, channels: tuple[str, ...], by: str | None, now: datetime
    ) -> None:
        """A post takes `category` (shown in `channels`); kept as a labelled example."""
        doc = self._post(key)
        stored = self._stored(doc["theme"])
        outcome = recategorise_post(
            stored.theme, post=post_item(doc), category=category, channels=channels
        )
        self._apply(
            "post.recategorised",
            outcome,
            now=now,
            by=by,
            posts={key: self._recategorised(doc, outcome, category, channels)},
            labels=[_label(doc, category, by)] if doc["category"] != category else [],
            audit={
                "post": key,
                "from": doc["category"],
                "to": category,
                "theme": stored.theme.ref,
            },
        )

    def recategorise_theme(
        self, ref: str, *, category: str, channels: tuple[str, ...], by: str | None, now: datetime
    ) -> None:
        """Every post of theme `ref` takes `category` and moves to `channels`."""
        stored = self._stored(ref)
        docs = theme_docs(self.parts, stored, None)
        outcome = recategorise_theme(
            stored.theme, category=category, channels=channels, posts=[post_item(d) for d in docs]
        )
        self._apply(
            "theme.recategorised",
            outcome,
            now=now,
            by=by,
            posts={d["key"]: self._recategorised(d, outcome, category, channels) for d in docs},
            labels=[_label(d, category, by) for d in docs if d["category"] != category],
            audit={"theme": ref, "from": stored.theme.category, "to": category}
            | self._deadline_change(stored, category=category, now=now),
        )

    def _deadline_change(
        self, stored: StoredTheme, *, category: str, now: datetime
    ) -> dict[str, Any]:
        """What re-categorising `stored` does to its deadline, for the audit trail."""
        before = stored.clock
        after = self.parts.clockwork.rekinded(
            replace(stored, theme=replace(stored.theme, category=category)), now=now
        )
        if before is None or after is None or after == before:
            return {}
        return {
            "deadline": {"kind": before.kind, "due_at": iso(before.due_at)},
            "new_deadline": {"kind": after.kind, "due_at": iso(after.due_at)},
        }

    def close(self, ref: str, *, reason: CloseReason, by: str | None, now: datetime) -> None:
        """Close theme `ref` for `reason`."""
        outcome = close(self._stored(ref).theme, reason=reason, by=by, now=now)
        self._apply(
            "theme.closed", outcome, now=now, by=by, audit={"theme": ref, "reason": reason.value}
        )

    def mark_answered(self, ref: str, *, by: str | None, now: datetime) -> None:
        """Mark theme `ref` answered."""
        outcome = mark_answered(self._stored(ref).theme, by=by, now=now)
        self._apply("theme.answered", outcome, now=now, by=by, audit={"theme": ref})

    def reopen(self, ref: str, *, by: str | None, now: datetime) -> None:
        """Open theme `ref` again (from history too)."""
        outcome = reopen(self._stored(ref).theme, by=by, now=now)
        self._apply("theme.reopened", outcome, now=now, by=by, audit={"theme": ref})

    def claim(self, ref: str, *, owner: str | None, by: str | None, now: datetime) -> None:
        """Make `owner` the owner of theme `ref` (None: nobody)."""
        outcome = claim(self._stored(ref).theme, owner=owner, now=now)
        self._apply("theme.claimed", outcome, now=now, by=by, audit={"theme": ref, "owner": owner})

    def _apply(
        self,
        action: str,
        outcome: Outcome,
        *,
        now: datetime,
        by: str | None,
        counter_moved: bool = False,
        posts: Mapping[str, Mapping[str, Any]] | None = None,
        labels: Sequence[Mapping[str, Any]] = (),
        audit: Mapping[str, Any] | None = None,
    ) -> None:
        """Write everything an action changed as one intent, then hold the new state.

        On failure the caller forgets every cached file (the intent, if written, is
        carried out at the next start, before anything else is read).
        """
        parts = self.parts
        themes = []
        for theme in outcome.themes:
            before = parts.themes.get(theme.ref)
            base = before if before is not None else StoredTheme(theme)
            changed = replace(base, theme=theme, views=dict(base.views))
            changed = parts.clockwork.settled(changed, now=now)
            themes.append(changed.with_changes(outcome.changes, now))
        writes: list[FileWrite] = []
        if counter_moved:
            writes.append(
                FileWrite(
                    parts.themes.root / "counter.json",
                    data={"counter": {"last": parts.themes.counter}},
                )
            )
        located = {key: parts.posts.locate(key) for key in posts or {}}
        journal: dict[Path, dict[str, Any]] = {}
        for key, (ref, _, positions) in outcome.listed.items():
            part = located.get(key) or parts.posts.locate(key)
            for channel, position in positions:
                path = parts.themes.journal_path(ref, channel, position)
                if path not in journal:
                    journal[path] = dict(parts.themes.journal_file(path))
                journal[path][str(position)] = {"key": key, "part": part}
        writes.extend(FileWrite(path, data={"entries": e}) for path, e in journal.items())
        post_files: dict[str, dict[str, Any]] = {}
        for key, doc in (posts or {}).items():
            part = located[key]
            assert part is not None
            if part not in post_files:
                data = AtomicJSONStorage(parts.posts.path(part), parts.batch).read() or {}
                post_files[part] = copy.deepcopy(dict(data))
            table = post_files[part].setdefault("posts", {})
            for doc_id, existing in table.items():
                if existing.get("key") == key:
                    table[doc_id] = dict(doc)
        writes.extend(
            FileWrite(parts.posts.path(part), data=data) for part, data in post_files.items()
        )
        audit_path = parts.audit.files.path(parts.audit.files.part_for(now))
        audit_data = copy.deepcopy(
            dict(AtomicJSONStorage(audit_path, parts.batch).read() or {"audit": {}})
        )
        entries = audit_data.setdefault("audit", {})
        next_id = max((int(i) for i in entries), default=0) + 1
        entries[str(next_id)] = AuditLog.entry(action, now, {"by": by, **(audit or {})})
        writes.append(FileWrite(audit_path, data=audit_data))
        label_texts: dict[Path, str] = {}
        for label in labels:
            path = parts.labels.path(now)
            if path not in label_texts:
                label_texts[path] = path.read_text(encoding="utf-8") if path.exists() else ""
            label_texts[path] += parts.labels.line(**label, at=now)
        writes.extend(FileWrite(path, text=text) for path, text in label_texts.items())
        for stored in themes:
            ref = stored.theme.ref
            writes.append(FileWrite(parts.themes.open_path(ref), data=stored.to_data()))
            if parts.themes.in_history(ref):
                writes.append(FileWrite(parts.themes.closed_path(ref), delete=True))
        parts.intents.apply(action, writes)
        for path in (*(parts.posts.path(p) for p in post_files), audit_path):
            parts.files.drop(path)
        parts.audit.forget()
        parts.themes.took_journals(journal)
        parts.themes.adopt(themes)
        matcher = parts.themes.matcher
        for stored in themes:
            matcher.close(stored.theme.ref)
            if stored.theme.status is ThemeStatus.OPEN:
                matcher.add(stored.theme.as_open_theme())
            if stored.theme.status is ThemeStatus.CLOSED and stored.settled:
                parts.themes.archive(stored.theme.ref)


def _label(doc: Mapping[str, Any], category: str, by: str | None) -> dict[str, Any]:
    return {
        "text": doc["text"],
        "account": doc["account"],
        "network": doc["network"],
        "kind": doc.get("kind", "post"),
        "old_category": doc["category"],
        "new_category": category,
        "by": by,
    }
