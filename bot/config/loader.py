"""Load and validate the config directory once, reporting every problem together."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ValidationError

from bot.config.desk_model import AccountModel, DeskFile, default_account_problem
from bot.config.rules_model import RulesFile
from bot.config.themes_model import ThemesFile
from bot.core.classify import Classifier
from bot.core.routing import RoutingTable
from bot.core.themes import ThemeSettings

M = TypeVar("M", bound=BaseModel)

DESK_FILE = "desk.yaml"
RULES_FILE = "rules.yaml"
THEMES_FILE = "themes.yaml"  # optional: without it, themes group by words alone


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
    """The configuration has problems; `problems` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
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
    themes: ThemeSettings = field(default_factory=ThemeSettings)

    @property
    def zone(self) -> ZoneInfo:
        """The desk's time zone."""
        return ZoneInfo(self.desk.timezone)

    def account(self, key: str) -> AccountModel:
        """The configured account called `key`."""
        return self.desk.accounts[key]

    @property
    def routing(self) -> RoutingTable:
        """Which channel handles each category on each account."""
        return RoutingTable(
            routes={key: dict(account.channels) for key, account in self.desk.accounts.items()}
        )


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(str(path), "", "file is missing"))
        return None
    except OSError as exc:
        problems.append(Problem(str(path), "", f"cannot read: {exc.strerror}"))
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problems.append(Problem(str(path), where, f"not valid YAML: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), "", "must be a mapping of keys to values"))
        return None
    return data


def _validate(model: type[M], data: Any, path: Path, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), key, message))
        return None


def load_config(directory: Path) -> DeskConfig:
    """Read desk.yaml and rules.yaml from `directory`; raise ConfigError listing every problem."""
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
        if problem:
            problems.append(Problem(str(desk_path), "default_account", problem))
    rules = (
        _validate(RulesFile, rules_data, rules_path, problems) if rules_data is not None else None
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
                                f"rules.{index}.accounts",
                                f"unknown account {account!r} "
                                f"(desk.yaml has {', '.join(sorted(desk.accounts))})",
                            )
                        )
        core_rules, default_category = rules.to_core()
        try:
            classifier = Classifier(core_rules, default_category=default_category)
        except ValueError as exc:
            problems.append(Problem(str(rules_path), "rules", str(exc)))
    themes = _load_themes(directory / THEMES_FILE, problems)
    if problems or desk is None or classifier is None or themes is None:
        raise ConfigError(problems)
    return DeskConfig(
        desk=desk,
        classifier=classifier,
        directory=directory,
        warnings=_stray_files(directory),
        themes=themes,
    )


def _load_themes(path: Path, problems: list[Problem]) -> ThemeSettings | None:
    """The theme settings from themes.yaml, the defaults if there is none, None if it is bad."""
    if not path.exists():
        return ThemeSettings()
    data = _read_yaml(path, problems)
    model = _validate(ThemesFile, data, path, problems) if data is not None else None
    return model.to_core() if model is not None else None


def _stray_files(directory: Path) -> tuple[str, ...]:
    """Config-looking files commsbot does not read (a misnamed rules.yml, say)."""
    known = {DESK_FILE, RULES_FILE, THEMES_FILE}
    stray = sorted(
        path.name
        for pattern in ("*.yaml", "*.yml", "*.toml", "*.json")
        for path in directory.glob(pattern)
        if path.name not in known
    )
    return tuple(
        f"{directory / name}: not read by commsbot (it reads {DESK_FILE} and {RULES_FILE})"
        for name in stray
    )
