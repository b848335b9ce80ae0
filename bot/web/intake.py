"""POST /intake: signed posts from monitoring tools, stored before they are acknowledged."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.intake import BodyError, Item, TooManyItems, parse_body
from bot.services import Services
from bot.storage import StorageError

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Commsbot-Signature"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`: `sha256=<hex HMAC-SHA256>`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the right signature of `body` (compared in constant time)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), sign(body, secret).encode())


@dataclass(frozen=True)
class IntakeResponse:
    """HTTP status and JSON body for an intake request."""

    status: int
    body: dict[str, Any]


def _describe(item: Item) -> dict[str, Any]:
    where: dict[str, Any] = {"index": item.index}
    if item.line is not None:
        where["line"] = item.line
    if item.raw_id is not None:
        where["id"] = item.raw_id
    return where


# Invalid items are described one by one up to this many; the rest are only counted, so a
# body of a hundred thousand bad items cannot make an answer a hundred times its size.
MAX_ERRORS_SHOWN = 50


def handle_intake(
    services: Services, raw: bytes, *, parse: Callable[[bytes], list[Item]] | None = None
) -> IntakeResponse:
    """Validate and take each post of an already authenticated, size-checked body.

    `parse` reads the body into items (an intake source's mapping); by default the body is
    in commsbot's own intake format.
    """
    config = services.config.desk
    try:
        if parse is not None:
            items = parse(raw)
        else:
            items = parse_body(
                raw,
                accounts=config.networks_by_account(),
                max_text_chars=config.intake.max_text_chars,
                max_items=config.intake.max_items,
            )
    except TooManyItems as exc:
        return IntakeResponse(
            413, {"error": "too_many_items", "message": str(exc), "max_items": exc.limit}
        )
    except BodyError as exc:
        return IntakeResponse(400, {"error": "invalid_body", "message": str(exc)})
    valid = [item for item in items if item.post is not None]
    try:
        taken = services.desk.take_all(
            [item.post for item in valid if item.post], now=services.clock()
        )
    except (StorageError, OSError) as exc:
        logger.error("intake: cannot store posts (%s); answered 503", exc)
        return IntakeResponse(
            503,
            {
                "error": "storage_unavailable",
                "message": "commsbot cannot write its data now; nothing in this request "
                "was acknowledged, so send it again later",
            },
        )
    outcome_of = {item.index: intake for item, intake in zip(valid, taken, strict=True)}
    results: list[dict[str, Any]] = []
    counts = {"accepted": 0, "duplicate": 0, "invalid": 0}
    left_out = 0
    for item in items:
        intake = outcome_of.get(item.index)
        if intake is None:
            counts["invalid"] += 1
            if counts["invalid"] > MAX_ERRORS_SHOWN:
                left_out += 1
                continue
            errors = [{"field": e.field, "message": e.message} for e in item.errors]
            results.append(_describe(item) | {"status": "invalid", "errors": errors})
            continue
        counts[intake.status] += 1
        results.append(
            _describe(item)
            | {
                "status": intake.status,
                "key": intake.key,
                "category": intake.triage.classification.category.value,
                "channel": intake.triage.channel,
            }
        )
    if counts["invalid"]:
        logger.warning("intake: %d of %d items invalid", counts["invalid"], len(items))
    body: dict[str, Any] = counts | {"results": results}
    if left_out:
        body["invalid_not_shown"] = left_out
        body["message"] = (
            f"{counts['invalid']} items were invalid; the first {MAX_ERRORS_SHOWN} are "
            f"described and {left_out} more were left out"
        )
    if counts["accepted"] + counts["duplicate"] == 0:
        return IntakeResponse(400, {"error": "invalid_posts"} | body)
    return IntakeResponse(202, body)
