"""Deciding which desk route handles a post, from an ordered list of rules.

The rules themselves are data (config/rules.yaml); this module only knows how to apply them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.flags import detect_flags
from bot.core.posts import Category, Classification, Post

try:  # Private modules, stable since 3.11. Without them there is no prefilter: same answers.
    from re import _casefix
    from re import _constants as _sre
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover
    _casefix = _sre = _sre_parser = None

_QUOTE_LIMIT = 60
_REGEX_FLAGS = re.IGNORECASE
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Rule:
    """One classification rule: where it applies, what it looks for, and what vetoes it."""

    name: str
    category: Category
    description: str = ""
    any_terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    accounts: frozenset[str] | None = None
    networks: frozenset[str] | None = None
    kinds: frozenset[str] | None = None


def _normalise(text: str) -> str:
    """Curly apostrophes read as straight ones; the length of the text is unchanged."""
    return text.translate(_APOSTROPHES)


def term_regex(terms: Iterable[str]) -> str:
    """One regex matching any of `terms` as whole words or phrases, longest first."""
    cleaned = {" ".join(_normalise(term).split()) for term in terms} - {""}
    alternatives = []
    for term in sorted(cleaned, key=lambda term: (-len(term), term)):
        body = r"\s+".join(re.escape(word) for word in term.split())
        # Word edges must not run on into a longer word; punctuation edges need no boundary.
        before = r"(?<!\w)" if _WORD.match(term[0]) else ""
        after = r"(?!\w)" if _WORD.match(term[-1]) else ""
        alternatives.append(before + body + after)
    return "(?:" + "|".join(alternatives) + ")"


# --- Prefilters ---------------------------------------------------------------------------
# Python's `re` tries an alternation at every position of a text, so thirty rules of long
# alternations would make a big backlog slow. Before a rule's regex runs, a cheap check that
# is *necessary* for it to match is made on words and literals found once per post:
#   - for a list of terms, every word of one of the terms is a word of the post;
#   - for a pattern, the post contains one of each of the literal sets that every match of
#     the pattern must contain (read from the parsed pattern).
# Both compare text folded the way `re.IGNORECASE` folds it, so a prefilter only ever skips
# a regex that could not have matched: the answers are the same with or without it.


def _fold_table() -> dict[int, str]:
    table = {0x131: "i", 0x17F: "s", 0x3C2: "\u03c3"}  # dotless i, long s, final sigma
    for char, others in getattr(_casefix, "_EXTRA_CASES", {}).items():
        canonical = chr(min(char, *others))
        for member in (char, *others):
            table[member] = canonical
    return table


_BEFORE_LOWER = str.maketrans({"\u0130": "i"})  # str.lower() would add a combining dot
_AFTER_LOWER = _fold_table()


def _fold(text: str) -> str:
    return text.translate(_BEFORE_LOWER).lower().translate(_AFTER_LOWER)


def _score(option: frozenset[str]) -> tuple[int, int]:
    """Longer literals (up to five characters) first, then fewer of them."""
    return min(5, min(len(literal) for literal in option)), -len(option)


def _required_in(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Literal sets a match of this parsed sequence must contain one of, each of them."""
    required: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            required.append(frozenset({"".join(run)}))
            run = []
        if op is _sre.SUBPATTERN:
            required += _required_in(list(av[-1]))
        elif op is _sre.ATOMIC_GROUP:
            required += _required_in(list(av))
        elif op is _sre.BRANCH:
            # Whichever branch matched, its own best requirement holds.
            options = [_required_in(list(branch)) for branch in av[1]]
            if all(options):
                required.append(frozenset().union(*(max(o, key=_score) for o in options)))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            required += _required_in(list(av[2]))
        # Classes, anchors, lookarounds and back-references require no particular literal.
    if run:
        required.append(frozenset({"".join(run)}))
    return required


def _required_literals(pattern: str, *, keep: int = 2) -> tuple[frozenset[str], ...]:
    """The best `keep` literal sets (folded) that every match of `pattern` contains."""
    if _sre is None:  # pragma: no cover
        return ()
    try:
        found = _required_in(list(_sre_parser.parse(pattern, _REGEX_FLAGS)))
    except Exception:  # pragma: no cover - an unfamiliar parse tree: no prefilter
        return ()
    best = sorted(found, key=_score, reverse=True)[:keep]
    return tuple(frozenset(_fold(literal) for literal in option) for option in best)


class _LiteralScanner:
    """Finds which of a fixed set of literals occur in a folded text.

    A literal made only of word characters can only occur inside one word of the text, so
    the literals inside each distinct word are looked up once and remembered.
    """

    _CACHE_LIMIT = 50_000

    def __init__(self, literals: Iterable[str]) -> None:
        literals = set(literals)
        self._in_words: dict[str, list[str]] = {}
        for literal in literals:
            if _WORD.fullmatch(literal):
                self._in_words.setdefault(literal[0], []).append(literal)
        self._across_words = tuple(lit for lit in literals if not _WORD.fullmatch(lit))
        self._cache: dict[str, frozenset[str]] = {}

    def _inside(self, word: str) -> frozenset[str]:
        cached = self._cache.get(word)
        if cached is None:
            cached = frozenset(
                literal
                for char in set(word)
                for literal in self._in_words.get(char, ())
                if literal in word
            )
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = cached
        return cached

    def scan(self, folded: str, words: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        for word in words:
            found |= self._inside(word)
        found.update(literal for literal in self._across_words if literal in folded)
        return frozenset(found)


@dataclass(frozen=True)
class _PostText:
    """A post's text prepared once for all the rules."""

    text: str
    words: frozenset[str]
    literals: frozenset[str]
    candidates: frozenset[_Finder]  # the finders whose first, cheapest check passes


class _Finder:
    """One compiled regex and the cheap check that must pass before it can match."""

    __slots__ = ("first_words", "needs", "regex", "term_words")

    def __init__(
        self,
        regex: re.Pattern[str],
        *,
        terms: Sequence[str] = (),
        needs: tuple[frozenset[str], ...] = (),
    ) -> None:
        self.regex = regex
        self.needs = needs
        self.term_words: dict[str, list[frozenset[str]]] = {}
        for term in terms:
            words = _WORD.findall(_fold(_normalise(term)))
            if not words:  # a term of punctuation only: no word check for this list
                self.term_words = {}
                break
            self.term_words.setdefault(words[0], []).append(frozenset(words))
        self.first_words = frozenset(self.term_words)

    @property
    def first_literals(self) -> frozenset[str]:
        """Literals of which the post must contain at least one (patterns only)."""
        return self.needs[0] if self.needs else frozenset()

    def could_match(self, post: _PostText) -> bool:
        if self.first_words:
            if self.first_words.isdisjoint(post.words):
                return False
            return any(
                words <= post.words
                for first in self.first_words & post.words
                for words in self.term_words[first]
            )
        return all(not need.isdisjoint(post.literals) for need in self.needs)


def _compile(rule_name: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, _REGEX_FLAGS)
    except re.error as exc:
        raise ValueError(f"rule {rule_name!r}: regex {pattern!r} does not compile: {exc}") from exc


def _quote(matched: str) -> str:
    text = " ".join(matched.split()) or matched
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1].rstrip() + "…"
    return text


class _CompiledRule:
    """A rule with its regexes compiled once."""

    __slots__ = ("finder_set", "finders", "rule", "vetoes")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        finders = []
        terms = [term for term in rule.any_terms if term.strip()]
        if terms:
            finders.append(_Finder(_compile(rule.name, term_regex(terms)), terms=terms))
        for pattern in rule.patterns:
            regex = _compile(rule.name, pattern)
            finders.append(_Finder(regex, needs=_required_literals(pattern)))
        self.finders = tuple(finders)
        self.finder_set = frozenset(finders)
        self.vetoes = tuple(_compile(rule.name, pattern) for pattern in rule.unless)

    def applies_to(self, post: Post) -> bool:
        rule = self.rule
        return (
            (rule.accounts is None or post.account in rule.accounts)
            and (rule.networks is None or post.network.value in rule.networks)
            and (rule.kinds is None or post.kind.value in rule.kinds)
        )

    def first_match(self, post: _PostText) -> str | None:
        for finder in self.finders:
            if finder not in post.candidates or not finder.could_match(post):
                continue
            found = finder.regex.search(post.text)
            if found is not None:
                if any(veto.search(post.text) for veto in self.vetoes):
                    return None
                return found.group(0)
        return None


class Classifier:
    """Applies an ordered list of rules to posts: the first rule that matches decides."""

    def __init__(
        self, rules: Sequence[Rule], *, default_category: Category = Category.GENERAL
    ) -> None:
        self.rules = tuple(rules)
        self.default_category = default_category
        self._compiled = tuple(_CompiledRule(rule) for rule in self.rules)
        finders = [finder for compiled in self._compiled for finder in compiled.finders]
        self._scanner = _LiteralScanner(
            literal for finder in finders for need in finder.needs for literal in need
        )
        # Which finders each word or literal can wake; finders with neither always run.
        self._by_word: dict[str, set[_Finder]] = {}
        self._by_literal: dict[str, set[_Finder]] = {}
        always = set()
        for finder in finders:
            for word in finder.first_words:
                self._by_word.setdefault(word, set()).add(finder)
            for literal in finder.first_literals:
                self._by_literal.setdefault(literal, set()).add(finder)
            if not finder.first_words and not finder.first_literals:
                always.add(finder)
        self._always = frozenset(always)

    def _prepare(self, text: str) -> _PostText:
        text = _normalise(text)
        folded = _fold(text)
        words = frozenset(_WORD.findall(folded))
        literals = self._scanner.scan(folded, words)
        candidates = set(self._always)
        for word in words & self._by_word.keys():
            candidates |= self._by_word[word]
        for literal in literals & self._by_literal.keys():
            candidates |= self._by_literal[literal]
        return _PostText(
            text=text, words=words, literals=literals, candidates=frozenset(candidates)
        )

    def classify(self, post: Post) -> Classification:
        """The category for `post`, the rule that decided it and why, and its flags."""
        prepared = self._prepare(post.text)
        flags = detect_flags(post.text)
        for compiled in self._compiled:
            if compiled.finder_set.isdisjoint(prepared.candidates):
                continue
            if not compiled.applies_to(post):
                continue
            matched = compiled.first_match(prepared)
            if matched is not None:
                return Classification(
                    category=compiled.rule.category,
                    rule=f'{compiled.rule.name}: matched "{_quote(matched)}"',
                    flags=flags,
                )
        return Classification(
            category=self.default_category, rule="default: no rule matched", flags=flags
        )
