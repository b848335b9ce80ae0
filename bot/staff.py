"""Staff actions on themes: who may act, what is asked checked, then applied through the Store.

The application service behind the theme buttons, modals and `/comms theme ...`: it checks
that the person is a desk member of the theme's account (`Membership`, resolved by the
edge), that what they ask makes sense (the theme and post exist, targets are open themes of
the same account), and only then asks the Store, which applies the pure transition and
writes it, with the audit entry (and, for a re-categorisation, the labelled example), all or
nothing. A refusal (`ActionRefused`) changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.config import DeskConfig
from bot.core.people import Membership, People
from bot.core.posts import Category
from bot.core.staff import ActionRefused, Refusal, ThemeCommand, Verb
from bot.core.theme_state import CloseReason, ThemeStatus
from bot.desk import Desk
from bot.storage import Store, StoredTheme


class StaffDesk:
    """Applies staff actions for desk members; refuses anyone else."""

    def __init__(self, *, desk: Desk, membership: Membership) -> None:
        self.desk = desk
        self.store: Store = desk.store
        self.config: DeskConfig = desk.config
        self.membership = membership

    # -- who may act ------------------------------------------------------------------------

    def members_of(self, account: str) -> People:
        """The desk members of `account` (nobody for an account not configured)."""
        found = self.config.desk.accounts.get(account)
        return found.members.people() if found is not None else People()

    def may_act(self, user: str, account: str) -> bool:
        """Whether `user` is a desk member of `account`."""
        return self.membership.is_one_of(user, self.members_of(account))

    def is_admin(self, user: str) -> bool:
        """Whether `user` is a desk admin."""
        return self.membership.is_one_of(user, self.config.desk.admins.people())

    def require_admin(self, user: str) -> None:
        """ActionRefused unless `user` is a desk admin."""
        if not self.is_admin(user):
            raise ActionRefused(Refusal.NOT_AN_ADMIN)

    def theme_for(self, user: str, ref: str, *, field: str | None = None) -> StoredTheme:
        """Theme `ref`, if it exists and `user` may act on it; ActionRefused otherwise."""
        stored = self.store.theme(ref)
        if stored is None:
            raise ActionRefused(Refusal.NO_SUCH_THEME, field=field, ref=ref)
        account = stored.theme.account
        if not self.may_act(user, account):
            raise ActionRefused(
                Refusal.NOT_A_MEMBER,
                ref=ref,
                account=self.config.desk.accounts[account].name
                if account in self.config.desk.accounts
                else account,
            )
        return stored

    def _post(self, ref: str, key: str, *, field: str | None = None) -> Mapping[str, Any]:
        doc = self.store.get_post_record(key)
        if doc is None or doc.get("theme") != ref:
            raise ActionRefused(Refusal.NO_SUCH_POST, field=field, ref=ref, post=key[:80])
        return doc

    def _target(
        self, source: StoredTheme, target: str, *, user: str, field: str | None
    ) -> StoredTheme:
        if target == source.theme.ref:
            raise ActionRefused(Refusal.SAME_THEME, field=field, ref=target)
        found = self.store.theme(target)
        if found is None:
            raise ActionRefused(Refusal.NO_SUCH_THEME, field=field, ref=target)
        if found.theme.account != source.theme.account:
            raise ActionRefused(Refusal.OTHER_ACCOUNT, field=field, ref=target)
        if found.theme.status is ThemeStatus.CLOSED:
            raise ActionRefused(Refusal.TARGET_CLOSED, field=field, ref=target)
        return found

    # -- actions ----------------------------------------------------------------------------

    def claim(self, ref: str, *, owner: str | None, user: str, now: datetime) -> None:
        """`owner` (usually `user` themself; None: nobody) becomes the owner of theme `ref`."""
        self.theme_for(user, ref)
        self.store.claim_theme(ref, owner=owner, by=user, now=now)

    def close(self, ref: str, *, reason: CloseReason, user: str, now: datetime) -> None:
        """Close theme `ref` for `reason`."""
        stored = self.theme_for(user, ref)
        if stored.theme.status is ThemeStatus.CLOSED:
            raise ActionRefused(Refusal.ALREADY_CLOSED, ref=ref)
        self.store.close_theme(ref, reason=reason, by=user, now=now)

    def reopen(self, ref: str, *, user: str, now: datetime) -> None:
        """Open theme `ref` again."""
        stored = self.theme_for(user, ref)
        if stored.theme.status is not ThemeStatus.CLOSED:
            raise ActionRefused(Refusal.NOT_CLOSED, ref=ref)
        self.store.reopen_theme(ref, by=user, now=now)

    def merge(
        self, ref: str, *, into: str, user: str, now: datetime, field: str | None = None
    ) -> None:
        """Every post of theme `ref` joins `into`; `ref` is closed as merged."""
        stored = self.theme_for(user, ref)
        self._target(stored, into, user=user, field=field)
        self.store.merge_themes(into=into, away=ref, by=user, now=now)

    def move(
        self,
        ref: str,
        *,
        post: str,
        to: str | None,
        user: str,
        now: datetime,
        fields: tuple[str | None, str | None] = (None, None),
    ) -> str:
        """Move `post` of theme `ref` to theme `to`, or a new theme; the theme it is now in."""
        stored = self.theme_for(user, ref)
        self._post(ref, post, field=fields[0])
        if to is not None:
            self._target(stored, to, user=user, field=fields[1])
        return self.store.move_post(post, to=to, by=user, now=now)

    def recategorise(
        self,
        ref: str,
        *,
        category: Category,
        post: str | None,
        user: str,
        now: datetime,
        fields: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Re-categorise post `post` of theme `ref`, or the whole theme when `post` is None."""
        stored = self.theme_for(user, ref)
        account = stored.theme.account
        channels = self.desk.channels_for(account, category)
        if post is not None:
            doc = self._post(ref, post, field=fields[0])
            if doc["category"] == category.value:
                raise ActionRefused(
                    Refusal.SAME_CATEGORY, field=fields[1], ref=ref, category=category.value
                )
            self.store.recategorise_post(
                post, category=category, channels=channels, by=user, now=now
            )
            return
        if stored.theme.category == category.value and all(
            c == category.value for c, _ in stored.theme.by_category
        ):
            raise ActionRefused(
                Refusal.SAME_CATEGORY, field=fields[1], ref=ref, category=category.value
            )
        self.store.recategorise_theme(ref, category=category, channels=channels, by=user, now=now)

    def run(self, command: ThemeCommand, *, user: str, now: datetime) -> StoredTheme:
        """Carry out a parsed `/comms theme` command; the theme as it is afterwards."""
        ref = command.ref
        if command.verb is Verb.SHOW:
            return self.theme_for(user, ref)
        if command.verb is Verb.CLAIM:
            self.claim(ref, user=user, owner=user, now=now)
        elif command.verb is Verb.UNCLAIM:
            self.claim(ref, user=user, owner=None, now=now)
        elif command.verb is Verb.CLOSE:
            assert command.reason is not None
            self.close(ref, reason=command.reason, user=user, now=now)
        elif command.verb is Verb.REOPEN:
            self.reopen(ref, user=user, now=now)
        elif command.verb is Verb.MERGE:
            assert command.target is not None
            self.merge(ref, into=command.target, user=user, now=now)
        elif command.verb is Verb.MOVE:
            assert command.post is not None
            ref = self.move(ref, post=command.post, to=command.target, user=user, now=now)
        elif command.verb is Verb.RECATEGORISE:
            assert command.category is not None
            self.recategorise(ref, category=command.category, post=command.post, user=user, now=now)
        stored = self.store.theme(ref)
        assert stored is not None
        return stored
