"""Which of the desk's Slack channels a comms manager should look at first, in the demo."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config import DeskConfig
from bot.core.posts import Category
from bot.core.theme_state import priority_of
from bot.core.themes import Priority


@dataclass(frozen=True)
class ChannelRank:
    """How much a channel needs attention: lower `attention` goes first."""

    attention: Priority
    round_the_clock: bool
    statutory: bool
    # Among equals: the place in `Category` of the first category routed here (urgent, the
    # statutory routes, moderation, the press, complaints, enquiries...); after all if none.
    category_order: int = len(Category)


def _bare(channel: str) -> str:
    return channel.removeprefix("#")


def category_priority(category: str) -> Priority:
    """How soon posts of `category` must be seen: urgent, then statutory, then the rest."""
    if category == Category.URGENT:
        return Priority.URGENT
    return priority_of(category)


def rank_channel(
    *, name: str, channel_id: str, config: DeskConfig, themes: Iterable[Priority] = ()
) -> ChannelRank:
    """The rank of one channel, from the desk config and the themes it shows now.

    A channel watched round the clock (or the duty channel) ranks as urgent; any other as
    the most pressing of the categories the accounts route to it and the themes it shows.
    """
    refs = {_bare(name), channel_id}
    watch = config.desk.round_the_clock
    watched = {_bare(c) for c in watch.channels} | {_bare(watch.duty_channel or "")}
    categories = {
        category
        for account in config.desk.accounts.values()
        for category, channel in account.channels.items()
        if _bare(channel) in refs
    }
    routed = [category_priority(category) for category in categories]
    order = [index for index, known in enumerate(Category) if known in categories]
    round_the_clock = bool(refs & watched)
    attention = min(
        [*routed, *themes, Priority.URGENT if round_the_clock else Priority.ROUTINE],
    )
    statutory = Priority.STATUTORY in routed
    return ChannelRank(
        attention=attention,
        round_the_clock=round_the_clock,
        statutory=statutory,
        category_order=min(order, default=len(Category)),
    )


def order_channels(
    channels: Mapping[str, str],
    *,
    config: DeskConfig,
    themes: Mapping[str, Iterable[Priority]] | None = None,
) -> list[tuple[str, ChannelRank]]:
    """Channel names (name -> id) most pressing first, each with its rank.

    Round-the-clock and urgent channels first, then the statutory routes (FOI, subject
    access), then the rest in the order of their categories; ties by name.

    `themes` holds the priorities of the themes each channel (by id) shows.
    """
    shown = themes or {}
    ranked = [
        (name, rank_channel(name=name, channel_id=cid, config=config, themes=shown.get(cid, ())))
        for name, cid in channels.items()
    ]
    return sorted(ranked, key=lambda item: (*_key(item[1]), item[0]))


def _key(rank: ChannelRank) -> tuple[int, bool, int]:
    return (int(rank.attention), not rank.round_the_clock, rank.category_order)
