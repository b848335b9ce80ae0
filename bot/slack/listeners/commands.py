"""The `/comms` slash command."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.core.flagging import unescape_slack
from bot.services import Services
from bot.slack.deadline_messages import foi_due_reply
from bot.slack.ids import Command
from bot.slack.listeners import clock_commands, staff_commands
from bot.slack.messages import flag_reply, help_text


def register(app: App, services: Services) -> None:
    """Attach the `/comms` command and its subcommands."""

    @app.command(Command.COMMS.value)
    def comms(ack: Ack, command: dict) -> None:
        subcommand, _, argument = command.get("text", "").strip().partition(" ")
        desk = services.desk
        if subcommand.lower() == "flag":
            intake = desk.flag(argument, flagged_by=command["user_id"], now=services.clock())
            text = flag_reply(services.renderer, intake=intake)
        elif subcommand.lower() == "theme":
            text = staff_commands.theme_reply(services, argument=argument, user=command["user_id"])
        elif subcommand.lower() == "outbox":
            text = staff_commands.outbox_reply(services, argument=argument, user=command["user_id"])
        elif subcommand.lower() == "foi-due":
            text = foi_due_reply(
                services.renderer, config=desk.config, argument=argument, now=services.clock()
            )
        elif subcommand.lower() in clock_commands.SUBCOMMANDS:
            text = clock_commands.answer(
                services, subcommand.lower(), argument, user=command["user_id"]
            )
        else:
            text = help_text(
                services.renderer,
                accounts=list(desk.config.desk.accounts),
                default_account=desk.config.desk.default_account,
                # Slack sends `<`, `>` and `&` as entities; the template escapes them again.
                unknown=(
                    unescape_slack(subcommand) if subcommand.lower() not in ("", "help") else None
                ),
            )
        ack(text=text, response_type="ephemeral")
