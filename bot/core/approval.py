"""Suggested replies as versioned state, and who may approve which version.

A suggestion belongs to one theme and is shown in its thread. Each change of text is a new
version (commsbot's own render, a template chosen from the menu, or a person's edit); an
approval names the version and the hash of its text. Nothing is publishable unless the
latest version is approved, completely, by people other than its author, and every
approval's hash is the hash of exactly the text that is about to be sent (`publishable`).

Pure: no clock, no Slack, no storage. Who is in a user group is a predicate the edge
supplies (`is_one_of`), so a group Slack cannot resolve counts as empty (fail safe).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.core.people import People

COMMSBOT = "commsbot"  # the author of versions commsbot rendered from a template


class SuggestionStatus(StrEnum):
    """Where a suggestion stands."""

    PENDING = "pending"  # waiting for approval (possibly with some approvals already)
    APPROVED = "approved"  # approved; on its way to the publisher
    REJECTED = "rejected"
    PUBLISHED = "published"  # the publisher took it (webhook answered, or posted by hand)
    SUPERSEDED = "superseded"  # the theme's situation changed: a newer suggestion replaced it


class Refusal(StrEnum):
    """Why a person's approval (or rejection) changes nothing."""

    NOT_PENDING = "not_pending"  # already approved, rejected or published
    STALE_VERSION = "stale_version"  # a newer version exists: approve that one
    OWN_VERSION = "own_version"  # nobody approves a version they wrote or edited
    NOT_APPROVER = "not_approver"
    NOT_ON_DESK = "not_on_desk"  # editing or choosing a template: desk members and approvers
    NEEDS_ROLE = "needs_role"  # a political topic: the last approval must be from the role
    NEEDS_CRISIS_APPROVER = "needs_crisis_approver"
    DOES_NOT_FIT = "does_not_fit"  # over the network's limit: must be cut before approval


def text_hash(text: str) -> str:
    """The fingerprint an approval is recorded against: SHA-256 of the exact text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


IsOneOf = Callable[[str, People], bool]


def _union(a: People, b: People) -> People:
    return People(users=a.users | b.users, usergroups=a.usergroups | b.usergroups)


@dataclass(frozen=True)
class Version:
    """One text of a suggestion: who wrote it (commsbot or a person) and from which template."""

    n: int
    text: str
    template: str
    author: str
    at: datetime
    fits: bool = True
    over_by: int = 0
    length: int = 0
    limit: int = 0
    why: str = ""
    requested_by: str | None = None  # who asked for this template from the menu

    @property
    def hash(self) -> str:
        """The hash of this version's text."""
        return text_hash(self.text)


@dataclass(frozen=True)
class Approval:
    """One person's approval of one version, against the hash of its text."""

    version: int
    by: str
    at: datetime
    hash: str


@dataclass(frozen=True)
class Rejection:
    """A version turned down, and why."""

    version: int
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class SuggestionRecord:
    """A theme's suggested reply: every version, approvals, and where it stands."""

    id: str
    theme: str
    account: str
    network: str
    channel: str
    category: str
    versions: tuple[Version, ...]
    approvals: tuple[Approval, ...] = ()
    rejection: Rejection | None = None
    status: SuggestionStatus = SuggestionStatus.PENDING
    situation: str = ""  # what it was chosen for (a new situation makes a new suggestion)
    political: bool = False
    published_by: str | None = None
    published_at: datetime | None = None

    @property
    def latest(self) -> Version:
        """The newest version: the only one that may be approved."""
        return self.versions[-1]

    def version(self, n: int) -> Version | None:
        """Version `n`, if there is one."""
        return next((v for v in self.versions if v.n == n), None)

    def approvals_of(self, n: int) -> tuple[Approval, ...]:
        """The approvals recorded for version `n`."""
        return tuple(a for a in self.approvals if a.version == n)

    @property
    def is_open(self) -> bool:
        """Whether people may still edit, approve or reject it."""
        return self.status is SuggestionStatus.PENDING

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "id": self.id,
            "theme": self.theme,
            "account": self.account,
            "network": self.network,
            "channel": self.channel,
            "category": self.category,
            "versions": [
                {
                    "n": v.n,
                    "text": v.text,
                    "template": v.template,
                    "author": v.author,
                    "at": v.at.isoformat(),
                    "fits": v.fits,
                    "over_by": v.over_by,
                    "length": v.length,
                    "limit": v.limit,
                    "why": v.why,
                    "requested_by": v.requested_by,
                }
                for v in self.versions
            ],
            "approvals": [
                {"version": a.version, "by": a.by, "at": a.at.isoformat(), "hash": a.hash}
                for a in self.approvals
            ],
            "rejection": None
            if self.rejection is None
            else {
                "version": self.rejection.version,
                "by": self.rejection.by,
                "at": self.rejection.at.isoformat(),
                "reason": self.rejection.reason,
            },
            "status": self.status.value,
            "situation": self.situation,
            "political": self.political,
            "published_by": self.published_by,
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuggestionRecord:
        """The record `to_dict` wrote; ValueError if the data is not one."""
        try:
            rejection = data.get("rejection")
            return cls(
                id=str(data["id"]),
                theme=str(data["theme"]),
                account=str(data["account"]),
                network=str(data["network"]),
                channel=str(data["channel"]),
                category=str(data["category"]),
                versions=tuple(
                    Version(
                        n=int(v["n"]),
                        text=str(v["text"]),
                        template=str(v["template"]),
                        author=str(v["author"]),
                        at=datetime.fromisoformat(v["at"]),
                        fits=bool(v.get("fits", True)),
                        over_by=int(v.get("over_by", 0)),
                        length=int(v.get("length", 0)),
                        limit=int(v.get("limit", 0)),
                        why=str(v.get("why", "")),
                        requested_by=v.get("requested_by"),
                    )
                    for v in data["versions"]
                ),
                approvals=tuple(
                    Approval(
                        version=int(a["version"]),
                        by=str(a["by"]),
                        at=datetime.fromisoformat(a["at"]),
                        hash=str(a["hash"]),
                    )
                    for a in data.get("approvals") or ()
                ),
                rejection=None
                if not rejection
                else Rejection(
                    version=int(rejection["version"]),
                    by=str(rejection["by"]),
                    at=datetime.fromisoformat(rejection["at"]),
                    reason=str(rejection["reason"]),
                ),
                status=SuggestionStatus(data.get("status", "pending")),
                situation=str(data.get("situation", "")),
                political=bool(data.get("political", False)),
                published_by=data.get("published_by"),
                published_at=datetime.fromisoformat(data["published_at"])
                if data.get("published_at")
                else None,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored suggestion: {exc}") from None


# -- who may approve --------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalPolicy:
    """An account's approval rules (desk.yaml `accounts.<account>.approval`)."""

    approvers: People = field(default_factory=People)
    two_approvers: frozenset[str] = frozenset()  # categories needing two people
    political_approvers: People = field(default_factory=People)
    crisis_approver: People = field(default_factory=People)


@dataclass(frozen=True)
class Requirement:
    """What approving one suggestion takes now."""

    approvers: People  # who may give an approval
    count: int = 1  # how many different people
    role: People | None = None  # at least one approval must come from these people
    role_refusal: Refusal = Refusal.NEEDS_ROLE


def requirement_for(
    policy: ApprovalPolicy, *, category: str, political: bool, crisis: bool
) -> Requirement:
    """What approving a suggestion of `category` takes, in or out of crisis mode.

    In crisis mode one named approver signs off every message, and nobody else. A political
    or controversial topic needs an approval from the political role (who may approve it
    even when not an ordinary approver). Nobody configured means nobody may approve.
    """
    if crisis:
        return Requirement(
            approvers=policy.crisis_approver,
            count=1,
            role=policy.crisis_approver,
            role_refusal=Refusal.NEEDS_CRISIS_APPROVER,
        )
    count = 2 if category in policy.two_approvers else 1
    if political:
        return Requirement(
            approvers=_union(policy.approvers, policy.political_approvers),
            count=count,
            role=policy.political_approvers,
        )
    return Requirement(approvers=policy.approvers, count=count)


@dataclass(frozen=True)
class Verdict:
    """What one approval does: refused (and why), counted, and whether it completes."""

    refusal: Refusal | None = None
    duplicate: bool = False  # this person had already approved this version: no change
    complete: bool = False
    still_needed: int = 0


def _complete(approvers: Iterable[str], requirement: Requirement, is_one_of: IsOneOf) -> bool:
    people = set(approvers)
    if len(people) < requirement.count:
        return False
    return requirement.role is None or any(is_one_of(p, requirement.role) for p in people)


def judge(
    record: SuggestionRecord,
    *,
    version: int,
    user: str,
    requirement: Requirement,
    is_one_of: IsOneOf,
) -> Verdict:
    """Whether `user` may approve `version` of `record` now, and what it would complete."""
    if not record.is_open:
        return Verdict(refusal=Refusal.NOT_PENDING)
    if version != record.latest.n:
        return Verdict(refusal=Refusal.STALE_VERSION)
    latest = record.latest
    if latest.author == user:
        return Verdict(refusal=Refusal.OWN_VERSION)
    if not is_one_of(user, requirement.approvers):
        refusal = (
            requirement.role_refusal
            if requirement.role_refusal is Refusal.NEEDS_CRISIS_APPROVER
            else Refusal.NOT_APPROVER
        )
        return Verdict(refusal=refusal)
    if not latest.fits:
        return Verdict(refusal=Refusal.DOES_NOT_FIT)
    already = [a.by for a in record.approvals_of(version)]
    if user in already:
        return Verdict(duplicate=True)
    # An approval counts only while its giver is still an approver (the configuration may
    # have changed since it was given).
    people = {*(p for p in already if is_one_of(p, requirement.approvers)), user}
    if (
        requirement.role is not None
        and len(people) >= requirement.count
        and not any(is_one_of(p, requirement.role) for p in people)
    ):
        return Verdict(refusal=requirement.role_refusal)
    complete = _complete(people, requirement, is_one_of)
    return Verdict(complete=complete, still_needed=max(requirement.count - len(people), 0))


def approve(
    record: SuggestionRecord,
    *,
    version: int,
    user: str,
    requirement: Requirement,
    is_one_of: IsOneOf,
    now: datetime,
) -> tuple[SuggestionRecord, Verdict]:
    """`record` with `user`'s approval of `version` added (unchanged when refused)."""
    verdict = judge(
        record, version=version, user=user, requirement=requirement, is_one_of=is_one_of
    )
    if verdict.refusal is not None or verdict.duplicate:
        return record, verdict
    approval = Approval(version=version, by=user, at=now, hash=record.latest.hash)
    status = SuggestionStatus.APPROVED if verdict.complete else SuggestionStatus.PENDING
    return replace(record, approvals=(*record.approvals, approval), status=status), verdict


def withdraw(record: SuggestionRecord, *, version: int, user: str) -> SuggestionRecord:
    """`record` without `user`'s approval of `version`, while it is still incomplete."""
    if not record.is_open:
        return record
    kept = tuple(a for a in record.approvals if not (a.version == version and a.by == user))
    return replace(record, approvals=kept)


def may_reject(
    record: SuggestionRecord, *, user: str, requirement: Requirement, is_one_of: IsOneOf
) -> Refusal | None:
    """Why `user` may not reject `record` now, or None: approvers may turn a reply down."""
    if not record.is_open:
        return Refusal.NOT_PENDING
    if not is_one_of(user, requirement.approvers):
        return Refusal.NOT_APPROVER
    return None


def reject(
    record: SuggestionRecord, *, version: int, user: str, reason: str, now: datetime
) -> SuggestionRecord:
    """`record` turned down by `user` (check `may_reject` first)."""
    rejection = Rejection(version=version, by=user, at=now, reason=reason)
    return replace(record, rejection=rejection, status=SuggestionStatus.REJECTED)


def add_version(
    record: SuggestionRecord,
    *,
    text: str,
    template: str,
    author: str,
    now: datetime,
    fits: bool,
    over_by: int = 0,
    length: int = 0,
    limit: int = 0,
    why: str = "",
    requested_by: str | None = None,
) -> SuggestionRecord:
    """`record` with a new latest version; approvals of older versions no longer count."""
    version = Version(
        n=record.latest.n + 1,
        text=text,
        template=template,
        author=author,
        at=now,
        fits=fits,
        over_by=over_by,
        length=length,
        limit=limit,
        why=why,
        requested_by=requested_by,
    )
    return replace(record, versions=(*record.versions, version))


@dataclass(frozen=True)
class Publishable:
    """The exact text a publisher may send, and the approvals that allow it."""

    suggestion: str
    version: int
    text: str
    hash: str
    approved_by: tuple[str, ...]


def publishable(
    record: SuggestionRecord, *, requirement: Requirement, is_one_of: IsOneOf
) -> Publishable | None:
    """What may be published for `record`, or None: THE INVARIANT.

    Only an approved suggestion's latest version, whose approvals (by people other than its
    author) each carry the hash of exactly that text and meet `requirement` as it is now;
    an approval by someone who is no longer an approver counts for nothing.
    """
    if record.status is not SuggestionStatus.APPROVED:
        return None
    latest = record.latest
    if not latest.fits:
        return None
    good = [
        a.by
        for a in record.approvals_of(latest.n)
        if a.hash == text_hash(latest.text)
        and a.by != latest.author
        and is_one_of(a.by, requirement.approvers)
    ]
    if not good:
        return None
    if not _complete(good, requirement, is_one_of):
        return None
    return Publishable(record.id, latest.n, latest.text, latest.hash, tuple(good))


# -- the words around it -----------------------------------------------------------------


class DiffOp(StrEnum):
    """One run of a word-level diff."""

    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class DiffPart:
    """A run of words that stayed, were added or were removed."""

    op: DiffOp
    text: str


_TOKENS = re.compile(r"\S+|\s+")


def word_diff(old: str, new: str) -> tuple[DiffPart, ...]:
    """What an edit changed, word by word (whitespace kept with the words)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart(DiffOp.SAME, "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            parts.append(DiffPart(DiffOp.REMOVED, "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            parts.append(DiffPart(DiffOp.ADDED, "".join(b[j1:j2])))
    return tuple(p for p in parts if p.text)


@dataclass(frozen=True)
class PoliticalRules:
    """What makes a theme political or controversial (desk.yaml `approval.political`)."""

    keywords: frozenset[str] = frozenset()
    periods: tuple[tuple[date, date], ...] = ()  # pre-election periods, inclusive


def is_political(texts: Iterable[str], *, rules: PoliticalRules, today: date) -> bool:
    """Whether a theme needs a political approver: a keyword in its posts, or any theme
    during a pre-election period."""
    if any(start <= today <= end for start, end in rules.periods):
        return True
    if not rules.keywords:
        return False
    words = set()
    for text in texts:
        words.update(re.findall(r"[\w'-]+", text.casefold()))
        lowered = text.casefold()
        if any(" " in k and k.casefold() in lowered for k in rules.keywords):
            return True
    return any(k.casefold() in words for k in rules.keywords if " " not in k)


@dataclass(frozen=True)
class ThreadNote:
    """An event on a suggestion the thread shows (and the audit records)."""

    action: str  # suggested, edited, approved, approval_counted, rejected, template_changed…
    suggestion: str
    version: int
    by: str
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
