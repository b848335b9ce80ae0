"""Domain values for flagged posts from the public."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Network(StrEnum):
    """Social networks a post can arrive from."""

    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    YOUTUBE = "youtube"
    OTHER = "other"


# Other names people and tools use for a network.
NETWORK_ALIASES = {"twitter": Network.X.value}


def canonical_network(name: str) -> str:
    """A network's name as commsbot spells it: lower case, aliases resolved."""
    lowered = name.strip().lower()
    return NETWORK_ALIASES.get(lowered, lowered)


class Kind(StrEnum):
    """What sort of item the post is on its network."""

    POST = "post"
    COMMENT = "comment"
    REPLY = "reply"
    DIRECT_MESSAGE = "direct_message"


class Category(StrEnum):
    """Which desk route handles a post."""

    URGENT = "urgent"
    SUBJECT_ACCESS = "subject_access"
    FOI = "foi"
    MODERATION = "moderation"
    MEDIA = "media"
    COMPLAINT = "complaint"
    ENQUIRY = "enquiry"
    GENERAL = "general"
    # No rule was confident: a person decides. Routed to the account's `unsorted` channel,
    # or its enquiry channel when it has none.
    UNSORTED = "unsorted"


class Flag(StrEnum):
    """Extra warnings attached to a post whatever its category."""

    PERSONAL_DATA = "personal_data"
    LINK = "link"
    # Raised by the rule that matched: report through the hate crime route; legal risk.
    HATE_CRIME = "hate_crime"
    LEGAL = "legal"


@dataclass(frozen=True)
class Author:
    """The member of the public who wrote a post."""

    handle: str
    name: str | None = None
    followers: int | None = None


@dataclass(frozen=True)
class Post:
    """One flagged item from a social network; `posted_at` is timezone-aware UTC."""

    id: str
    network: Network
    account: str
    author: Author
    text: str
    posted_at: datetime
    url: str | None = None
    kind: Kind = Kind.POST
    flagged_by: str | None = None

    @property
    def key(self) -> str:
        """The identity of a post across the desk: a repeat of it is a duplicate."""
        return f"{self.network.value}:{self.id}"


@dataclass(frozen=True)
class FlagHit:
    """A flag raised on a post and what raised it (never the matched personal data itself)."""

    flag: Flag
    reason: str


@dataclass(frozen=True)
class Opinion:
    """The learned second opinion on a post: the category it would choose and how sure it is."""

    category: Category
    confidence: float


@dataclass(frozen=True)
class Classification:
    """The category a post was given, the rule that decided it, and its flags.

    `hint` is what an unsure rule suggested for an unsorted post; `opinion` is the second
    opinion when there is one.
    """

    category: Category
    rule: str
    flags: tuple[FlagHit, ...] = field(default=())
    hint: Category | None = None
    opinion: Opinion | None = None

    @property
    def flag_names(self) -> list[str]:
        """The flags as plain strings, each once, in order."""
        seen: list[str] = []
        for hit in self.flags:
            if hit.flag.value not in seen:
                seen.append(hit.flag.value)
        return seen
