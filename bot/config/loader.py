"""Load and validate the config directory once, reporting every problem together."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ValidationError

from bot.config.deadlines_model import DeadlinesFile
from bot.config.desk_model import AccountModel, DeskFile, default_account_problem
from bot.config.officers_model import OfficersFile
from bot.config.replies_model import RepliesFile, build_reply_book
from bot.config.rules_model import RulesFile, yaml_lines
from bot.config.sources_model import SourcesFile
from bot.config.themes_model import ThemesFile
from bot.config.yaml_hints import (
    duplicate_hint,
    duplicate_keys,
    flow_hash_hint,
    key_lines,
    parse_key,
    readable_key,
    unquoted_hashes,
    unquoted_hint,
)
from bot.config.yaml_hints import (
    load as load_yaml,
)
from bot.core.calendar import WorkingCalendar
from bot.core.classify import Classifier
from bot.core.clocks import Clocks
from bot.core.escalation import EscalationSetup
from bot.core.opinion import SecondOpinionPolicy
from bot.core.replies import ReplyBook
from bot.core.routing import RoutingTable
from bot.core.text import NotUtf8Error, utf8_text
from bot.core.themes import ThemeSettings

M = TypeVar("M", bound=BaseModel)

DESK_FILE = "desk.yaml"
RULES_FILE = "rules.yaml"
# Optional: without it, commsbot suggests no replies.
REPLIES_FILE = "replies.yaml"
DEADLINES_FILE = "deadlines.yaml"
OFFICERS_FILE = "officers.yaml"
THEMES_FILE = "themes.yaml"  # optional: without it, themes group by words alone
SOURCES_FILE = "sources.yaml"  # optional: without it, only /intake takes posts
KNOWN_FILES = (
    DESK_FILE,
    RULES_FILE,
    DEADLINES_FILE,
    OFFICERS_FILE,
    REPLIES_FILE,
    THEMES_FILE,
    SOURCES_FILE,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located by file and key."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration has problems; `problems` lists all of them, each once."""

    def __init__(self, problems: list[Problem]) -> None:
        problems = list(dict.fromkeys(problems))
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} configuration problem(s):\n{lines}")


@dataclass(frozen=True)
class DeskConfig:
    """The validated configuration the bot runs with."""

    desk: DeskFile
    classifier: Classifier
    directory: Path
    warnings: tuple[str, ...] = ()
    replies: RepliesFile | None = None
    # Working calendar, deadline rules and reminders (deadlines.yaml; defaults without it).
    clocks: Clocks = field(
        default_factory=lambda: Clocks(WorkingCalendar(ZoneInfo("Europe/London")))
    )
    # Officers and escalation policies (officers.yaml; none without it).
    escalation: EscalationSetup = field(default_factory=EscalationSetup)
    second_opinion: SecondOpinionPolicy = field(default_factory=SecondOpinionPolicy)
    themes: ThemeSettings = field(default_factory=ThemeSettings)
    # Monitoring tools posting to /intake/<source> (sources.yaml; none without it).
    sources: SourcesFile = field(default_factory=SourcesFile)

    @property
    def zone(self) -> ZoneInfo:
        """The desk's time zone."""
        return ZoneInfo(self.desk.timezone)

    def account(self, key: str) -> AccountModel:
        """The configured account called `key`."""
        return self.desk.accounts[key]

    def reply_book(self, templates_dir: Path) -> ReplyBook | None:
        """The suggested-replies book over `templates_dir`, or None without replies.yaml."""
        if self.replies is None:
            return None
        return build_reply_book(desk=self.desk, replies=self.replies, templates_dir=templates_dir)

    @property
    def routing(self) -> RoutingTable:
        """Which channel handles each category on each account."""
        return RoutingTable(
            routes={key: dict(account.channels) for key, account in self.desk.accounts.items()},
            round_the_clock=frozenset(self.desk.round_the_clock.channels),
            duty_channel=self.desk.round_the_clock.duty_channel,
            unsorted_to_duty=self.desk.round_the_clock.unsorted_to_duty,
        )


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        text = utf8_text(path.read_bytes())
    except FileNotFoundError:
        problems.append(Problem(str(path), "", _missing(path)))
        return None
    except OSError as exc:
        problems.append(Problem(str(path), "", f"cannot read: {exc.strerror}"))
        return None
    except NotUtf8Error as exc:
        problems.append(Problem(str(path), f"line {exc.line}", str(exc)))
        return None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        message = f"not valid YAML: {exc}"
        if mark is not None:
            context = getattr(exc, "context_mark", None) or mark
            hint = flow_hash_hint(text, context.line + 1, mark.line + 1)
            if hint:
                where, message = f"line {context.line + 1}", f"{hint}. ({message})"
        problems.append(Problem(str(path), where, message))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), "", "must be a mapping of keys to values"))
        return None
    at = key_lines(text)
    for key, lines in duplicate_keys(text).items():
        problems.append(Problem(str(path), readable_key(key, data, at), duplicate_hint(lines)))
    return data


def _missing(path: Path) -> str:
    """Why a config file is missing, naming a file beside it that looks misnamed."""
    stem = path.name.lower().removesuffix(".yaml")
    near = sorted(
        other.name
        for other in path.parent.glob("*")
        if other.name != path.name
        and other.is_file()
        and other.name.lower().split(".")[0] == stem
        and (other.suffix.lower() in (".yml", ".yaml", ".txt") or other.name.lower() == path.name)
    )
    if near:
        return f"file is missing, but there is {near[0]} beside it: rename it to {path.name}"
    return "file is missing"


def _yaml_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _validate(
    model: type[M],
    data: Any,
    path: Path,
    problems: list[Problem],
    *,
    lines: dict[str, dict[Any, int]] | None = None,
) -> M | None:
    """`data` as `model`, or None after adding every problem, named for people."""
    text = _yaml_text(path)
    where = key_lines(text)
    hashes = unquoted_hashes(text)
    reported: set[tuple[Any, ...]] = set()
    result: M | None = None
    try:
        result = model.model_validate(data, context={"lines": lines or {}})
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            hashed = next((h for h in hashes if loc[: len(h)] == h), None)
            if hashed is not None:
                reported.add(hashed)
                key, message = readable_key(hashed, data, where), unquoted_hint(hashes[hashed])
            else:
                key = readable_key(loc, data, where)
                message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), key, message))
    for hashed, written in hashes.items():
        if hashed not in reported:
            key = readable_key(hashed, data, where)
            problems.append(Problem(str(path), key, unquoted_hint(written)))
            result = None
    return result


def _readable(path: Path, key: str, data: Any) -> str:
    """A dotted key from a cross-file check, with list entries named and lined."""
    return readable_key(parse_key(key), data, key_lines(_yaml_text(path)))


def load_config(directory: Path) -> DeskConfig:
    """Read the config files in `directory`; raise ConfigError listing every problem.

    desk.yaml and rules.yaml are required; deadlines.yaml and officers.yaml are optional
    (built-in working hours and deadlines; no escalation to named officers).
    """
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), "", "config directory does not exist")])
    desk_path, rules_path = directory / DESK_FILE, directory / RULES_FILE
    desk_data = _read_yaml(desk_path, problems)
    rules_data = _read_yaml(rules_path, problems)
    desk = _validate(DeskFile, desk_data, desk_path, problems) if desk_data is not None else None
    if desk is None and desk_data is not None:
        # Cross-field checks do not run when fields fail; report this one anyway.
        problem = default_account_problem(
            desk_data.get("default_account"), desk_data.get("accounts")
        )
        if problem and not any(p.message == problem for p in problems):
            problems.append(Problem(str(desk_path), "default_account", problem))
    rules = (
        _validate(RulesFile, rules_data, rules_path, problems, lines=_lines_of(rules_path))
        if rules_data is not None
        else None
    )
    classifier = None
    if rules is not None:
        if desk is not None:
            for index, rule in enumerate(rules.rules):
                for account in rule.accounts or ():
                    if account not in desk.accounts:
                        problems.append(
                            Problem(
                                str(rules_path),
                                _readable(rules_path, f"rules.{index}.accounts", rules_data),
                                f"unknown account {account!r} "
                                f"(desk.yaml has {', '.join(sorted(desk.accounts))})",
                            )
                        )
        core_rules, default_category = rules.to_core()
        try:
            classifier = Classifier(core_rules, default_category=default_category)
        except ValueError as exc:
            problems.append(Problem(str(rules_path), "rules", str(exc)))
    replies = _load_replies(directory / REPLIES_FILE, desk, problems)
    zone = ZoneInfo(desk.timezone) if desk is not None else ZoneInfo("Europe/London")
    warnings: list[str] = []
    clocks = _load_clocks(directory / DEADLINES_FILE, zone, problems, warnings)
    rule_names = {rule.name for rule in rules.rules} if rules is not None else None
    escalation = _load_escalation(directory / OFFICERS_FILE, rule_names, problems, warnings)
    themes = _load_themes(directory / THEMES_FILE, problems)
    sources = _load_sources(directory / SOURCES_FILE, desk, problems)
    if (
        problems
        or desk is None
        or classifier is None
        or clocks is None
        or escalation is None
        or themes is None
        or sources is None
    ):
        raise ConfigError(problems)
    return DeskConfig(
        desk=desk,
        classifier=classifier,
        directory=directory,
        warnings=(
            *warnings,
            *desk.people_warnings(),
            *_approval_warnings(desk_path, desk),
            *_stray_files(directory),
        ),
        replies=replies,
        clocks=clocks,
        escalation=escalation,
        second_opinion=rules.second_opinion.to_core() if rules else SecondOpinionPolicy(),
        themes=themes,
        sources=sources,
    )


def _load_replies(path: Path, desk: DeskFile | None, problems: list[Problem]) -> RepliesFile | None:
    """replies.yaml validated against the desk's accounts, or None when there is none."""
    if not path.exists():
        return None
    data = _read_yaml(path, problems)
    replies = _validate(RepliesFile, data, path, problems) if data is not None else None
    if replies is not None and desk is not None:
        for key, message in replies.unknown_accounts(set(desk.accounts)):
            problems.append(Problem(str(path), _readable(path, key, data), message))
    return replies


def _load_clocks(
    path: Path, zone: ZoneInfo, problems: list[Problem], warnings: list[str]
) -> Clocks | None:
    """The desk's clocks from deadlines.yaml, or the built-in defaults when it is absent."""
    if not path.exists():
        warnings.append(
            f"{path}: not found; using the built-in working hours (09:00-17:00 Mon-Fri, "
            "UK bank holidays) and deadlines"
        )
        return DeadlinesFile().to_core(zone)
    data = _read_yaml(path, problems)
    model = _validate(DeadlinesFile, data, path, problems) if data is not None else None
    return model.to_core(zone) if model is not None else None


def _load_escalation(
    path: Path, rule_names: set[str] | None, problems: list[Problem], warnings: list[str]
) -> EscalationSetup | None:
    """Officers and escalation policies from officers.yaml; none when it is absent."""
    if not path.exists():
        warnings.append(f"{path}: not found; nothing is escalated to named officers")
        return EscalationSetup()
    data = _read_yaml(path, problems)
    model = _validate(OfficersFile, data, path, problems) if data is not None else None
    if model is None:
        return None
    found = [
        Problem(str(path), _readable(path, key, data), message)
        for key, message in (*model.reference_problems(), *model.round_the_clock_problems())
    ]
    if rule_names is not None:
        for index, trigger in enumerate(model.intake):
            for rule in trigger.rules:
                if rule not in rule_names:
                    found.append(
                        Problem(
                            str(path),
                            _readable(path, f"intake.{index}.rules", data),
                            f"no classification rule called {rule!r} in {RULES_FILE}",
                        )
                    )
    problems.extend(found)
    return None if found else model.to_core()


def _lines_of(path: Path) -> dict[str, dict[Any, int]]:
    """Where each rule and concept starts in a YAML file (empty if it cannot be read)."""
    try:
        return yaml_lines(path.read_text(encoding="utf-8"))
    except OSError:
        return {}


def _load_themes(path: Path, problems: list[Problem]) -> ThemeSettings | None:
    """The theme settings from themes.yaml, the defaults if there is none, None if it is bad."""
    if not path.exists():
        return ThemeSettings()
    data = _read_yaml(path, problems)
    model = _validate(ThemesFile, data, path, problems) if data is not None else None
    return model.to_core() if model is not None else None


def _load_sources(path: Path, desk: DeskFile | None, problems: list[Problem]) -> SourcesFile | None:
    """The intake sources from sources.yaml, none if there is no file, None if it is bad."""
    if not path.exists():
        return SourcesFile()
    data = _read_yaml(path, problems)
    model = _validate(SourcesFile, data, path, problems) if data is not None else None
    if model is None or desk is None:
        return model
    found = [
        Problem(str(path), _readable(path, key, data), message)
        for key, message in model.reference_problems(desk.accounts)
    ]
    problems.extend(found)
    return None if found else model


def _approval_warnings(path: Path, desk: DeskFile) -> tuple[str, ...]:
    """Accounts nobody can approve replies for (safe, but every suggestion waits forever)."""
    warnings = []
    for key, account in desk.accounts.items():
        if not account.approvers.users and not account.approvers.usergroups:
            warnings.append(
                f"{path}: accounts.{key}.approvers names nobody, so no suggested reply for "
                f"{key} can be approved: add approvers: {{users: [U...]}} or usergroups"
            )
        if not account.crisis_approver.users and not account.crisis_approver.usergroups:
            warnings.append(
                f"{path}: accounts.{key}.crisis_approver names nobody, so in crisis mode no "
                f"reply for {key} can be approved"
            )
    return tuple(warnings)


def _stray_files(directory: Path) -> tuple[str, ...]:
    """Config-looking files commsbot does not read (a misnamed rules.yml, say)."""
    known = set(KNOWN_FILES)
    stray = sorted(
        path.name
        for pattern in ("*.yaml", "*.yml", "*.toml", "*.json")
        for path in directory.glob(pattern)
        if path.name not in known
    )
    warnings = []
    for name in stray:
        stem = name.lower().split(".")[0]
        meant = next((k for k in KNOWN_FILES if k.split(".")[0] == stem), None)
        if meant is None:
            why = f"it reads {', '.join(KNOWN_FILES)}"
        elif (directory / meant).exists():
            why = f"it reads {meant}: move what {name} holds there, then delete {name}"
        elif meant in (DESK_FILE, RULES_FILE):
            continue  # reported as a problem: the file commsbot needs is missing
        else:
            why = f"rename it to {meant} to use it"
        warnings.append(f"{directory / name}: not read by commsbot ({why})")
    return tuple(warnings)
