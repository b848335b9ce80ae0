"""Finding the places a post is about: towns and villages, and streets and roads.

Posts rarely name a place the same way twice, and they are full of capitalised words that
are not places (names, days, newspapers). So a place is taken only with evidence:
  - a run of capitalised words after a word that introduces a place ("in Hadleigh",
    "smoke over Fenbridge", "outside the Plough"), or ending in a word that names a kind of
    street or place ("Mill Lane", "Kingsway Estate", "Cromwell St"): a *street*;
  - a capitalised name straight after a street ("Albion Road Brackford"): a *town*;
  - a known place name anywhere, in any case ("HADLEIGH", "spring rd"): the configured
    gazetteer plus whatever places the caller already knows (the open themes' places).
A street is a name whose last word names a kind of street or place; any other place is a
town. Names come back folded (lower case, no accents, single spaces, abbreviations such as
"Rd" and "St" written out) so they compare equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from bot.core.textnorm import STOP_WORDS, fold, word_set, words

# Words after which a capitalised name is read as a place.
_PLACE_CUES = word_set(
    "in at near around outside from on off along through across behind opposite towards "
    "past beside via nr over round"
)

# Short forms of street words, as folded words.
_ABBREVIATIONS = {
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cres": "crescent",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "tce": "terrace",
    "gdns": "gardens",
}

# Last words of a name that make it a street (or a named place within a town).
STREET_WORDS = word_set(
    """
    road street lane avenue drive way close crescent terrace gardens grove place square hill
    green common park estate bridge roundabout parade walk rise row mews court meadows meadow
    fields field wood woods heath moor marsh quay wharf harbour beach bypass precinct quarry
    weir lido lake reservoir brook
    """
)

# Street words that make a place even in lower case after a name ("Beaumont estate"); words
# such as "park" or "green" are too often something else ("Brackford park and ride").
_LOWER_CASE_STREET_WORDS = word_set(
    "road street lane avenue drive close crescent terrace estate grove quarry lido weir "
    "lake reservoir beach woods quay harbour marina"
)

# Capitalised words that are never places by themselves.
_NOT_PLACES = word_set(
    """
    i im ive id ill council county councils fire rescue service services police nhs foi eir
    gdpr sar cllr councillor mr mrs ms miss dr sir madam team staff monday tuesday wednesday
    thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun january
    february march april may june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec christmas easter xmas bank holiday uk england
    britain gov govt mp facebook twitter instagram linkedin youtube tiktok whatsapp google
    dm pm am ok omg lol why what when where who how this that these those there here it its
    they them we you he she his her my our your their a an the and or but so if is are was
    were be been not no yes please thanks thank hi hello hey dear still just again now today
    tonight tomorrow yesterday every all any some great big new old north south east west
    """
)

# Words that make a capitalised run an organisation or a title, not a place.
_ORGANISATION_WORDS = word_set(
    """
    gazette echo news radio bbc itv times post herald mercury advertiser chronicle live
    magazine matters films ltd limited plc plastics recycling group page channel watch
    team club society trust association partnership
    """
)

_CAPITALISED = re.compile(r"[A-Z][\w'\u2019-]*")
_TOKEN = re.compile(r"[\w'\u2019-]+|[^\w\s]")
_STRIP = re.compile(r"(?:https?://|www\.)\S+|(?<![\w@])[@#]\w+")
_SENTENCE_BREAK = frozenset('.!?:;,()"\n')
# Short joining words allowed inside a place name ("Bury St Edmunds", "Stoke-on-Trent").
_JOINERS = frozenset({"on", "upon", "le", "de", "under", "next", "the", "st"})
_MAX_NAME_WORDS = 4


def canonical_name(text: str) -> str:
    """A place name as compared: folded words, street abbreviations written out."""
    parts = words(text)
    if len(parts) > 1:
        # "St" at the start is a saint ("St Mary's"), at the end a street ("Cromwell St").
        parts = [parts[0]] + [_ABBREVIATIONS.get(part, part) for part in parts[1:]]
    return " ".join(parts)


def is_street(name: str) -> bool:
    """Whether a canonical place name is a street or a place within a town (not a town)."""
    last = name.rsplit(" ", 1)[-1]
    return " " in name and last in STREET_WORDS


@dataclass(frozen=True)
class PlaceFinder:
    """Finds places in post text: cue words, street words and known names."""

    known: frozenset[str] = frozenset()
    # Words that name topics or incidents: never a place on their own ("Bins", "Smoke").
    vocabulary: frozenset[str] = frozenset()
    # Further words that are never places by themselves (e.g. the county's own name).
    not_places: frozenset[str] = frozenset()
    _known_first: dict[str, tuple[tuple[str, ...], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_first: dict[str, set[tuple[str, ...]]] = {}
        for name in self.known:
            parts = tuple(canonical_name(name).split())
            if parts:
                by_first.setdefault(parts[0], set()).add(parts)
        self._known_first.update(
            {
                first: tuple(sorted(names, key=lambda n: (-len(n), n)))
                for first, names in by_first.items()
            }
        )

    def find(
        self, text: str, *, also_known: Callable[[str], bool] | None = None
    ) -> tuple[str, ...]:
        """Places named in `text`, canonical, in order of first mention, each once.

        `also_known(name)` tells whether a canonical one- or two-word name is a place the
        caller already knows (for example a place of an open theme), found in any case.
        """
        found: dict[str, None] = {}
        for name in self._cued_names(text):
            found.setdefault(name, None)
        folded = [_ABBREVIATIONS.get(w, w) if i else w for i, w in enumerate(words(text))]
        for index in range(len(folded)):
            for name in self._known_at(folded, index, also_known):
                found.setdefault(name, None)
        return tuple(found)

    def _known_at(
        self, folded: list[str], index: int, also_known: Callable[[str], bool] | None
    ) -> Iterable[str]:
        word = folded[index]
        for parts in self._known_first.get(word, ()):
            if tuple(folded[index : index + len(parts)]) == parts:
                yield " ".join(parts)
                return
        if also_known is None or word in STOP_WORDS or word in self.vocabulary:
            return
        if index + 1 < len(folded):
            pair = f"{word} {folded[index + 1]}"
            if also_known(pair):
                yield pair
                return
        if len(word) > 2 and also_known(word):
            yield word

    def _cued_names(self, text: str) -> Iterable[str]:
        tokens = _TOKEN.findall(_STRIP.sub(" . ", text))
        index = 0
        while index < len(tokens):
            if not _is_name_word(tokens[index]):
                index += 1
                continue
            run, end = _run_at(tokens, index)
            # A street word ends a name: "Albion Road Brackford" is a street, then a town.
            pieces = _split_after_street_words(run)
            previous = _previous_word(tokens, index)
            for piece in pieces:
                name = self._accept(piece, previous)
                if name:
                    yield name
                previous = "on" if name and is_street(name) else None
            index = end

    def _accept(self, run: list[str], previous: str | None) -> str | None:
        parts = [fold(part).replace("'", "").replace("\u2019", "") for part in run]
        parts = [part for part in parts if part]
        if any(part in _ORGANISATION_WORDS for part in parts):
            return None
        excluded = _NOT_PLACES | STOP_WORDS | self.not_places
        parts = [part for part in parts if not (part.endswith("s") and part[:-1] in _NOT_PLACES)]
        while parts and parts[0] in excluded and parts[0] != "st":
            parts = parts[1:]
        while parts and (parts[-1] in excluded or parts[-1] in _JOINERS) and len(parts) > 1:
            if _ABBREVIATIONS.get(parts[-1], parts[-1]) in STREET_WORDS:
                break
            parts = parts[:-1]
        if not parts or (len(parts) == 1 and parts[0] in excluded):
            return None
        name = canonical_name(" ".join(parts))
        if name in STREET_WORDS:
            return None  # "The Street", "the Green": too vague to tell places apart
        if is_street(name):
            return name
        if len(parts) == 1 and (parts[0] in self.vocabulary or len(parts[0]) < 3):
            return None
        if previous is not None and fold(previous) in _PLACE_CUES:
            return name
        return None


def _is_name_word(token: str) -> bool:
    """A capitalised word that may be part of a name (not a shouted word or an acronym)."""
    return bool(_CAPITALISED.fullmatch(token)) and not (token.isupper() and len(token) > 1)


def _run_at(tokens: list[str], start: int) -> tuple[list[str], int]:
    """The run of name words starting at `start` (with joiners and a trailing street word)."""
    run = [tokens[start]]
    end = start + 1
    while end < len(tokens) and len(run) < _MAX_NAME_WORDS:
        nxt = tokens[end]
        folded = fold(nxt)
        joins_names = folded in _JOINERS and end + 1 < len(tokens)
        if _is_name_word(nxt) or (joins_names and _is_name_word(tokens[end + 1])):
            run.append(nxt)
        elif _ABBREVIATIONS.get(folded, folded) in _LOWER_CASE_STREET_WORDS:
            run.append(nxt)  # "Beaumont estate", "Cromwell st"
            end += 1
            break
        else:
            break
        end += 1
    return run, end


def _split_after_street_words(run: list[str]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for index, token in enumerate(run):
        pieces[-1].append(token)
        folded = fold(token)
        is_last = index == len(run) - 1
        if (
            not is_last
            and _ABBREVIATIONS.get(folded, folded) in STREET_WORDS
            and len(pieces[-1]) > 1
        ):
            pieces.append([])
    return [piece for piece in pieces if piece]


def _previous_word(tokens: list[str], start: int) -> str | None:
    """The word just before `tokens[start]`, skipping "the"; None at the start of a sentence."""
    index = start - 1
    while index >= 0 and fold(tokens[index]) == "the":
        index -= 1
    if index < 0 or tokens[index] in _SENTENCE_BREAK:
        return None
    return tokens[index]


def towns(names: Collection[str]) -> frozenset[str]:
    """The names that are towns or villages rather than streets."""
    return frozenset(name for name in names if not is_street(name))


# Words shared by unrelated place names, which do not make two names the same place.
GENERIC_PLACE_WORDS = (
    word_set(
        "little great upper lower north south east west end market cross green new old st "
        "under upon on le the"
    )
    | STREET_WORDS
    | frozenset(_ABBREVIATIONS)
)


def same_place(first: str, second: str) -> bool:
    """Whether two canonical names may be one place ("ashwell" and "ashwell market").

    Streets must match whole ("Victoria Terrace" is not "Victoria Park"); towns match on a
    distinctive word.
    """
    if first == second:
        return True
    if is_street(first) or is_street(second):
        return False
    shared = set(first.split()) & set(second.split())
    return any(word not in GENERIC_PLACE_WORDS for word in shared)
