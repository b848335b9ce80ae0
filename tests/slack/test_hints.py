"""The notes Slack shows under a post: what the second opinion did."""

from __future__ import annotations

from bot.core.opinion import with_second_opinion
from bot.core.posts import Category, Classification, Opinion
from tests.core.test_classify_opinion import POLICY, likely

COMP = Category.COMPLAINT
UNSORTED = Category.UNSORTED


def test_slack_says_the_model_filed_a_post_no_rule_was_sure_of() -> None:
    from bot.runtime import find_templates_dir, load_templates
    from bot.slack.messages import hints_text

    chosen = with_second_opinion(
        Classification(UNSORTED, "default: no rule matched"),
        Opinion(COMP, 0.82),
        policy=POLICY,
        probabilities=likely(complaint=0.82),
    )
    text = hints_text(
        load_templates(find_templates_dir()),
        classification=chosen,
        author="@someone",
        channel=None,
        also=(),
        breaches=None,
        suggest_block_after=None,
    )
    assert "Filed by the second opinion" in text and "82% sure" in text
    assert "Raised" not in text
