"""Stored documents as plain dicts, with explicit conversion, and the instants they carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.core.posts import (
    Author,
    Category,
    Classification,
    Flag,
    FlagHit,
    Kind,
    Network,
    Opinion,
    Post,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(instant: datetime) -> datetime:
    """`instant` in UTC; naive instants are refused."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def iso(instant: datetime) -> str:
    """An instant as stored: ISO 8601 in UTC."""
    return utc(instant).isoformat()


def parse(value: str) -> datetime:
    """A stored instant back."""
    return datetime.fromisoformat(value).astimezone(UTC)


def hour_of(instant: datetime) -> datetime:
    """The UTC hour `instant` falls in."""
    return utc(instant).replace(minute=0, second=0, microsecond=0)


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class PostToAccept:
    """One post offered for storage, with its routing: where it goes and who else sees it.

    `breaches` is the author's moderation count when the post went to moderation.
    """

    post: Post
    classification: Classification
    channel: str
    also: tuple[str, ...] = ()
    breaches: int | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel that shows the post: its own first."""
        return tuple(dict.fromkeys((self.channel, *self.also)))


def post_to_doc(post: Post) -> dict[str, Any]:
    """The plain-dict form of a post, as stored."""
    return {
        "key": post.key,
        "id": post.id,
        "network": post.network.value,
        "account": post.account,
        "author": {
            "handle": post.author.handle,
            "name": post.author.name,
            "followers": post.author.followers,
        },
        "text": post.text,
        "url": post.url,
        "posted_at": iso(post.posted_at),
        "kind": post.kind.value,
        "flagged_by": post.flagged_by,
    }


def post_from_doc(doc: Mapping[str, Any]) -> Post:
    """A post back from its stored form."""
    author = doc["author"]
    return Post(
        id=doc["id"],
        network=Network(doc["network"]),
        account=doc["account"],
        author=Author(
            handle=author["handle"], name=author.get("name"), followers=author.get("followers")
        ),
        text=doc["text"],
        url=doc.get("url"),
        posted_at=parse(doc["posted_at"]),
        kind=Kind(doc.get("kind", "post")),
        flagged_by=doc.get("flagged_by"),
    )


def classification_from_doc(doc: Mapping[str, Any]) -> Classification:
    """The classification stored with a post (hint and second opinion included)."""
    opinion = doc.get("opinion")
    return Classification(
        category=Category(doc["category"]),
        rule=doc["rule"],
        flags=tuple(
            FlagHit(Flag(name), reason)
            for name, reason in zip(
                doc.get("flags") or [], doc.get("flag_reasons") or [], strict=False
            )
        ),
        hint=Category(doc["hint"]) if doc.get("hint") else None,
        opinion=(
            Opinion(Category(opinion["category"]), float(opinion["confidence"]))
            if opinion
            else None
        ),
    )


def routed_doc(offer: PostToAccept, *, received_at: datetime) -> dict[str, Any]:
    """A post as stored when accepted: its fields, routing, and (later) its theme."""
    classification = offer.classification
    opinion = classification.opinion
    return post_to_doc(offer.post) | {
        "received_at": iso(received_at),
        "category": classification.category.value,
        "rule": classification.rule,
        "flags": classification.flag_names,
        "flag_reasons": [hit.reason for hit in classification.flags],
        "hint": classification.hint.value if classification.hint else None,
        "opinion": (
            {"category": opinion.category.value, "confidence": opinion.confidence}
            if opinion
            else None
        ),
        "channel": offer.channel,
        "also": list(offer.also),
        "breaches": offer.breaches,
        "theme": None,
        "theme_seq": None,
        "positions": {},
        "placed": None,
        "priority": None,
        "delivery": None,
    }


def channels_of(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Every channel a stored post is shown in: its own first, then copies."""
    return tuple(dict.fromkeys((doc["channel"], *(doc.get("also") or ()))))
