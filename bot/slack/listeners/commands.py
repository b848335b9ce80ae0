"""The `/comms` slash command."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.core.flagging import parse_flag, post_from_flag
from bot.services import Services
from bot.slack.ids import Command
from bot.slack.messages import flag_reply, help_text


def register(app: App, services: Services) -> None:
    """Attach the `/comms` command and its subcommands."""

    @app.command(Command.COMMS.value)
    def comms(ack: Ack, command: dict) -> None:
        subcommand, _, argument = command.get("text", "").strip().partition(" ")
        match subcommand.lower():
            case "flag":
                ack(
                    text=_flag(services, argument, user_id=command["user_id"]),
                    response_type="ephemeral",
                )
            case "" | "help":
                ack(text=help_text(services.renderer), response_type="ephemeral")
            case _:
                ack(
                    text=help_text(services.renderer, unknown=subcommand), response_type="ephemeral"
                )


def _flag(services: Services, argument: str, *, user_id: str) -> str:
    now = services.clock()
    desk = services.desk
    request = parse_flag(
        argument,
        accounts=desk.config.desk.accounts.keys(),
        default_account=desk.config.desk.default_account,
    )
    post = post_from_flag(request, flagged_by=user_id, now=now)
    intake = desk.take(post, now=now, category=request.category)
    return flag_reply(services.renderer, intake=intake)
