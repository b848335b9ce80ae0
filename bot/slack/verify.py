"""Checks on a request to /slack/events before Bolt parses anything.

Bolt parses a body before it verifies the signature, and a body it cannot parse becomes a
500 with a traceback. Here the signature is checked on the raw bytes first (401 if it is
missing, wrong or stale), then the shape of a signed body (400 if Bolt could not use it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.request import BoltRequest

# Slack's own rule: a request more than five minutes old may be a replay.
MAX_AGE_SECONDS = 60 * 5
_MAX_TIMESTAMP_DIGITS = 12
# Slack's own requests nest a few levels deep; far deeper JSON is not from Slack.
_MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class Rejection:
    """Why a request to /slack/events is refused: the HTTP status and a short reason."""

    status: int
    reason: str


def signature_rejection(
    body: bytes, *, timestamp: str | None, signature: str | None, secret: str, now: float
) -> Rejection | None:
    """None if Slack signed `body` within the last five minutes, else why not (401)."""
    # Slack sends Unix seconds; far longer digit strings are not a time (and beyond 4,300
    # digits int() itself refuses them).
    if (
        not timestamp
        or not timestamp.isascii()
        or not timestamp.isdigit()
        or len(timestamp) > _MAX_TIMESTAMP_DIGITS
    ):
        return Rejection(401, "missing or non-numeric X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Rejection(401, "stale X-Slack-Request-Timestamp")
    if not signature:
        return Rejection(401, "missing X-Slack-Signature")
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return Rejection(401, "invalid X-Slack-Signature")
    return None


def shape_rejection(body: bytes, *, content_type: str) -> Rejection | None:
    """None if Bolt can read `body` as Slack sends it, else why not (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(400, "body is not UTF-8")
    media_type = content_type.partition(";")[0].strip().lower()
    # Bolt reads a body as JSON when it is declared so or starts with "{"; else as a form.
    if media_type == "application/json" or text.startswith("{"):
        rejection = _json_body_rejection(text)
    else:
        rejection = _form_body_rejection(text)
    return rejection or _bolt_rejection(text, content_type=content_type)


def _bolt_rejection(text: str, *, content_type: str) -> Rejection | None:
    """Whether Bolt can build its request (and the context it reads from the body's users,
    teams and channels) from the body; it assumes Slack's shapes and fails otherwise."""
    try:
        BoltRequest(body=text, headers={"content-type": [content_type]}, mode="http")
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return Rejection(400, "body is not shaped as Slack sends it")
    return None


def _json_object(text: str) -> dict[str, Any] | None:
    """`text` as a JSON object of modest depth, or None."""
    if _nesting(text) > _MAX_JSON_DEPTH:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _nesting(text: str) -> int:
    """An upper bound on how deeply JSON text nests (brackets inside strings count too)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _json_body_rejection(text: str) -> Rejection | None:
    body = _json_object(text)
    if body is None:
        return Rejection(400, "body is not a JSON object")
    kind = body.get("type")
    if not isinstance(kind, str):
        return Rejection(400, "JSON body has no type")
    if kind == "url_verification" and not isinstance(body.get("challenge"), str):
        return Rejection(400, "url_verification without a challenge")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return Rejection(400, "event_callback without an event type")
    return None


def _form_body_rejection(text: str) -> Rejection | None:
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError):
        return Rejection(400, "body is not a form")
    fields = {key: values[-1] for key, values in form.items()}
    if "payload" in fields:  # Bolt reads the payload first, whatever else is there
        payload = _json_object(fields["payload"])
        if payload is None or not isinstance(payload.get("type"), str):
            return Rejection(400, "payload is not a JSON object with a type")
        return None
    if "ssl_check" in fields:
        return None  # Slack checking the certificate of a slash command's URL
    if not fields.get("command") or not fields.get("user_id"):
        return Rejection(400, "slash command without command or user_id")
    return None


def rate_limited_notice(body: bytes) -> bool:
    """Whether a (checked) body is Slack saying it is dropping events: acknowledged, not routed."""
    if not body.lstrip().startswith(b"{"):
        return False
    parsed = _json_object(body.decode("utf-8"))
    return parsed is not None and parsed.get("type") == "app_rate_limited"


def header(environ: Mapping[str, Any], name: str) -> str | None:
    """A request header from a WSGI environ, by its HTTP name."""
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return value if isinstance(value, str) else None
