"""Compare ways of deciding "about the same thing" on the DEV themes corpus.

Evidence for the choice made in bot/core/themes.py. Every method runs through the same
matcher (same accounts, windows, individual cases, repeats and incidents); only the
similarity between a conversational post and an open theme changes. Each method gets its
best threshold from a small grid, so no method loses for want of tuning:

  words    TF-IDF cosine between the post's word stems and the theme's stem centroid
  chars    TF-IDF cosine over character 3-5-grams (robust to typos), post vs centroid
  fuzzy    rapidfuzz token-set ratio between the post and the theme's recent posts
  lexicon  shared topic from config/themes.yaml (and no clash of places), nothing else
  hybrid   the shipped method: topics + places + word TF-IDF (bot.core.themes)

Run on the dev corpus only (tuning on the held-out corpus would make its figures useless):

    .venv/bin/python benchmarks/compare_grouping.py [bot/corpus/themes_dev.jsonl]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rapidfuzz import fuzz

from bot.config import load_config
from bot.core.posts import Post
from bot.core.textnorm import fold, words
from bot.core.themes import (
    ConversationSimilarity,
    OpenTheme,
    Placed,
    PostFeatures,
    ThemeKind,
    ThemeMatcher,
    ThemeSettings,
    format_ref,
)
from bot.core.themes_eval import GoldPost, ThemeEvaluation, measure
from bot.evaluate_themes import read_corpus

ROOT = Path(__file__).resolve().parent.parent


class _State:
    """What the alternative similarities remember about each theme (by reference)."""

    def __init__(self) -> None:
        self.stems: dict[str, Counter[str]] = {}
        self.grams: dict[str, Counter[str]] = {}
        self.texts: dict[str, list[str]] = {}
        self.sizes: dict[str, int] = {}
        self.stem_df: Counter[str] = Counter()
        self.gram_df: Counter[str] = Counter()
        self.posts = 0

    def record(self, ref: str, post: Post, features: PostFeatures) -> None:
        grams = _char_grams(post.text)
        self.posts += 1
        stems = set(features.text.content_stems)  # every content word, place names too
        self.stem_df.update(stems)
        self.gram_df.update(set(grams))
        self.stems.setdefault(ref, Counter()).update(stems)
        self.grams.setdefault(ref, Counter()).update(grams)
        self.texts.setdefault(ref, []).append(" ".join(words(post.text)))
        self.sizes[ref] = self.sizes.get(ref, 0) + 1


def _char_grams(text: str) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in words(fold(text)):
        padded = f" {word} "
        for n in (3, 4, 5):
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _cosine(post: Counter[str], centroid: Counter[str], df: Counter[str], docs: int) -> float:
    def idf(key: str) -> float:
        return math.log((docs + 1) / (df[key] + 1)) + 1.0

    dot = sum(post[key] * idf(key) * centroid[key] * idf(key) for key in post if key in centroid)
    if not dot:
        return 0.0
    norm_post = math.sqrt(sum((v * idf(k)) ** 2 for k, v in post.items()))
    norm_theme = math.sqrt(sum((v * idf(k)) ** 2 for k, v in centroid.items()))
    return dot / (norm_post * norm_theme)


Similarity = Callable[[Post, PostFeatures, str], float]


def _methods(state: _State) -> dict[str, Similarity]:
    """The alternative similarities, reading what `state` remembers of each theme."""

    def words_sim(post: Post, features: PostFeatures, ref: str) -> float:
        mine = Counter(set(features.text.content_stems))
        return _cosine(mine, state.stems[ref], state.stem_df, state.posts)

    def chars_sim(post: Post, features: PostFeatures, ref: str) -> float:
        return _cosine(_char_grams(post.text), state.grams[ref], state.gram_df, state.posts)

    def fuzzy_sim(post: Post, features: PostFeatures, ref: str) -> float:
        text = " ".join(words(post.text))
        return max(fuzz.token_set_ratio(text, other) for other in state.texts[ref][-5:]) / 100

    return {"words": words_sim, "chars": chars_sim, "fuzzy": fuzzy_sim}


def _lexicon_sim(post: Post, features: PostFeatures, theme: OpenTheme) -> float:
    """1 when the post names a topic of the theme and no other town, else 0."""
    places, theirs = set(features.places), theme.signature.place_names
    if places and theirs and not places & theirs:
        return 0.0
    return 1.0 if {name for name, _ in features.topics} & theme.signature.topic_names else 0.0


def run(
    gold: Sequence[GoldPost], settings: ThemeSettings, method: str, threshold: float
) -> ThemeEvaluation:
    """Group the corpus with one method and threshold, and measure it."""
    state = _State()
    hook: ConversationSimilarity | None = None
    if method == "lexicon":
        hook = _lexicon_sim
    elif method != "hybrid":
        chosen = _methods(state)[method]

        def hook(post: Post, features: PostFeatures, theme: OpenTheme) -> float:
            return chosen(post, features, theme.ref)

    tuned = replace(settings, min_similarity=threshold)
    matcher = ThemeMatcher(tuned, similarity=hook)
    order = sorted(range(len(gold)), key=lambda i: (gold[i].post.posted_at, i))
    placed: dict[int, Placed] = {}
    sequence = 1
    for index in order:
        item = gold[index]
        now = item.post.posted_at
        matcher.expire(now)
        placement = matcher.place(item.post, item.category, now=now)
        ref = placement.join_ref
        if ref is None:
            ref = format_ref(sequence)
            sequence += 1
            matcher.commit(placement, post=item.post, now=now, ref=ref)
        else:
            matcher.commit(placement, post=item.post, now=now)
        if placement.kind is ThemeKind.CONVERSATION:
            state.record(ref, item.post, matcher.features(item.post))
        placed[index] = Placed(ref=ref, placement=placement)
    return measure(gold, [placed[i] for i in range(len(gold))], settings=tuned)


GRIDS = {
    "words": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6],
    "chars": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6],
    "fuzzy": [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9],
    "lexicon": [0.5],
    "hybrid": [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(ROOT / "bot/corpus/themes_dev.jsonl"))
    parser.add_argument("--methods", nargs="*", default=list(GRIDS))
    args = parser.parse_args(argv)
    if "heldout" in Path(args.file).name:
        print("refusing: methods are compared and tuned on the dev corpus only", file=sys.stderr)
        return 2
    config = load_config(ROOT / "config")
    with open(args.file, encoding="utf-8") as source:
        gold = read_corpus(source, accounts=config.desk.networks_by_account())
    print(f"{len(gold)} posts, {len({g.theme for g in gold})} gold themes ({args.file})")
    header = (
        f"{'method':8} {'thresh':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} "
        f"{'pair F1':>7} {'conv F1':>7} {'merged':>6}"
    )
    print(header)
    for method in args.methods:
        results = [(t, run(gold, config.themes, method, t)) for t in GRIDS[method]]
        best = max(r.bcubed.f1 for _, r in results)
        for threshold, result in results:
            mark = "  <- best" if result.bcubed.f1 == best else ""
            print(
                f"{method:8} {threshold:6.2f} {result.bcubed.precision:6.3f} "
                f"{result.bcubed.recall:6.3f} {result.bcubed.f1:6.3f} "
                f"{result.pairwise.f1:7.3f} {result.conversational_bcubed.f1:7.3f} "
                f"{result.wrongly_merged_total:6d}{mark}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
