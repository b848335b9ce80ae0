"""More ways in from Slack: the "Send to comms desk" shortcut, 🚩 in an intake channel, and
integrations' messages in an intake channel taken in unasked.

Each turns a Slack message into a post through the desk, as `/comms flag` does. The post id
comes from the message's channel and ts, so the same message sent twice (a shortcut used
again, a 🚩 after the integration's message was taken in, Slack retrying an event, an
edit) is one post.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.desk_model import IntakeChannelModel
from bot.core.slack_message import post_from_slack_message
from bot.desk import Intake
from bot.services import Services
from bot.slack.ids import Shortcut
from bot.slack.listeners import event_handled, reactions
from bot.slack.messages import flag_reply

logger = logging.getLogger(__name__)

FLAG_REACTION = "triangular_flag_on_post"
# Subtypes of `message` events that never carry a new message to take in.
_NOT_NEW = frozenset({"message_deleted", "channel_join", "channel_leave", "message_replied"})
# Channel names by (Slack API address, channel id): asked once per channel (a renamed
# channel needs a restart; naming intake channels by ID avoids the question).
_CHANNEL_NAMES: dict[tuple[str, str], str | None] = {}


def _channel_name(client: WebClient, channel: str) -> str | None:
    """The name of a channel, asked of Slack once; None if the bot cannot see it."""
    key = (client.base_url, channel)
    if key not in _CHANNEL_NAMES:
        try:
            answer = client.conversations_info(channel=channel)
        except SlackApiError as exc:
            if exc.response.get("error") != "channel_not_found":
                raise
            _CHANNEL_NAMES[key] = None
        else:
            _CHANNEL_NAMES[key] = str(answer["channel"].get("name") or "") or None
    return _CHANNEL_NAMES[key]


def intake_channel(
    services: Services, client: WebClient, channel: str
) -> IntakeChannelModel | None:
    """The intake channel config for a channel id, whether named in config by id or #name."""
    configured = services.config.desk.intake_channels
    if channel in configured:
        return configured[channel]
    if not any(key.startswith("#") for key in configured):
        return None
    name = _channel_name(client, channel)
    return configured.get(f"#{name}") if name else None


def _poster_name(client: WebClient, message: Mapping[str, Any]) -> str | None:
    """A colleague's Slack display name (or full name); None for an integration's message."""
    user = message.get("user")
    if message.get("bot_id") or not isinstance(user, str) or not user:
        return None
    profile = client.users_info(user=user)["user"].get("profile") or {}
    return str(profile.get("display_name") or profile.get("real_name") or "") or None


def take_message(
    services: Services,
    client: WebClient,
    *,
    channel: str,
    message: Mapping[str, Any],
    flagged_by: str | None,
) -> Intake:
    """Offer a Slack message to the desk as a post of the channel's account (else the
    default account), keeping its permalink and its author."""
    configured = intake_channel(services, client, channel)
    account = configured.account if configured else services.config.desk.default_account
    permalink = client.chat_getPermalink(channel=channel, message_ts=str(message["ts"]))
    post = post_from_slack_message(
        message,
        channel=channel,
        account=account,
        permalink=str(permalink["permalink"]),
        author=_poster_name(client, message),
        flagged_by=flagged_by,
    )
    return services.desk.take(post, now=services.clock())


def on_send_to_desk(
    services: Services, ack: Ack, body: dict, client: WebClient, respond: Respond
) -> None:
    """Message shortcut: the message becomes a post; the person is told where it went."""
    intake = take_message(
        services,
        client,
        channel=str(body["channel"]["id"]),
        message=body["message"],
        flagged_by=str(body["user"]["id"]),
    )
    ack()
    respond(
        text=flag_reply(services.renderer, intake=intake),
        response_type="ephemeral",
        replace_original=False,
    )


def _reacted_message(client: WebClient, channel: str, ts: str) -> dict | None:
    """The message at `ts`: in the channel's history, or else a reply in a thread."""
    history = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
    for message in history.get("messages") or ():
        if message.get("ts") == ts:
            return dict(message)
    thread = client.conversations_replies(
        channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True
    )
    for message in thread.get("messages") or ():
        if message.get("ts") == ts:
            return dict(message)
    return None


def on_flag_reaction(services: Services, event: dict) -> bool:
    """🚩 on a message in an intake channel makes it a post; any other reaction, or one
    elsewhere, is left for other handlers."""
    item = event.get("item") or {}
    client = reactions.current_client.get()
    if event.get("reaction") != FLAG_REACTION or item.get("type") != "message" or client is None:
        return False
    channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
    if not channel or not ts or intake_channel(services, client, channel) is None:
        return False
    message = _reacted_message(client, channel, ts)
    if message is None:
        logger.info("the message flagged in %s is gone; nothing to take in", channel)
        return True
    intake = take_message(
        services, client, channel=channel, message=message, flagged_by=event.get("user")
    )
    user = event.get("user")
    if isinstance(user, str) and user:
        client.chat_postEphemeral(
            channel=channel, user=user, text=flag_reply(services.renderer, intake=intake)
        )
    return True


def _integration(message: Mapping[str, Any]) -> set[str]:
    """The bot and app ids a message was posted by (empty for a person's message)."""
    profile = message.get("bot_profile")
    ids = {
        message.get("bot_id"),
        message.get("app_id"),
        profile.get("app_id") if isinstance(profile, Mapping) else None,
    }
    return {value for value in ids if isinstance(value, str) and value}


def on_message(services: Services, event: dict, body: dict, client: WebClient) -> None:
    """A message in a channel the bot is in: an integration's alert in an intake channel
    that lists it becomes a post; anything else (people, commsbot itself) is left alone.

    An edit (message_changed) is offered again as the message it now is: already a post,
    it adds nothing; not yet one (its link unfurled only now), it may become one.
    """
    subtype = event.get("subtype")
    message = event.get("message") if subtype == "message_changed" else event
    if subtype not in _NOT_NEW and isinstance(message, Mapping):
        posted_by = _integration(message)
        wanted = {
            integration
            for configured in services.config.desk.intake_channels.values()
            for integration in configured.integrations
        }
        channel = str(event.get("channel") or "")
        # Cheap test first: commsbot's own messages in its channels never ask Slack anything.
        if posted_by & wanted and channel:
            configured = intake_channel(services, client, channel)
            if configured is not None and posted_by & set(configured.integrations):
                take_message(services, client, channel=channel, message=message, flagged_by=None)
    event_handled(services, body)


def register(app: App, services: Services) -> None:
    """Attach the shortcut, the 🚩 reaction handler and the message listener."""
    app.shortcut(Shortcut.SEND_TO_DESK.value)(functools.partial(on_send_to_desk, services))
    reactions.add_reaction_handler(on_flag_reaction)
    app.event("message")(functools.partial(on_message, services))
