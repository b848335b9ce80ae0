"""`/comms theme ...` read into actions; every mistake is a refusal naming what to fix."""

import pytest

from bot.core.posts import Category
from bot.core.staff import ActionRefused, Refusal, ThemeCommand, Verb, parse_theme_command
from bot.core.theme_state import CloseReason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T-0042", ThemeCommand("T-0042", Verb.SHOW)),
        ("t42 claim", ThemeCommand("T-0042", Verb.CLAIM)),
        ("T-0042 unclaim", ThemeCommand("T-0042", Verb.UNCLAIM)),
        ("T-0042 reopen", ThemeCommand("T-0042", Verb.REOPEN)),
        ("T-1 close spam", ThemeCommand("T-0001", Verb.CLOSE, reason=CloseReason.SPAM)),
        (
            "T-1 close no-reply-needed",
            ThemeCommand("T-0001", Verb.CLOSE, reason=CloseReason.NO_REPLY_NEEDED),
        ),
        ("T-1 merge into t-2", ThemeCommand("T-0001", Verb.MERGE, target="T-0002")),
        ("T-1 merge T-2", ThemeCommand("T-0001", Verb.MERGE, target="T-0002")),
        ("T-1 move x:99 to T-3", ThemeCommand("T-0001", Verb.MOVE, post="x:99", target="T-0003")),
        ("T-1 move x:99 new", ThemeCommand("T-0001", Verb.MOVE, post="x:99", target=None)),
        ("T-1 recategorize foi", ThemeCommand("T-0001", Verb.RECATEGORISE, category=Category.FOI)),
        (
            "T-1 recategorise x:99 sar",
            ThemeCommand(
                "T-0001", Verb.RECATEGORISE, post="x:99", category=Category.SUBJECT_ACCESS
            ),
        ),
    ],
)
def test_commands_read_as_actions(text: str, expected: ThemeCommand) -> None:
    assert parse_theme_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Refusal.USAGE),
        ("bins", Refusal.BAD_REF),
        ("T-0 claim", Refusal.BAD_REF),
        ("T-1 dance", Refusal.USAGE),
        ("T-1 claim now", Refusal.USAGE),
        ("T-1 close", Refusal.BAD_REASON),
        ("T-1 close merged", Refusal.BAD_REASON),
        ("T-1 merge", Refusal.USAGE),
        ("T-1 merge into soon", Refusal.BAD_REF),
        ("T-1 move T-2", Refusal.USAGE),
        ("T-1 recategorise gossip", Refusal.BAD_CATEGORY),
    ],
)
def test_mistakes_are_refused_with_a_reason(text: str, reason: Refusal) -> None:
    with pytest.raises(ActionRefused) as raised:
        parse_theme_command(text)
    assert raised.value.reason is reason
