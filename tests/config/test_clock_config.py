"""deadlines.yaml and officers.yaml: the shipped files load; mistakes are named by file and key."""

from __future__ import annotations

import re
import shutil
from datetime import date, time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.core.calendar import Nation
from bot.core.deadlines import DEFAULT_RULES, DeadlineRule, Unit
from bot.core.reminders import DEFAULT_POLICIES
from tests.conftest import CONFIG_DIR


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    return [str(p) for p in caught.value.problems]


def test_shipped_files_say_what_the_built_in_defaults_say() -> None:
    config = load_config(CONFIG_DIR)
    clocks = config.clocks
    assert dict(clocks.rules.rules) == dict(DEFAULT_RULES)
    assert dict(clocks.reminders.policies) == dict(DEFAULT_POLICIES)
    assert clocks.rules.receipt_on_closed_day_is_next_working_day is False
    calendar = clocks.calendar
    assert (calendar.hours.opens, calendar.hours.closes) == (time(9), time(17))
    assert calendar.hours.days == frozenset(range(5))
    assert calendar.nations == tuple(Nation)
    assert str(calendar.zone) == "Europe/London"
    assert not any("deadlines.yaml" in w or "officers.yaml" in w for w in config.warnings)


def test_shipped_officers_are_examples_and_every_reference_resolves() -> None:
    escalation = load_config(CONFIG_DIR).escalation
    officers = escalation.directory.officers
    assert officers and all(o.slack_user_id.startswith("U0EXAMPLE") for o in officers)
    assert all(o.email.endswith("@example.org") for o in officers)
    for policy in escalation.policies.values():
        for level in policy.levels:
            assert all(escalation.directory.with_role(role) for role in level.roles)
    # The routes the issue asks for.
    assert escalation.intake_policies(category="foi", rule="foi-named", text="") == ("foi",)
    assert escalation.intake_policies(category="urgent", rule="risk-to-life", text="") == (
        "urgent",
    )
    assert escalation.policy("urgent").any_hour
    assert escalation.intake_policies(category="moderation", rule="hate-speech", text="") == (
        "hate_crime",
    )
    assert escalation.intake_policies(
        category="complaint", rule="complaint", text="Why is the council doing covert surveillance?"
    ) == ("ripa",)
    assert escalation.breach_policy("foi") == "foi"
    assert escalation.breach_policy("complaint") == "missed_deadline"


def test_without_the_new_files_the_defaults_apply_and_a_warning_says_so(
    config_copy: Path,
) -> None:
    (config_copy / "deadlines.yaml").unlink()
    (config_copy / "officers.yaml").unlink()
    config = load_config(config_copy)
    assert dict(config.clocks.rules.rules) == dict(DEFAULT_RULES)
    assert config.escalation.policies == {}
    assert config.escalation.intake_policies(category="foi", rule="x", text="") == ()
    warnings = "\n".join(config.warnings)
    assert "deadlines.yaml: not found; using the built-in working hours" in warnings
    assert "officers.yaml: not found; nothing is escalated to named officers" in warnings


def test_stray_file_warning_names_every_file_commsbot_reads(config_copy: Path) -> None:
    (config_copy / "settings.yml").write_text("officers: {}\n", encoding="utf-8")
    [warning] = load_config(config_copy).warnings
    assert "settings.yml: not read by commsbot" in warning
    assert "desk.yaml, rules.yaml, deadlines.yaml, officers.yaml" in warning


def test_a_misnamed_copy_of_a_file_commsbot_reads_says_what_to_do(config_copy: Path) -> None:
    (config_copy / "officers.yml").write_text("officers: {}\n", encoding="utf-8")
    [warning] = load_config(config_copy).warnings
    assert "officers.yml: not read by commsbot (it reads officers.yaml: move what" in warning


def test_edited_calendar_and_rules_are_used(config_copy: Path) -> None:
    (config_copy / "deadlines.yaml").write_text(
        """
calendar:
  opening_days: [mon, tue, wed, thu, fri, sat]
  opens: "08:30"
  closes: 17:30          # unquoted: YAML reads 1050 minutes; still 17:30
  bank_holidays: [england_and_wales]
  closure_days:
    - {date: 2026-12-24, name: Christmas Eve closure}
  not_bank_holidays:
    - {date: 2026-08-31, reason: worked here}
deadlines:
  media: {unit: working_hours, amount: 4}
  eir: {unit: statutory_working_days, amount: 15}   # a shorter target than the law's
foi:
  treat_closed_day_receipt_as_next_working_day: true
reminders:
  media:
    out_of_hours: true
    thresholds:
      - {id: half_time, elapsed: 0.5}
""",
        encoding="utf-8",
    )
    clocks = load_config(config_copy).clocks
    calendar = clocks.calendar
    assert (calendar.hours.opens, calendar.hours.closes) == (time(8, 30), time(17, 30))
    assert calendar.is_working_day(date(2026, 11, 21))  # a Saturday
    assert calendar.is_working_day(date(2026, 3, 17))  # St Patrick's Day: England only here
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert calendar.is_working_day(date(2026, 8, 31))
    assert clocks.rule_for("media") == DeadlineRule(Unit.WORKING_HOURS, 4)
    assert clocks.rule_for("eir") == DeadlineRule(Unit.STATUTORY_WORKING_DAYS, 15)
    assert clocks.rule_for("foi") == DEFAULT_RULES["foi"]  # untouched kinds keep defaults
    assert clocks.rules.receipt_on_closed_day_is_next_working_day is True
    assert clocks.reminder_policy("media").out_of_hours
    assert clocks.reminder_policy("theme") == DEFAULT_POLICIES["theme"]


def test_every_calendar_and_deadline_problem_is_reported(config_copy: Path) -> None:
    (config_copy / "deadlines.yaml").write_text(
        """
calendar:
  opening_days: [mon, funday]
  opens: "25:00"
  bank_holidays: [wales]
  not_bank_holidays:
    - {date: 2026-11-20, reason: typo}
deadlines:
  complain: {unit: working_days, amount: 1}
reminders:
  theme:
    thresholds:
      - {id: half_time}
foi:
  treat_weekend_receipt_as_monday: true
""",
        encoding="utf-8",
    )
    problems = "\n".join(_problems(config_copy))
    assert "deadlines.yaml: calendar.opening_days: 'funday' is not a day of the week" in problems
    assert "deadlines.yaml: calendar.opens:" in problems
    assert (
        "deadlines.yaml: calendar.bank_holidays entry 1 (line" in problems
        and "england_and_wales" in problems
    )
    assert (
        "calendar.not_bank_holidays: 2026-11-20 not a bank holiday anywhere in the UK" in problems
    )
    assert "deadlines.yaml: deadlines: 'complain' not a kind of post" in problems
    assert re.search(
        r"deadlines.yaml: reminders.theme.threshold 1 \(line \d+\): threshold 'half_time' "
        "needs exactly one of",
        problems,
    )
    assert (
        "deadlines.yaml: foi.treat_weekend_receipt_as_monday: Extra inputs are not permitted"
        in problems
    )


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "deadlines:\n  foi: {unit: working_days, amount: 20}\n",
            "deadlines: foi must use unit statutory_working_days (the law sets how it is counted)",
        ),
        (
            "deadlines:\n  subject_access: {unit: calendar_months, amount: 3}\n",
            "deadlines: subject_access can be at most 1 calendar_months (the statutory limit)",
        ),
        (
            "deadlines:\n  theme: {unit: working_days, amount: 1.5}\n",
            "deadlines.theme: working_days must be a whole number",
        ),
        (
            "deadlines:\n  urgent: {unit: clock_hour, amount: 1}\n",
            "deadlines.urgent.unit:",
        ),
        # Risk to life is 24/7: urgent clocks and reminders cannot wait for opening hours.
        (
            "deadlines:\n  urgent: {unit: working_hours, amount: 1}\n",
            "deadlines: urgent must use unit clock_hours (risk to life is answered around the "
            "clock, not in opening hours)",
        ),
        (
            "reminders:\n  urgent:\n    thresholds:\n      - {id: due_now, elapsed: 1}\n",
            "reminders: urgent needs out_of_hours: true",
        ),
        (
            "reminders:\n  urgent:\n    out_of_hours: true\n    thresholds:\n"
            "      - {id: late, after_due: {working_hours: 1}}\n",
            "reminders: urgent thresholds count clock time (clock_hours or clock_minutes), "
            "not working time: late",
        ),
        (
            "calendar:\n  opens: '17:00'\n  closes: '09:00'\n",
            "calendar: closes (09:00) must be after opens (17:00)",
        ),
        (
            "reminders:\n  urgent:\n    thresholds:\n      - {id: soon, before_due: {clock_minutes: 5, working_hours: 1}}\n",
            "reminders.urgent.threshold 1 (line 4).before_due: give exactly one of",
        ),
        (
            "reminders:\n  urgent:\n    thresholds:\n      - {id: a, elapsed: 0.5}\n      - {id: a, elapsed: 0.9}\n",
            "reminders.urgent.thresholds: threshold ids must be unique; repeated: a",
        ),
    ],
)
def test_deadline_mistakes_are_named(config_copy: Path, yaml_text: str, expected: str) -> None:
    (config_copy / "deadlines.yaml").write_text(yaml_text, encoding="utf-8")
    problems = "\n".join(_problems(config_copy))
    assert expected in problems
    assert "deadlines.yaml" in problems


def test_officer_field_problems_are_reported_together(config_copy: Path) -> None:
    (config_copy / "officers.yaml").write_text(
        """
officers:
  alex:
    name: Alex
    role: FOI Lead
    slack_user_id: alex
    email: alex-at-example
policies:
  foi:
    levels:
      - roles: [foi_lead]
        users: [u123]
""",
        encoding="utf-8",
    )
    problems = "\n".join(_problems(config_copy))
    assert (
        "officers.yaml: officers.alex.role: role 'FOI Lead' must be a short snake_case word"
        in problems
    )
    assert "officers.alex.slack_user_id: 'alex' does not look like a Slack user ID" in problems
    assert "officers.alex.email: 'alex-at-example' is not an email address" in problems
    assert re.search(
        r"officers.yaml: policies.foi.level 1 \(line \d+\).users: "
        "'u123' does not look like a Slack user ID",
        problems,
    )


def test_officer_structure_problems_are_reported_together(config_copy: Path) -> None:
    (config_copy / "officers.yaml").write_text(
        """
officers:
  sam:
    name: Sam
    role: head_of_comms
    slack_user_id: U0EXAMPLE01
    email: sam@example.org
  kim:
    name: Kim
    role: legal
    slack_user_id: U0EXAMPLE01
    email: kim@example.org
policies:
  foi:
    levels:
      - roles: [legal]
      - roles: [head_of_comms]
  loop:
    repeat: 1
    levels:
      - roles: [legal]
""",
        encoding="utf-8",
    )
    problems = "\n".join(_problems(config_copy))
    assert (
        "officers.yaml: officers: sam and kim have the same slack_user_id U0EXAMPLE01" in problems
    )
    assert "officers.yaml: policies.foi: level 1 needs a wait" in problems
    assert "officers.yaml: policies.loop: level 1 needs a wait" in problems


def test_officer_references_are_checked(config_copy: Path) -> None:
    officers = config_copy / "officers.yaml"
    text = officers.read_text(encoding="utf-8")
    text = text.replace("      - roles: [foi_lead]\n", "      - roles: [foi_leader]\n", 1)
    text = text.replace("    policy: ripa\n", "    policy: ripa_officers\n", 1)
    text = text.replace("rules: [hate-slur, hate-speech]", "rules: [hate-speech, racist-abuse]")
    text = text.replace("    urgent: urgent\n", "    urgent: emergency\n")
    officers.write_text(text, encoding="utf-8")
    problems = _problems(config_copy)
    joined = "\n".join(problems)
    assert re.search(
        r"officers.yaml: policies.foi.level 1 \(line \d+\).roles: no officer has the role "
        "'foi_leader'",
        joined,
    )
    # Triggers are named by their name and line, not by a position counted from 0.
    assert re.search(
        r"officers.yaml: trigger 'Surveillance or covert contact to the RIPA officers' "
        r"\(line \d+\).policy: no policy called 'ripa_officers'",
        joined,
    )
    assert re.search(
        r"officers.yaml: trigger 'Hate speech to the hate crime reporting route' \(line \d+\)"
        r".rules: no classification rule called 'racist-abuse' in rules.yaml",
        joined,
    )
    assert "officers.yaml: deadline_breach.kinds.urgent: no policy called 'emergency'" in joined
    assert len(problems) == 4


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # The urgent policy, as if copied from the FOI one: nobody told until the morning.
        (
            "  urgent:\n    any_hour: true\n",
            "  urgent:\n",
            "officers.yaml: policies.urgent: urgent posts start this policy (intake trigger "
            "'Risk to life to the safeguarding lead and duty manager, at any hour', "
            "deadline_breach.kinds.urgent), so it needs any_hour: true",
        ),
        (
            "        wait: {clock_minutes: 15}\n      - roles: [head_of_comms]\n"
            "        wait: {clock_minutes: 15}\n",
            "        wait: {working_hours: 1}\n      - roles: [head_of_comms]\n"
            "        wait: {clock_minutes: 15}\n",
            "officers.yaml: policies.urgent: urgent posts start this policy",
        ),
        # Without its own line, a missed urgent deadline starts the default policy.
        (
            "    urgent: urgent\n",
            "",
            "officers.yaml: policies.missed_deadline: urgent posts start this policy "
            "(deadline_breach.default), so it needs any_hour: true and waits in clock time",
        ),
    ],
)
def test_a_policy_urgent_posts_start_runs_around_the_clock(
    config_copy: Path, old: str, new: str, expected: str
) -> None:
    officers = config_copy / "officers.yaml"
    text = officers.read_text(encoding="utf-8")
    assert old in text
    officers.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = [p.removeprefix(f"{config_copy}/") for p in _problems(config_copy)]
    assert len(problems) == 1 and problems[0].startswith(expected), problems
