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


def _interaction(payload: dict) -> tuple[bytes, str]:
    """An interactivity request: the payload as JSON in a form field, as Slack sends it."""
    body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
    return body, "application/x-www-form-urlencoded"


def _user(user_id: str) -> dict:
    return {"id": user_id, "username": "staff.member", "name": "staff.member", "team_id": "T0COMMS"}


def block_actions(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0STAFF01",
    channel_id: str = "C0DESK0001",
    message_ts: str = "1700000000.000100",
    response_url: str = "https://hooks.slack.invalid/actions/T0COMMS/1/abc",
    trigger_id: str = "1337.42.abcdef",
) -> tuple[bytes, str]:
    """A button click on a message (`block_actions`) and its content type."""
    return _interaction(
        {
            "type": "block_actions",
            "user": _user(user_id),
            "api_app_id": "A0COMMSBOT",
            "token": "unused",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id,
            "team": {"id": "T0COMMS", "domain": "commsdesk"},
            "channel": {"id": channel_id, "name": "comms-desk"},
            "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "theme_actions",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
    )


def view_submission(
    view: dict, values: dict[str, dict], *, user_id: str = "U0STAFF01"
) -> tuple[bytes, str]:
    """A modal submitted (`view_submission`) with `values` (block id -> element state)."""
    submitted = dict(view) | {
        "state": {"values": {block: {block: state} for block, state in values.items()}}
    }
    return _interaction(
        {
            "type": "view_submission",
            "team": {"id": "T0COMMS", "domain": "commsdesk"},
            "user": _user(user_id),
            "api_app_id": "A0COMMSBOT",
            "token": "unused",
            "trigger_id": "1337.43.abcdef",
            "view": submitted,
            "response_urls": [],
        }
    )


def message_shortcut(
    callback_id: str,
    *,
    channel_id: str,
    message: dict,
    user_id: str = "U0STAFF01",
    response_url: str = "https://hooks.slack.invalid/actions/T0COMMS/2/abc",
) -> tuple[bytes, str]:
    """A message shortcut used on `message` in `channel_id`."""
    return _interaction(
        {
            "type": "message_action",
            "callback_id": callback_id,
            "token": "unused",
            "action_ts": str(time.time()),
            "team": {"id": "T0COMMS", "domain": "commsdesk"},
            "user": _user(user_id),
            "channel": {"id": channel_id, "name": "intake"},
            "message_ts": message["ts"],
            "message": message,
            "response_url": response_url,
            "trigger_id": "1337.44.abcdef",
        }
    )
