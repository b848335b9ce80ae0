"""Requests shaped and signed as Slack sends them, for the demo and the end-to-end tests."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    body: bytes, *, signing_secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """The X-Slack-Signature and X-Slack-Request-Timestamp headers Slack would send."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(
        timestamp=stamp, body=body.decode("utf-8")
    )
    assert signature is not None  # None only without a timestamp
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def slash_command(
    text: str,
    *,
    user_id: str = "U0STAFF01",
    command: str = "/comms",
    channel_id: str = "C0DESK0001",
    response_url: str = "https://hooks.slack.invalid/commands/T0COMMS/1/abc",
) -> tuple[bytes, str]:
    """A slash command body and its content type."""
    body = urlencode(
        {
            "token": "unused",
            "team_id": "T0COMMS",
            "team_domain": "commsdesk",
            "channel_id": channel_id,
            "channel_name": "comms-desk",
            "user_id": user_id,
            "user_name": "staff.member",
            "command": command,
            "text": text,
            "api_app_id": "A0COMMSBOT",
            "response_url": response_url,
            "trigger_id": "1337.42.abcdef",
        }
    ).encode("utf-8")
    return body, "application/x-www-form-urlencoded"


def event_callback(
    event: dict, *, event_id: str, event_time: int | None = None
) -> tuple[bytes, str]:
    """An Events API `event_callback` body and its content type."""
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "T0COMMS",
            "api_app_id": "A0COMMSBOT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()) if event_time is None else event_time,
            "authorizations": [
                {"team_id": "T0COMMS", "user_id": "U0BOT", "is_bot": True, "enterprise_id": None}
            ],
        }
    ).encode("utf-8")
    return body, "application/json"
