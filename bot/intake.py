"""The intake webhook's body: parsing, validation and per-item results.

Untrusted input: everything here is checked before a post reaches the desk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from bot.core.posts import NETWORK_ALIASES, Author, Kind, Network, Post, canonical_network
from bot.core.text import safe_link_target

_NETWORKS = {n.value for n in Network}
# A date, a time and a UTC offset (Z or +hh:mm): what the README promises to accept.
_ISO_WITH_OFFSET = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|z|[+-]\d{2}:?\d{2})"
)
MAX_FOLLOWERS = 100_000_000_000


def _no_control_characters(value: object) -> object:
    """Identifiers are refused, not silently cleaned, when they hold control characters."""
    if isinstance(value, str) and any(not char.isprintable() and char != " " for char in value):
        raise ValueError("must not contain control characters or line breaks")
    return value


class AuthorIn(BaseModel):
    """The author of an incoming post."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    handle: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    followers: int | None = Field(default=None, ge=0, le=MAX_FOLLOWERS, strict=True)

    @field_validator("handle", mode="before")
    @classmethod
    def _plain_handle(cls, value: object) -> object:
        return _no_control_characters(value)

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        """Names are shown inline: line breaks and control characters cannot fake a layout."""
        if value is None:
            return None
        cleaned = " ".join("".join(c if c.isprintable() else " " for c in value).split())
        if not cleaned:
            raise ValueError("must not be blank")
        return cleaned


class PostIn(BaseModel):
    """One post as monitoring tools send it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    network: str
    account: str = Field(min_length=1)
    author: AuthorIn
    text: str = Field(min_length=1)
    url: str | None = Field(default=None, max_length=2000)
    posted_at: AwareDatetime
    kind: Literal["post", "comment", "reply", "direct_message"] = "post"

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_id_as_text(cls, value: object) -> object:
        """Many tools number their posts: a whole-number id is kept as text, as written."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("id", "network", "account", mode="before")
    @classmethod
    def _plain_identifier(cls, value: object) -> object:
        return _no_control_characters(value)

    @field_validator("posted_at", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if not isinstance(value, str) or not _ISO_WITH_OFFSET.fullmatch(value.strip()):
            raise ValueError(
                "must be an ISO 8601 date-time with a UTC offset, as text "
                "(e.g. 2026-11-20T09:14:00+00:00)"
            )
        return value.strip()

    @field_validator("posted_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None

    @field_validator("network")
    @classmethod
    def _known_network(cls, value: str) -> str:
        value = canonical_network(value)
        if value not in _NETWORKS:
            raise ValueError(
                f"must be one of {', '.join(sorted(_NETWORKS | NETWORK_ALIASES.keys()))}"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if safe_link_target(value) is None:
            raise ValueError("must be an http:// or https:// address")
        return value


@dataclass(frozen=True)
class FieldError:
    """One bad field of one item."""

    field: str
    message: str


@dataclass(frozen=True)
class Item:
    """One item of an intake body: where it was, and the post or what was wrong with it."""

    index: int
    line: int | None
    post: Post | None = None
    errors: tuple[FieldError, ...] = field(default=())
    raw_id: str | None = None


class BodyError(ValueError):
    """The body as a whole cannot be read (not UTF-8, not JSON, empty)."""


class TooManyItems(BodyError):
    """The body holds more posts than one request may carry."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"{count} posts in one request; at most {limit} are taken at a time "
            "(intake.max_items): send them in several requests"
        )
        self.count = count
        self.limit = limit


def _loads(text: str) -> Any:
    """JSON text as Python values; ValueError for anything unreadable, however it fails."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _why_unreadable(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    return f"not valid JSON: {exc}"


def items_from_text(text: str, *, max_items: int) -> list[tuple[int | None, Any, str | None]]:
    """(line, data, parse error) for each item in a JSON object, JSON array or NDJSON body."""
    stripped = text.strip()
    if not stripped:
        raise BodyError("body is empty: send one post, a JSON array of posts, or NDJSON")
    try:
        whole = _loads(stripped)
    except ValueError as exc:
        if stripped.startswith("["):
            raise BodyError(
                f"body starts like a JSON array but is {_why_unreadable(exc)}"
            ) from None
    else:
        if isinstance(whole, list):
            if not whole:
                raise BodyError("the array is empty: nothing to accept")
            if len(whole) > max_items:
                raise TooManyItems(len(whole), max_items)
            return [(None, item, None) for item in whole]
        return [(1, whole, None)]
    # Lines end at a line feed only: str.splitlines() would also cut at U+2028, U+2029 and
    # U+0085, which JSON allows raw inside a post's text.
    lines = [(number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip()]
    if len(lines) > max_items:
        raise TooManyItems(len(lines), max_items)
    items: list[tuple[int | None, Any, str | None]] = []
    for number, line in lines:
        try:
            items.append((number, _loads(line), None))
        except ValueError as exc:
            items.append((number, None, _why_unreadable(exc)))
    return items


def parse_body(
    raw: bytes,
    *,
    accounts: Mapping[str, Collection[str]],
    max_text_chars: int,
    max_items: int = 1000,
) -> list[Item]:
    """Every item in an intake body, each either a valid post or its errors.

    Raises TooManyItems beyond `max_items` posts, BodyError if the body cannot be read.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8 text (byte {exc.start})") from None
    items = []
    for index, (line, data, parse_error) in enumerate(items_from_text(text, max_items=max_items)):
        if parse_error is not None:
            items.append(Item(index, line, errors=(FieldError("", parse_error),)))
            continue
        items.append(
            validate_item(
                data, index=index, line=line, accounts=accounts, max_text_chars=max_text_chars
            )
        )
    return items


def validate_item(
    data: Any,
    *,
    index: int,
    line: int | None,
    accounts: Mapping[str, Collection[str]],
    max_text_chars: int,
) -> Item:
    """One item checked against the intake format and the desk's accounts.

    `accounts` maps each account to the networks it is on; `other` is always allowed.
    """
    raw_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    raw_id = raw_id[:200] if isinstance(raw_id, str) else None
    if not isinstance(data, dict):
        return Item(index, line, errors=(FieldError("", "each post must be a JSON object"),))
    errors: list[FieldError] = []
    model: PostIn | None = None
    try:
        model = PostIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            errors.append(FieldError(name, error["msg"].removeprefix("Value error, ")))
    account = data.get("account")
    if isinstance(account, str) and account not in accounts:
        known = ", ".join(sorted(accounts))
        errors.append(FieldError("account", f"unknown account; expected one of {known}"))
    if model is not None:
        networks = accounts.get(model.account)
        if networks is not None and model.network != "other" and model.network not in networks:
            errors.append(
                FieldError(
                    "network",
                    f"account {model.account!r} is not on {model.network} "
                    f"(configured networks: {', '.join(sorted(networks))})",
                )
            )
        if len(model.text) > max_text_chars:
            errors.append(FieldError("text", f"longer than {max_text_chars} characters"))
    if errors or model is None:
        return Item(index, line, errors=tuple(errors), raw_id=raw_id)
    post = Post(
        id=model.id,
        network=Network(model.network),
        account=model.account,
        author=Author(
            handle=model.author.handle, name=model.author.name, followers=model.author.followers
        ),
        text=model.text,
        posted_at=model.posted_at,
        url=model.url,
        kind=Kind(model.kind),
    )
    return Item(index, line, post=post, raw_id=raw_id)
