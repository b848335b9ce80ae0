"""Suggested replies: choosing a template, rendering it safely, fitting it to the network."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from bot.core.posts import Category, Network
from bot.core.replies import (
    AccountVoice,
    Candidate,
    ChoiceRule,
    ChoiceTable,
    Fallback,
    ReplyBook,
    ReplyContext,
    ReplyTemplateError,
    Situation,
    choose,
    first_name,
    fit,
    long_date,
)
from bot.core.textlength import LengthRule
from tests.conftest import CONFIG_DIR, REPO

LONDON = ZoneInfo("Europe/London")
C, F = "council", "fire"
X, FB, IG, LI = Network.X, Network.FACEBOOK, Network.INSTAGRAM, Network.LINKEDIN


@pytest.fixture(scope="module")
def book() -> ReplyBook:
    """The shipped configuration and templates."""
    shipped = load_config(CONFIG_DIR).reply_book(REPO / "templates")
    assert shipped is not None
    return shipped


def _situation(category: Category, account: str = C, network: Network = X, **flags) -> Situation:
    return Situation(category=category, account=account, network=network, **flags)


# The shipped choice table: what a person sees suggested first, and the rule behind it.
@pytest.mark.parametrize(
    ("situation", "template", "rule"),
    [
        # FOI on any network and either account gets the acknowledgement.
        (_situation(Category.FOI), "foi_acknowledgement", "foi"),
        (_situation(Category.FOI, F, FB), "foi_acknowledgement", "foi"),
        (_situation(Category.FOI, network=LI), "foi_acknowledgement", "foi"),
        # Statutory work is not displaced by a topic or by the hour.
        (
            _situation(Category.FOI, topic="bins", out_of_hours=True),
            "foi_acknowledgement",
            "foi",
        ),
        (_situation(Category.SUBJECT_ACCESS, F, IG), "subject_access_redirect", "subject-access"),
        # Personal data in public moves the conversation to private messages...
        (
            _situation(Category.FOI, personal_data=True),
            "please_dm",
            "personal-data-in-public",
        ),
        (
            _situation(Category.ENQUIRY, topic="bins", personal_data=True),
            "please_dm",
            "personal-data-in-public",
        ),
        # ...but not when the conversation is already private.
        (
            _situation(Category.FOI, personal_data=True, direct_message=True),
            "foi_acknowledgement",
            "foi",
        ),
        # A subject access request is about personal data: its own redirect wins.
        (
            _situation(Category.SUBJECT_ACCESS, personal_data=True),
            "subject_access_redirect",
            "subject-access",
        ),
        # Topics give the standard answers, for the account that has them.
        (_situation(Category.ENQUIRY, topic="bins"), "bins", "topic-bins"),
        (_situation(Category.COMPLAINT, topic="bins", network=FB), "bins", "topic-bins"),
        (_situation(Category.ENQUIRY, topic="potholes"), "potholes", "topic-potholes"),
        (_situation(Category.ENQUIRY, topic="council_tax"), "council_tax", "topic-council-tax"),
        (
            _situation(Category.ENQUIRY, F, topic="smoke_alarms"),
            "smoke_alarms",
            "topic-smoke-alarms",
        ),
        (
            _situation(Category.ENQUIRY, F, topic="home_fire_safety"),
            "home_fire_safety",
            "topic-home-fire-safety",
        ),
        (_situation(Category.GENERAL, F, topic="recruitment"), "recruitment", "topic-recruitment"),
        (_situation(Category.GENERAL, C, topic="recruitment"), "recruitment", "topic-recruitment"),
        # The fire service has no bin answer: a complaint about bins there is a complaint.
        (_situation(Category.COMPLAINT, F, topic="bins"), "complaint_acknowledgement", "complaint"),
        # The council has no smoke alarm answer: it falls back to an acknowledgement.
        (
            _situation(Category.ENQUIRY, C, topic="smoke_alarms"),
            "general_acknowledgement",
            "fallback",
        ),
        (_situation(Category.COMPLAINT), "complaint_acknowledgement", "complaint"),
        (_situation(Category.MEDIA, network=LI), "press_office", "media"),
        (_situation(Category.MODERATION, F, FB), "house_rules_reminder", "moderation"),
        # Out of hours, a question with no standard answer gets the holding reply.
        (_situation(Category.ENQUIRY, out_of_hours=True), "out_of_hours", "out-of-hours"),
        (_situation(Category.GENERAL, F, out_of_hours=True), "out_of_hours", "out-of-hours"),
        # A standard answer is fine at any hour.
        (
            _situation(Category.ENQUIRY, topic="potholes", out_of_hours=True),
            "potholes",
            "topic-potholes",
        ),
        (_situation(Category.ENQUIRY), "general_acknowledgement", "fallback"),
        (_situation(Category.GENERAL, F, IG), "general_acknowledgement", "fallback"),
        # Risk to life comes first, even in a crisis and out of hours.
        (
            _situation(Category.URGENT, F, crisis=True, out_of_hours=True),
            "urgent_call_999",
            "risk-to-life",
        ),
        # In a crisis only the listening response goes out.
        (_situation(Category.COMPLAINT, crisis=True), "crisis_listening", "crisis-listening"),
        (
            _situation(Category.FOI, topic="bins", crisis=True),
            "crisis_listening",
            "crisis-listening",
        ),
        # A deletion is explained with its own reason, on either account.
        (
            _situation(Category.MODERATION, deletion_reason="profanity"),
            "deletion_profanity",
            "deletion-profanity",
        ),
        (
            _situation(Category.MODERATION, F, FB, deletion_reason="naming_member_of_public"),
            "deletion_naming_member_of_public",
            "deletion-naming-member-of-public",
        ),
    ],
)
def test_shipped_choice_table(
    book: ReplyBook, situation: Situation, template: str, rule: str
) -> None:
    best = book.choose(situation)[0]
    assert (best.template, best.rule) == (template, rule)
    assert best.why  # Slack can always say why


def test_every_deletion_reason_has_its_own_explanation(book: ReplyBook) -> None:
    config = load_config(CONFIG_DIR)
    assert config.replies is not None
    for reason in config.replies.deletion_reasons:
        for account in (C, F):
            best = book.choose(_situation(Category.MODERATION, account, deletion_reason=reason))[0]
            assert best.template == f"deletion_{reason}"


def test_the_menu_lists_every_suitable_template_once_and_ends_with_the_fallback(
    book: ReplyBook,
) -> None:
    menu = book.choose(_situation(Category.FOI, personal_data=True, out_of_hours=True))
    assert [c.template for c in menu] == [
        "please_dm",
        "foi_acknowledgement",
        "foi_clarify",
        "out_of_hours",
        "general_acknowledgement",
    ]
    assert menu[-1].rule == "fallback"


# choose() itself, on a small table.
TABLE = ChoiceTable(
    rules=(
        ChoiceRule(
            name="x-foi",
            why="short on X",
            templates=("foi_x",),
            categories=frozenset({Category.FOI}),
            networks=frozenset({X}),
        ),
        ChoiceRule(
            name="foi",
            why="foi",
            templates=("foi", "generic"),
            categories=frozenset({Category.FOI}),
        ),
        ChoiceRule(
            name="fire-only", why="fire", templates=("fire_answer",), accounts=frozenset({F})
        ),
        ChoiceRule(name="night", why="night", templates=("night",), out_of_hours=True),
        ChoiceRule(name="day", why="day", templates=("day",), out_of_hours=False),
    ),
    fallback=("generic",),
    fallback_why="nothing else",
)
EVERYTHING = {"foi_x", "foi", "generic", "fire_answer", "night", "day"}


@pytest.mark.parametrize(
    ("situation", "available", "expected"),
    [
        (_situation(Category.FOI), EVERYTHING, ["foi_x", "foi", "generic", "day"]),
        (_situation(Category.FOI, network=FB), EVERYTHING, ["foi", "generic", "day"]),
        (
            _situation(Category.FOI, F, out_of_hours=True),
            EVERYTHING,
            ["foi_x", "foi", "generic", "fire_answer", "night"],
        ),
        # Templates the account does not have are skipped.
        (_situation(Category.FOI), {"foi", "generic"}, ["foi", "generic"]),
        (_situation(Category.ENQUIRY, F), {"generic"}, ["generic"]),
        # Nothing available at all: an empty menu, never an invented template.
        (_situation(Category.ENQUIRY), set(), []),
    ],
)
def test_choose(situation: Situation, available: set[str], expected: list[str]) -> None:
    assert [c.template for c in choose(situation, table=TABLE, available=available)] == expected


def test_choose_explains_each_candidate() -> None:
    menu = choose(
        _situation(Category.ENQUIRY, out_of_hours=True), table=TABLE, available=EVERYTHING
    )
    assert menu == (
        Candidate(template="night", rule="night", why="night"),
        Candidate(template="generic", rule="fallback", why="nothing else"),
    )


# Rendering.
def _context(account: str = C, network: Network = FB, **values) -> ReplyContext:
    return ReplyContext(account=account, network=network, reference="ANY-2026-000042", **values)


def test_fire_signs_off_with_its_fixed_text_and_no_names(book: ReplyBook) -> None:
    text = book.render("general_acknowledgement", _context(F, officer_first_name="Priya"))
    assert text.endswith("\nStay Safe / Anyshire Fire and Rescue Service")
    assert "Priya" not in text


def test_council_signs_off_with_the_approving_officers_first_name(book: ReplyBook) -> None:
    text = book.render("general_acknowledgement", _context(C, officer_first_name="Priya"))
    assert text.endswith("\nPriya")
    # Before an approver is known, the account's own sign-off stands in.
    unsigned = book.render("general_acknowledgement", _context(C))
    assert unsigned.endswith("\nAnyshire County Council")


def test_the_author_is_greeted_by_first_name_only_when_known(book: ReplyBook) -> None:
    assert book.render("bins", _context(author_first_name="Sam")).startswith("Hi Sam, ")
    assert book.render("bins", _context()).startswith("Hi there, ")


def test_foi_acknowledgement_says_when_and_asks_for_an_email_privately(book: ReplyBook) -> None:
    text = book.render(
        "foi_acknowledgement",
        _context(due=datetime(2026, 12, 17, 23, 30, tzinfo=UTC)),
    )
    assert "by Thursday 17 December" in text
    assert "foi@anyshire.gov.uk" in text
    assert "private message" in text and "don't post your email address here" in text
    assert "ANY-2026-000042" in text
    # Without a known due date it still says how long.
    assert "within 20 working days" in book.render("foi_acknowledgement", _context())


def test_due_dates_are_shown_in_the_desks_zone() -> None:
    # 23:30 UTC on 30 June is already 1 July in London (BST); in December it is not.
    assert long_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), LONDON) == "Wednesday 1 July"
    assert long_date(datetime(2026, 12, 17, 23, 30, tzinfo=UTC), LONDON) == "Thursday 17 December"
    assert long_date(date(2026, 12, 18), LONDON) == "Friday 18 December"


def test_dm_wording_follows_the_network(book: ReplyBook) -> None:
    assert "Send us a DM instead" in book.render("please_dm", _context(network=X))
    assert "Send us a private message" in book.render("please_dm", _context(network=FB))


def test_out_of_hours_reply_says_where_to_go_in_an_emergency(book: ReplyBook) -> None:
    council = book.render("out_of_hours", _context(back_on=date(2026, 12, 21)))
    assert "call 999" in council and "01632 960 555" in council and "call 101" in council
    assert "on Monday 21 December" in council
    fire = book.render("out_of_hours", _context(F))
    assert "fire or someone is in danger, call 999" in fire
    assert "when we're back" in fire


def test_output_is_plain_text_not_slack_markup(book: ReplyBook) -> None:
    text = book.render("complaint_acknowledgement", _context(author_first_name="Sam"))
    assert "&amp;" not in text and "<http" not in text and "|" not in text
    assert "https://www.anyshire.gov.uk/complaints" in text


def test_public_text_cannot_inject_template_syntax(book: ReplyBook) -> None:
    # A value is shown exactly as given: never parsed as a template, never escaped.
    context = ReplyContext(account=C, network=FB, reference="{{ 7 * 7 }} {% raw %}<&>")
    text = book.render("foi_acknowledgement", context)
    assert "quoting {{ 7 * 7 }} {% raw %}<&>." in text


@pytest.mark.parametrize(
    "name",
    ["Sam Jones", "@sam", "{{ config }}", "Sam\nJones", "https://evil.example", "", "x" * 25],
)
def test_a_reply_context_takes_one_first_name_only(name: str) -> None:
    with pytest.raises(ValueError, match="one first name"):
        ReplyContext(account=C, network=X, reference="R", author_first_name=name)
    with pytest.raises(ValueError, match="one first name"):
        ReplyContext(account=C, network=X, reference="R", officer_first_name=name)


def test_a_reply_context_needs_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ReplyContext(account=C, network=X, reference="R", due=datetime(2026, 12, 18, 9))


@pytest.mark.parametrize(
    ("display_name", "handle", "expected"),
    [
        ("Sam Jones", "@sj", "Sam"),
        ("Anne-Marie O'Neil", None, "Anne-Marie"),
        ("Zoë", None, "Zoë"),
        ("Dr Patel", None, None),
        ("Mrs. Smith", None, None),
        ("A Resident", None, None),  # an initial is not a name to greet
        ("binwatch2024", None, None),
        ("binwatcher", None, None),  # one lower-case word: more likely a handle
        ("sam jones", None, "sam"),
        ("resident_one", "@resident_one", None),
        ("Sammy", "@Sammy", None),  # the display name is the handle
        ("🌈 Sam", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_first_name(display_name: str | None, handle: str | None, expected: str | None) -> None:
    assert first_name(display_name, handle=handle) == expected


# The sandbox, on templates written for these tests.
def _book(tmp_path: Path, templates: dict[str, str]) -> ReplyBook:
    for name, source in templates.items():
        path = tmp_path / "replies" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return ReplyBook(
        directory=tmp_path / "replies",
        table=ChoiceTable(rules=(), fallback=("hello",), fallback_why="only one"),
        voices={C: AccountVoice(name="Council", sign_off="Council", contacts={"phone": "0300"})},
        lengths={
            X: LengthRule(network=X, limit=280, weighted=True),
            FB: LengthRule(network=FB, limit=40),
        },
        zone=LONDON,
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ ''.__class__.__mro__ }}", "sandbox: access to attribute '__class__'"),
        ("{{ cycler.__init__.__globals__ }}", "sandbox: access to attribute '__init__'"),
        ("{{ sign_off.__class__ }}", "sandbox"),
        ("{{ contacts.__dict__ }}", "sandbox"),
        ("{% set x = [] %}{{ x.append(1) }}", "sandbox"),
        ("{{ 'x' * 100000000 }}", "sandbox: repetition too large"),
        ("{{ 10 ** 100000 }}", "sandbox: exponent"),
        # Padding, joining and replacing that would build a text longer than any reply are
        # refused before the text is built (with 10 ** 9 the same would take gigabytes).
        ("{{ 'x'|center(1000000) }}", "sandbox: text of 1,000,000 characters"),
        ("{{ 'x'.rjust(1000000) }}", "sandbox: text of 1,000,000 characters"),
        ("{{ 'a\nb'|indent(1000000, true) }}", "sandbox: text of 2,000,003 characters"),
        ("{{ ('x' * 1000)|replace('x', 'y' * 1000) }}", "sandbox: text of 1,001,000"),
        ("{{ ('x' * 1000).replace('x', 'y' * 1000) }}", "sandbox: text of 1,001,000"),
        ("{{ range(2000)|join('y' * 1000) }}", "sandbox: text of 2,005,890 characters"),
        ("{{ ('y' * 1000).join(['a'] * 2000) }}", "sandbox: text of 2,001,000 characters"),
        ("{{ '%1000000s' % 'x' }}", "sandbox: text of 1,000,000 characters"),
        ("{{ '%*s' % (1000000, 'x') }}", "sandbox: a width or precision taken from a value"),
        ("{{ '%.1000000f'|format(1) }}", "sandbox: text of 1,000,000 characters"),
        ("{{ '{:>1000000}'.format('x') }}", "sandbox: text of 1,000,000 characters"),
        ("{{ '{:>{w}}'.format('x', w=9) }}", "sandbox: a width or precision taken from a value"),
        # A loop is stopped as soon as its text is longer than any reply.
        (
            "{% for i in range(200) %}{{ 'x' * 1000 }}{% endfor %}{{ 1 / 0 }}",
            "renders to more than 100,000 characters",
        ),
        ("{{ nobody }}", "undefined: 'nobody' is undefined"),
        ("{{ contacts.fax }}", "undefined: contacts.fax is not configured"),
        ("{{ links.bins }}", "undefined: links.bins is not configured"),
        ("{{ due_date }}", "a variable with no value was printed"),
        ("{% if %}", "syntax"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% include '_missing.j2' %}", "_missing.j2"),
    ],
)
def test_unsafe_or_broken_templates_are_refused(tmp_path: Path, source: str, problem: str) -> None:
    book = _book(tmp_path, {"common/hello.j2": source})
    with pytest.raises(ReplyTemplateError) as caught:
        book.render("hello", _context(network=FB))
    assert problem in str(caught.value)
    assert caught.value.file.name == "hello.j2"


def test_a_failing_partial_is_named_with_its_line(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        {
            "common/hello.j2": "Hi\n{% include '_part.j2' %}",
            "common/_part.j2": "ok\n{{ contacts.fax }}",
        },
    )
    with pytest.raises(ReplyTemplateError) as caught:
        book.render("hello", _context(network=FB))
    assert (caught.value.file.name, caught.value.line) == ("_part.j2", 2)


def test_an_accounts_own_template_wins_over_the_common_one(tmp_path: Path) -> None:
    book = _book(
        tmp_path, {"common/hello.j2": "common", "council/hello.j2": "own", "fire/only.j2": "fire"}
    )
    assert book.render("hello", _context()) == "own"
    assert book.names(C) == {"hello"}


def test_guarded_optional_values_render(tmp_path: Path) -> None:
    source = (
        "{% if author_first_name %}Hi {{ author_first_name }}{% else %}Hi there{% endif %}"
        "{% if contacts.phone is defined %}, call {{ contacts.phone }}{% endif %}"
        "{% if contacts.fax is defined %}, fax{% endif %}{% if due_date %} by {{ due_date }}{% endif %}"
    )
    book = _book(tmp_path, {"common/hello.j2": source})
    assert book.render("hello", _context()) == "Hi there, call 0300"
    assert book.render("hello", _context(author_first_name="Sam", due=date(2026, 12, 18))) == (
        "Hi Sam, call 0300 by Friday 18 December"
    )


def test_blank_line_runs_and_trailing_spaces_are_tidied(tmp_path: Path) -> None:
    book = _book(tmp_path, {"common/hello.j2": "  Hi   \n\n\n\nthere  \n\n"})
    assert book.render("hello", _context()) == "Hi\n\nthere"


# Fitting to a network's limit.
X_RULE = LengthRule(network=X, limit=280, weighted=True)


@pytest.mark.parametrize(
    ("full", "short", "text", "template", "fallback", "over_by"),
    [
        ("a" * 280, "short", "a" * 280, "t", None, 0),
        ("a" * 281, "short", "short", "t.short", Fallback.SHORT_FORM, 0),
        ("a" * 281, None, "a" * 281, "t", Fallback.NO_SHORT_FORM, 1),
        ("a" * 300, "b" * 290, "b" * 290, "t.short", Fallback.SHORT_FORM_TOO_LONG, 10),
        # Links count 23 on X, so this 300-character text fits.
        ("a" * 257 + "https://www.anyshire.gov.uk/" + "x" * 15, None, None, "t", None, 0),
    ],
)
def test_fit(
    full: str,
    short: str | None,
    text: str | None,
    template: str,
    fallback: Fallback | None,
    over_by: int,
) -> None:
    fitted = fit(name="t", full=full, short=short, rule=X_RULE)
    assert (fitted.template, fitted.fallback) == (template, fallback)
    assert fitted.text == (text if text is not None else full)
    assert fitted.over_by == over_by and fitted.fits is (over_by == 0)


def test_foi_suggestion_uses_the_short_form_on_x_and_the_full_one_elsewhere(
    book: ReplyBook,
) -> None:
    situation = _situation(Category.FOI, C, X)
    on_x = book.suggest(situation, _context(C, X, author_first_name="Sam", due=date(2026, 12, 18)))
    assert on_x.template == "foi_acknowledgement.short" and on_x.fallback is Fallback.SHORT_FORM
    assert on_x.fits and on_x.length <= 280 < (on_x.full_length or 0)
    assert on_x.rule == "foi" and "Freedom of Information" in on_x.why
    on_facebook = book.suggest(_situation(Category.FOI, C, FB), _context(C, FB))
    assert on_facebook.template == "foi_acknowledgement" and on_facebook.fallback is None


def test_a_suggestion_over_the_limit_says_how_much_to_cut(tmp_path: Path) -> None:
    book = _book(tmp_path, {"common/hello.j2": "x" * 50})
    suggestion = book.suggest(_situation(Category.ENQUIRY, C, FB), _context(C, FB))
    assert not suggestion.fits
    assert (suggestion.length, suggestion.limit, suggestion.over_by) == (50, 40, 10)
    assert suggestion.fallback is Fallback.NO_SHORT_FORM


def test_situation_and_context_must_agree(book: ReplyBook) -> None:
    with pytest.raises(ValueError, match="same account and network"):
        book.suggest(_situation(Category.FOI, C, X), _context(C, FB))
