"""Staff actions on themes as people ask for them: `/comms theme ...` parsed, refusals named.

Pure: the words shown live in templates (`slack/action_refused.j2`, `slack/theme_done.j2`);
here an action is a value and a refusal is a reason code with the details to show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.errors import DeskError
from bot.core.posts import Category
from bot.core.theme_state import CloseReason
from bot.core.themes import format_ref


class Verb(StrEnum):
    """What a member of staff asks to do to a theme."""

    SHOW = "show"
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"
    MOVE = "move"
    RECATEGORISE = "recategorise"


class Refusal(StrEnum):
    """Why an action was not done (each has its words in `slack/action_refused.j2`)."""

    NOT_A_MEMBER = "not_a_member"
    NOT_AN_ADMIN = "not_an_admin"
    NO_SUCH_THEME = "no_such_theme"
    NO_SUCH_POST = "no_such_post"
    BAD_REF = "bad_ref"
    USAGE = "usage"
    BAD_REASON = "bad_reason"
    BAD_CATEGORY = "bad_category"
    SAME_THEME = "same_theme"
    OTHER_ACCOUNT = "other_account"
    TARGET_CLOSED = "target_closed"
    ALREADY_CLOSED = "already_closed"
    NOT_CLOSED = "not_closed"
    SAME_CATEGORY = "same_category"
    NO_DEAD_LETTER = "no_dead_letter"


class ActionRefused(DeskError):
    """A staff action that cannot be done; nothing was changed.

    `field` names the modal input the problem is about, when it came from a modal.
    """

    def __init__(self, reason: Refusal, *, field: str | None = None, **details: Any) -> None:
        self.reason = reason
        self.field = field
        self.details: Mapping[str, Any] = details
        shown = ", ".join(f"{k}={v}" for k, v in details.items())
        super().__init__(f"{reason.value}" + (f" ({shown})" if shown else ""))


@dataclass(frozen=True)
class ThemeCommand:
    """`/comms theme <ref> <verb> ...` as values."""

    ref: str
    verb: Verb
    reason: CloseReason | None = None
    target: str | None = None  # a theme ref; None with MOVE: a new theme
    post: str | None = None  # a post key (MOVE, RECATEGORISE of one post)
    category: Category | None = None


_REF = re.compile(r"^t-?0*(\d{1,9})$", re.IGNORECASE)
_POST_KEY = re.compile(r"^[a-z]+:\S{1,200}$")
_REASONS = {
    "answered_elsewhere": CloseReason.ANSWERED_ELSEWHERE,
    "answered-elsewhere": CloseReason.ANSWERED_ELSEWHERE,
    "elsewhere": CloseReason.ANSWERED_ELSEWHERE,
    "no_reply_needed": CloseReason.NO_REPLY_NEEDED,
    "no-reply-needed": CloseReason.NO_REPLY_NEEDED,
    "no-reply": CloseReason.NO_REPLY_NEEDED,
    "noreply": CloseReason.NO_REPLY_NEEDED,
    "duplicate": CloseReason.DUPLICATE,
    "spam": CloseReason.SPAM,
}
_VERBS = {v.value: v for v in Verb} | {
    "recategorize": Verb.RECATEGORISE,
    "recat": Verb.RECATEGORISE,
}
_CATEGORIES = {c.value: c for c in Category} | {"sar": Category.SUBJECT_ACCESS}
STAFF_REASONS = tuple(r for r in CloseReason if r is not CloseReason.MERGED)


def normalise_ref(text: str) -> str:
    """`T-0042` from `t-42`, `T42` or `T-0042`; ActionRefused(BAD_REF) otherwise."""
    found = _REF.match(text.strip())
    if found is None or int(found.group(1)) < 1:
        raise ActionRefused(Refusal.BAD_REF, ref=text.strip()[:40])
    return format_ref(int(found.group(1)))


def close_reason(text: str) -> CloseReason:
    """A close reason from its name or a short form; ActionRefused(BAD_REASON) otherwise."""
    found = _REASONS.get(text.strip().lower())
    if found is None:
        raise ActionRefused(Refusal.BAD_REASON, given=text.strip()[:40])
    return found


def category_named(text: str) -> Category:
    """A category from its name; ActionRefused(BAD_CATEGORY) otherwise."""
    found = _CATEGORIES.get(text.strip().lower().replace("-", "_"))
    if found is None:
        raise ActionRefused(Refusal.BAD_CATEGORY, category=text.strip()[:40])
    return found


def parse_theme_command(text: str) -> ThemeCommand:
    """`<ref> [show|claim|unclaim|reopen|close <reason>|merge [into] <ref>|move <post> [to]
    <ref|new>|recategorise [<post>] <category>]`."""
    words = text.split()
    if not words:
        raise ActionRefused(Refusal.USAGE)
    ref = normalise_ref(words[0])
    verb_word = words[1].lower() if len(words) > 1 else "show"
    verb = _VERBS.get(verb_word)
    rest = words[2:]
    if verb is None:
        raise ActionRefused(Refusal.USAGE, ref=ref)
    if verb in (Verb.SHOW, Verb.CLAIM, Verb.UNCLAIM, Verb.REOPEN):
        if rest:
            raise ActionRefused(Refusal.USAGE, ref=ref)
        return ThemeCommand(ref, verb)
    if verb is Verb.CLOSE:
        if len(rest) != 1:
            raise ActionRefused(Refusal.BAD_REASON, given=" ".join(rest)[:40])
        return ThemeCommand(ref, verb, reason=close_reason(rest[0]))
    if verb is Verb.MERGE:
        if rest and rest[0].lower() == "into":
            rest = rest[1:]
        if len(rest) != 1:
            raise ActionRefused(Refusal.USAGE, ref=ref)
        return ThemeCommand(ref, verb, target=normalise_ref(rest[0]))
    if verb is Verb.MOVE:
        if len(rest) == 3 and rest[1].lower() == "to":
            rest = [rest[0], rest[2]]
        if len(rest) != 2 or not _POST_KEY.match(rest[0]):
            raise ActionRefused(Refusal.USAGE, ref=ref)
        target = None if rest[1].lower() == "new" else normalise_ref(rest[1])
        return ThemeCommand(ref, verb, post=rest[0], target=target)
    # RECATEGORISE: the whole theme, or one of its posts.
    if len(rest) == 1:
        return ThemeCommand(ref, verb, category=category_named(rest[0]))
    if len(rest) == 2 and _POST_KEY.match(rest[0]):
        return ThemeCommand(ref, verb, post=rest[0], category=category_named(rest[1]))
    raise ActionRefused(Refusal.USAGE, ref=ref)
