"""A local fake of the Slack Web API, served over loopback HTTP.

Point a slack_sdk ``WebClient(base_url=fake.url, token=...)`` at a running ``FakeSlack`` and it
behaves like a small Slack workspace: it remembers what was posted, answers with realistic
response shapes, records every call, and can be told to fail, rate-limit, stall or go down.
Used by the end-to-end tests and by ``commsbot demo``. Standard library only.
"""

import contextlib
import copy
import json
import logging
import re
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

TEAM_ID = "T0COMMS"
TEAM_NAME = "Comms Desk"
TEAM_URL = "https://commsdesk.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "commsbot"
BOT_ID = "B0BOT"
APP_ID = "A0COMMS"

# The bot scopes commsbot's manifest.yml asks for: what auth.test reports in X-OAuth-Scopes
# unless a test says otherwise.
DEFAULT_SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "users:read",
    "usergroups:read",
    "reactions:read",
)
SCOPES_HEADER = "X-OAuth-Scopes"

RESPONSE_URL_METHOD = "response_url"
"""The ``Call.method`` recorded for a POST to a URL made by ``FakeSlack.response_url()``."""

_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_JSON_STRING_PARAMS = ("blocks", "attachments", "view", "metadata")
_NO_AUTH_METHODS = frozenset({"api.test"})
_FIRST_TS_MICROS = 1_700_000_000_000_100
_CREATED = 1_700_000_000
_MAX_BODY_BYTES = 10 * 1024 * 1024
_MAX_TEXT_CHARS = 40_000
_MAX_BLOCKS = 50
# Slack refuses blocks holding much more text than this in all (msg_blocks_too_long), well
# below 50 blocks of 3,000 characters; measured at about 13,300.
_MAX_BLOCKS_CHARS = 13_000
# Methods that post or change a message in a channel: Slack takes about one a second each.
_PACED_METHODS = frozenset({"chat.postMessage", "chat.update"})


@dataclass(frozen=True)
class Call:
    """One HTTP request the fake answered, as a test would want to inspect it."""

    method: str
    """The Web API method, e.g. ``"chat.postMessage"``, or ``"response_url"``."""
    params: dict
    """Query, form and JSON parameters merged; JSON strings for blocks/attachments/view decoded."""
    token: str | None
    """The bearer token from the Authorization header, else the ``token`` parameter."""
    status: int
    """The HTTP status the fake answered with."""
    ok: bool | None
    """The ``ok`` field of the answer; None for answers that were not HTTP 200."""
    at: float = field(default=0.0, compare=False)
    """When the fake answered, by ``time.monotonic()`` (not compared)."""


class _SlackError(Exception):
    """A Web API error answered as HTTP 200 ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class _Answer:
    """An HTTP response waiting to be written."""

    status: int
    body: bytes
    content_type: str
    ok: bool | None
    headers: tuple[tuple[str, str], ...] = ()


def _json_answer(status: int, payload: dict, headers: tuple[tuple[str, str], ...] = ()) -> _Answer:
    """An ``application/json`` answer; ``ok`` is taken from the payload for HTTP 200."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    ok = payload.get("ok") if status == 200 else None
    return _Answer(status, body, "application/json; charset=utf-8", ok, headers)


def _text_answer(status: int, text: str) -> _Answer:
    """A ``text/plain`` answer, as Slack gives for response URLs."""
    ok = True if status == 200 else None
    return _Answer(status, text.encode("utf-8"), "text/plain; charset=utf-8", ok)


def _error_answer(code: str) -> _Answer:
    """The usual Web API failure: HTTP 200 with ``ok`` false."""
    return _json_answer(200, {"ok": False, "error": code})


@dataclass
class _Fault:
    """A failure or delay injected for the next ``remaining`` matching calls."""

    kind: str
    method: str | None
    remaining: int
    error: str = ""
    retry_after: int = 0
    status: int = 500
    seconds: float = 0.0

    @property
    def holds_answer(self) -> bool:
        """Whether this fault holds the answer back (before or after doing the work)."""
        return self.kind in ("delay", "late")

    def matches(self, method: str) -> bool:
        """Whether this fault applies to a call to ``method``."""
        return self.method is None or self.method == method

    def answer(self, *, response_url: bool) -> _Answer:
        """The answer this fault gives instead of the real one."""
        if self.kind == "rate_limit":
            headers = (("Retry-After", str(self.retry_after)),)
            return _json_answer(429, {"ok": False, "error": "ratelimited"}, headers)
        if self.kind == "server_error":
            error = "service_unavailable" if self.status == 503 else "fatal_error"
            return _json_answer(self.status, {"ok": False, "error": error})
        if response_url:
            return _text_answer(404, self.error)
        return _error_answer(self.error)


@dataclass(frozen=True)
class _Request:
    """The parts of an HTTP request the fake looks at."""

    path: str
    query: str
    content_type: str
    authorization: str
    body: bytes = field(repr=False)


# --------------------------------------------------------------------------------------------
# Request parsing


def _parse_params(query: str, content_type: str, body: bytes) -> dict:
    """Merge query-string and body parameters; raise _SlackError for a malformed body."""
    params = _parse_form(query.encode("ascii", "replace")) if query else {}
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type.endswith("json"):
        params.update(_parse_json(body))
    elif media_type == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    elif body.strip():
        params.update(_parse_form(body))
    for key in _JSON_STRING_PARAMS:
        value = params.get(key)
        if isinstance(value, str):
            # Undecodable JSON stays a string; the method answers e.g. invalid_blocks_format.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _parse_json(body: bytes) -> dict:
    """A JSON object body; an empty body is an empty object (slack_sdk sends those)."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except ValueError as error:
        raise _SlackError("invalid_json") from error
    if not isinstance(value, dict):
        raise _SlackError("invalid_json")
    return value


def _parse_form(body: bytes) -> dict:
    """An ``application/x-www-form-urlencoded`` body; the last of repeated keys wins."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=1000,
        )
    except ValueError as error:
        raise _SlackError("invalid_form_data") from error
    return dict(pairs)


def _parse_multipart(content_type: str, body: bytes) -> dict:
    """A ``multipart/form-data`` body: text fields as str, uploaded files as bytes."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise _SlackError("invalid_form_data")
    params: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise _SlackError("invalid_form_data")
        if part.get_filename() is not None:
            params[name] = payload
            continue
        try:
            params[name] = payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _SlackError("invalid_form_data") from error
    return params


def _take_token(authorization: str, params: dict) -> str | None:
    """The bearer token, else the ``token`` parameter; the parameter is removed from params."""
    param = params.pop("token", None)
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return param if isinstance(param, str) and param else None


def _route(path: str) -> tuple[str, str]:
    """Classify a request path as ("api", method), ("response", ...) or ("other", path)."""
    if path.startswith("/api/"):
        method = path.removeprefix("/api/")
        if method and "/" not in method:
            return "api", method
    if path.startswith("/response/"):
        return "response", RESPONSE_URL_METHOD
    return "other", path


# --------------------------------------------------------------------------------------------
# Parameter helpers for the Web API methods


def _str_param(params: dict, key: str, *, error: str) -> str:
    """The non-empty string parameter ``key``; raise _SlackError(error) if it is missing."""
    value = _optional_str(params, key)
    if value is None:
        raise _SlackError(error)
    return value


def _optional_str(params: dict, key: str) -> str | None:
    """The parameter ``key`` as a non-empty string (numbers are accepted), else None."""
    value = params.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value else None


def _int_param(params: dict, key: str, *, default: int, error: str) -> int:
    """The integer parameter ``key`` (given as a number or digits), else ``default``."""
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as error_:
        raise _SlackError(error) from error_


def _ts_param(params: dict, key: str, *, default: float) -> float:
    """A message timestamp parameter such as ``1700000000.000100`` as a number."""
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise _SlackError("invalid_ts_" + key) from error


def _page(items: list[dict], params: dict) -> tuple[list[dict], str]:
    """Slice ``items`` by the ``limit`` and ``cursor`` parameters; return page and next cursor."""
    limit = _int_param(params, "limit", default=100, error="invalid_limit")
    limit = min(limit, 1000) if limit > 0 else 100
    cursor = _optional_str(params, "cursor")
    start = 0
    if cursor is not None:
        prefix, _, offset = cursor.partition(":")
        if prefix != "next" or not offset.isdigit():
            raise _SlackError("invalid_cursor")
        start = int(offset)
    end = start + limit
    return items[start:end], (f"next:{end}" if end < len(items) else "")


def _message_content(params: dict) -> dict:
    """The text, blocks and attachments given in ``params``; raise _SlackError if unusable."""
    content: dict = {}
    text = params.get("text", params.get("markdown_text"))
    if text is not None:
        if not isinstance(text, str):
            raise _SlackError("invalid_arguments")
        if len(text) > _MAX_TEXT_CHARS:
            raise _SlackError("msg_too_long")
        content["text"] = text
    if params.get("blocks") is not None:
        content["blocks"] = _blocks(params["blocks"])
    if params.get("attachments") is not None:
        content["attachments"] = _attachments(params["attachments"])
    return content


def _has_content(content: dict) -> bool:
    """Whether a message would show anything at all."""
    return bool(content.get("text") or content.get("blocks") or content.get("attachments"))


def _blocks(value: object) -> list[dict]:
    """Validated Block Kit blocks."""
    if not isinstance(value, list):
        raise _SlackError("invalid_blocks_format")
    if len(value) > _MAX_BLOCKS:
        raise _SlackError("invalid_blocks")
    if sum(_block_chars(block) for block in value if isinstance(block, dict)) > _MAX_BLOCKS_CHARS:
        raise _SlackError("msg_blocks_too_long")
    for block in value:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _SlackError("invalid_blocks")
        if _too_long(block):
            raise _SlackError("invalid_blocks")
    return copy.deepcopy(value)


# Slack's limits on text objects: 3,000 characters in a section's text, 150 in a header.
_TEXT_LIMITS = {"section": 3000, "header": 150, "context": 3000}


def _block_chars(block: dict) -> int:
    """The characters of text a block holds."""
    texts = [block.get("text"), *(block.get("elements") or []), *(block.get("fields") or [])]
    return sum(
        len(item["text"])
        for item in texts
        if isinstance(item, dict) and isinstance(item.get("text"), str)
    )


def _too_long(block: dict) -> bool:
    """Whether a block carries more text than Slack accepts in it."""
    limit = _TEXT_LIMITS.get(block["type"])
    if limit is None:
        return False
    texts = [block.get("text"), *(block.get("elements") or []), *(block.get("fields") or [])]
    return any(
        isinstance(item, dict) and isinstance(item.get("text"), str) and len(item["text"]) > limit
        for item in texts
    )


def _attachments(value: object) -> list[dict]:
    """Validated legacy attachments."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _SlackError("invalid_attachments")
    return copy.deepcopy(value)


def _metadata(value: object) -> dict:
    """Message metadata as Slack takes it: an event type and an object payload."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise _SlackError("invalid_metadata_format")
    return {
        "event_type": value["event_type"],
        "event_payload": copy.deepcopy(value["event_payload"]),
    }


def _truthy(value: object) -> bool:
    """A boolean parameter as Slack reads it (true, 1, or a JSON true)."""
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _view_param(params: dict, *, types: tuple[str, ...]) -> dict:
    """The ``view`` parameter, which must be an object of one of ``types``."""
    view = params.get("view")
    if not isinstance(view, dict) or view.get("type") not in types:
        raise _SlackError("invalid_arguments")
    return view


def _channel_object(
    channel_id: str, name: str, *, private: bool = False, member: bool = True
) -> dict:
    """A channel as conversations.* methods describe it."""
    return {
        "id": channel_id,
        "name": name,
        "name_normalized": name,
        "is_channel": True,
        "is_group": private,
        "is_im": False,
        "is_private": private,
        "is_archived": False,
        "is_general": name == "general",
        "is_member": member,
        "created": _CREATED,
        "creator": BOT_USER_ID,
        "context_team_id": TEAM_ID,
    }


def _dm_object(channel_id: str, user_id: str) -> dict:
    """A direct-message conversation with ``user_id``."""
    return {
        "id": channel_id,
        "is_channel": False,
        "is_group": False,
        "is_im": True,
        "is_open": True,
        "user": user_id,
        "created": _CREATED,
        "context_team_id": TEAM_ID,
    }


def _user_object(user_id: str) -> dict:
    """A plausible member of the workspace (the bot itself for ``BOT_USER_ID``)."""
    is_bot = user_id == BOT_USER_ID
    name = BOT_USER_NAME if is_bot else f"user.{user_id.lower()}"
    real_name = "Comms Bot" if is_bot else f"Comms Officer {user_id}"
    profile = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": name,
        "display_name_normalized": name,
        "team": TEAM_ID,
        "image_48": f"https://avatars.example.invalid/{user_id}_48.png",
    }
    if is_bot:
        profile["bot_id"] = BOT_ID
    else:
        profile["email"] = f"{name}@example.gov.uk"
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "is_bot": is_bot,
        "is_admin": False,
        "is_app_user": False,
        "updated": _CREATED,
        "profile": profile,
    }


# --------------------------------------------------------------------------------------------
# The workspace: Slack state and the Web API methods. The caller holds the lock.


class _Workspace:
    """Channels, messages and views of the fake workspace, and the methods that change them."""

    def __init__(
        self,
        channels: dict[str, str],
        *,
        auto_create_channels: bool,
        private_channels: dict[str, str] | None = None,
        not_member: Iterable[str] = (),
        users: Iterable[str] | None = None,
        usergroups: dict[str, str] | None = None,
        usergroup_members: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._configured_channels = dict(channels) | dict(private_channels or {})
        self.private = set((private_channels or {}).values())
        self.not_member = {
            self._configured_channels.get(ref.removeprefix("#"), ref) for ref in not_member
        }
        self.users = None if users is None else set(users) | {BOT_USER_ID}
        self.usergroups = dict(usergroups or {})
        self.usergroup_members: dict[str, list[str]] = {
            group: list(users) for group, users in (usergroup_members or {}).items()
        }
        self.auto_create_channels = auto_create_channels
        self.methods: dict[str, Callable[[dict], dict]] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.list": self.conversations_list,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
            "users.info": self.users_info,
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroups_users_list,
            "views.publish": self.views_publish,
            "views.open": self.views_open,
            "views.push": self.views_open,
            "views.update": self.views_update,
        }
        self.clear()

    def clear(self) -> None:
        """Forget everything but the configured channels."""
        self.channels: dict[str, str] = dict(self._configured_channels)
        self.dms: dict[str, str] = {}
        self.messages: dict[str, list[dict]] = {}
        self.views: dict[str, dict] = {}
        self.home_views: dict[str, str] = {}
        self._serial = 0
        self._next_ts = _FIRST_TS_MICROS

    # -- identifiers -------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A fresh, unused id such as ``C0F000001``."""
        taken = self.conversation_ids() | set(self.views)
        while True:
            self._serial += 1
            candidate = f"{prefix}0F{self._serial:06d}"
            if candidate not in taken:
                return candidate

    def new_ts(self) -> str:
        """A unique, increasing message timestamp from the clock, as Slack gives them."""
        micros = max(self._next_ts, int(time.time() * 1_000_000) // 100 * 100)
        self._next_ts += 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- conversations -----------------------------------------------------------------------

    def conversation_ids(self) -> set[str]:
        """Ids of every channel and DM."""
        return set(self.channels.values()) | set(self.dms.values())

    def find_channel(self, ref: str) -> str | None:
        """The id of the conversation named ``ref`` (id, name, ``#name`` or user id), if any.

        A private channel the bot is not in is hidden from it, as Slack hides it.
        """
        found = self._any_channel(ref)
        return None if found is not None and not self.visible(found) else found

    def _any_channel(self, ref: str) -> str | None:
        if ref in self.conversation_ids():
            return ref
        name = ref.removeprefix("#")
        if name in self.channels:
            return self.channels[name]
        return self.dms.get(ref)

    def visible(self, channel_id: str) -> bool:
        """Whether the bot can see a channel: every public one, private ones it is in."""
        return channel_id not in self.private or channel_id not in self.not_member

    def existing_channel(self, params: dict, key: str = "channel") -> str:
        """The id of the existing conversation given by parameter ``key``."""
        channel = self.find_channel(_str_param(params, key, error="channel_not_found"))
        if channel is None:
            raise _SlackError("channel_not_found")
        return channel

    def channel_to_post_in(self, params: dict) -> str:
        """The conversation to post in, opening a DM or creating a channel where allowed."""
        ref = _str_param(params, "channel", error="channel_not_found")
        found = self.find_channel(ref)
        if found is not None:
            return found
        if self._any_channel(ref) is not None:
            raise _SlackError("channel_not_found")  # private, and the bot is not in it
        if _USER_ID.fullmatch(ref):
            return self.open_dm(ref)
        name = ref.removeprefix("#")
        if not self.auto_create_channels or not _CHANNEL_NAME.fullmatch(name):
            raise _SlackError("channel_not_found")
        self.channels[name] = self.new_id("C")
        return self.channels[name]

    def open_dm(self, user_id: str) -> str:
        """The DM conversation with ``user_id``, opened if need be."""
        if user_id not in self.dms:
            self.dms[user_id] = self.new_id("D")
        return self.dms[user_id]

    def conversation_object(self, channel_id: str) -> dict:
        """How conversations.* methods describe ``channel_id``."""
        for user_id, dm_id in self.dms.items():
            if dm_id == channel_id:
                return _dm_object(channel_id, user_id)
        name = next(name for name, id_ in self.channels.items() if id_ == channel_id)
        return _channel_object(
            channel_id,
            name,
            private=channel_id in self.private,
            member=channel_id not in self.not_member,
        )

    def find_message(self, channel_id: str, ts: str | None) -> dict | None:
        """The message at ``ts`` in ``channel_id``, if it is there."""
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def existing_message(self, channel_id: str, params: dict, key: str) -> dict:
        """The message whose ts is given by parameter ``key``."""
        message = self.find_message(channel_id, _optional_str(params, key))
        if message is None:
            raise _SlackError("message_not_found")
        return message

    # -- methods -----------------------------------------------------------------------------

    def api_test(self, params: dict) -> dict:
        """api.test: echo the arguments (uploaded files are left out)."""
        args = {key: value for key, value in params.items() if not isinstance(value, bytes)}
        return {"ok": True, "args": copy.deepcopy(args)}

    def auth_test(self, params: dict) -> dict:
        """auth.test: who the token belongs to."""
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: dict) -> dict:
        """chat.postMessage: store a message (or thread reply) in a conversation."""
        channel = self.channel_to_post_in(params)
        content = _message_content(params)
        if not _has_content(content):
            raise _SlackError("no_text")
        ts = self.new_ts()
        message = {
            "type": "message",
            "text": "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
            **content,
        }
        if params.get("metadata") is not None:
            message["metadata"] = _metadata(params["metadata"])
        thread_ts = _optional_str(params, "thread_ts")
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            self._note_reply(channel, thread_ts, ts)
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _note_reply(self, channel: str, thread_ts: str, reply_ts: str) -> None:
        """Update a thread's parent the way Slack does when a reply is posted."""
        parent = self.find_message(channel, thread_ts)
        if parent is None:
            return
        parent["thread_ts"] = thread_ts
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        parent["reply_users"] = [BOT_USER_ID]
        parent["reply_users_count"] = 1
        parent["latest_reply"] = reply_ts

    def chat_update(self, params: dict) -> dict:
        """chat.update: replace the text, blocks or attachments of a message."""
        channel = self.existing_channel(params)
        message = self.existing_message(channel, params, "ts")
        content = _message_content(params)
        if not content:
            raise _SlackError("no_text")
        for key, value in content.items():
            if value == [] and key != "text":
                message.pop(key, None)
            else:
                message[key] = value
        message["edited"] = {"user": BOT_USER_ID, "ts": self.new_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def chat_delete(self, params: dict) -> dict:
        """chat.delete: remove a message."""
        channel = self.existing_channel(params)
        message = self.existing_message(channel, params, "ts")
        self.messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def chat_post_ephemeral(self, params: dict) -> dict:
        """chat.postEphemeral: accept a message only one user sees; it is not stored."""
        self.channel_to_post_in(params)
        user = _str_param(params, "user", error="user_not_found")
        if not _USER_ID.fullmatch(user):
            raise _SlackError("user_not_found")
        if not _has_content(_message_content(params)):
            raise _SlackError("no_text")
        return {"ok": True, "message_ts": self.new_ts()}

    def chat_get_permalink(self, params: dict) -> dict:
        """chat.getPermalink: a link to a stored message."""
        channel = self.existing_channel(params)
        message = self.existing_message(channel, params, "message_ts")
        permalink = f"{TEAM_URL}archives/{channel}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts is not None and thread_ts != message["ts"]:
            permalink += f"?thread_ts={thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def conversations_list(self, params: dict) -> dict:
        """conversations.list: the channels of the ``types`` asked for (public by default)
        that the bot can see, paginated."""
        types = set((_optional_str(params, "types") or "public_channel").split(","))
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise _SlackError("invalid_types")
        everything = [
            self.conversation_object(id_)
            for id_ in self.channels.values()
            if self.visible(id_)
            and ("private_channel" if id_ in self.private else "public_channel") in types
        ]
        page, next_cursor = _page(everything, params)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def conversations_info(self, params: dict) -> dict:
        """conversations.info: one conversation."""
        channel = self.existing_channel(params)
        return {"ok": True, "channel": self.conversation_object(channel)}

    def conversations_join(self, params: dict) -> dict:
        """conversations.join: the bot is a member of every channel already."""
        channel = self.existing_channel(params)
        return {"ok": True, "channel": self.conversation_object(channel)}

    def conversations_open(self, params: dict) -> dict:
        """conversations.open: a DM with one user."""
        users = _str_param(params, "users", error="users_list_not_supplied")
        if "," in users or not _USER_ID.fullmatch(users):
            raise _SlackError("invalid_arguments")
        return {"ok": True, "channel": {"id": self.open_dm(users)}}

    def conversations_history(self, params: dict) -> dict:
        """conversations.history: top-level messages, newest first, paginated.

        As in Slack, `oldest` and `latest` bound the timestamps (exclusive unless
        `inclusive`), and message metadata is shown only with `include_all_metadata`.
        """
        channel = self.existing_channel(params)
        oldest = _ts_param(params, "oldest", default=0.0)
        latest = _ts_param(params, "latest", default=float("inf"))
        inclusive = _truthy(params.get("inclusive"))

        def in_range(ts: str) -> bool:
            value = float(ts)
            if inclusive:
                return oldest <= value <= latest
            return oldest < value < latest

        top_level = [
            message
            for message in self.messages.get(channel, [])
            if message.get("thread_ts", message["ts"]) == message["ts"] and in_range(message["ts"])
        ]
        if not _truthy(params.get("include_all_metadata")):
            top_level = [
                {key: value for key, value in message.items() if key != "metadata"}
                for message in top_level
            ]
        page, next_cursor = _page(list(reversed(top_level)), params)
        return {
            "ok": True,
            "messages": copy.deepcopy(page),
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_replies(self, params: dict) -> dict:
        """conversations.replies: a thread's parent followed by its replies."""
        channel = self.existing_channel(params)
        parent = self.find_message(channel, _optional_str(params, "ts"))
        if parent is None:
            raise _SlackError("thread_not_found")
        replies = [
            message
            for message in self.messages[channel]
            if message.get("thread_ts") == parent["ts"] and message is not parent
        ]
        return {"ok": True, "messages": copy.deepcopy([parent, *replies]), "has_more": False}

    def reactions_add(self, params: dict) -> dict:
        """reactions.add: the bot reacts to a message."""
        message, name = self._reaction_target(params)
        reactions = message.setdefault("reactions", [])
        if any(reaction["name"] == name for reaction in reactions):
            raise _SlackError("already_reacted")
        reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        return {"ok": True}

    def reactions_remove(self, params: dict) -> dict:
        """reactions.remove: the bot takes its reaction back."""
        message, name = self._reaction_target(params)
        remaining = [r for r in message.get("reactions", []) if r["name"] != name]
        if len(remaining) == len(message.get("reactions", [])):
            raise _SlackError("no_reaction")
        if remaining:
            message["reactions"] = remaining
        else:
            del message["reactions"]
        return {"ok": True}

    def _reaction_target(self, params: dict) -> tuple[dict, str]:
        """The message and emoji name a reactions.* call is about."""
        channel = self.existing_channel(params)
        message = self.existing_message(channel, params, "timestamp")
        name = _str_param(params, "name", error="invalid_name")
        if ":" in name or " " in name:
            raise _SlackError("invalid_name")
        return message, name

    def users_info(self, params: dict) -> dict:
        """users.info: a plausible user for any user id."""
        user = _str_param(params, "user", error="user_not_found")
        if not _USER_ID.fullmatch(user) or (self.users is not None and user not in self.users):
            raise _SlackError("user_not_found")
        return {"ok": True, "user": _user_object(user)}

    def usergroups_list(self, params: dict) -> dict:
        """usergroups.list: the workspace's user groups."""
        groups = [
            {
                "id": group_id,
                "team_id": TEAM_ID,
                "handle": handle,
                "name": handle.replace("-", " ").title(),
                "is_usergroup": True,
                "date_delete": 0,
                "user_count": 0,
            }
            for handle, group_id in self.usergroups.items()
        ]
        return {"ok": True, "usergroups": groups}

    def usergroups_users_list(self, params: dict) -> dict:
        """usergroups.users.list: the user ids in one user group (by its id)."""
        group = _str_param(params, "usergroup", error="invalid_arguments")
        if group not in self.usergroup_members and group not in self.usergroups.values():
            raise _SlackError("no_such_subteam")
        return {"ok": True, "users": list(self.usergroup_members.get(group, []))}

    def views_publish(self, params: dict) -> dict:
        """views.publish: set a user's App Home."""
        user_id = _str_param(params, "user_id", error="invalid_arguments")
        if not _USER_ID.fullmatch(user_id):
            raise _SlackError("user_not_found")
        view = _view_param(params, types=("home",))
        current_id = self.home_views.get(user_id)
        if current_id is not None:
            self._check_hash(self.views[current_id], params)
        published = self._store_view(view, view_id=current_id)
        self.home_views[user_id] = published["id"]
        return {"ok": True, "view": copy.deepcopy(published)}

    def views_open(self, params: dict) -> dict:
        """views.open and views.push: show a modal."""
        _str_param(params, "trigger_id", error="invalid_arguments")
        view = _view_param(params, types=("modal",))
        return {"ok": True, "view": copy.deepcopy(self._store_view(view))}

    def views_update(self, params: dict) -> dict:
        """views.update: replace a view found by view_id or external_id."""
        view = _view_param(params, types=("modal", "home"))
        view_id = _optional_str(params, "view_id")
        external_id = _optional_str(params, "external_id")
        current = self.views.get(view_id or "")
        if current is None and external_id is not None:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            raise _SlackError("not_found")
        self._check_hash(current, params)
        stored = self._store_view(view, view_id=current["id"])
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _check_hash(self, current: dict, params: dict) -> None:
        """Refuse an update made against an out-of-date copy of the view."""
        given = _optional_str(params, "hash")
        if given is not None and given != current["hash"]:
            raise _SlackError("hash_conflict")

    def _store_view(self, view: dict, *, view_id: str | None = None) -> dict:
        """Store ``view`` under ``view_id`` (or a fresh id) with Slack's extra fields."""
        view_id = view_id or self.new_id("V")
        self._serial += 1
        stored = {
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **copy.deepcopy(view),
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "hash": f"{_CREATED}.{self._serial:08x}",
            "root_view_id": view_id,
            "previous_view_id": None,
        }
        self.views[view_id] = stored
        return stored


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _BadRequest(Exception):
    """The HTTP request itself could not be read (bad framing, too large)."""


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP request, lets the FakeSlack answer it, writes the answer."""

    server: "_Server"
    protocol_version = "HTTP/1.0"
    server_version = "FakeSlack/1.0"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        """Serve a POST, which is how slack_sdk sends every Web API call."""
        self._serve()

    def do_GET(self) -> None:
        """Serve a GET with query parameters, which Slack also accepts."""
        self._serve()

    def _serve(self) -> None:
        """Answer the request, logging (never hiding) anything unexpected."""
        try:
            answer = self._answer()
        except (ConnectionError, TimeoutError) as error:
            logger.debug("fake Slack: client went away while sending: %s", error)
            return
        except Exception:
            logger.exception("fake Slack: failed to answer %s %s", self.command, self.path)
            answer = _json_answer(500, {"ok": False, "error": "fatal_error"})
        if answer is None:
            self.close_connection = True
            return
        self._write(answer)

    def _answer(self) -> _Answer | None:
        """Read the request and have the fake work out the answer."""
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BadRequest as error:
            return _json_answer(400, {"ok": False, "error": str(error)})
        request = _Request(
            path=url.path,
            query=url.query,
            content_type=self.headers.get("Content-Type", ""),
            authorization=self.headers.get("Authorization", ""),
            body=body,
        )
        return self.server.fake._respond(request, self.server.stopping)

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer coding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as error:
            raise _BadRequest("invalid_content_length") from error
        if not 0 <= length <= _MAX_BODY_BYTES:
            raise _BadRequest("request_too_large" if length > 0 else "invalid_content_length")
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionError("request body cut short")
        return body

    def _read_chunked(self) -> bytes:
        """A body sent with ``Transfer-Encoding: chunked``."""
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as error:
                raise _BadRequest("invalid_chunked_body") from error
            total += size
            if size < 0 or total > _MAX_BODY_BYTES:
                raise _BadRequest("request_too_large")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, answer: _Answer) -> None:
        """Send the answer; a client that has gone away is not an error."""
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (ConnectionError, TimeoutError) as error:
            logger.debug("fake Slack: client went away before the answer: %s", error)

    def log_message(self, format: str, *args: object) -> None:
        """Keep per-request logging at debug level instead of stderr."""
        logger.debug("fake Slack: %s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can cut off its open connections when going down."""

    daemon_threads = True

    def __init__(self, fake: "FakeSlack", address: tuple[str, int]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.fake = fake
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _RequestHandler)
        self._wake_reader, self._wake_writer = socket.socketpair()

    def serve(self) -> None:
        """Accept connections until ``stop_accepting`` is called."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if self._closing:
                    return
                if any(key.fileobj is self.socket for key, _ in ready):
                    self._accept_one()

    def _accept_one(self) -> None:
        """Hand one waiting connection to a handler thread."""
        try:
            request, client_address = self.get_request()
        except OSError:
            return  # the client gave up before we accepted
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def stop_accepting(self) -> None:
        """Make ``serve`` return promptly."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        """Close the listening socket, wait for handler threads, and close the wake-up pair."""
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can be slow."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        """Track the connection so that ``cut_off`` can close it."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Forget the connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log unexpected errors with their traceback rather than printing them."""
        logger.exception("fake Slack: error while serving %s", client_address)

    def cut_off(self) -> None:
        """Wake delayed answers and drop every open connection."""
        self.stopping.set()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------------------------
# The public face


class FakeSlack:
    """A fake Slack Web API on loopback HTTP, for tests and ``commsbot demo``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str | None = None,
        channels: dict[str, str] | None = None,
        auto_create_channels: bool = True,
        private_channels: dict[str, str] | None = None,
        not_member: Iterable[str] = (),
        scopes: Iterable[str] | None = DEFAULT_SCOPES,
        users: Iterable[str] | None = None,
        usergroups: dict[str, str] | None = None,
        usergroup_members: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """A fake workspace; by default every public channel has the bot in it.

        ``private_channels`` (name -> id) are seen by the bot only if it is a member;
        ``not_member`` names channels (public or private) the bot is not in. ``scopes`` are
        reported by auth.test in X-OAuth-Scopes (None: no header). With ``users``, only those
        user ids (and the bot) exist; ``usergroups`` maps handles to ids and
        ``usergroup_members`` group ids to the user ids in them (usergroups.users.list).
        """
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {port}")
        if bot_token is not None and not bot_token.strip():
            raise ValueError("bot_token must not be blank; give None to accept any token")
        self._host = host
        self._port: int | None = port or None
        self._bot_token = bot_token
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._lifecycle = threading.Lock()
        self._scopes = None if scopes is None else tuple(scopes)
        self._workspace = _Workspace(
            _checked_channels(channels or {}),
            auto_create_channels=auto_create_channels,
            private_channels=_checked_channels(private_channels or {}),
            not_member=not_member,
            users=users,
            usergroups=usergroups,
            usergroup_members=usergroup_members,
        )
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        # Per-channel rate limit (None: off): the least time between accepted calls.
        self._per_channel_interval: float | None = None
        self._last_paced: dict[str, float] = {}
        self._rate_limited: dict[str, int] = {}
        self._responses: list[tuple[str, dict]] = []
        self._response_urls_made = 0
        self._held = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeSlack":
        """Start serving in a daemon thread (no-op if already serving); return self."""
        self.come_up()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        self.go_down()

    def go_down(self) -> None:
        """Stop listening, so clients get "connection refused"; recorded state is kept.

        Open connections are dropped; a call still being delayed is neither answered nor recorded.
        """
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self._server = self._thread = None
            server.stop_accepting()
            thread.join()
            server.cut_off()
            server.server_close()

    def come_up(self) -> None:
        """Listen again, on the same port as before once a port has been chosen."""
        with self._lifecycle:
            if self._server is not None:
                return
            server = _Server(self, (self._host, self._port or 0))
            self._port = server.server_port
            thread = threading.Thread(
                target=server.serve, name=f"fake-slack-{self._port}", daemon=True
            )
            thread.start()
            self._server, self._thread = server, thread

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port served on (chosen when first started if given as 0)."""
        if self._port is None:
            raise RuntimeError("FakeSlack has not been started, so it has no port yet")
        return self._port

    @property
    def url(self) -> str:
        """The base URL to give WebClient, e.g. ``http://127.0.0.1:53211/api/``."""
        return f"{self._origin()}/api/"

    def _origin(self) -> str:
        """``http://host:port`` with IPv6 hosts bracketed."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    # -- what happened -----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call answered, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls answered for ``method``, in order."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def wait_for_calls(self, method: str, count: int, *, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls to ``method`` were answered; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [call for call in self._calls if call.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(_describe(call) for call in self._calls) or "no calls at all"
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout:g}s, "
                        f"got {len(matching)}; calls seen: {seen}"
                    )
                self._changed.wait(remaining)

    def messages(self, channel: str) -> list[dict]:
        """Messages now in a channel (by id, name, ``#name`` or DM user id); [] if unknown."""
        with self._lock:
            channel_id = self._workspace.find_channel(channel)
            if channel_id is None:
                return []
            return copy.deepcopy(self._workspace.messages.get(channel_id, []))

    def channels(self) -> dict[str, str]:
        """Channel name -> id, including channels created by posting to them."""
        with self._lock:
            return dict(self._workspace.channels)

    def channel_id(self, name_or_id: str) -> str:
        """The id of a channel given by id, name or ``#name``; KeyError if unknown."""
        with self._lock:
            channel_id = self._workspace.find_channel(name_or_id)
            if channel_id is None:
                known = ", ".join(sorted(self._workspace.channels)) or "none"
                raise KeyError(f"no channel {name_or_id!r} in the fake Slack (known: {known})")
            return channel_id

    def home_view(self, user_id: str) -> dict | None:
        """The App Home view last published for ``user_id``, if any."""
        with self._lock:
            view_id = self._workspace.home_views.get(user_id)
            return None if view_id is None else copy.deepcopy(self._workspace.views[view_id])

    def response_url(self) -> str:
        """A fresh response URL (the stand-in for Slack's) served by this fake."""
        with self._lock:
            self._response_urls_made += 1
            number = self._response_urls_made
        return f"{self._origin()}/response/{TEAM_ID}/{number:04d}"

    def responses(self, url: str | None = None) -> list[dict]:
        """Bodies posted to response URLs (only to ``url`` if given), in order."""
        path = None if url is None else urlsplit(url).path
        with self._lock:
            return [copy.deepcopy(body) for seen, body in self._responses if path in (None, seen)]

    # -- faults ------------------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``."""
        if not method or not error:
            raise ValueError("fail() needs a method and an error code")
        self._add_fault(_Fault("fail", method, _checked_times(times), error=error))

    def rate_limit(
        self, method: str | None = None, *, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer HTTP 429 with Retry-After to the next ``times`` calls (to any method if None)."""
        if retry_after < 0:
            raise ValueError(f"retry_after must not be negative, not {retry_after}")
        fault = _Fault("rate_limit", method, _checked_times(times), retry_after=retry_after)
        self._add_fault(fault)

    def server_error(self, method: str | None = None, *, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls (to any method if None) with an HTTP 5xx error."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx code, not {status}")
        self._add_fault(_Fault("server_error", method, _checked_times(times), status=status))

    def delay(self, method: str | None = None, *, seconds: float, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` calls (to any method if None)."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        self._add_fault(_Fault("delay", method, _checked_times(times), seconds=seconds))

    def answer_late(self, method: str | None = None, *, seconds: float, times: int = 1) -> None:
        """Do the next ``times`` calls at once but hold each answer back ``seconds``.

        As a slow Slack does: the message is posted (and visible in the channel) although the
        caller, having timed out, never hears so.
        """
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        self._add_fault(_Fault("late", method, _checked_times(times), seconds=seconds))

    def wait_for_held(self, count: int, *, timeout: float = 5.0) -> None:
        """Block until ``count`` answers are being held back by delay() or answer_late()."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._held < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} held answer(s) within {timeout:g}s, got {self._held}"
                    )
                self._changed.wait(remaining)

    def limit_per_channel(self, per_second: float | None = 1.0) -> None:
        """Take at most `per_second` chat.postMessage/chat.update calls a second per channel
        (thread replies included), answering HTTP 429 with Retry-After otherwise, as Slack
        does; None switches the limit off."""
        if per_second is not None and per_second <= 0:
            raise ValueError(f"per_second must be positive, not {per_second}")
        with self._lock:
            self._per_channel_interval = None if per_second is None else 1.0 / per_second
            self._last_paced.clear()

    def rate_limited(self) -> dict[str, int]:
        """How many calls the per-channel limit answered with 429, by channel id."""
        with self._lock:
            return dict(self._rate_limited)

    def _paced(self, method: str, params: dict) -> _Answer | None:
        """A 429 when the per-channel limit says this call comes too soon; the caller holds
        the lock."""
        if self._per_channel_interval is None or method not in _PACED_METHODS:
            return None
        channel = self._workspace.find_channel(str(params.get("channel") or ""))
        if channel is None:
            return None
        now = time.monotonic()
        last = self._last_paced.get(channel)
        if last is not None and now - last < self._per_channel_interval:
            self._rate_limited[channel] = self._rate_limited.get(channel, 0) + 1
            wait = max(1, int(-(-(self._per_channel_interval - (now - last)) // 1)))
            headers = (("Retry-After", str(wait)),)
            return _json_answer(429, {"ok": False, "error": "ratelimited"}, headers)
        self._last_paced[channel] = now
        return None

    def set_usergroup_members(self, group_id: str, users: Iterable[str]) -> None:
        """Put exactly ``users`` in user group ``group_id`` (as usergroups.users.list tells)."""
        with self._lock:
            self._workspace.usergroup_members[group_id] = list(users)

    def reset(self) -> None:
        """Forget calls, messages, views, responses, created channels and injected faults."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._responses.clear()
            self._workspace.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, *, delay: bool) -> _Fault | None:
        """Consume the first matching fault (delays or failures), oldest first."""
        with self._lock:
            for fault in self._faults:
                if fault.holds_answer == delay and fault.matches(method):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- answering ---------------------------------------------------------------------------

    def _respond(self, request: _Request, stopping: threading.Event) -> _Answer | None:
        """Work out, record and return the answer to a request; None if cut off by go_down."""
        kind, method = _route(request.path)
        delay = self._take_fault(method, delay=True) if kind != "other" else None
        if delay is not None and delay.kind == "delay" and self._hold(delay.seconds, stopping):
            return None
        answer = self._work_out(kind, method, request)
        if delay is not None and delay.kind == "late" and self._hold(delay.seconds, stopping):
            return None
        return answer

    def _hold(self, seconds: float, stopping: threading.Event) -> bool:
        """Wait ``seconds``, counted as a held answer; True if cut off by go_down."""
        with self._changed:
            self._held += 1
            self._changed.notify_all()
        try:
            return stopping.wait(seconds)
        finally:
            with self._lock:
                self._held -= 1

    def _work_out(self, kind: str, method: str, request: _Request) -> _Answer:
        """Do what a request asks, record the call, and return the answer."""
        parse_error = None
        try:
            params = _parse_params(request.query, request.content_type, request.body)
        except _SlackError as error:
            params, parse_error = {}, error.code
        token = _take_token(request.authorization, params) if kind == "api" else None
        with self._lock:
            if kind == "response" and parse_error is None:
                answer = self._answer_response_url(request.path, params)
            else:
                answer = self._answer(kind, method, params, token=token, parse_error=parse_error)
            call = Call(
                method, copy.deepcopy(params), token, answer.status, answer.ok, time.monotonic()
            )
            self._calls.append(call)
            self._changed.notify_all()
        logger.debug("fake Slack: %s -> %s", method, answer.status)
        return answer

    def _answer(
        self, kind: str, method: str, params: dict, *, token: str | None, parse_error: str | None
    ) -> _Answer:
        """The answer to a parsed request; the caller holds the lock."""
        if kind == "other":
            return _json_answer(404, {"ok": False, "error": "not_found"})
        fault = self._take_fault(method, delay=False)
        if fault is not None:
            return fault.answer(response_url=kind == "response")
        if kind == "response":
            return _text_answer(400, "invalid_payload")
        if parse_error is not None:
            return _error_answer(parse_error)
        paced = self._paced(method, params) if token is not None else None
        if paced is not None:
            return paced
        handler = self._workspace.methods.get(method)
        if handler is None:
            logger.info("fake Slack: unknown method %s", method)
            return _error_answer("unknown_method")
        if method not in _NO_AUTH_METHODS:
            if token is None:
                return _error_answer("not_authed")
            if self._bot_token is not None and token != self._bot_token:
                return _error_answer("invalid_auth")
        try:
            headers: tuple[tuple[str, str], ...] = ()
            if method == "auth.test" and self._scopes is not None:
                headers = ((SCOPES_HEADER, ",".join(self._scopes)),)
            return _json_answer(200, handler(params), headers)
        except _SlackError as error:
            return _error_answer(error.code)
        except Exception:
            logger.exception("fake Slack: %s failed on %r", method, params)
            return _json_answer(500, {"ok": False, "error": "fatal_error"})

    def _answer_response_url(self, path: str, params: dict) -> _Answer:
        """Accept a message posted to a response URL, unless a fault says otherwise."""
        fault = self._take_fault(RESPONSE_URL_METHOD, delay=False)
        if fault is not None:
            return fault.answer(response_url=True)
        self._responses.append((path, copy.deepcopy(params)))
        return _text_answer(200, "ok")


def _checked_channels(channels: dict[str, str]) -> dict[str, str]:
    """Configured channels, with every problem reported at once."""
    problems = []
    checked: dict[str, str] = {}
    for raw_name, channel_id in channels.items():
        name = raw_name.removeprefix("#")
        if not _CHANNEL_NAME.fullmatch(name):
            problems.append(f"{raw_name!r} is not a Slack channel name")
        if not isinstance(channel_id, str) or not _CHANNEL_ID.fullmatch(channel_id):
            problems.append(f"{raw_name!r}: {channel_id!r} is not a channel id like 'C0123ABC'")
        elif channel_id in checked.values():
            problems.append(f"{raw_name!r}: channel id {channel_id!r} is used twice")
        checked[name] = channel_id
    if problems:
        raise ValueError("bad FakeSlack channels: " + "; ".join(problems))
    return checked


def _checked_times(times: int) -> int:
    """A fault's repeat count, which must be at least one."""
    if times < 1:
        raise ValueError(f"times must be at least 1, not {times}")
    return times


def _describe(call: Call) -> str:
    """A short summary of a call for assertion messages."""
    outcome = {True: " ok", False: " not ok", None: ""}[call.ok]
    return f"{call.method} ({call.status}{outcome})"
