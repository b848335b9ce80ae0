"""Deciding which desk route handles a post, from an ordered list of rules.

The rules themselves are data (config/rules.yaml); this module only knows how to apply them.
A rule looks for terms (words and phrases, usually from named concepts), for two terms near
each other, or for regular expressions; terms or regexes anywhere in the post can veto it.
A rule that is not `confident` only explains why a post is unsorted: it never files it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.flags import detect_flags
from bot.core.posts import Category, Classification, Flag, FlagHit, Post

_QUOTE_LIMIT = 60
_REGEX_FLAGS = re.IGNORECASE
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_WORD = re.compile(r"\w+")
# A token is a run of word characters or one other visible character ("don't" is three).
_TOKEN = re.compile(r"\w+|[^\w\s]")

# The characters outside ASCII that `re.IGNORECASE` matches to an ASCII letter. Folding them
# to that letter (and everything else with str.lower, which keeps the length) means text and
# literals compare the way the regex engine compares them. tests/core checks this table
# against the running Python.
IGNORECASE_EXTRAS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_FOLD = str.maketrans(IGNORECASE_EXTRAS)


def _normalise(text: str) -> str:
    """Curly apostrophes read as straight ones; the length of the text is unchanged."""
    return text.translate(_APOSTROPHES)


def fold(text: str) -> str:
    """`text` folded for comparing without case, the same length as `text`."""
    return text.translate(_FOLD).lower()


def tokens_of(term: str) -> tuple[str, ...]:
    """The folded tokens of a term or text: words, and each other visible character."""
    return tuple(_TOKEN.findall(fold(_normalise(term))))


def term_regex(terms: Iterable[str]) -> str:
    """One regex matching any of `terms` as whole words or phrases, longest first."""
    cleaned = {" ".join(_normalise(term).split()) for term in terms} - {""}
    alternatives = []
    for term in sorted(cleaned, key=lambda term: (-len(term), term)):
        body = r"\s*".join(re.escape(token) for token in _TOKEN.findall(term))
        # Word edges must not run on into a longer word; punctuation edges need no boundary.
        before = r"(?<!\w)" if _WORD.match(term[0]) else ""
        after = r"(?!\w)" if _WORD.match(term[-1]) else ""
        alternatives.append(before + body + after)
    return "(?:" + "|".join(alternatives) + ")"


@dataclass(frozen=True)
class Near:
    """Proximity: a term of `first` and a term of `second` at most `within` words apart."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    within: int = 6


@dataclass(frozen=True)
class Rule:
    """One classification rule: where it applies, what it looks for, and what vetoes it."""

    name: str
    category: Category
    description: str = ""
    any_terms: tuple[str, ...] = ()
    near: tuple[Near, ...] = ()
    patterns: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    unless_terms: tuple[str, ...] = ()
    accounts: frozenset[str] | None = None
    networks: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    flags: tuple[Flag, ...] = ()
    confident: bool = True


# --- Terms: matched on tokens, never by regex -----------------------------------------------


class _TermSet:
    """A list of terms; its index among the classifier's term sets is `ident`."""

    __slots__ = ("ident", "phrases")

    def __init__(self, ident: int, phrases: frozenset[tuple[str, ...]]) -> None:
        self.ident = ident
        self.phrases = phrases


@dataclass(frozen=True)
class _Hit:
    """Where a term matched: first and last token, and the characters they span."""

    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True)
class _PostText:
    """A post's text prepared once for all the rules."""

    text: str
    folded: str
    literals: frozenset[str]
    hits: dict[int, list[_Hit]]  # term set -> its matches, in text order
    patterns: frozenset[_Pattern]  # the patterns whose first, cheapest check passes


# --- Regexes: a prefilter read from the pattern itself --------------------------------------
# Python's `re` tries an alternation at every position of a text, so dozens of long patterns
# would make a big backlog slow. Before a pattern runs, a cheap check that is *necessary* for
# it to match is made: the folded post contains one literal of each of the literal sets that
# every match of the pattern must contain. The sets are read from the pattern's source by a
# small reader of the regex syntax rules use; anything it does not recognise yields no
# requirement, so a prefilter only ever skips a regex that could not have matched.


class _Unknown(Exception):
    """A construct the reader does not understand: require nothing."""


_SIMPLE_ESCAPES = set("bBAZdDsSwW")
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_Node = tuple[str, Any]


class _PatternReader:
    """Parses the subset of regex syntax needed to find literals every match contains."""

    def __init__(self, pattern: str) -> None:
        self.source = pattern
        self.at = 0

    def peek(self) -> str:
        """The next character, or "\\0" at the end (never a syntax character)."""
        return self.source[self.at] if self.at < len(self.source) else "\0"

    def at_end(self) -> bool:
        return self.at >= len(self.source)

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def alternation(self) -> _Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.take()
            branches.append(self.sequence())
        return ("alt", branches)

    def sequence(self) -> list[_Node]:
        items: list[_Node] = []
        while not self.at_end() and self.peek() not in "|)":
            atom = self.atom()
            items.append(self.quantified(atom))
        return items

    def quantified(self, atom: _Node) -> _Node:
        char = self.peek()
        minimum = None
        if char in "*?":
            self.take()
            minimum = 0
        elif char == "+":
            self.take()
            minimum = 1
        elif char == "{":
            match = re.match(r"\{(\d*)(,?)(\d*)\}", self.source[self.at :])
            if match is None:
                return atom  # a literal brace
            self.at += match.end()
            minimum = int(match.group(1) or 0)
        if minimum is None:
            return atom
        if self.peek() in "?+":  # lazy or possessive
            self.take()
        return ("repeat", (minimum, atom))

    def atom(self) -> _Node:
        char = self.take()
        if char == "(":
            return self.group()
        if char == "[":
            self.char_class()
            return ("other", None)
        if char == "\\":
            escaped = self.take()
            if escaped in _SIMPLE_ESCAPES:
                return ("other", None)
            if escaped in _LITERAL_ESCAPES:
                return ("lit", _LITERAL_ESCAPES[escaped])
            if escaped.isalnum() or self.at > len(self.source):
                raise _Unknown(escaped)  # back-references, \x.., \u.., \N{...}
            return ("lit", escaped)
        if char in ".^$":
            return ("other", None)
        return ("lit", char)

    def char_class(self) -> None:
        if self.peek() == "^":
            self.take()
        if self.peek() == "]":
            self.take()
        while True:
            char = self.take()
            if char == "\0" and self.at > len(self.source):
                raise _Unknown("unterminated class")
            if char == "\\":
                self.take()
            elif char == "]":
                return

    def group(self) -> _Node:
        if self.peek() != "?":
            return self.closed(("group", self.alternation()))
        self.take()
        kind = self.take()
        if kind in "=!":
            self.alternation()
            return self.closed(("other", None))
        if kind == "<" and self.peek() in "=!":
            self.take()
            self.alternation()
            return self.closed(("other", None))
        if kind in ":>":
            return self.closed(("group", self.alternation()))
        if kind == "P" and self.peek() == "<":
            self.at = self.source.index(">", self.at) + 1
            return self.closed(("group", self.alternation()))
        flags = re.match(r"[aiLmsux]*(?:-[imsx]+)?(:|\))", self.source[self.at - 1 :])
        if flags is None:
            raise _Unknown("group")
        self.at += flags.end() - 1
        if flags.group(1) == ")":
            return ("other", None)  # (?i) and the like, for the whole pattern
        return self.closed(("group", self.alternation()))

    def closed(self, node: _Node) -> _Node:
        if self.take() != ")":
            raise _Unknown("unbalanced")
        return node


def _score(option: frozenset[str]) -> tuple[int, int]:
    """Longer literals (up to five characters) first, then fewer of them."""
    return min(5, min(len(literal) for literal in option)), -len(option)


def _required_in(items: list[_Node]) -> list[frozenset[str]]:
    """Literal sets a match of this sequence must contain one of, each of them."""
    required: list[frozenset[str]] = []
    run: list[str] = []
    for kind, value in items:
        if kind == "lit" and value.isascii():
            run.append(value.lower())
            continue
        if run:
            required.append(frozenset({"".join(run)}))
            run = []
        if kind == "group":
            required += _required_alt(value)
        elif kind == "repeat" and value[0] >= 1:
            required += _required_alt(("alt", [[value[1]]]))
        # Classes, anchors, lookarounds and other letters require no particular literal.
    if run:
        required.append(frozenset({"".join(run)}))
    return required


def _required_alt(node: _Node) -> list[frozenset[str]]:
    branches = node[1]
    if len(branches) == 1:
        return _required_in(branches[0])
    # Whichever branch matched, its own best requirement holds.
    options = [_required_in(branch) for branch in branches]
    if all(options):
        return [frozenset().union(*(max(o, key=_score) for o in options))]
    return []


def required_literals(pattern: str, *, keep: int = 2) -> tuple[frozenset[str], ...]:
    """The best `keep` literal sets (folded) that every match of `pattern` contains."""
    reader = _PatternReader(pattern)
    try:
        tree = reader.alternation()
        if reader.at < len(pattern):
            raise _Unknown("trailing")
    except (_Unknown, ValueError, IndexError):
        return ()
    found = _required_alt(tree)
    return tuple(sorted(found, key=_score, reverse=True)[:keep])


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


class _Pattern:
    """One compiled regex and the literals that must be present before it can match."""

    __slots__ = ("needs", "regex")

    def __init__(self, regex: re.Pattern[str], needs: tuple[frozenset[str], ...]) -> None:
        self.regex = regex
        self.needs = needs

    def could_match(self, literals: frozenset[str]) -> bool:
        return all(not need.isdisjoint(literals) for need in self.needs)

    @property
    def first_need(self) -> frozenset[str]:
        """Literals of which a post must contain at least one (empty: no requirement)."""
        return self.needs[0] if self.needs else frozenset()


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
    """A rule with its term sets registered and its regexes compiled once."""

    __slots__ = ("anys", "nears", "patterns", "rule", "term_vetoes", "vetoes")

    def __init__(self, rule: Rule, term_set: Any) -> None:
        self.rule = rule
        self.anys = term_set(rule.any_terms) if rule.any_terms else None
        self.nears = tuple(
            (term_set(near.first), term_set(near.second), near.within) for near in rule.near
        )
        self.term_vetoes = term_set(rule.unless_terms) if rule.unless_terms else None
        self.patterns = tuple(
            _Pattern(_compile(rule.name, pattern), required_literals(pattern))
            for pattern in rule.patterns
        )
        self.vetoes = tuple(_compile(rule.name, pattern) for pattern in rule.unless)

    def applies_to(self, post: Post) -> bool:
        rule = self.rule
        return (
            (rule.accounts is None or post.account in rule.accounts)
            and (rule.networks is None or post.network.value in rule.networks)
            and (rule.kinds is None or post.kind.value in rule.kinds)
        )

    def _found(self, post: _PostText) -> str | None:
        if self.anys is not None:
            hits = post.hits.get(self.anys.ident)
            if hits:
                return post.text[hits[0].start : hits[0].end]
        for first, second, within in self.nears:
            span = _near(post.hits.get(first.ident), post.hits.get(second.ident), within)
            if span is not None:
                return post.text[span[0] : span[1]]
        for pattern in self.patterns:
            if pattern in post.patterns and pattern.could_match(post.literals):
                found = pattern.regex.search(post.text)
                if found is not None:
                    return found.group(0)
        return None

    def first_match(self, post: _PostText) -> str | None:
        found = self._found(post)
        if found is None:
            return None
        if self.term_vetoes is not None and post.hits.get(self.term_vetoes.ident):
            return None
        if any(veto.search(post.text) for veto in self.vetoes):
            return None
        return found


def _near(
    firsts: list[_Hit] | None, seconds: list[_Hit] | None, within: int
) -> tuple[int, int] | None:
    """The character span of the first pair of hits at most `within` words apart."""
    if not firsts or not seconds:
        return None
    for a in firsts:
        for b in seconds:
            gap = b.first - a.last - 1 if b.first > a.last else a.first - b.last - 1
            if (a.first <= b.last and b.first <= a.last) or gap <= within:
                return min(a.start, b.start), max(a.end, b.end)
    return None


class Classifier:
    """Applies an ordered list of rules to posts: the first rule that matches decides."""

    def __init__(
        self, rules: Sequence[Rule], *, default_category: Category = Category.UNSORTED
    ) -> None:
        self.rules = tuple(rules)
        self.default_category = default_category
        self._sets: dict[frozenset[tuple[str, ...]], _TermSet] = {}
        self._compiled = tuple(_CompiledRule(rule, self._term_set) for rule in self.rules)
        # One-word terms by their word, longer ones by their first two tokens.
        self._single: dict[str, list[int]] = {}
        self._by_pair: dict[tuple[str, str], list[tuple[tuple[str, ...], int]]] = {}
        for term_set in self._sets.values():
            for phrase in term_set.phrases:
                if len(phrase) == 1:
                    self._single.setdefault(phrase[0], []).append(term_set.ident)
                else:
                    pair = (phrase[0], phrase[1])
                    self._by_pair.setdefault(pair, []).append((phrase, term_set.ident))
        patterns = [pattern for compiled in self._compiled for pattern in compiled.patterns]
        self._scanner = _LiteralScanner(
            literal for pattern in patterns for need in pattern.needs for literal in need
        )
        # Which patterns each literal can wake; patterns that need none always run.
        self._by_literal: dict[str, set[_Pattern]] = {}
        for pattern in patterns:
            for literal in pattern.first_need:
                self._by_literal.setdefault(literal, set()).add(pattern)
        self._always = frozenset(p for p in patterns if not p.first_need)

    def _term_set(self, terms: Sequence[str]) -> _TermSet:
        phrases = frozenset(phrase for phrase in map(tokens_of, terms) if phrase)
        found = self._sets.get(phrases)
        if found is None:
            found = self._sets[phrases] = _TermSet(len(self._sets), phrases)
        return found

    def _prepare(self, text: str) -> _PostText:
        text = _normalise(text)
        folded = fold(text)
        matches = list(_TOKEN.finditer(folded))
        tokens = [m.group(0) for m in matches]
        hits: dict[int, list[_Hit]] = {}
        single, by_pair = self._single, self._by_pair
        count = len(tokens)
        for index, token in enumerate(tokens):
            idents = single.get(token)
            if idents is not None:
                match = matches[index]
                hit = _Hit(index, index, match.start(), match.end())
                for ident in idents:
                    hits.setdefault(ident, []).append(hit)
            if index + 1 == count:
                break
            starting = by_pair.get((token, tokens[index + 1]))
            if starting is None:
                continue
            for phrase, ident in starting:
                last = index + len(phrase) - 1
                if last < count and tuple(tokens[index : last + 1]) == phrase:
                    hit = _Hit(index, last, matches[index].start(), matches[last].end())
                    hits.setdefault(ident, []).append(hit)
        words = {token for token in tokens if _WORD.match(token)}
        literals = self._scanner.scan(folded, words)
        patterns = set(self._always)
        for literal in literals & self._by_literal.keys():
            patterns |= self._by_literal[literal]
        return _PostText(
            text=text,
            folded=folded,
            literals=literals,
            hits=hits,
            patterns=frozenset(patterns),
        )

    def classify(self, post: Post) -> Classification:
        """The category for `post`, the rule that decided it and why, and its flags."""
        prepared = self._prepare(post.text)
        flags = detect_flags(post.text)
        hunch: tuple[Rule, str] | None = None
        for compiled in self._compiled:
            if not compiled.applies_to(post):
                continue
            matched = compiled.first_match(prepared)
            if matched is None:
                continue
            rule = compiled.rule
            if not rule.confident:
                hunch = hunch or (rule, matched)
                continue
            return Classification(
                category=rule.category,
                rule=f'{rule.name}: matched "{_quote(matched)}"',
                flags=flags + tuple(FlagHit(flag, rule.name) for flag in rule.flags),
            )
        if hunch is not None:
            rule, matched = hunch
            return Classification(
                category=self.default_category,
                rule=(
                    f"{rule.name}: not sure, suggests {rule.category.value} "
                    f'(matched "{_quote(matched)}")'
                ),
                flags=flags,
                hint=rule.category,
            )
        return Classification(
            category=self.default_category, rule="default: no rule matched", flags=flags
        )
