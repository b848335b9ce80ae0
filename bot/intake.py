"""The intake webhook's body: parsing, validation and per-item results.

Untrusted input: everything here is checked before a post reaches the desk.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC
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


class AuthorIn(BaseModel):
    """The author of an incoming post."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    handle: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    followers: int | None = Field(default=None, ge=0, strict=True)

    @field_validator("handle", "name")
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

    @field_validator("posted_at", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time with a UTC offset, as text")
        return value

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


def _items_from_text(text: str) -> list[tuple[int | None, Any, str | None]]:
    """(line, data, parse error) for each item in a JSON object, JSON array or NDJSON body."""
    stripped = text.strip()
    if not stripped:
        raise BodyError("body is empty: send one post, a JSON array of posts, or NDJSON")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
        if stripped.startswith("["):
            raise BodyError("body starts like a JSON array but is not valid JSON") from None
    else:
        if isinstance(whole, list):
            if not whole:
                raise BodyError("the array is empty: nothing to accept")
            return [(None, item, None) for item in whole]
        return [(1, whole, None)]
    items: list[tuple[int | None, Any, str | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line), None))
        except json.JSONDecodeError as exc:
            items.append((number, None, f"not valid JSON: {exc.msg} at column {exc.colno}"))
    return items


def parse_body(
    raw: bytes, *, accounts: Mapping[str, Collection[str]], max_text_chars: int
) -> list[Item]:
    """Every item in an intake body, each either a valid post or its errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8 text (byte {exc.start})") from None
    items = []
    for index, (line, data, parse_error) in enumerate(_items_from_text(text)):
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
    raw_id = raw_id if isinstance(raw_id, str) else None
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
        posted_at=model.posted_at.astimezone(UTC),
        url=model.url,
        kind=Kind(model.kind),
    )
    return Item(index, line, post=post, raw_id=raw_id)
