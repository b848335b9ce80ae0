"""Grouping posts into themes: one public response answers a theme.

The rules (issue 7, DOMAIN.md):
  - Posts of the conversational categories (complaint, enquiry, general, media by default)
    join an OPEN conversation theme of the same account when they are about the same thing,
    whatever their own category; otherwise they open a new one. A theme stays joinable for
    `join_window` after its last post.
  - Every other category (urgent, foi, subject_access, moderation, and any category this
    module does not know, such as a new `unsorted`) makes each post its own case, never
    merged, except:
      * the same text repeated by the same author (a category in `repeat_categories`,
        moderation by default, within `repeat_window`): one repeat case, the policy's spam;
      * many reports of one emergency (a category in `incident_categories`, urgent by
        default, naming the same kind of incident at the same place within
        `incident_window`): one incident with a live count. A report that names a particular
        person in danger is never folded into the crowd: it is its own case, raised
        individually with the highest priority, and points at the incident it belongs to.

How "about the same thing" is decided, and why (measured on the dev themes corpus with
benchmarks/compare_grouping.py; README "Grouping posts into themes" has the figures):
  Posts are short and messy, and one subject comes in different words ("bins", "rubbish",
  "refuse", "binmen", "collection"). Word TF-IDF (B-cubed F1 0.72 on dev) and character
  n-gram TF-IDF (0.69) treat synonyms as strangers and miss most joins; rapidfuzz token-set
  ratio (0.64) joins posts that merely share wording across subjects; topics alone (0.68)
  join every bins post in the county into one theme. The hybrid used here scores 0.82:
    - topics from a small lexicon in config/themes.yaml (synonyms, hashtags split, emoji,
      typos of a dropped, added or swapped letter, plurals and endings by Snowball stems),
      counted by how central the topic is to the theme;
    - places (towns, streets, estates) found in the text, counted by the share of the
      theme's posts naming them. A post naming another town than the one a theme is
      clearly about (named by half its posts, or established) and no place in common
      never joins it: "bins in Hadleigh" and "bins in Sudbury" are two themes, while a
      county-wide theme (library hours), whose posts name many towns or none, still
      takes posts from every town;
    - a TF-IDF cosine between the post's word stems (place names left out: they count as
      places) and the theme's stem centroid, with IDF over the open themes, so the shared
      words that matter are the rare ones;
    - a penalty when the post names topics and none is one the theme is clearly about.
  A post joins the best-scoring open theme when the score reaches `min_similarity`.

Incidents are matched on the kind of emergency (lexicon `incidents`) and place: a report
joins an open incident of the same kind sharing a place with it, or the only open incident
of that kind when the report names no place at all; by default across accounts, since the
council and the fire service hear about the same fire.

Cost: the matcher keeps an inverted index from (account, topic / place / word stem) to
open conversation themes. Placing a post scores only the themes sharing a topic, a place or
a rare stem with it (a stem used by more than `MAX_STEM_POSTINGS` open themes proposes no
candidates; a theme sharing nothing else scores too low to join anyway), so the cost follows
the candidates, not the number of open themes. Repeats and incidents have keyed indexes.
Expiry is a heap with one entry per open theme.

Determinism: no decision depends on the iteration order of a set or on hash values;
candidates are ranked by (score, last post, reference), signatures are kept in a canonical
sorted form, and float sums run in a fixed order.

The matcher is not thread-safe: the caller (storage) serialises `place` and `commit`.

Theme references ("T-0042") are assigned by the caller (storage); the matcher treats them
as opaque strings. `format_ref` formats one from a sequence number.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, Protocol

from bot.core.places import GENERIC_PLACE_WORDS, PlaceFinder, is_street, same_place, towns
from bot.core.posts import Post
from bot.core.textnorm import fold, repeat_key, stem, title_from_text
from bot.core.topics import Analysed, DangerTerms, TermSets, analyse

# Most word stems a theme's signature keeps (the most used ones), so it stays small to store.
MAX_SIGNATURE_TERMS = 40
# A word stem shared by more open themes (on one account) than this proposes no candidates.
MAX_STEM_POSTINGS = 64
# Weight of a shared topic and of a shared place, added to the word similarity, and what
# naming other topics than the ones a theme is clearly about takes off.
TOPIC_WEIGHT = 0.35
PLACE_WEIGHT = 0.35
CLASH_PENALTY = 0.5

DEFAULT_CONVERSATIONAL = frozenset({"complaint", "enquiry", "general", "media"})


class ThemeKind(StrEnum):
    """What sort of theme a post belongs to."""

    CONVERSATION = "conversation"  # posts one public response answers
    CASE = "case"  # one post handled on its own (statutory, urgent, moderation, unknown)
    INCIDENT = "incident"  # many reports of one emergency, with a live count
    REPEAT = "repeat"  # the same text repeated by one author: one moderation (spam) case


class Priority(IntEnum):
    """How soon a theme must be seen: lower goes first."""

    PERSON_IN_DANGER = 0
    URGENT = 1
    STATUTORY = 2  # FOI/EIR and subject access: a legal clock runs
    ROUTINE = 3


class PlacementReason(StrEnum):
    """Why a post was placed where it was (machine-readable; wording belongs to templates)."""

    JOINED_SIMILAR = "joined_similar"  # about the same thing as an open conversation theme
    NEW_CONVERSATION = "new_conversation"  # conversational, but like no open theme
    INDIVIDUAL_CASE = "individual_case"  # statutory, urgent, moderation or unknown category
    REPEATED_TEXT = "repeated_text"  # same text, same author: joins that author's case
    JOINED_INCIDENT = "joined_incident"  # another report of an open incident
    NEW_INCIDENT = "new_incident"  # first report of an emergency
    PERSON_IN_DANGER = "person_in_danger"  # a particular person in danger: raised on its own


def format_ref(sequence: int, *, prefix: str = "T") -> str:
    """A theme reference from a sequence number: 42 -> `T-0042` (more digits past 9999)."""
    if sequence < 1:
        raise ValueError(f"theme sequence numbers start at 1, not {sequence}")
    return f"{prefix}-{sequence:04d}"


def _counts(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """Canonical form of a count table: most first, then alphabetical."""
    merged: dict[str, int] = {}
    for key, count in pairs:
        merged[key] = merged.get(key, 0) + count
    return tuple(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class ThemeSignature:
    """What a theme is about, as plain data: how many of its posts name each topic, place, word.

    Stored with the theme (`to_dict`/`from_dict`) so the matcher can be rebuilt from storage.
    """

    topics: tuple[tuple[str, int], ...] = ()
    places: tuple[tuple[str, int], ...] = ()
    terms: tuple[tuple[str, int], ...] = ()
    incident: str | None = None  # kind of emergency, for incidents
    repeat_key: str | None = None  # normalised text, for cases that repeats may join
    author: str | None = None  # the author a repeat key belongs to

    @property
    def topic(self) -> str | None:
        """The main topic: the one most of its posts name."""
        return self.topics[0][0] if self.topics else None

    @property
    def topic_names(self) -> frozenset[str]:
        """Every topic named by any of its posts."""
        return frozenset(name for name, _ in self.topics)

    @property
    def place_names(self) -> frozenset[str]:
        """Every place named by any of its posts."""
        return frozenset(name for name, _ in self.places)

    def merged(self, other: ThemeSignature) -> ThemeSignature:
        """This signature with another post's (or theme's) added in."""
        terms = _counts((*self.terms, *other.terms))[:MAX_SIGNATURE_TERMS]
        return replace(
            self,
            topics=_counts((*self.topics, *other.topics)),
            places=_counts((*self.places, *other.places)),
            terms=terms,
            incident=self.incident or other.incident,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "topics": dict(self.topics),
            "places": dict(self.places),
            "terms": dict(self.terms),
            "incident": self.incident,
            "repeat_key": self.repeat_key,
            "author": self.author,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThemeSignature:
        """The signature `to_dict` wrote; ValueError if the data is not one."""

        def table(key: str) -> tuple[tuple[str, int], ...]:
            value = data.get(key) or {}
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in value.items()
            ):
                raise ValueError(f"signature {key} must map names to positive counts")
            return _counts(value.items())

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"signature {key} must be text or null")
            return value

        return cls(
            topics=table("topics"),
            places=table("places"),
            terms=table("terms"),
            incident=text("incident"),
            repeat_key=text("repeat_key"),
            author=text("author"),
        )


@dataclass(frozen=True)
class OpenTheme:
    """A theme that new posts may still join, as the matcher holds it."""

    ref: str
    account: str
    kind: ThemeKind
    signature: ThemeSignature
    first_seen: datetime
    last_seen: datetime
    post_count: int = 1
    category: str | None = None  # for cases, repeats and incidents: their posts' category
    title: str = ""

    @property
    def topic(self) -> str | None:
        """The theme's main topic (a key of `topics` in config/themes.yaml), if any."""
        return self.signature.topic

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (instants as ISO 8601 text)."""
        return {
            "ref": self.ref,
            "account": self.account,
            "kind": self.kind.value,
            "signature": self.signature.to_dict(),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "post_count": self.post_count,
            "category": self.category,
            "title": self.title,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenTheme:
        """The theme `to_dict` wrote; ValueError if the data is not one."""
        try:
            first_seen = datetime.fromisoformat(data["first_seen"])
            last_seen = datetime.fromisoformat(data["last_seen"])
            theme = cls(
                ref=str(data["ref"]),
                account=str(data["account"]),
                kind=ThemeKind(data["kind"]),
                signature=ThemeSignature.from_dict(data.get("signature") or {}),
                first_seen=first_seen,
                last_seen=last_seen,
                post_count=int(data.get("post_count", 1)),
                category=data.get("category"),
                title=str(data.get("title", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored theme: {exc}") from None
        if first_seen.tzinfo is None or last_seen.tzinfo is None:
            raise ValueError("theme instants must carry a UTC offset")
        return theme


@dataclass(frozen=True)
class Placement:
    """Where one post goes: into an open theme (`join_ref`) or a new theme.

    `kind`, `signature`, `title` and `topic` describe the theme as it is *after* this post:
    store them on the theme. A new theme needs a reference from the caller
    (`ThemeMatcher.commit(placement, ref=...)`). `topic` is a key of `topics` in
    config/themes.yaml, or None; an incident has none (its kind of emergency is
    `signature.incident`).
    """

    kind: ThemeKind
    reason: PlacementReason
    signature: ThemeSignature
    title: str
    topic: str | None
    join_ref: str | None = None
    category: str | None = None
    raise_individually: bool = False
    priority: Priority = Priority.ROUTINE
    related_ref: str | None = None  # the incident a person-in-danger report belongs to
    score: float | None = None  # similarity to the joined theme, for conversations

    @property
    def is_new(self) -> bool:
        """Whether the post opens a new theme."""
        return self.join_ref is None


@dataclass(frozen=True)
class ThemeSettings:
    """How posts are grouped (from config/themes.yaml)."""

    topics: TermSets = field(default_factory=lambda: TermSets.build({}))
    incidents: TermSets = field(default_factory=lambda: TermSets.build({}))
    person_in_danger: DangerTerms = field(default_factory=DangerTerms)
    places: frozenset[str] = frozenset()
    not_places: frozenset[str] = frozenset()
    conversational_categories: frozenset[str] = DEFAULT_CONVERSATIONAL
    repeat_categories: frozenset[str] = frozenset({"moderation"})
    incident_categories: frozenset[str] = frozenset({"urgent"})
    join_window: timedelta = timedelta(hours=168)
    repeat_window: timedelta = timedelta(days=30)
    incident_window: timedelta = timedelta(hours=3)
    incidents_across_accounts: bool = True
    min_similarity: float = 0.3

    def window(self, kind: ThemeKind) -> timedelta:
        """How long after its last post a theme of `kind` stays joinable."""
        if kind is ThemeKind.CONVERSATION:
            return self.join_window
        if kind is ThemeKind.INCIDENT:
            return self.incident_window
        return self.repeat_window


@dataclass(frozen=True)
class PostFeatures:
    """What the matcher reads from one post."""

    text: Analysed
    topics: tuple[tuple[str, int], ...]
    places: tuple[str, ...]
    stems: tuple[str, ...]  # distinct content stems, sorted

    @property
    def topic_names(self) -> frozenset[str]:
        """The topics the post names."""
        return frozenset(name for name, _ in self.topics)

    @property
    def towns(self) -> frozenset[str]:
        """The towns (not streets) the post names."""
        return towns(self.places)

    def signature(self) -> ThemeSignature:
        """The signature of a theme made of this post alone."""
        return ThemeSignature(
            topics=_counts((name, 1) for name, _ in self.topics),
            places=_counts((name, 1) for name in self.places),
            terms=_counts((s, 1) for s in self.stems)[:MAX_SIGNATURE_TERMS],
        )


@dataclass(frozen=True)
class _ThemeView:
    """What scoring needs of a conversation theme, derived from its signature."""

    topics: dict[str, int]
    top_topic: int
    main_topics: frozenset[str]  # topics named at least a quarter as often as the top one
    topics_clear: bool  # whether the theme is clearly about its main topics
    places: dict[str, int]
    towns: tuple[str, ...]
    towns_clear: bool  # whether the theme is clearly about one or a few towns

    @classmethod
    def of(cls, theme: OpenTheme) -> _ThemeView:
        signature = theme.signature
        top = signature.topics[0][1] if signature.topics else 0
        town_counts = [(name, count) for name, count in signature.places if not is_street(name)]
        return cls(
            topics=dict(signature.topics),
            top_topic=top,
            main_topics=frozenset(name for name, count in signature.topics if 4 * count >= top),
            topics_clear=bool(_clear(signature.topics, theme.post_count)),
            places=dict(signature.places),
            towns=tuple(name for name, _ in town_counts),
            towns_clear=bool(_clear(town_counts, theme.post_count)),
        )


class ConversationSimilarity(Protocol):
    """A replacement similarity for experiments: how alike a post and an open theme are."""

    def __call__(self, post: Post, features: PostFeatures, theme: OpenTheme) -> float: ...


def _author_key(post: Post) -> str:
    """Who wrote a post: handles compare without case or a leading @, on any network."""
    return fold(post.author.handle).strip().lstrip("@")


def _established(counts: Sequence[tuple[str, int]]) -> set[str]:
    """The names a theme is clearly about: named twice or more, and half as often as the top."""
    if not counts:
        return set()
    top = counts[0][1]
    return {name for name, count in counts if count >= 2 and 2 * count >= top}


def _clear(counts: Sequence[tuple[str, int]], posts: int) -> set[str]:
    """The names a theme is clearly about: established, or named by half its posts or more."""
    return _established(counts) | {name for name, count in counts if 2 * count >= posts}


class ThemeMatcher:
    """Holds the open themes in memory, indexed, and places each new post among them.

    Use: `placement = matcher.place(post, category, now=now)`; store it; then
    `matcher.commit(placement, post=post, ref=new_ref_or_None, now=now)` to record it.
    At start-up, `add` each open theme read back from storage. `close` a theme staff closed;
    `expire(now)` drops themes whose join window has passed and returns their references.
    """

    def __init__(
        self, settings: ThemeSettings, *, similarity: ConversationSimilarity | None = None
    ) -> None:
        self.settings = settings
        self._similarity = similarity
        self._themes: dict[str, OpenTheme] = {}
        # (account, key) -> refs of open conversation themes having it; keys are "t:topic",
        # "p:place name", "w:word of a place name" and "s:word stem".
        self._postings: dict[tuple[str, str], dict[str, None]] = {}
        # (author, repeat key) -> ref of the case repeats join, on any account or network:
        # the same text from the same author is one case wherever it is posted.
        self._repeats: dict[tuple[str, str], str] = {}
        # (scope, incident kind) -> refs of open incidents; scope is the account, or "*"
        # when incidents are shared across accounts.
        self._incidents: dict[tuple[str, str], dict[str, None]] = {}
        # Place names of open incidents (how many incidents name each).
        self._incident_places: dict[str, int] = {}
        # One (deadline, ref) entry per held theme, at most: a theme joined since its entry
        # was pushed is pushed again with its new deadline when the old one comes up.
        self._expiry: list[tuple[datetime, str]] = []
        self._scheduled: set[str] = set()
        # account -> open conversation themes (the N of the IDF).
        self._open_counts: dict[str, int] = {}
        # ref -> what scoring needs of the theme as held now (dropped when it changes).
        self._views: dict[str, _ThemeView] = {}
        self._places = PlaceFinder(
            known=settings.places,
            vocabulary=settings.topics.vocabulary | settings.incidents.vocabulary,
            not_places=settings.not_places,
        )

    # --- reading posts ------------------------------------------------------------------

    def features(self, post: Post) -> PostFeatures:
        """What the matcher reads from `post`: topics, places and word stems."""
        text = analyse(post.text)
        account = post.account

        def known(name: str) -> bool:
            return (account, "p:" + name) in self._postings or name in self._incident_places

        places = self._places.find(post.text, also_known=known)
        topics = tuple(sorted(self.settings.topics.find(text).items()))
        # Place names count as places, not again as words.
        place_words = {stem(word) for name in places for word in _place_words(name)}
        content = set(text.content_stems) - place_words
        return PostFeatures(text=text, topics=topics, places=places, stems=tuple(sorted(content)))

    # --- placing ------------------------------------------------------------------------

    def place(self, post: Post, category: str, *, now: datetime) -> Placement:
        """Where `post` of `category` goes among the themes open at `now` (nothing changes)."""
        category = str(category)
        features = self.features(post)
        settings = self.settings
        if category in settings.conversational_categories:
            return self._place_conversation(post, features, now)
        if category in settings.incident_categories:
            return self._place_urgent(post, category, features, now)
        if category in settings.repeat_categories:
            return self._place_repeatable(post, category, features, now)
        return self._case(category, features, post, PlacementReason.INDIVIDUAL_CASE)

    def _case(
        self,
        category: str,
        features: PostFeatures,
        post: Post,
        reason: PlacementReason,
        *,
        signature: ThemeSignature | None = None,
        **extra: Any,
    ) -> Placement:
        signature = signature or features.signature()
        return Placement(
            kind=ThemeKind.CASE,
            reason=reason,
            signature=signature,
            title=title_from_text(post.text),
            topic=signature.topic,
            category=category,
            **extra,
        )

    def _live(self, ref: str, now: datetime) -> OpenTheme | None:
        theme = self._themes.get(ref)
        if theme is None or now - theme.last_seen > self.settings.window(theme.kind):
            return None
        return theme

    def _place_repeatable(
        self, post: Post, category: str, features: PostFeatures, now: datetime
    ) -> Placement:
        key = repeat_key(post.text)
        author = _author_key(post)
        signature = replace(features.signature(), repeat_key=key, author=author)
        ref = self._repeats.get((author, key))
        theme = self._live(ref, now) if ref is not None else None
        if theme is not None and theme.category == category:
            return Placement(
                kind=ThemeKind.REPEAT,
                reason=PlacementReason.REPEATED_TEXT,
                signature=theme.signature,
                title=theme.title,
                topic=theme.topic,
                join_ref=theme.ref,
                category=category,
            )
        return self._case(
            category, features, post, PlacementReason.INDIVIDUAL_CASE, signature=signature
        )

    def _place_urgent(
        self, post: Post, category: str, features: PostFeatures, now: datetime
    ) -> Placement:
        kinds = self.settings.incidents.ranked(features.text)
        incident = self._open_incident(post.account, kinds, features.places, now)
        if self.settings.person_in_danger.found_in(features.text):
            if incident is None and not kinds:
                # "My nan can't get out": which emergency is told by the place alone.
                every_kind = self.settings.incidents.names
                incident = self._open_incident(post.account, every_kind, features.places, now)
            return self._case(
                category,
                features,
                post,
                PlacementReason.PERSON_IN_DANGER,
                signature=replace(features.signature(), incident=kinds[0] if kinds else None),
                raise_individually=True,
                priority=Priority.PERSON_IN_DANGER,
                related_ref=incident.ref if incident is not None else None,
            )
        if not kinds:
            return self._case(
                category, features, post, PlacementReason.INDIVIDUAL_CASE, priority=Priority.URGENT
            )
        if incident is not None:
            return Placement(
                kind=ThemeKind.INCIDENT,
                reason=PlacementReason.JOINED_INCIDENT,
                signature=incident.signature.merged(features.signature()),
                title=incident.title,
                topic=None,
                join_ref=incident.ref,
                category=incident.category,
                priority=Priority.URGENT,
            )
        signature = replace(features.signature(), incident=kinds[0])
        return Placement(
            kind=ThemeKind.INCIDENT,
            reason=PlacementReason.NEW_INCIDENT,
            signature=signature,
            title=title_from_text(post.text),
            topic=None,
            category=category,
            priority=Priority.URGENT,
        )

    def _incident_scope(self, account: str) -> str:
        return "*" if self.settings.incidents_across_accounts else account

    def _open_incident(
        self, account: str, kinds: Sequence[str], places: Sequence[str], now: datetime
    ) -> OpenTheme | None:
        """The open incident a report of `kinds` at `places` belongs to, if one is clear.

        An incident of the same kind within the incident window sharing a place with the
        report; or, for a report naming no place at all ("huge smoke, what's on fire?"),
        the only open incident of that kind. A report naming only other places is not
        merged on a guess: it may be another emergency.
        """
        scope = self._incident_scope(account)
        post_towns = towns(places)
        for kind in kinds:
            open_now = [
                theme
                for ref in self._incidents.get((scope, kind), ())
                if (theme := self._live(ref, now)) is not None
            ]
            fitting = []
            for theme in open_now:
                theirs = theme.signature.place_names
                shares = _overlap(places, theirs)
                their_towns = towns(theirs)
                if not shares and post_towns and their_towns:
                    continue  # another town, and no street in common: another incident
                fitting.append((shares, theme))
            sharing = [theme for shares, theme in fitting if shares]
            if sharing:
                return max(sharing, key=lambda t: (t.last_seen, t.post_count, t.ref))
            if len(fitting) == 1 and not places:
                return fitting[0][1]
        return None

    def _place_conversation(self, post: Post, features: PostFeatures, now: datetime) -> Placement:
        best: tuple[float, datetime, str] | None = None
        best_theme: OpenTheme | None = None
        idf: dict[str, float] = {}  # IDF of each stem met while placing this post
        for theme in self._candidates(post.account, features, now):
            score = self._score(post, features, theme, idf)
            if score < self.settings.min_similarity:
                continue
            rank = (score, theme.last_seen, theme.ref)
            if best is None or rank > best:
                best, best_theme = rank, theme
        signature = features.signature()
        if best_theme is None or best is None:
            return Placement(
                kind=ThemeKind.CONVERSATION,
                reason=PlacementReason.NEW_CONVERSATION,
                signature=signature,
                title=title_from_text(post.text),
                topic=signature.topic,
            )
        merged = best_theme.signature.merged(signature)
        return Placement(
            kind=ThemeKind.CONVERSATION,
            reason=PlacementReason.JOINED_SIMILAR,
            signature=merged,
            title=_better_title(best_theme.title, post.text),
            topic=merged.topic,
            join_ref=best_theme.ref,
            score=round(best[0], 4),
        )

    def _candidates(self, account: str, features: PostFeatures, now: datetime) -> list[OpenTheme]:
        """Open conversation themes on `account` sharing a topic, place or rare stem."""
        if self._similarity is not None:
            refs: dict[str, None] = {
                ref: None
                for ref, theme in self._themes.items()
                if theme.account == account and theme.kind is ThemeKind.CONVERSATION
            }
        else:
            refs = {}
            keys = [
                *("t:" + name for name, _ in features.topics),
                *("w:" + word for place in features.places for word in _place_words(place)),
            ]
            for key in keys:
                refs.update(self._postings.get((account, key), {}))
            for term in features.stems:
                posting = self._postings.get((account, "s:" + term))
                if posting is not None and len(posting) <= MAX_STEM_POSTINGS:
                    refs.update(posting)
        live = [theme for ref in refs if (theme := self._live(ref, now)) is not None]
        return sorted(live, key=lambda theme: theme.ref)

    def _score(
        self, post: Post, features: PostFeatures, theme: OpenTheme, idf: dict[str, float]
    ) -> float:
        """How alike `post` and the conversation `theme` are (higher is more alike).

        Word similarity, plus how central the shared topic and the shared place are to the
        theme, minus a clash when the post names other topics or another town than the
        ones the theme is clearly about.
        """
        if self._similarity is not None:
            return self._similarity(post, features, theme)
        view = self._view(theme)
        named_by = max(
            (
                count
                for name, count in view.places.items()
                if any(same_place(name, place) for place in features.places)
            ),
            default=0,
        )
        other_town = (
            bool(features.towns)
            and not named_by
            and view.towns_clear
            and not _overlap(features.towns, view.towns)
        )
        if other_town:
            return -math.inf  # another town than the one the theme is about: never
        post_topics = features.topic_names
        score = self._word_similarity(post.account, features, theme, idf)
        if view.top_topic:
            shared = max((view.topics.get(name, 0) for name in post_topics), default=0)
            score += TOPIC_WEIGHT * shared / view.top_topic
        # A place counts as much as the share of the theme's posts naming it (half is full).
        score += PLACE_WEIGHT * min(1.0, 2 * named_by / theme.post_count)
        if post_topics and view.topics_clear and not post_topics & view.main_topics:
            score -= CLASH_PENALTY
        return score

    def _view(self, theme: OpenTheme) -> _ThemeView:
        """What scoring needs of `theme`, worked out once per version of it."""
        view = self._views.get(theme.ref)
        if view is None:
            view = _ThemeView.of(theme)
            self._views[theme.ref] = view
        return view

    def _idf(self, account: str, term: str, cache: dict[str, float]) -> float:
        """Inverse theme frequency of a stem among the account's open conversation themes."""
        if term not in cache:
            themes = self._open_counts.get(account, 0)
            used = len(self._postings.get((account, "s:" + term), ()))
            cache[term] = math.log((themes + 1) / (used + 1)) + 1.0
        return cache[term]

    def _word_similarity(
        self, account: str, features: PostFeatures, theme: OpenTheme, idf: dict[str, float]
    ) -> float:
        """Cosine between the post's stems and the theme's stem centroid, weighted by IDF."""
        if not features.stems or not theme.signature.terms:
            return 0.0
        mine = {term: self._idf(account, term, idf) for term in features.stems}
        post_norm = math.sqrt(sum(weight * weight for weight in mine.values()))
        dot = 0.0
        theme_norm_sq = 0.0
        total = theme.post_count
        for term, count in theme.signature.terms:
            weight = (count / total) * self._idf(account, term, idf)
            theme_norm_sq += weight * weight
            if term in mine:
                dot += weight * mine[term]
        if not dot:
            return 0.0
        return dot / (post_norm * math.sqrt(theme_norm_sq))

    # --- recording ----------------------------------------------------------------------

    def commit(
        self, placement: Placement, *, post: Post, now: datetime, ref: str | None = None
    ) -> OpenTheme:
        """Record `post` as placed; a new theme needs `ref` (from storage). Returns the theme."""
        if placement.join_ref is not None:
            current = self._themes.get(placement.join_ref)
            if current is None:
                raise KeyError(f"theme {placement.join_ref} is not open")
            theme = replace(
                current,
                kind=placement.kind,
                signature=placement.signature,
                title=placement.title,
                last_seen=max(current.last_seen, post.posted_at),
                post_count=current.post_count + 1,
            )
            self.update(theme)
            return theme
        if ref is None:
            raise ValueError("a new theme needs a reference")
        theme = OpenTheme(
            ref=ref,
            account=post.account,
            kind=placement.kind,
            signature=placement.signature,
            first_seen=post.posted_at,
            last_seen=post.posted_at,
            category=placement.category,
            title=placement.title,
        )
        self.add(theme)
        return theme

    def add(self, theme: OpenTheme) -> None:
        """Hold `theme` as open (e.g. read back from storage); replaces one with its ref."""
        if theme.ref in self._themes:
            self._unindex(self._themes[theme.ref])
        if not self._joinable(theme):
            self._themes.pop(theme.ref, None)
            return
        self._themes[theme.ref] = theme
        self._index(theme)
        if theme.ref not in self._scheduled:
            self._scheduled.add(theme.ref)
            heapq.heappush(self._expiry, (self._deadline(theme), theme.ref))

    def _deadline(self, theme: OpenTheme) -> datetime:
        return theme.last_seen + self.settings.window(theme.kind)

    def update(self, theme: OpenTheme) -> None:
        """Replace the open theme with the same ref (after a join, a merge or an edit)."""
        self.add(theme)

    def close(self, ref: str) -> None:
        """Stop `ref` taking new posts (closed by staff, merged away, re-categorised)."""
        theme = self._themes.pop(ref, None)
        if theme is not None:
            self._unindex(theme)
        # Its heap entry, if any, is dropped when it comes up (`expire`).

    def expire(self, now: datetime) -> tuple[str, ...]:
        """Drop the themes whose join window passed before `now`; their refs, oldest first."""
        expired = []
        while self._expiry and self._expiry[0][0] < now:
            _, ref = heapq.heappop(self._expiry)
            theme = self._themes.get(ref)
            if theme is None:
                self._scheduled.discard(ref)  # closed meanwhile
                continue
            deadline = self._deadline(theme)
            if deadline >= now:  # joined since it was scheduled: look again later
                heapq.heappush(self._expiry, (deadline, ref))
                continue
            self._scheduled.discard(ref)
            self.close(ref)
            expired.append(ref)
        return tuple(expired)

    def get(self, ref: str) -> OpenTheme | None:
        """The open theme `ref`, if the matcher holds it."""
        return self._themes.get(ref)

    def open_themes(self) -> tuple[OpenTheme, ...]:
        """Every theme the matcher holds, by reference."""
        return tuple(self._themes[ref] for ref in sorted(self._themes))

    def __len__(self) -> int:
        return len(self._themes)

    # --- index --------------------------------------------------------------------------

    @staticmethod
    def _joinable(theme: OpenTheme) -> bool:
        """Only conversations, incidents and repeatable cases can take more posts."""
        if theme.kind in (ThemeKind.CONVERSATION, ThemeKind.INCIDENT, ThemeKind.REPEAT):
            return True
        return theme.signature.repeat_key is not None

    def _index(self, theme: OpenTheme) -> None:
        account, signature = theme.account, theme.signature
        if theme.kind is ThemeKind.CONVERSATION:
            self._open_counts[account] = self._open_counts.get(account, 0) + 1
            for key in _posting_keys(signature):
                self._postings.setdefault((account, key), {})[theme.ref] = None
        elif theme.kind is ThemeKind.INCIDENT and signature.incident:
            incident = (self._incident_scope(account), signature.incident)
            self._incidents.setdefault(incident, {})[theme.ref] = None
            for name in signature.place_names:
                self._incident_places[name] = self._incident_places.get(name, 0) + 1
        if signature.repeat_key is not None and signature.author is not None:
            self._repeats[(signature.author, signature.repeat_key)] = theme.ref

    def _unindex(self, theme: OpenTheme) -> None:
        self._views.pop(theme.ref, None)
        account, signature = theme.account, theme.signature
        if theme.kind is ThemeKind.CONVERSATION:
            self._open_counts[account] = self._open_counts.get(account, 1) - 1
            for key in _posting_keys(signature):
                posting = self._postings.get((account, key))
                if posting is not None:
                    posting.pop(theme.ref, None)
                    if not posting:
                        del self._postings[(account, key)]
        elif theme.kind is ThemeKind.INCIDENT and signature.incident:
            incident = (self._incident_scope(account), signature.incident)
            refs = self._incidents.get(incident)
            if refs is not None:
                refs.pop(theme.ref, None)
                if not refs:
                    del self._incidents[incident]
            for name in signature.place_names:
                left = self._incident_places.get(name, 1) - 1
                if left:
                    self._incident_places[name] = left
                else:
                    self._incident_places.pop(name, None)
        if signature.repeat_key is not None and signature.author is not None:
            repeat = (signature.author, signature.repeat_key)
            if self._repeats.get(repeat) == theme.ref:
                del self._repeats[repeat]


def _overlap(first: Iterable[str], second: Iterable[str]) -> bool:
    """Whether any place of `first` may be the same as any place of `second`."""
    others = list(second)
    return any(same_place(name, other) for name in first for other in others)


def _place_words(name: str) -> list[str]:
    """The words of a place name that can identify it (not "little", "road"...)."""
    return [word for word in name.split() if word not in GENERIC_PLACE_WORDS]


def _posting_keys(signature: ThemeSignature) -> list[str]:
    keys = [
        *("t:" + name for name, _ in signature.topics),
        *("p:" + name for name, _ in signature.places),
        *("s:" + name for name, _ in signature.terms),
    ]
    words = {word for name, _ in signature.places for word in _place_words(name)}
    return keys + ["w:" + word for word in sorted(words)]


def _content_words(title: str) -> int:
    return len(analyse(title).content_stems)


def _better_title(current: str, text: str) -> str:
    """Keep a theme's title unless it says almost nothing and the new post says more."""
    if _content_words(current) >= 4:
        return current
    candidate = title_from_text(text)
    if _content_words(candidate) >= _content_words(current) + 2:
        return candidate
    return current


def group_in_order(
    posts_with_categories: Iterable[tuple[Post, str]],
    *,
    settings: ThemeSettings,
    first_sequence: int = 1,
) -> list[str]:
    """Theme references for posts grouped in `posted_at` order, returned in input order.

    Used by `commsbot triage --format jsonl`: the grouping of one file, with references
    `T-0001`, `T-0002`… numbered in order of each theme's first post.
    """
    return [
        placed.ref
        for placed in place_in_order(
            posts_with_categories, settings=settings, first_sequence=first_sequence
        )
    ]


@dataclass(frozen=True)
class Placed:
    """One post's placement in a batch run, with the reference of its theme."""

    ref: str
    placement: Placement


class GroupingRun:
    """Places posts one at a time, in `posted_at` order, numbering themes T-0001, T-0002…

    The grouping of a file of posts (`commsbot triage --format jsonl`, evaluation): each
    post's placement and the reference of its theme. The caller feeds posts in order.
    """

    def __init__(
        self,
        settings: ThemeSettings,
        *,
        first_sequence: int = 1,
        similarity: ConversationSimilarity | None = None,
    ) -> None:
        self.matcher = ThemeMatcher(settings, similarity=similarity)
        self._sequence = first_sequence

    def place(self, post: Post, category: str) -> Placed:
        """Where `post` goes, given every post fed before it."""
        now = post.posted_at
        self.matcher.expire(now)
        placement = self.matcher.place(post, category, now=now)
        if placement.join_ref is None:
            ref = format_ref(self._sequence)
            self._sequence += 1
            self.matcher.commit(placement, post=post, now=now, ref=ref)
        else:
            ref = placement.join_ref
            self.matcher.commit(placement, post=post, now=now)
        return Placed(ref=ref, placement=placement)


def place_in_order(
    posts_with_categories: Iterable[tuple[Post, str]],
    *,
    settings: ThemeSettings,
    first_sequence: int = 1,
    similarity: ConversationSimilarity | None = None,
) -> list[Placed]:
    """Every post's placement, grouped in `posted_at` order, returned in input order."""
    items = list(posts_with_categories)
    order = sorted(range(len(items)), key=lambda i: (items[i][0].posted_at, i))
    run = GroupingRun(settings, first_sequence=first_sequence, similarity=similarity)
    results: dict[int, Placed] = {}
    for index in order:
        post, category = items[index]
        results[index] = run.place(post, category)
    return [results[index] for index in range(len(items))]
