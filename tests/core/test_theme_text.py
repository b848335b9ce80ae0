"""Reading messy post text for grouping: repeat keys, topics, places."""

from __future__ import annotations

import pytest

from bot.core.places import PlaceFinder, is_street, same_place
from bot.core.textnorm import repeat_key, split_hashtag, title_from_text, words
from bot.core.topics import TermSets, analyse

LEXICON = TermSets.build(
    {
        "bins": ["bin", "rubbish", "refuse", "recycling", "binmen", "bin collection", "🗑️"],
        "potholes": ["pothole", "road surface"],
        "noise": ["barking"],
    }
)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("You are ALL idiots", "you are all idiots!!!", True),
        ("you are all idiots 😡😡", "you   are\nall idiots", True),
        ("Buy now http://spam.example/a?ref=1", "buy now https://www.spam.example/b", True),
        ("Buy now http://spam.example/a", "Buy now http://other.example/a", False),
        ("you are all idiots", "you are all morons", False),
        ("😡😡😡", "🤡🤡🤡", False),
        ("Don\u2019t ignore us", "dont ignore us", True),
    ],
)
def test_repeat_keys_ignore_case_spacing_emoji_punctuation_and_link_details(
    first: str, second: str, same: bool
) -> None:
    assert (repeat_key(first) == repeat_key(second)) is same


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bins not collected", {"bins": 1}),
        ("RUBBISH everywhere and the binmen never came", {"bins": 2}),
        ("#BinCollection missed", {"bins": 1}),
        ("recyling not done", {"bins": 1}),  # a letter dropped
        ("potohle on our road", {"potholes": 1}),  # two letters swapped
        ("checking my banking app", {}),  # another real word, not a typo of "barking"
        ("the road surface is awful", {"potholes": 1}),
        ("🗑️🗑️ again", {"bins": 1}),
        ("the pins are in the box", {}),
    ],
)
def test_topics_are_found_through_synonyms_hashtags_typos_and_emoji(
    text: str, expected: dict[str, int]
) -> None:
    assert LEXICON.find(analyse(text)) == expected


def test_terms_must_have_words() -> None:
    with pytest.raises(ValueError, match="has no words"):
        TermSets.build({"bins": ["!!!"]})


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("Bins not emptied on Albion Road Brackford", ("albion road", "brackford")),
        ("Huge fire in Fenbridge, smoke over Abbey Fields", ("fenbridge", "abbey fields")),
        ("black bins on Cromwell St missed", ("cromwell street",)),
        ("Still waiting. Beaumont estate.", ("beaumont estate",)),
        ("St Mary's Avenue not done", ("st marys avenue",)),
        ("Lily at the Brackford Gazette here", ()),
        ("Thanks Sarah, great job", ()),
        ("@AnyshireCC where are my bins", ()),
        ("what time does the park and ride start on Saturdays?", ()),
        ("FIRE ON SPRING ROAD", ()),  # shouting hides names unless they are known
    ],
)
def test_places_are_taken_only_with_evidence(text: str, places: tuple[str, ...]) -> None:
    assert PlaceFinder(vocabulary=LEXICON.vocabulary).find(text) == places


def test_known_places_are_found_in_any_case() -> None:
    finder = PlaceFinder(known=frozenset({"little orford"}))
    assert finder.find("the ford at LITTLE ORFORD is a torrent") == ("little orford",)
    learned = finder.find("fire on spring rd", also_known=lambda name: name == "spring road")
    assert learned == ("spring road",)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("ashwell", "ashwell market", True),
        ("little orford", "orford", True),
        ("little orford", "little wenham", False),
        ("victoria terrace", "victoria park", False),
        ("spring road", "spring road", True),
    ],
)
def test_place_names_compare_by_their_distinctive_words(
    first: str, second: str, same: bool
) -> None:
    assert same_place(first, second) is same


def test_streets_are_told_from_towns() -> None:
    assert is_street("mill lane") and not is_street("brackford")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("BinsMissedAgain", "Bins Missed Again"), ("save_the_station", "save the station")],
)
def test_hashtags_are_read_as_words(tag: str, expected: str) -> None:
    assert split_hashtag(tag) == expected


def test_words_drop_links_and_handles_and_keep_hashtag_words() -> None:
    assert words("@AnyshireCC sooooo bad http://x.example #BinDay") == ["soo", "bad", "bin", "day"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("> 😡 bins missed again", "bins missed again"),
        (
            "> we apologise for any inconvenience\nthe rats on Cromwell St say otherwise",
            "the rats on Cromwell St say otherwise",
        ),
        ("😡😡🗑️", "😡😡🗑️"),
        ("@AnyshireCC #BinsMissed http://x.example", "Bins Missed"),
    ],
    ids=["quote-marker", "quoted-reply", "emoji-only", "hashtag-only"],
)
def test_titles_say_what_the_post_says(text: str, title: str) -> None:
    assert title_from_text(text) == title
