"""Normalising short, messy social media text for grouping: words, repeat keys and titles.

Everything here is deterministic and pure: the same text always gives the same result,
whatever the hash seed, and nothing reads the clock or the network.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

from bot.core.flags import detect_flags
from bot.core.posts import Flag

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_HOST = re.compile(r"^(?:https?://)?(?:www\.)?([^/?#:\s]+)", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_LONG_RUN = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")
# Variation selector, zero-width joiner and keycap: parts of an emoji, not of a word.
_EMOJI_JOINERS = frozenset("\ufe0f\u200d\u20e3")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# Content words a title should have before it stops adding sentences.
_TITLE_CONTENT_WORDS = 4


# Function words that say nothing about what a post is about. Kept short on purpose: the
# grouping weighs the remaining words by how many open themes use them, so a common word
# that is missing here only costs a little.
def word_set(text: str) -> frozenset[str]:
    """The words of a whitespace-separated list written as one string."""
    return frozenset(text.split())


STOP_WORDS = word_set(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves
    just get got getting also still really now yet even ever much many lot lots one two
    anyone someone anybody everyone thing things way im ive dont cant wont isnt doesnt didnt
    u ur pls please thanks thank thx hi hello hey ok okay yes yeah lol omg wtf via rt amp
    will shall may might must let like know think going go gone went say said see seen
    today yesterday tonight tomorrow week weeks day days time again still already
    """
)

_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """`text` in one canonical form: NFKC, straight apostrophes, case folded, no accents."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def is_emoji(char: str) -> bool:
    """Whether `char` is a pictograph or symbol rather than a letter, digit or punctuation."""
    return (
        unicodedata.category(char) in {"So", "Sk", "Cs"}
        or 0x1F000 <= ord(char) <= 0x1FAFF
        or char in _EMOJI_JOINERS
    )


def emoji_in(text: str) -> tuple[str, ...]:
    """The distinct pictographs in `text`, in order of first appearance."""
    seen: dict[str, None] = {}
    for char in text:
        if is_emoji(char) and char not in _EMOJI_JOINERS and char not in seen:
            seen[char] = None
    return tuple(seen)


def split_hashtag(tag: str) -> str:
    """A hashtag's words: `BinsMissedAgain` reads as `Bins Missed Again`."""
    return _CAMEL.sub(" ", tag).replace("_", " ")


def _squeeze(word: str) -> str:
    """Letters stretched for emphasis come back to two: `sooooo` reads as `soo`."""
    return _LONG_RUN.sub(r"\1\1", word)


def words(text: str) -> list[str]:
    """The folded words of `text`, without links, @handles or stray symbols, hashtags split."""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(lambda m: " " + split_hashtag(m.group(1)) + " ", text)
    folded = fold(text)
    return [_squeeze(match.group(0)).replace("'", "") for match in _WORD.finditer(folded)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of one folded word."""
    stemmed: str = _stemmer.stemWord(word)
    return stemmed


def content_stems(tokens: list[str]) -> list[str]:
    """Stems of the words that carry meaning: no stop words, no bare numbers, no 1-letter words."""
    out = []
    for token in tokens:
        if len(token) < 2 or token in STOP_WORDS or token.isdigit():
            continue
        out.append(stem(token))
    return out


def _url_host(match: re.Match[str]) -> str:
    host = _URL_HOST.match(match.group(0))
    return f" {host.group(1).lower()} " if host else " "


def repeat_key(text: str) -> str:
    """What stays of `text` when case, spacing, emoji, punctuation and link details are ignored.

    Two posts with the same key say the same thing: a link counts only by its site, so a
    spammer varying tracking codes still repeats. Text that is nothing but symbols keys on
    its symbols, so two different emoji-only posts stay different.
    """
    stripped = _URL.sub(_url_host, text)
    key = " ".join(match.group(0) for match in _WORD.finditer(fold(stripped)))
    key = key.replace("'", "")
    if key:
        return key
    return "".join(char for char in fold(text) if not char.isspace())


# --- Titles -------------------------------------------------------------------------------


def _without_personal_words(text: str) -> str:
    """`text` without the words that could carry personal data (emails, handles, numbers)."""
    kept = [
        word
        for word in text.split()
        if "@" not in word and not _DIGITS.search(word) and not _URL.match(word)
    ]
    return " ".join(kept)


def _sentence_case(text: str) -> str:
    """Shouting (mostly capitals) turned into sentence case; other text unchanged."""
    letters = [char for char in text if char.isalpha()]
    if len(letters) < 6 or sum(char.isupper() for char in letters) < 0.7 * len(letters):
        return text
    lowered = text.lower()
    for index, char in enumerate(lowered):
        if char.isalpha():
            return lowered[:index] + char.upper() + lowered[index + 1 :]
    return lowered


def title_from_text(text: str, *, limit: int = 80) -> str:
    """A short title from a post: its first sentences, without links, handles or personal data.

    The result is plain text (escape it where it is shown). Anything that looks like personal
    data (email address, phone or card number, postcode, street address, date of birth) is
    removed: words containing digits or `@` are dropped whenever a detector still fires.
    Quoted lines (`> …`) are skipped when the post has words of its own.
    """
    lines = text.splitlines() or [text]
    # A quoted reply's own words say more than the words it quotes.
    own = [line for line in lines if not line.lstrip().startswith(">")] or lines
    cleaned = _URL.sub(" ", "\n".join(own))
    cleaned = _EMAIL.sub(" ", cleaned)
    cleaned = _MENTION.sub(" ", cleaned)
    cleaned = _HASHTAG.sub(lambda m: split_hashtag(m.group(1)), cleaned)
    cleaned = "".join(char for char in cleaned if not is_emoji(char))
    cleaned = cleaned.strip().lstrip(" >\"'\u201c-")
    if any(hit.flag is Flag.PERSONAL_DATA for hit in detect_flags(cleaned)) or _has_digit_run(
        cleaned
    ):
        cleaned = _without_personal_words(cleaned)
    sentences = [part.strip() for part in _SENTENCE_END.split(cleaned) if part.strip()]
    # Enough sentences to say what it is about ("Absolutely gutted." says too little).
    taken: list[str] = []
    for sentence in sentences or [cleaned]:
        taken.append(sentence)
        if len(content_stems(words(" ".join(taken)))) >= _TITLE_CONTENT_WORDS:
            break
    first = _sentence_case(_SPACES.sub(" ", " ".join(taken)).strip())
    if not first:  # nothing but emoji: they are what was said
        first = _SPACES.sub(" ", _MENTION.sub(" ", _URL.sub(" ", text))).strip()
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def _has_digit_run(text: str) -> bool:
    """Whether `text` has six or more digits close together (a phone, account or case number)."""
    return re.search(r"\d(?:[\s-]?\d){5,}", text) is not None
