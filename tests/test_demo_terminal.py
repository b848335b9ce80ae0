"""Slack mrkdwn as the demo shows it in a terminal: what a person would read in Slack."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from bot.demo.run import Screen
from bot.demo.terminal import SlackNames, render_mrkdwn, visible

NAMES = SlackNames(users={"U0STAFF01": "staff.member"}, channels={"C0PRESS": "press-office"})

# (mrkdwn, what a person reads)
RENDERED = [
    ("*bold* and _italic_ and ~struck~", "bold and italic and struck"),
    ("*bold with _italic_ inside*", "bold with italic inside"),
    ("*:rotating_light: Urgent* · *T-0003*", "🚨 Urgent · T-0003"),
    ("run `commsbot serve` now", "run commsbot serve now"),
    ("`*not bold* in code`", "*not bold* in code"),
    # Markers inside words or numbers are text, as in Slack.
    (
        "post from *@tidyup_tom* about snake_case_names",
        "post from @tidyup_tom about snake_case_names",
    ),
    ("2 * 3 * 4 = 24, a_b, x*y*z", "2 * 3 * 4 = 24, a_b, x*y*z"),
    ("** and __ alone", "** and __ alone"),
    # Links: the label, then where it goes.
    ("<https://x.com/a_b/status/1|open on X>", "open on X (https://x.com/a_b/status/1)"),
    ("<https://example.org/?q=1&amp;r=2>", "https://example.org/?q=1&r=2"),
    ("<mailto:foi@anyshire.gov.uk|foi@anyshire.gov.uk>", "foi@anyshire.gov.uk"),
    ("<https://evil.example|council.gov.uk>", "council.gov.uk (https://evil.example)"),
    # Entities: the characters Slack shows. Text from the public arrives escaped, so a
    # mention or link it contains is read literally, as Slack shows it.
    ("5 &lt; 6 &amp;&amp; 7 &gt; 6", "5 < 6 && 7 > 6"),
    ("&lt;!channel&gt; refund", "<!channel> refund"),
    ("&lt;https://evil.example|council.gov.uk&gt;", "<https://evil.example|council.gov.uk>"),
    ("&amp;lt;", "&lt;"),
    # Special mentions: what Slack shows for them.
    ("<!channel> <!here> <!everyone>", "@channel @here @everyone"),
    ("<!subteam^S0PRESS|@press-team> please", "@press-team please"),
    ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
    # User and channel mentions.
    ("flagged by <@U0STAFF01>", "flagged by @staff.member"),
    ("owner <@U0UNKNOWN>", "owner @U0UNKNOWN"),
    (
        "<@U0X|sam> in <#C0PRESS> and <#C0OTHER|fire-control>",
        "@sam in #press-office and #fire-control",
    ),
    # Emoji: known codes become emoji; anything else stays as typed, as in Slack.
    (":sos: :white_check_mark: :thread:", "🆘 ✅ 🧵"),
    (":thumbsup::skin-tone-3: done", "👍 done"),
    ("at 10:30:00 :not_an_emoji_at_all:", "at 10:30:00 :not_an_emoji_at_all:"),
    # Quotes: a bar, as Slack draws one.
    ("&gt; Please help\n&gt; we are on the 2nd floor", "│ Please help\n│ we are on the 2nd floor"),
    ("a &gt; b", "a > b"),
]


@pytest.mark.parametrize(("mrkdwn", "shown"), RENDERED, ids=[m for m, _ in RENDERED])
def test_mrkdwn_reads_as_in_slack(mrkdwn: str, shown: str) -> None:
    assert render_mrkdwn(mrkdwn, names=NAMES).plain == shown


def _style_of(text: Text, part: str) -> set[str]:
    """The style attributes every character of `part` has in `text`."""
    start = text.plain.index(part)
    attributes = None
    for offset in range(start, start + len(part)):
        style = text.get_style_at_offset(Console(), offset)
        found = {a for a in ("bold", "italic", "strike", "underline", "dim") if getattr(style, a)}
        attributes = found if attributes is None else attributes & found
    return attributes or set()


# (mrkdwn, part, its style)
STYLED = [
    ("*bold* plain", "bold", {"bold"}),
    ("*bold* plain", "plain", set()),
    ("_italic_", "italic", {"italic"}),
    ("~gone~", "gone", {"strike"}),
    ("*bold with _italic_*", "italic", {"bold", "italic"}),
    ("*bold with _italic_*", "bold with", {"bold"}),
    ("<https://a.example|the page>", "the page", {"underline"}),
    ("flagged by <@U0STAFF01>", "@staff.member", {"bold"}),
    ("&gt; quoted", "quoted", set()),
    ("&gt; quoted", "│", {"dim"}),
]


@pytest.mark.parametrize(("mrkdwn", "part", "style"), STYLED)
def test_formatting_becomes_terminal_styles(mrkdwn: str, part: str, style: set[str]) -> None:
    assert _style_of(render_mrkdwn(mrkdwn, names=NAMES), part) == style


def test_without_styles_code_keeps_its_backticks_and_emoji_can_be_words() -> None:
    shown = render_mrkdwn("`commsbot serve` :rotating_light: *Urgent*", plain=True, emoji=False)
    assert shown.plain == "`commsbot serve` [rotating light] Urgent"


# (text from the public, what the terminal gets)
HOSTILE = [
    ("\x1b[2J\x1b[31mred", "␛[2J␛[31mred"),  # clear the screen, colour
    ("\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "␛]8;;https://evil.example␇click␛]8;;␇"),
    ("safe\rFAKE", "safe␍FAKE"),  # carriage return overwrites the line
    ("abc\x08\x08\x08xyz", "abc␈␈␈xyz"),  # backspaces
    ("\x9b31mC1 CSI", "\ufffd31mC1 CSI"),
    ("bank \u202egnp.exe", "bank \ufffdgnp.exe"),  # right-to-left override
    ("nul\x00 del\x7f", "nul␀ del␡"),
    ("tab\there", "tab here"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("firefighter 👩\u200d🚒", "firefighter 👩\u200d🚒"),  # the joiner inside an emoji stays
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE, ids=[repr(t) for t, _ in HOSTILE])
def test_control_characters_from_the_public_are_shown_not_obeyed(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert render_mrkdwn(f"&gt; {text}").plain == f"│ {shown}"


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _on_a_terminal(text: Text) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=80).print(text)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_text_reaches_the_terminal_as_a_control_sequence(text: str) -> None:
    """Only rich's own colour codes reach the terminal, whatever the post says."""
    printed = _SGR.sub("", _on_a_terminal(render_mrkdwn(text)))
    controls = {c for c in printed if c != "\n" and unicodedata.category(c) in ("Cc", "Cs")}
    assert controls == set()
    assert not {"\u202e", "\u202d", "\u2066", "\u2067"} & set(printed)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_styles_only_on_a_terminal() -> None:
    to_file, to_terminal = io.StringIO(), _Terminal()
    for out in (to_file, to_terminal):
        Screen(out).say("*Next:* run `commsbot serve`")
    assert to_file.getvalue() == "Next: run `commsbot serve`\n"
    assert "\x1b[1mNext:\x1b[0m" in to_terminal.getvalue()
    assert _SGR.sub("", to_terminal.getvalue()) == "Next: run commsbot serve\n"


class _Ascii(io.StringIO):
    encoding = "ascii"


def test_an_output_without_unicode_gets_words_and_plain_glyphs() -> None:
    out = _Ascii()
    Screen(out).say("*T-0003* · :rotating_light: incident\n&gt; café", first="  • ")
    assert out.getvalue() == "  * T-0003 - [rotating light] incident\n    | caf?\n"
