"""POST /intake: signed posts from monitoring tools, stored before they are acknowledged."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from bot.intake import BodyError, Item, parse_body
from bot.services import Services

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


def handle_intake(services: Services, raw: bytes) -> IntakeResponse:
    """Validate and take each post of an already authenticated, size-checked body."""
    config = services.config.desk
    try:
        items = parse_body(
            raw,
            accounts=config.networks_by_account(),
            max_text_chars=config.intake.max_text_chars,
        )
    except BodyError as exc:
        return IntakeResponse(400, {"error": "invalid_body", "message": str(exc)})
    results: list[dict[str, Any]] = []
    counts = {"accepted": 0, "duplicate": 0, "invalid": 0}
    for item in items:
        if item.post is None:
            counts["invalid"] += 1
            errors = [{"field": e.field, "message": e.message} for e in item.errors]
            results.append(_describe(item) | {"status": "invalid", "errors": errors})
            continue
        taken = services.desk.take(item.post, now=services.clock())
        counts[taken.status] += 1
        results.append(
            _describe(item)
            | {
                "status": taken.status,
                "category": taken.triage.classification.category.value,
                "channel": taken.triage.channel,
            }
        )
    if counts["invalid"]:
        logger.warning("intake: %d of %d items invalid", counts["invalid"], len(items))
    body = counts | {"results": results}
    if counts["accepted"] + counts["duplicate"] == 0:
        return IntakeResponse(400, {"error": "invalid_posts"} | body)
    return IntakeResponse(202, body)
