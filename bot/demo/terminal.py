"""Slack mrkdwn shown in a terminal as a person would read it in Slack.

`*bold*`, `_italic_`, `~strike~` and `` `code` `` become rich styles (shown only when the
console is a terminal); `:emoji:` codes become the emoji; `<url|label>` becomes
`label (url)`; mentions become `@name` and `#name`; `&lt;` `&gt;` `&amp;` become the
characters a person sees. Text from the public can never reach the terminal as a control
sequence: every control character is first replaced by a visible stand-in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.emoji import Emoji, NoEmoji
from rich.style import Style
from rich.text import Text

BOLD = Style(bold=True)
ITALIC = Style(italic=True)
STRIKE = Style(strike=True)
CODE = Style(bold=True, dim=True)
QUOTE = Style(dim=True)  # the bar Slack draws beside a quote
LINK = Style(underline=True)
QUOTE_BAR = "│ "

# A placeholder for an atom (a `<…>` token or an emoji) while formatting is parsed. NUL can
# never survive `visible` (it becomes ␀), so a post cannot forge one.
_MARK = "\x00"
_TOKEN = re.compile(r"<([^<>\n]*)>")
_EMOJI = re.compile(r":([a-z0-9_+'-]+):(?::skin-tone-[2-6]:)?")
_QUOTE = re.compile(r"^(?:&gt;|>) ?")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# Bidirectional overrides and isolates reorder what is shown: a post could make a link
# read backwards. Shown as U+FFFD like the other invisible format characters.
_KEEP_FORMAT = frozenset("\u200d")  # zero-width joiner: part of emoji such as 👩‍🚒


def _formatting(marker: str) -> re.Pattern[str]:
    """Slack's rule for one marker: it hugs the text and stands apart from words."""
    m = re.escape(marker)
    return re.compile(rf"(?<![\w{m}]){m}(?=[^\s{m}])(.*?[^\s{m}]|[^\s{m}]){m}(?![\w{m}])")


_CODE = _formatting("`")
_STYLES = ((_formatting("*"), BOLD), (_formatting("_"), ITALIC), (_formatting("~"), STRIKE))


@dataclass(frozen=True)
class SlackNames:
    """Names for the user and channel IDs a message mentions (IDs shown when unknown)."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


def visible(text: str) -> str:
    """`text` with every control or invisible format character replaced by a visible one.

    C0 controls and DEL become their Unicode control pictures (ESC shows as ␛), C1
    controls and format characters (bidi overrides, zero-width spaces) become U+FFFD, a
    tab becomes a space; newlines and the zero-width joiner inside emoji stay.
    """
    out = []
    for char in text:
        code = ord(char)
        if char == "\n":
            out.append(char)
        elif char == "\t":
            out.append(" ")
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif char in _KEEP_FORMAT:
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def _entities(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def _token(inner: str, names: SlackNames) -> Text:
    """What Slack shows for `<inner>`: a link, a mention or a special mention."""
    if not inner:
        return Text("<>")
    target, _, label = inner.partition("|")
    label = _entities(label)
    if target.startswith("@"):
        user = target[1:]
        return Text("@" + (label.lstrip("@") or names.users.get(user, user)), style=BOLD)
    if target.startswith("#"):
        channel = target[1:]
        return Text("#" + (label.lstrip("#") or names.channels.get(channel, channel)), style=BOLD)
    if target.startswith("!"):
        special = target[1:]
        if label:  # <!subteam^S1|@press-team>, <!date^…|fallback>
            return Text(label, style=BOLD if label.startswith("@") else "")
        return Text("@" + special.split("^", 1)[0], style=BOLD)
    url = _entities(target)
    shown = url.removeprefix("mailto:")
    if not label or label in (url, shown):
        return Text(shown, style=LINK)
    return Text.assemble((label, LINK), f" ({shown})")


def _emoji(name: str, *, as_emoji: bool) -> Text | None:
    """The emoji for `:name:` (or the name in words), or None if it is not an emoji."""
    try:
        glyph = str(Emoji(name))
    except NoEmoji:
        return None
    return Text(glyph if as_emoji else f"[{name.replace('_', ' ')}]")


def _atoms(line: str, names: SlackNames, *, as_emoji: bool) -> tuple[str, list[Text]]:
    """`line` with each token and emoji replaced by a placeholder, and what each shows."""
    atoms: list[Text] = []

    def keep(shown: Text) -> str:
        atoms.append(shown)
        return f"{_MARK}{len(atoms) - 1}{_MARK}"

    line = _TOKEN.sub(lambda m: keep(_token(m.group(1), names)), line)

    def emoji(match: re.Match[str]) -> str:
        shown = _emoji(match.group(1), as_emoji=as_emoji)
        return match.group(0) if shown is None else keep(shown)

    return _EMOJI.sub(emoji, line), atoms


def _styled_line(line: str, names: SlackNames, *, as_emoji: bool, plain: bool) -> Text:
    """One line of mrkdwn (no quote marker) as styled text."""
    text, atoms = _atoms(line, names, as_emoji=as_emoji)
    styles: list[tuple[int, int, Style]] = []
    hidden: set[int] = set()
    code_spans = [(m.start(), m.end()) for m in _CODE.finditer(text)]
    for start, end in code_spans:
        if not plain:  # without styles, the backticks are what marks code out
            hidden.update((start, end - 1))
        styles.append((start, end, CODE))
    # Formatting is not read inside code: mask it so markers there do not count.
    masked = list(text)
    for start, end in code_spans:
        masked[start + 1 : end - 1] = "\x01" * (end - start - 2)
    outside_code = "".join(masked)
    for pattern, style in _STYLES:
        for match in pattern.finditer(outside_code):
            hidden.update((match.start(), match.end() - 1))
            styles.append((match.start(), match.end(), style))
    return _assemble(text, atoms, hidden=hidden, styles=styles)


def _assemble(
    text: str, atoms: list[Text], *, hidden: set[int], styles: list[tuple[int, int, Style]]
) -> Text:
    """The shown text: markers dropped, atoms put back, entities decoded, styles applied."""
    result = Text()
    starts: dict[int, int] = {}  # position in `text` -> position in `result`
    pieces = re.split(f"({_MARK}\\d+{_MARK})", text)
    position = 0
    for piece in pieces:
        if piece.startswith(_MARK) and piece.endswith(_MARK) and len(piece) > 1:
            starts[position] = len(result)
            result.append_text(atoms[int(piece.strip(_MARK))].copy())
            position += len(piece)
            continue
        run = ""
        for offset, char in enumerate(piece):
            if position + offset in hidden:
                result.append(_entities(run))
                run = ""
                starts[position + offset] = len(result)
                continue
            if not run:
                starts[position + offset] = len(result)
            run += char
        result.append(_entities(run))
        position += len(piece)
    starts[len(text)] = len(result)
    for start, end, style in styles:
        result.stylize(style, _nearest(starts, start), _nearest(starts, end))
    return result


def _nearest(starts: dict[int, int], position: int) -> int:
    """Where `position` of the parsed line landed in the shown text."""
    while position not in starts:
        position += 1
    return starts[position]


def render_mrkdwn(
    mrkdwn: str, *, names: SlackNames | None = None, emoji: bool = True, plain: bool = False
) -> Text:
    """Slack mrkdwn as terminal text, styled as Slack would show it.

    With `emoji` false (an output that cannot show emoji), `:sos:` reads `[sos]`. With
    `plain` (an output that shows no styles, such as a file), code keeps its backticks.
    """
    names = names or SlackNames()
    lines = []
    for line in visible(mrkdwn).split("\n"):
        quote = _QUOTE.match(line)
        body = _styled_line(
            line[quote.end() :] if quote else line, names, as_emoji=emoji, plain=plain
        )
        if quote:
            body = Text.assemble((QUOTE_BAR, QUOTE), body)
        lines.append(body)
    return Text("\n").join(lines)
