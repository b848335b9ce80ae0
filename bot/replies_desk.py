"""Suggested replies at work: chosen for each theme, approved in its thread, then published.

The application service between the pure rules (`bot.core.replies`, `bot.core.approval`),
storage and the desk. It never builds a Slack message: it stores each step and queues a
one-off message naming what to show (`suggestion`, `suggestion_note`, `suggestion_ready`),
which the Slack edge renders from the stored suggestion when it sends it, in the theme's
thread. When a decision changes what an earlier message should show (approved, rejected,
replaced, published), it queues a `suggestion_update` of that message: queued after the
message itself in the same channel, it is sent after it, and rendered from the state of then
(the buttons gone, who decided what), so a restart or a retry shows the same.

THE INVARIANT: nothing reaches a publisher unless `approval.publishable` says so at the
moment of sending: an approved latest version, with approvals by people other than its
author against the hash of exactly that text, meeting the approval rules as they are now.
Both publishers go through `_publishable`; the webhook worker checks again before each POST.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.config import DeskConfig
from bot.core.approval import (
    COMMSBOT,
    Publishable,
    Refusal,
    Requirement,
    SuggestionRecord,
    SuggestionStatus,
    Version,
    add_version,
    approve,
    is_political,
    may_reject,
    publishable,
    reject,
    requirement_for,
    withdraw,
)
from bot.core.people import People, is_one_of
from bot.core.posts import Category, Flag, Kind, Network
from bot.core.replies import (
    NoReplyTemplate,
    ReplyBook,
    ReplyContext,
    ReplyTemplateError,
    Situation,
    first_name,
)
from bot.core.textlength import measure
from bot.core.theme_state import Theme
from bot.desk import Desk
from bot.storage import Store, classification_from_doc, post_from_doc

logger = logging.getLogger(__name__)

# One-off message kinds the Slack edge renders from the stored suggestion.
SUGGESTION = "suggestion"  # a version, with buttons while it may be approved
SUGGESTION_NOTE = "suggestion_note"  # a step: approved, rejected, posted, platform answer…
SUGGESTION_READY = "suggestion_ready"  # manual publisher: the final text to copy, Posted
# An earlier SUGGESTION or SUGGESTION_READY message (`shows`) re-rendered from the state now.
SUGGESTION_UPDATE = "suggestion_update"
MAX_REASON = 500

UsergroupMembers = Callable[[Iterable[str]], Mapping[str, frozenset[str]]]


def _no_groups(groups: Iterable[str]) -> Mapping[str, frozenset[str]]:
    """Until a resolver is wired, every user group counts as empty (fail safe)."""
    return {}


@dataclass(frozen=True)
class Outcome:
    """What a person's click or reaction did: `refusal` says why it changed nothing."""

    record: SuggestionRecord | None
    refusal: Refusal | None = None
    duplicate: bool = False
    complete: bool = False

    @property
    def ok(self) -> bool:
        """Whether it was accepted (a duplicate is accepted and changes nothing)."""
        return self.record is not None and self.refusal is None


class EditProblem(Exception):
    """An edit that cannot be kept: `what` (with `details`) names the problem the Slack edge
    shows beside the text box, in the words of templates/slack/suggestion_refused.j2."""

    def __init__(self, what: str, **details: object) -> None:
        super().__init__(what)
        self.what = what
        self.details = details


class ReplyDesk:
    """Suggests, approves, rejects, edits and publishes replies, one theme at a time."""

    def __init__(
        self,
        *,
        config: DeskConfig,
        store: Store,
        desk: Desk,
        book: ReplyBook,
        usergroup_members: UsergroupMembers = _no_groups,
        on_queued: Callable[[], None] = lambda: None,
        on_publish: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.store = store
        self.desk = desk
        self.book = book
        self._usergroup_members = usergroup_members
        self._on_queued = on_queued
        self.on_publish = on_publish
        # (channel, user, text): a message only that person sees (set by the Slack edge).
        self.tell_privately: Callable[[str, str, str], None] = lambda c, u, t: None

    # -- who ------------------------------------------------------------------------------

    def is_one_of(self, user: str, people: People) -> bool:
        """Whether `user` is named in `people`, user groups resolved through Slack."""
        return is_one_of(user, people, usergroup_members=self._usergroup_members(people.usergroups))

    def may_change(self, record: SuggestionRecord, *, user: str) -> Refusal | None:
        """Why `user` may not edit `record` or choose another template for it, or None:
        the desk members and the approvers of its account may, while it waits."""
        if not record.is_open:
            return Refusal.NOT_PENDING
        account = self.config.desk.accounts.get(record.account)
        if account is not None and (
            self.is_one_of(user, account.members.people())
            or self.is_one_of(user, self.requirement(record).approvers)
        ):
            return None
        return Refusal.NOT_ON_DESK

    def requirement(self, record: SuggestionRecord) -> Requirement:
        """What approving `record` takes under the configuration and crisis state of now."""
        account = self.config.desk.accounts.get(record.account)
        if account is None:  # the account left the configuration: nobody may approve
            return Requirement(approvers=People())
        return requirement_for(
            account.approval_policy(),
            category=record.category,
            political=record.political,
            crisis=self.store.crisis() is not None,
        )

    # -- suggesting -------------------------------------------------------------------------

    def _situation(self, theme: Theme, now: datetime) -> tuple[Situation, list[dict]]:
        docs = self.store.theme_posts(theme.ref)
        network = Network(theme.by_network[0][0]) if theme.by_network else Network.OTHER
        classifications = [classification_from_doc(d) for d in docs]
        posts = [post_from_doc(d) for d in docs]
        try:
            category = Category(theme.category)
        except ValueError:
            category = Category.GENERAL
        situation = Situation(
            category=category,
            account=theme.account,
            network=network,
            topic=theme.topic,
            out_of_hours=not self.config.clocks.calendar.is_open(now),
            personal_data=any(
                hit.flag is Flag.PERSONAL_DATA for c in classifications for hit in c.flags
            ),
            direct_message=bool(posts) and all(p.kind is Kind.DIRECT_MESSAGE for p in posts),
            crisis=self.store.crisis() is not None,
        )
        return situation, docs

    def _context(self, theme: Theme, situation: Situation, docs: list[dict], now: datetime):
        authors = {post_from_doc(d).author.handle for d in docs}
        name = None
        if len(authors) == 1 and docs:
            author = post_from_doc(docs[0]).author
            name = first_name(author.name, handle=author.handle)
        due = None
        if situation.category in (Category.FOI, Category.SUBJECT_ACCESS):
            due = self.config.clocks.deadline(
                situation.category.value, received_at=theme.first_seen
            ).due_at
        calendar = self.config.clocks.calendar
        return ReplyContext(
            account=theme.account,
            network=situation.network,
            reference=theme.ref,
            author_first_name=name,
            due=due,
            back_on=calendar.next_opening(now) if situation.out_of_hours else None,
        )

    def refresh(self, ref: str, *, now: datetime) -> SuggestionRecord | None:
        """Make sure open theme `ref` has a suggestion for its situation now.

        A new theme gets one; when its situation changes (category, crisis, out of hours…),
        a waiting or rejected suggestion is replaced by one for the new situation. An
        approved or published one is left alone. Returns the suggestion made, if any.
        """
        stored = self.store.theme(ref)
        if stored is None or not stored.theme.is_open or not stored.theme.channels:
            return None
        theme = stored.theme
        if theme.account not in self.config.desk.accounts:
            return None
        situation, docs = self._situation(theme, now)
        key = json.dumps(
            {k: str(v) for k, v in vars(situation).items()}, sort_keys=True, ensure_ascii=False
        )
        existing = self.store.theme_suggestions(ref)
        current = existing[-1] if existing else None
        if current is not None and (
            current.situation == key
            or current.status in (SuggestionStatus.APPROVED, SuggestionStatus.PUBLISHED)
        ):
            return None
        try:
            candidates = self.book.choose(situation)
            if not candidates:
                raise NoReplyTemplate(f"no reply template for account {theme.account!r}")
            context = self._context(theme, situation, docs, now)
            best = candidates[0]
            suggested = self.book.suggest_template(
                best.template, context, rule=best.rule, why=best.why
            )
        except (NoReplyTemplate, ReplyTemplateError, ValueError) as exc:
            # A broken template must not stop intake; `commsbot templates check` names it.
            logger.error("cannot suggest a reply for %s: %s", ref, exc)
            return None
        if current is not None and current.is_open:
            superseded = replace(current, status=SuggestionStatus.SUPERSEDED)
            self.store.save_suggestion(
                superseded,
                action="superseded",
                now=now,
                by=COMMSBOT,
                version=current.latest.n,
            )
            self._reshow(superseded, current.latest.n, now=now)
        texts = [theme.title, *(str(d.get("text", "")) for d in docs)]
        record = SuggestionRecord(
            id=f"{ref}.{len(existing) + 1}",
            theme=ref,
            account=theme.account,
            network=situation.network.value,
            channel=theme.channels[0].channel,
            category=situation.category.value,
            versions=(
                Version(
                    n=1,
                    text=suggested.text,
                    template=suggested.template,
                    author=COMMSBOT,
                    at=now,
                    fits=suggested.fits,
                    over_by=suggested.over_by,
                    length=suggested.length,
                    limit=suggested.limit,
                    why=suggested.why,
                ),
            ),
            situation=key,
            political=is_political(
                texts,
                rules=self.config.desk.approval.political.rules(),
                today=self._today(now),
            ),
        )
        self.store.save_suggestion(
            record, action="suggested", now=now, by=COMMSBOT, version=1, template=suggested.template
        )
        self._show(record, 1, now=now)
        return record

    def refresh_placed(self, refs: tuple[str, ...], now: datetime) -> None:
        """Refresh the suggestions of the themes posts were just placed in."""
        for ref in refs:
            self.refresh(ref, now=now)

    def refresh_all(self, *, now: datetime) -> int:
        """Refresh every open theme's suggestion (situations change with the clock); how many
        new suggestions were made."""
        return sum(
            1 for stored in self.store.open_themes() if self.refresh(stored.theme.ref, now=now)
        )

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.config.zone).date()

    def templates_for(self, record: SuggestionRecord) -> list[str]:
        """The templates the "different template" menu offers: those that fit the theme."""
        stored = self.store.theme(record.theme)
        if stored is None:
            return []
        situation, _ = self._situation(stored.theme, record.latest.at)
        chosen = [c.template for c in self.book.choose(situation)]
        others = sorted(self.book.names(record.account) - set(chosen))
        return [*chosen, *others]

    # -- the thread -------------------------------------------------------------------------

    def _queue(self, record: SuggestionRecord, kind: str, *, now: datetime, **data: object) -> None:
        self.store.queue_message(
            channel=record.channel,
            kind=kind,
            data={"theme": record.theme, "suggestion": record.id} | data,
            now=now,
        )
        self._on_queued()

    def _show(self, record: SuggestionRecord, version: int, *, now: datetime) -> None:
        self._queue(record, SUGGESTION, now=now, version=version)

    def _reshow(
        self, record: SuggestionRecord, version: int, *, now: datetime, shows: str = SUGGESTION
    ) -> None:
        """Show the state of now on the message already showing `version` (as `shows`)."""
        self._queue(record, SUGGESTION_UPDATE, now=now, version=version, shows=shows)

    def _note(
        self, record: SuggestionRecord, action: str, *, by: str, now: datetime, **details: object
    ) -> None:
        # Notes carry no `version` key: reactions on them act on nothing.
        self._queue(
            record,
            SUGGESTION_NOTE,
            now=now,
            action=action,
            by=by,
            at=now.isoformat(),
            of_version=record.latest.n,
            **details,
        )

    # -- people's actions ---------------------------------------------------------------------

    def approve(self, suggestion_id: str, *, version: int, user: str, now: datetime) -> Outcome:
        """`user` approves `version`; refused (and nothing changes) unless the rules allow."""
        record = self.store.suggestion(suggestion_id)
        if record is None:
            return Outcome(None, refusal=Refusal.NOT_PENDING)
        requirement = self.requirement(record)
        updated, verdict = approve(
            record,
            version=version,
            user=user,
            requirement=requirement,
            is_one_of=self.is_one_of,
            now=now,
        )
        if verdict.refusal is not None:
            self.store.record_audit(
                "suggestion.approval_refused",
                now=now,
                theme=record.theme,
                suggestion=record.id,
                by=user,
                version=version,
                refusal=verdict.refusal.value,
            )
            return Outcome(record, refusal=verdict.refusal)
        if verdict.duplicate:
            return Outcome(record, duplicate=True)
        action = "approved" if verdict.complete else "approval_counted"
        self.store.save_suggestion(
            updated,
            action=action,
            now=now,
            by=user,
            version=version,
            hash=updated.latest.hash,
        )
        self._note(updated, action, by=user, now=now, still_needed=verdict.still_needed)
        self._reshow(updated, version, now=now)
        if verdict.complete:
            self._publish(updated, now=now)
        return Outcome(updated, complete=verdict.complete)

    def withdraw(self, suggestion_id: str, *, version: int, user: str, now: datetime) -> None:
        """`user` took back an approval (removed the reaction) before it was complete."""
        record = self.store.suggestion(suggestion_id)
        if record is None:
            return
        updated = withdraw(record, version=version, user=user)
        if updated != record:
            self.store.save_suggestion(
                updated, action="approval_withdrawn", now=now, by=user, version=version
            )
            self._note(updated, "approval_withdrawn", by=user, now=now)
            self._reshow(updated, version, now=now)

    def may_reject(self, record: SuggestionRecord, *, user: str) -> Refusal | None:
        """Why `user` may not reject `record` now, or None."""
        return may_reject(
            record, user=user, requirement=self.requirement(record), is_one_of=self.is_one_of
        )

    def reject(
        self, suggestion_id: str, *, version: int, user: str, reason: str, now: datetime
    ) -> Outcome:
        """`user` turns the suggestion down for `reason`."""
        record = self.store.suggestion(suggestion_id)
        if record is None:
            return Outcome(None, refusal=Refusal.NOT_PENDING)
        refusal = may_reject(
            record, user=user, requirement=self.requirement(record), is_one_of=self.is_one_of
        )
        if refusal is None and version != record.latest.n:
            refusal = Refusal.STALE_VERSION
        if refusal is not None:
            return Outcome(record, refusal=refusal)
        reason = reason.strip()[:MAX_REASON]
        updated = reject(record, version=version, user=user, reason=reason, now=now)
        self.store.save_suggestion(
            updated, action="rejected", now=now, by=user, version=version, reason=reason
        )
        self._note(updated, "rejected", by=user, now=now, reason=reason)
        self._reshow(updated, version, now=now)
        return Outcome(updated)

    def edit(
        self, suggestion_id: str, *, version: int, user: str, text: str, now: datetime
    ) -> SuggestionRecord:
        """A new version with `user`'s text; EditProblem says why it cannot be kept."""
        record = self.store.suggestion(suggestion_id)
        if record is None or not record.is_open:
            raise EditProblem("edit_gone")
        if self.may_change(record, user=user) is not None:
            raise EditProblem(Refusal.NOT_ON_DESK.value)
        if version != record.latest.n:
            raise EditProblem("edit_stale", latest=record.latest.n)
        text = text.strip()
        if not text:
            raise EditProblem("edit_empty")
        if text == record.latest.text:
            raise EditProblem("edit_unchanged")
        rule = self.book.length_rule(Network(record.network))
        length = measure(text, rule)
        if length > rule.limit:
            raise EditProblem(
                "edit_too_long", length=length, network=record.network, limit=rule.limit
            )
        updated = add_version(
            record,
            text=text,
            template=record.latest.template,
            author=user,
            now=now,
            fits=True,
            length=length,
            limit=rule.limit,
            why=record.latest.why,
        )
        n = updated.latest.n
        self.store.save_suggestion(updated, action="edited", now=now, by=user, version=n)
        self._reshow(updated, version, now=now)  # replaced: its buttons go
        self._show(updated, n, now=now)
        return updated

    def change_template(
        self, suggestion_id: str, *, template: str, user: str, now: datetime
    ) -> SuggestionRecord | None:
        """A new version rendered from `template` (chosen from the menu by `user`)."""
        record = self.store.suggestion(suggestion_id)
        stored = self.store.theme(record.theme) if record else None
        if record is None or stored is None or not record.is_open:
            return None
        if self.may_change(record, user=user) is not None:
            return None
        if template not in self.book.names(record.account):
            return None
        situation, docs = self._situation(stored.theme, now)
        try:
            suggested = self.book.suggest_template(
                template,
                self._context(stored.theme, situation, docs, now),
                rule="chosen",
                why="",
            )
        except (ReplyTemplateError, ValueError) as exc:
            logger.error("cannot render template %s for %s: %s", template, record.theme, exc)
            return None
        updated = add_version(
            record,
            text=suggested.text,
            template=suggested.template,
            author=COMMSBOT,
            now=now,
            fits=suggested.fits,
            over_by=suggested.over_by,
            length=suggested.length,
            limit=suggested.limit,
            why=record.latest.why,
            requested_by=user,
        )
        n = updated.latest.n
        self.store.save_suggestion(
            updated, action="template_changed", now=now, by=user, version=n, template=template
        )
        self._reshow(updated, record.latest.n, now=now)  # replaced: its buttons go
        self._show(updated, n, now=now)
        return updated

    # -- publishing -------------------------------------------------------------------------

    def publishable(self, record: SuggestionRecord) -> Publishable | None:
        """What may be published for `record` now (THE INVARIANT), or None."""
        return publishable(record, requirement=self.requirement(record), is_one_of=self.is_one_of)

    def _publish(self, record: SuggestionRecord, *, now: datetime) -> None:
        allowed = self.publishable(record)
        if allowed is None:
            return
        account = self.config.desk.accounts[record.account]
        if account.publisher.kind == "manual":
            self._queue(record, SUGGESTION_READY, now=now, version=allowed.version)
            return
        key = f"{record.id}.{allowed.version}"
        if self.store.delivery(key) is None:
            self.store.save_delivery(
                {
                    "key": key,
                    "suggestion": record.id,
                    "theme": record.theme,
                    "account": record.account,
                    "network": record.network,
                    "version": allowed.version,
                    "text": allowed.text,
                    "hash": allowed.hash,
                    "approved_by": list(allowed.approved_by),
                    "state": "waiting",
                    "attempts": 0,
                    "next_attempt_at": now.isoformat(),
                    "last_error": None,
                }
            )
            self.store.record_audit(
                "suggestion.queued_for_publisher",
                now=now,
                theme=record.theme,
                suggestion=record.id,
                version=allowed.version,
                hash=allowed.hash,
            )
        self.on_publish()

    def mark_posted(self, suggestion_id: str, *, user: str, now: datetime) -> Outcome:
        """Manual publisher: `user` posted the approved text; the theme is answered."""
        record = self.store.suggestion(suggestion_id)
        if record is None:
            return Outcome(None, refusal=Refusal.NOT_PENDING)
        if record.status is SuggestionStatus.PUBLISHED:
            return Outcome(record, duplicate=True)
        requirement = self.requirement(record)
        if not self.is_one_of(user, requirement.approvers):
            return Outcome(record, refusal=Refusal.NOT_APPROVER)
        allowed = self.publishable(record)
        if allowed is None:
            return Outcome(record, refusal=Refusal.NOT_PENDING)
        return Outcome(self._published(record, allowed, by=user, now=now, answer=None))

    def _published(
        self,
        record: SuggestionRecord,
        allowed: Publishable,
        *,
        by: str,
        now: datetime,
        answer: str | None,
    ) -> SuggestionRecord:
        updated = replace(
            record, status=SuggestionStatus.PUBLISHED, published_by=by, published_at=now
        )
        self.store.save_suggestion(
            updated, action="published", now=now, by=by, version=allowed.version, hash=allowed.hash
        )
        self.desk.mark_answered(record.theme, by=by, now=now)
        self._note(updated, "published", by=by, now=now, answer=answer)
        self._reshow(updated, allowed.version, now=now)
        if answer is None:  # posted by hand: the ready-to-copy message loses its button
            self._reshow(updated, allowed.version, now=now, shows=SUGGESTION_READY)
        return updated

    def delivered(self, key: str, *, status: int, answer: str, now: datetime) -> None:
        """The webhook publisher's platform took delivery `key` (answered 2xx)."""
        delivery = self.store.delivery(key)
        record = self.store.suggestion(delivery["suggestion"]) if delivery else None
        if delivery is None or record is None:
            return
        self.store.save_delivery(
            delivery | {"state": "delivered", "status": status, "answer": answer[:2000]}
        )
        if record.status is SuggestionStatus.APPROVED:
            allowed = Publishable(
                record.id,
                int(delivery["version"]),
                str(delivery["text"]),
                str(delivery["hash"]),
                tuple(delivery["approved_by"]),
            )
            self._published(record, allowed, by=COMMSBOT, now=now, answer=answer[:500])

    def delivery_failed(self, key: str, *, error: str, permanent: bool, now: datetime) -> None:
        """A delivery failed: for good (reported in the thread), or to be retried."""
        delivery = self.store.delivery(key)
        record = self.store.suggestion(delivery["suggestion"]) if delivery else None
        if delivery is None or record is None:
            return
        self.store.record_audit(
            "suggestion.publish_failed",
            now=now,
            theme=record.theme,
            suggestion=record.id,
            version=delivery["version"],
            error=error[:500],
            permanent=permanent,
        )
        if permanent:
            self._note(record, "publish_failed", by=COMMSBOT, now=now, error=error[:500])
