"""Reply length as each network counts it: X's weighted count, characters elsewhere."""

from __future__ import annotations

import pytest

from bot.core.posts import Network
from bot.core.textlength import LengthRule, character_length, measure, x_weighted_length

URL = "https://www.anyshire.gov.uk/foi"


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("", 0),
        ("Hello there", 11),
        # Every link counts 23, however long or short it is.
        (URL, 23),
        ("https://a.co", 23),
        ("https://www.anyshire.gov.uk/" + "very-long-path/" * 10, 23),
        (f"See {URL} or {URL}.", 4 + 23 + 4 + 23 + 1),
        # Trailing punctuation is not part of the link.
        (f"({URL}).", 1 + 23 + 2),
        # A bare domain counts at least 23 (X links it)...
        ("anyshire.gov.uk/bins", 23),
        ("www.anyshire.gov.uk", 23),
        # ...but not inside an email address, which X does not link.
        ("email foi@anyshire.gov.uk", 25),
        ("foi.team@anyshire.gov.uk", 24),
        # Not links: abbreviations, times, amounts.
        ("e.g. at 3.30pm, £1.5m", 21),
        # A "link" without a real host counts as the characters it is.
        ("https://localhost/x", 19),
        # Latin, accents, dashes and curly quotes weigh 1; the ellipsis character is
        # outside X's light ranges and weighs 2.
        ("Café \u2013 \u201cquoted\u201d", 15),
        ("…", 2),
        # Chinese, Japanese and Korean characters weigh 2.
        ("日本語", 6),
        ("안녕", 4),
        # Every emoji weighs 2, however many code points make it.
        ("👍", 2),
        ("👍🏽", 2),  # skin tone
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # family: four people, three joiners
        ("🇬🇧", 2),  # flag: two regional indicators
        ("🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f", 2),  # Wales
        ("☀️", 2),  # sun with variation selector
        ("Stay safe 🔥🚒", 10 + 2 + 2),
        ("1️⃣", 2),  # keycap: digit, variation selector, enclosing keycap
        # Symbols X may count as emoji count 2 here, never less than X.
        ("©", 2),
        ("©️", 2),
        # A word.word that only looks like a domain counts as one might: never under X.
        ("Mr.Smith", 23),
        # Decomposed accents are normalised (NFC) first: e + combining acute is one é.
        ("cafe\u0301", 4),
    ],
)
def test_x_weighted_length(text: str, weighted: int) -> None:
    assert x_weighted_length(text) == weighted


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("a" * 280, True),
        ("a" * 281, False),
        ("a" * 257 + URL, True),  # 257 + 23 = 280
        ("a" * 258 + URL, False),
        ("🔥" * 140, True),  # 140 emoji = 280
        ("🔥" * 140 + ".", False),
        ("日" * 140, True),
        ("日" * 139 + "ab", True),  # 278 + 2
        ("日" * 139 + "abc", False),
    ],
)
def test_the_280_boundary_on_x(text: str, fits: bool) -> None:
    rule = LengthRule(network=Network.X, limit=280, weighted=True)
    assert (measure(text, rule) <= rule.limit) is fits


def test_the_url_length_comes_from_the_rule() -> None:
    rule = LengthRule(network=Network.X, limit=280, weighted=True, url_length=30)
    assert measure(f"Go to {URL}", rule) == 6 + 30


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (URL, len(URL)),  # links count in full off X
        ("👍🏽", 2),  # code points, not X's weights
        ("日本語", 3),
        ("cafe\u0301", 4),
    ],
)
def test_other_networks_count_characters(text: str, count: int) -> None:
    assert character_length(text) == count
    assert measure(text, LengthRule(network=Network.FACEBOOK, limit=8000)) == count
