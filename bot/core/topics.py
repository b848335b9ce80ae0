"""Finding named sets of terms in a post: topics, kinds of incident, people in danger.

A term is a word, a phrase or an emoji. Terms and post text are compared after the same
normalisation (folded, stemmed), so `bins`, `Bin` and `#BinCollection` meet `bin collection`.
Misspelt words of five letters or more are matched to the nearest single-word term: one
letter dropped or added (two from nine letters on) or two neighbours swapped, searched with
rapidfuzz over the lexicon's words (a C library that beats hand-written edit-distance loops
by two orders of magnitude). A different letter is not taken for a typo: "banking" is a word
of its own, not a misspelling of "barking".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from bot.core.textnorm import STOP_WORDS, emoji_in, fold, stem, words

# Longest phrase (in words) that a term may have.
MAX_TERM_WORDS = 6
_TYPO_CACHE = 65536


def _typo_budget(word: str) -> int:
    """How many edits a misspelling of `word` may have and still count as it."""
    if len(word) >= 9:
        return 2
    if len(word) >= 5:
        return 1
    return 0


@dataclass(frozen=True)
class Analysed:
    """One post's text, read once: its words, their stems, its emoji."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    emoji: tuple[str, ...]

    @property
    def content_stems(self) -> tuple[str, ...]:
        """Stems of the words that carry meaning (no stop words, numbers or single letters)."""
        return tuple(
            s
            for w, s in zip(self.words, self.stems, strict=True)
            if len(w) > 1 and w not in STOP_WORDS and not w.isdigit()
        )


def analyse(text: str) -> Analysed:
    """Read `text` into words, stems and emoji."""
    tokens = words(text)
    return Analysed(words=tuple(tokens), stems=tuple(stem(t) for t in tokens), emoji=emoji_in(text))


@dataclass(frozen=True)
class TermSets:
    """Named sets of terms (e.g. topic `bins`: bin, rubbish, refuse…), matched against posts."""

    names: tuple[str, ...]
    # First stem of a phrase -> (the phrase's stems, name), longest phrase first.
    _phrases: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]] = field(repr=False)
    _emoji: Mapping[str, tuple[str, ...]] = field(repr=False)
    # Folded single words (and their stems) that typos are matched against.
    _vocabulary: tuple[str, ...] = field(repr=False)
    _word_stem: Mapping[str, str] = field(repr=False)
    # Words already looked up for typos (a bounded cache; answers never change).
    _typos: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, sets: Mapping[str, Sequence[str]]) -> TermSets:
        """Compile `{name: [term, …]}`; names keep their given order, which breaks ties."""
        phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        emoji: dict[str, list[str]] = {}
        vocabulary: dict[str, str] = {}
        for name, terms in sets.items():
            for term in terms:
                symbols = emoji_in(term)
                tokens = words(term)
                if symbols and not tokens:
                    for symbol in symbols:
                        emoji.setdefault(symbol, []).append(name)
                    continue
                if not tokens:
                    raise ValueError(f"{name}: term {term!r} has no words")
                if len(tokens) > MAX_TERM_WORDS:
                    raise ValueError(f"{name}: term {term!r} is longer than {MAX_TERM_WORDS} words")
                stems = tuple(stem(t) for t in tokens)
                phrases.setdefault(stems[0], []).append((stems, name))
                if len(tokens) == 1:
                    vocabulary[tokens[0]] = stems[0]
        ordered = {
            first: tuple(sorted(set(entries), key=lambda e: (-len(e[0]), e[0], e[1])))
            for first, entries in phrases.items()
        }
        return cls(
            names=tuple(sets),
            _phrases=ordered,
            _emoji={symbol: tuple(dict.fromkeys(names)) for symbol, names in emoji.items()},
            _vocabulary=tuple(sorted(vocabulary)),
            _word_stem=vocabulary,
        )

    @property
    def vocabulary(self) -> frozenset[str]:
        """The single-word terms, folded."""
        return frozenset(self._vocabulary)

    def _typo_stem(self, word: str) -> str | None:
        """The stem of the lexicon word that `word` is a misspelling of, if there is one."""
        budget = _typo_budget(word)
        if not budget or not self._vocabulary or word in self._word_stem:
            return None
        if word in self._typos:
            return self._typos[word]
        found = None
        # Letters dropped or doubled by mistake (Indel distance), or two letters swapped.
        # Substitutions are not typos here: "banking" is not "barking".
        best = process.extractOne(
            word, self._vocabulary, scorer=Indel.distance, score_cutoff=budget
        )
        if best is None:
            swapped = process.extractOne(
                word, self._vocabulary, scorer=OSA.distance, score_cutoff=1
            )
            if swapped is not None and sorted(swapped[0]) == sorted(word):
                best = swapped
        # A misspelling keeps its first letter: `bins` and `pins` are different words.
        if best is not None and best[0][0] == word[0]:
            found = self._word_stem[best[0]]
        if len(self._typos) >= _TYPO_CACHE:
            self._typos.clear()
        self._typos[word] = found
        return found

    def matches(self, text: Analysed) -> list[tuple[int, str]]:
        """Where each term occurs in `text`: (word position, name), in reading order.

        Emoji have no word position; they are listed last, at position -1.
        """
        found: list[tuple[int, str]] = []
        stems = list(text.stems)
        for index, word in enumerate(text.words):
            if stems[index] not in self._phrases and not word.isdigit():
                fixed = self._typo_stem(word)
                if fixed is not None:
                    stems[index] = fixed
        index = 0
        while index < len(stems):
            matched = 1
            # Longest phrase first: "bin collection" is one mention, not two.
            for phrase, name in self._phrases.get(stems[index], ()):
                if tuple(stems[index : index + len(phrase)]) == phrase:
                    found.append((index, name))
                    matched = len(phrase)
                    break
            index += matched
        for symbol in text.emoji:
            found.extend((-1, name) for name in self._emoji.get(symbol, ()))
        return found

    def find(self, text: Analysed) -> dict[str, int]:
        """How many times each name's terms occur in `text` (names with none are left out)."""
        counts: dict[str, int] = {}
        for _, name in self.matches(text):
            counts[name] = counts.get(name, 0) + 1
        return counts

    def ranked(self, text: Analysed) -> tuple[str, ...]:
        """The names found in `text`, most mentioned first, ties in lexicon order."""
        counts = self.find(text)
        order = {name: index for index, name in enumerate(self.names)}
        return tuple(sorted(counts, key=lambda name: (-counts[name], order[name])))


def folded_phrase(text: str) -> str:
    """A term or place name as compared: folded, words joined by single spaces."""
    return " ".join(words(fold(text)))


@dataclass(frozen=True)
class DangerTerms:
    """What makes a report name a particular person in danger.

    Either a phrase that says so on its own ("trapped", "in the water"), or a word for a
    person ("my nan", "a boy", "someone") within `within_words` words of a word for danger
    ("can't get out", "upstairs", "not breathing").
    """

    phrases: TermSets = field(default_factory=lambda: TermSets.build({}))
    people: TermSets = field(default_factory=lambda: TermSets.build({}))
    danger: TermSets = field(default_factory=lambda: TermSets.build({}))
    within_words: int = 8

    @classmethod
    def build(
        cls,
        *,
        phrases: Sequence[str] = (),
        people: Sequence[str] = (),
        danger: Sequence[str] = (),
        within_words: int = 8,
    ) -> DangerTerms:
        """Compile the three lists of terms."""

        def terms(values: Sequence[str]) -> TermSets:
            return TermSets.build({"term": list(values)} if values else {})

        return cls(terms(phrases), terms(people), terms(danger), within_words)

    def found_in(self, text: Analysed) -> bool:
        """Whether `text` says that a particular person is in danger."""
        if self.phrases.matches(text):
            return True
        people = [at for at, _ in self.people.matches(text) if at >= 0]
        if not people:
            return False
        return any(
            abs(person - danger) <= self.within_words
            for danger, _ in self.danger.matches(text)
            if danger >= 0
            for person in people
        )
