"""Builders for what Slack shows of a theme, rendered from its stored state when sent.

Each theme has, in each channel where it has posts, one parent message (posted once, then
kept current with chat.update) and a thread. A theme with one post in a channel shows that
post in full in the parent, as a routed post always was shown. Once it has more, the parent
shows the theme (title, status, owner, counts by category and network, the newest posts,
links to the same theme in other channels) and the thread lists every post, in digest
replies of the posts that arrived since the last one.

Every word comes from templates/slack/; text from the public is escaped (a post containing
`<!channel>` pings nobody) and quoted, cut to fit Slack's limits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import DeskConfig
from bot.core.flags import mask_personal_data
from bot.core.posts import Category, Flag, Network
from bot.core.templating import TemplateRenderer, slack_link
from bot.core.text import quote_for_slack
from bot.desk import UNDELIVERABLE
from bot.slack.clock_messages import (
    due_digest_message,
    escalation_message,
    reminder_message,
)
from bot.slack.messages import (
    CATEGORY_LABELS,
    KIND_LABELS,
    NETWORK_LABELS,
    QUOTE_LIMIT,
    QUOTE_MAX_LINES,
    SECTION_LIMIT,
    Message,
    hints_text,
)
from bot.slack.staff_views import StaffViews
from bot.storage import (
    RENDERED,
    OutboxItem,
    ViewRecord,
    ViewSnapshot,
    classification_from_doc,
    post_from_doc,
)
from bot.storage.clockwork import DUE_DIGEST, ESCALATION, REMINDER

# Slack refuses a message whose blocks hold much over 13,000 characters in all
# (`msg_blocks_too_long`, below the documented 50 blocks of 3,000): digests stay under this.
DIGEST_MAX_CHARS = 11_000
DIGEST_MAX_BLOCKS = 45
# How much of each post a digest or the newest-posts list quotes; the full post is a link away.
DIGEST_QUOTE_LIMIT = 700
DIGEST_QUOTE_LINES = 10
LATEST_QUOTE_LIMIT = 280
LATEST_QUOTE_LINES = 4
SHORT_QUOTE_LIMIT = 200


@dataclass(frozen=True)
class Presentation:
    """The desk settings that say how posts are shown."""

    account_names: Mapping[str, str]
    zone: ZoneInfo
    mask_personal_data: bool = True
    suggest_block_after: int | None = None

    @classmethod
    def of(cls, config: DeskConfig) -> Presentation:
        """The presentation `config` asks for."""
        desk = config.desk
        return cls(
            account_names={key: account.name for key, account in desk.accounts.items()},
            zone=config.zone,
            mask_personal_data=desk.personal_data.mask_in_slack,
            suggest_block_after=desk.moderation.suggest_block_after,
        )


def message_hash(message: Message) -> str:
    """A fingerprint of a rendered message: the same state renders the same hash."""
    text, blocks = message
    body = json.dumps([text, blocks], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def permalink(team_url: str, channel_id: str, ts: str) -> str:
    """The link to a message, as Slack builds it from the workspace's address."""
    return f"{team_url.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"


def _mrkdwn(text: str, *, verbatim: bool = True) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": verbatim}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _block_chars(blocks: Sequence[Mapping[str, Any]]) -> int:
    total = 0
    for block in blocks:
        texts = [block.get("text"), *(block.get("elements") or [])]
        total += sum(len(t["text"]) for t in texts if isinstance(t, Mapping) and "text" in t)
    return total


class ThemeMessages:
    """Renders theme views and one-off messages from stored state."""

    def __init__(self, renderer: TemplateRenderer, presentation: Presentation) -> None:
        self.renderer = renderer
        self.presentation = presentation
        self.staff = StaffViews(renderer)

    # -- one post --------------------------------------------------------------------------

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.presentation.zone).strftime("%a %d %b %Y %H:%M %Z")

    def _context(self, doc: Mapping[str, Any], *, with_link: bool = True) -> dict[str, Any]:
        post = post_from_doc(doc)
        classification = classification_from_doc(doc)
        return {
            "category_label": CATEGORY_LABELS[classification.category],
            "account_name": self.presentation.account_names.get(post.account, post.account),
            "network_label": NETWORK_LABELS[post.network],
            "kind_label": KIND_LABELS[post.kind],
            "author_handle": post.author.handle,
            "author_name": post.author.name,
            "followers": post.author.followers,
            "rule": classification.rule,
            "flagged_by": post.flagged_by,
            "posted_local": self._local(post.posted_at),
            "url": post.url if with_link else None,
        }

    def _quote(self, doc: Mapping[str, Any], *, limit: int, max_lines: int) -> str:
        text = str(doc["text"])
        if not text.strip():
            return self.renderer.render("slack/no_text.j2")
        shown = text
        if self.presentation.mask_personal_data:
            shown = mask_personal_data(
                text,
                label=lambda reason: self.renderer.render("slack/masked_data.j2", reason=reason),
            )
        return quote_for_slack(shown, limit=limit, max_lines=max_lines)

    def _notes(self, doc: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
        """(hints, personal data warning, link warning) under a post; "" / None when none."""
        classification = classification_from_doc(doc)
        hints = hints_text(
            self.renderer,
            classification=classification,
            author=doc["author"]["handle"],
            channel=doc["channel"],
            also=tuple(doc.get("also") or ()),
            breaches=doc.get("breaches"),
            suggest_block_after=self.presentation.suggest_block_after,
        )
        personal = [hit.reason for hit in classification.flags if hit.flag is Flag.PERSONAL_DATA]
        warning = (
            self.renderer.render("slack/personal_data_warning.j2", reasons=personal)
            if personal
            else None
        )
        link = (
            self.renderer.render("slack/link_warning.j2")
            if any(hit.flag is Flag.LINK for hit in classification.flags)
            else None
        )
        return hints, warning, link

    def post_blocks(self, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A post shown in full (the parent of a one-post view), as routed posts always were."""
        context = self._context(doc)
        blocks: list[dict[str, Any]] = [
            _section(self.renderer.render("slack/routed_post_summary.j2", **context)),
            _section(self._quote(doc, limit=QUOTE_LIMIT, max_lines=QUOTE_MAX_LINES)),
            _context(self.renderer.render("slack/routed_post_details.j2", **context)),
        ]
        hints, warning, link = self._notes(doc)
        if hints:
            blocks.append(_section(hints))
        if warning:
            blocks.append({"type": "section", "text": _mrkdwn(warning, verbatim=False)})
        if link:
            blocks.append({"type": "context", "elements": [_mrkdwn(link, verbatim=False)]})
        return blocks

    def post_entry(self, doc: Mapping[str, Any], *, limit: int, max_lines: int) -> str:
        """A post in a few lines (a digest or the newest posts): at most one section's text."""
        attempts = ((limit, True), (SHORT_QUOTE_LIMIT, True), (SHORT_QUOTE_LIMIT, False))
        entry = ""
        for quote_limit, with_link in attempts:
            context = self._context(doc, with_link=with_link)
            hints, warning, link = self._notes(doc)
            parts = [
                self.renderer.render("slack/routed_post_summary.j2", **context),
                self._quote(doc, limit=quote_limit, max_lines=max_lines),
                self.renderer.render("slack/routed_post_details.j2", **context),
                hints,
                warning or "",
                link or "",
            ]
            entry = "\n".join(part for part in parts if part)
            if len(entry) <= SECTION_LIMIT:
                return entry
        return entry[: SECTION_LIMIT - 2].rsplit("\n", 1)[0]

    # -- a theme's parent message ----------------------------------------------------------

    def _header(self, snapshot: ViewSnapshot) -> str:
        theme = snapshot.theme
        return self.renderer.render(
            "slack/theme_header.j2",
            ref=theme.ref,
            kind=theme.kind.value,
            status=theme.status.value,
            close_reason=theme.close_reason.value if theme.close_reason else None,
            merged_into=theme.merged_into,
            owner=theme.owner,
            priority=int(theme.priority),
            related_ref=theme.related_ref,
        )

    def _links(self, others: Sequence[tuple[str, ViewRecord]]) -> str | None:
        links = [
            slack_link(view.permalink, channel) if view.permalink else slack_link(None, channel)
            for channel, view in others
        ]
        if not links:
            return None
        return self.renderer.render("slack/theme_links.j2", links=links)

    def parent(self, snapshot: ViewSnapshot) -> Message:
        """The parent message of a theme's view in one channel, as the theme is now."""
        theme, channel = snapshot.theme, snapshot.channel
        posts = theme.channel(channel)
        blocks: list[dict[str, Any]] = [_context(self._header(snapshot))]
        if snapshot.single and snapshot.latest:
            doc = snapshot.latest[-1]
            blocks.extend(self.post_blocks(doc))
            fallback = self.renderer.render("slack/routed_post_fallback.j2", **self._context(doc))
            fallback = f"{theme.ref}: {fallback}"
        else:
            blocks.append(_section(self._summary(snapshot)))
            if snapshot.latest:
                entries = [
                    self.post_entry(doc, limit=LATEST_QUOTE_LIMIT, max_lines=LATEST_QUOTE_LINES)
                    for doc in snapshot.latest
                ]
                blocks.append(_section(self.renderer.render("slack/theme_latest.j2")))
                blocks.extend(_section(entry) for entry in entries)
            if posts.count > 1 or snapshot.view.shown:
                blocks.append(_context(self.renderer.render("slack/theme_thread_note.j2")))
            fallback = self.renderer.render(
                "slack/theme_fallback.j2", ref=theme.ref, title=theme.title, here=posts.count
            )
        moved = self._moved(snapshot)
        if moved:
            blocks.append(_section(moved))
        links = self._links(snapshot.others)
        if links:
            blocks.append(_context(links))
        blocks.append(self.staff.theme_buttons(theme))
        return fallback, blocks

    def _summary(self, snapshot: ViewSnapshot) -> str:
        theme = snapshot.theme
        return self.renderer.render(
            "slack/theme_summary.j2",
            title=theme.title,
            here=theme.channel(snapshot.channel).count,
            total=theme.post_count,
            categories=[
                (CATEGORY_LABELS[Category(name)], count) for name, count in theme.by_category
            ],
            networks=[(NETWORK_LABELS[Network(name)], count) for name, count in theme.by_network],
            first_seen=self._local(theme.first_seen),
            last_seen=self._local(theme.last_seen),
        )

    def _moved(self, snapshot: ViewSnapshot) -> str | None:
        theme = snapshot.theme
        posts = theme.channel(snapshot.channel)
        if theme.merged_into:
            return self.renderer.render(
                "slack/theme_moved.j2", merged_into=theme.merged_into, where=None
            )
        if posts.moved_to and posts.count == 0:
            where = dict(snapshot.others).get(posts.moved_to)
            link = slack_link(where.permalink if where else None, posts.moved_to)
            return self.renderer.render("slack/theme_moved.j2", merged_into=None, where=link)
        return None

    # -- digests ---------------------------------------------------------------------------

    def digest(self, snapshot: ViewSnapshot, *, part: int = 1) -> tuple[Message, int]:
        """The next thread reply listing posts not yet in the thread, and the position it
        covers up to: as many posts as fit Slack's limits (the rest go in the next one)."""
        header = self.renderer.render(
            "slack/digest_header.j2", count=0, ref=snapshot.theme.ref, part=part
        )
        entries: list[str] = []
        covered = snapshot.view.shown
        used = len(header) + 20
        for position, doc in snapshot.digest:
            entry = self.post_entry(doc, limit=DIGEST_QUOTE_LIMIT, max_lines=DIGEST_QUOTE_LINES)
            if entries and (
                used + len(entry) > DIGEST_MAX_CHARS or len(entries) + 1 >= DIGEST_MAX_BLOCKS
            ):
                break
            entries.append(entry)
            used += len(entry)
            covered = position
        else:
            covered = snapshot.digest_upto  # trailing positions of posts moved away
        header = self.renderer.render(
            "slack/digest_header.j2", count=len(entries), ref=snapshot.theme.ref, part=part
        )
        blocks = [_context(header), *(_section(entry) for entry in entries)]
        return (header, blocks), covered

    # -- one-off messages ------------------------------------------------------------------

    def one_off(self, item: OutboxItem) -> Message:
        """A message that belongs to no theme: as rendered then, or from its data now."""
        if item.kind == RENDERED:
            return item.text, list(item.blocks)
        if item.kind == UNDELIVERABLE:
            data = item.data
            what = data.get("what") or {}
            post_key = what.get("post")
            text = self.renderer.render(
                "slack/undeliverable.j2",
                channel=data.get("channel", "?"),
                theme=what.get("theme"),
                post_key=post_key.replace("`", "'") if post_key else None,
                message=what.get("message"),
                title=what.get("title"),
                posts=what.get("posts"),
                error=str(data.get("error", "?")).replace("`", "'"),
            )
            return text, [_section(text)]
        if item.kind == REMINDER:
            return reminder_message(self.renderer, item.data, self.presentation.zone)
        if item.kind == ESCALATION:
            return escalation_message(self.renderer, item.data, self.presentation.zone)
        if item.kind == DUE_DIGEST:
            return due_digest_message(self.renderer, item.data)
        raise ValueError(f"no way to show a one-off message of kind {item.kind!r}")
