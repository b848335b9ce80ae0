"""Builders for the Slack messages commsbot posts. Words live in templates/slack/."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.opinion import decided_by_opinion
from bot.core.posts import Category, Classification, Flag, Kind, Network
from bot.core.templating import TemplateRenderer

if TYPE_CHECKING:
    from bot.desk import Intake
    from bot.services import DeskStatus

# Slack allows 3,000 characters in a section's text; the quoted post keeps a margin.
SECTION_LIMIT = 3000
QUOTE_LIMIT = SECTION_LIMIT - 100
QUOTE_MAX_LINES = 40

NETWORK_LABELS = {
    Network.X: "X",
    Network.FACEBOOK: "Facebook",
    Network.INSTAGRAM: "Instagram",
    Network.LINKEDIN: "LinkedIn",
    Network.YOUTUBE: "YouTube",
    Network.OTHER: "another network",
}
KIND_LABELS = {
    Kind.POST: "post",
    Kind.COMMENT: "comment",
    Kind.REPLY: "reply",
    Kind.DIRECT_MESSAGE: "direct message",
}
CATEGORY_LABELS = {
    Category.URGENT: ":rotating_light: Urgent",
    Category.SUBJECT_ACCESS: "Subject access request",
    Category.FOI: "Possible FOI/EIR request",
    Category.MODERATION: "Moderation",
    Category.MEDIA: "Press enquiry",
    Category.COMPLAINT: "Complaint",
    Category.ENQUIRY: "Enquiry",
    Category.GENERAL: "General",
    Category.UNSORTED: ":grey_question: Needs a human",
}

Message = tuple[str, list[dict[str, Any]]]

# Every template these builders render; checked at start-up so a missing one stops the bot
# before a post arrives rather than when it does.
TEMPLATES = (
    "slack/routed_post_summary.j2",
    "slack/routed_post_details.j2",
    "slack/routed_post_fallback.j2",
    "slack/personal_data_warning.j2",
    "slack/link_warning.j2",
    "slack/no_text.j2",
    "slack/help.j2",
    "slack/flag_reply.j2",
    "slack/home_summary.j2",
    "slack/home_routes.j2",
    "slack/undeliverable.j2",
    "slack/home_header.j2",
    "slack/theme_header.j2",
    "slack/theme_summary.j2",
    "slack/theme_latest.j2",
    "slack/theme_thread_note.j2",
    "slack/theme_links.j2",
    "slack/theme_moved.j2",
    "slack/theme_fallback.j2",
    "slack/digest_header.j2",
    "slack/sorry.j2",
    "slack/routed_post_hints.j2",
    "slack/masked_data.j2",
    "slack/staff_text.j2",
    "slack/action_refused.j2",
    "slack/theme_done.j2",
    "slack/dead_letters.j2",
)


def _mrkdwn(text: str, *, verbatim: bool = False) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": verbatim}


def hints_text(
    renderer: TemplateRenderer,
    *,
    classification: Classification,
    author: str,
    channel: str | None,
    also: tuple[str, ...],
    breaches: int | None,
    suggest_block_after: int | None,
) -> str:
    """The notes under a post, or "" when there is nothing to say.

    Why a person must sort it (unsorted), what the second opinion thinks when it disagrees,
    the hate crime and legal routes, how often the author has been sent to moderation, and
    where else an urgent post went.
    """
    opinion = classification.opinion
    shown_opinion = opinion is not None and opinion.category is not classification.category
    decided = decided_by_opinion(classification)
    return renderer.render(
        "slack/routed_post_hints.j2",
        unsorted=classification.category is Category.UNSORTED,
        reason=classification.rule,
        hint_label=CATEGORY_LABELS[classification.hint] if classification.hint else None,
        opinion_label=CATEGORY_LABELS[opinion.category] if opinion is not None else None,
        opinion_confidence=f"{opinion.confidence:.0%}" if opinion is not None else None,
        show_opinion=shown_opinion,
        raised=decided == "raised",
        chosen=decided == "chosen",
        hate_crime=any(hit.flag is Flag.HATE_CRIME for hit in classification.flags),
        legal=any(hit.flag is Flag.LEGAL for hit in classification.flags),
        moderation=classification.category is Category.MODERATION,
        author=author,
        breaches=breaches,
        suggest_block=(
            breaches is not None
            and suggest_block_after is not None
            and breaches >= suggest_block_after
        ),
        channel=channel,
        also=list(also),
    )


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def help_text(
    renderer: TemplateRenderer,
    *,
    accounts: list[str],
    default_account: str,
    unknown: str | None = None,
) -> str:
    """The `/comms help` text, with a note when the subcommand was not recognised."""
    return renderer.render(
        "slack/help.j2", unknown=unknown, accounts=accounts, default_account=default_account
    )


def flag_reply(renderer: TemplateRenderer, *, intake: Intake) -> str:
    """The private confirmation a member of staff sees after `/comms flag`."""
    return renderer.render(
        "slack/flag_reply.j2",
        status=intake.status,
        theme=intake.theme,
        category_label=CATEGORY_LABELS[intake.triage.classification.category],
        channel=intake.triage.channel,
        rule=intake.triage.classification.rule,
    )


def home_view(renderer: TemplateRenderer, *, status: DeskStatus) -> dict[str, Any]:
    """The App Home tab: how busy the desk is and where each kind of post goes."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": renderer.render("slack/home_header.j2")},
        },
        {
            "type": "section",
            "text": _mrkdwn(
                renderer.render(
                    "slack/home_summary.j2",
                    posts_today=status.posts_today,
                    open_themes=status.outbox.open_themes,
                    pending=status.outbox.pending,
                    dead=status.outbox.dead,
                )
            ),
        },
    ]
    for key, name in status.accounts.items():
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(
                    renderer.render(
                        "slack/home_routes.j2",
                        account_name=name,
                        # A label of None is the account's `default` route.
                        routes=[
                            (None if c == "default" else CATEGORY_LABELS[Category(c)], ch)
                            for c, ch in status.routes[key].items()
                        ],
                    )
                ),
            }
        )
    return {"type": "home", "blocks": blocks}
