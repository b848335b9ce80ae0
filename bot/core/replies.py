"""Suggested replies: which template fits a theme, rendering it safely, fitting it to a network.

Templates live in `templates/replies/`: `common/` holds those every account may use, and a
folder named after an account (`fire/`) holds that account's own templates, which win over
a common one of the same name. A template `name.j2` may have a short form `name.short.j2`,
used when the full form is over the network's limit. Files starting with `_` are partials
for `{% include %}`, never offered on their own.

Rendering is sandboxed (staff edit templates): no attribute starting with `_`, no changing
values, no repetition, padding, join or replacement longer than any reply, and output
stopped once past that length; an undefined variable, or printing a variable that has no
value, is an error. The output is plain text for a social network, never Slack markup.
Values are passed as variables, never parsed as templates, so text from the public can
not inject template syntax.
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    UndefinedError,
    pass_environment,
    pass_eval_context,
)
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core.posts import Category, Network
from bot.core.text import NotUtf8Error, utf8_text
from bot.core.textlength import LengthRule, measure

COMMON = "common"
TEMPLATE_SUFFIX = ".j2"
SHORT_SUFFIX = ".short"
FALLBACK_RULE = "fallback"

# A name a person goes by: letters, with inner hyphens or apostrophes (Anne-Marie, O'Neil).
_FIRST_NAME = re.compile(r"^[^\W\d_]+(?:['\u2019-][^\W\d_]+)*$")
# Honorifics are not first names ("Dr Patel" gives no first name).
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "cllr", "rev", "sir", "dame", "lord", "lady"}
)
_MAX_NAME = 24
# Limits that keep a template from exhausting memory: `"x" * n`, `n ** m`.
_MAX_REPEAT = 10_000
_MAX_EXPONENT = 64
_MAX_OUTPUT = 100_000
# What rendering a staff-edited template can raise besides Jinja's own errors.
_RENDER_FAILURES = (
    TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    RecursionError,
)


class SignOffStyle(StrEnum):
    """How an account signs its replies."""

    FIXED = "fixed"  # always the configured text ("Stay Safe / … Fire and Rescue Service")
    OFFICER_FIRST_NAME = "officer_first_name"  # the approving officer's first name


class Fallback(StrEnum):
    """Why a suggestion is not simply the chosen template's full form."""

    SHORT_FORM = "short_form"  # the full form was over the limit; the short form fits
    NO_SHORT_FORM = "no_short_form"  # over the limit and there is no short form: cut it
    SHORT_FORM_TOO_LONG = "short_form_too_long"  # even the short form is over: cut it


class ReplyTemplateError(Exception):
    """A reply template cannot be rendered; the message names the file and the line."""

    def __init__(self, *, file: Path, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}: line {line}" if line else str(file)
        super().__init__(f"{where}: {message}")


class NoReplyTemplate(Exception):
    """No template, not even the fallback, is available for an account."""


@dataclass(frozen=True)
class Situation:
    """What the choice of a reply depends on: the theme's kind of post and circumstances."""

    category: Category
    account: str
    network: Network
    topic: str | None = None
    out_of_hours: bool = False
    personal_data: bool = False
    direct_message: bool = False
    crisis: bool = False
    deletion_reason: str | None = None


@dataclass(frozen=True)
class ChoiceRule:
    """Use `templates` when every condition given matches; None means any value matches."""

    name: str
    why: str
    templates: tuple[str, ...]
    categories: frozenset[Category] | None = None
    topics: frozenset[str] | None = None
    networks: frozenset[Network] | None = None
    accounts: frozenset[str] | None = None
    deletion_reasons: frozenset[str] | None = None
    out_of_hours: bool | None = None
    personal_data: bool | None = None
    direct_message: bool | None = None
    crisis: bool | None = None

    def matches(self, situation: Situation) -> bool:
        """Whether this rule applies to `situation`."""
        sets = (
            (self.categories, situation.category),
            (self.topics, situation.topic),
            (self.networks, situation.network),
            (self.accounts, situation.account),
            (self.deletion_reasons, situation.deletion_reason),
        )
        flags = (
            (self.out_of_hours, situation.out_of_hours),
            (self.personal_data, situation.personal_data),
            (self.direct_message, situation.direct_message),
            (self.crisis, situation.crisis),
        )
        return all(wanted is None or value in wanted for wanted, value in sets) and all(
            wanted is None or value == wanted for wanted, value in flags
        )


@dataclass(frozen=True)
class ChoiceTable:
    """The ordered choice rules and the fallback used when nothing else is available."""

    rules: tuple[ChoiceRule, ...]
    fallback: tuple[str, ...]
    fallback_why: str


@dataclass(frozen=True)
class Candidate:
    """A template that suits a situation, the rule that chose it and why (for Slack)."""

    template: str
    rule: str
    why: str


def choose(
    situation: Situation, *, table: ChoiceTable, available: Collection[str]
) -> tuple[Candidate, ...]:
    """Every suitable template for `situation`, best first, ending with the fallback.

    Each matching rule adds its templates in order; a template is listed once, where it
    first appears; templates the account does not have are left out.
    """
    seen: set[str] = set()
    found: list[Candidate] = []
    chosen = [
        (rule.name, rule.why, rule.templates) for rule in table.rules if rule.matches(situation)
    ]
    chosen.append((FALLBACK_RULE, table.fallback_why, table.fallback))
    for rule, why, templates in chosen:
        for template in templates:
            if template in available and template not in seen:
                seen.add(template)
                found.append(Candidate(template=template, rule=rule, why=why))
    return tuple(found)


@dataclass(frozen=True)
class AccountVoice:
    """How one account speaks: its name, sign-off and the contact routes it gives out."""

    name: str
    sign_off: str
    sign_off_style: SignOffStyle = SignOffStyle.FIXED
    contacts: Mapping[str, str | int] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)


def _check_single_name(value: str | None, what: str) -> None:
    if value is not None and not (_FIRST_NAME.match(value) and len(value) <= _MAX_NAME):
        raise ValueError(f"{what} must be one first name, not {value!r}")


@dataclass(frozen=True)
class ReplyContext:
    """The values a reply is filled in with, built by the caller from a theme.

    `due` is the statutory due date (FOI, subject access) if there is one; `back_on` is when
    the desk is next staffed, for out-of-hours replies. Datetimes must be timezone-aware;
    they are shown as dates in the desk's zone ("Friday 18 December").
    """

    account: str
    network: Network
    reference: str
    author_first_name: str | None = None
    officer_first_name: str | None = None
    due: datetime | date | None = None
    back_on: datetime | date | None = None

    def __post_init__(self) -> None:
        _check_single_name(self.author_first_name, "author_first_name")
        _check_single_name(self.officer_first_name, "officer_first_name")
        for name in ("due", "back_on"):
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")


def first_name(display_name: str | None, *, handle: str | None = None) -> str | None:
    """The first name in a display name, or None when it does not plainly start with one.

    Never the full name or the handle: "Sam Jones" gives "Sam"; "Dr Patel", "binwatch2024",
    a single lower-case word ("binwatcher"), a display name equal to the handle, or one
    with symbols or emoji gives None.
    """
    if not display_name:
        return None
    words = display_name.split()
    if not words:
        return None
    word = words[0]
    if not _FIRST_NAME.match(word) or not 2 <= len(word) <= _MAX_NAME:
        return None
    if word.lower().rstrip(".") in _TITLES:
        return None
    if len(words) == 1 and (
        word.islower() or (handle and word.lower() == handle.lstrip("@").lower())
    ):
        return None
    return word


def long_date(value: datetime | date, zone: ZoneInfo) -> str:
    """`value` as people write a date, in `zone`: "Friday 18 December"."""
    day = value.astimezone(zone).date() if isinstance(value, datetime) else value
    return f"{day:%A} {day.day} {day:%B}"


@dataclass(frozen=True)
class Suggestion:
    """A reply ready for a person to check, fitted to its network, and why it was chosen.

    `fits` False means it must not be offered as it is: `over_by` says how many characters
    to cut. `template` is the template actually used (a short form ends in `.short`).
    """

    template: str
    text: str
    length: int
    limit: int
    network: Network
    rule: str
    why: str
    fallback: Fallback | None = None
    full_length: int | None = None  # the full form's length, when it was over the limit

    @property
    def fits(self) -> bool:
        """Whether the text is within the network's limit."""
        return self.length <= self.limit

    @property
    def over_by(self) -> int:
        """How many characters must be cut for the text to fit (0 when it fits)."""
        return max(0, self.length - self.limit)


@dataclass(frozen=True)
class Fitted:
    """The result of fitting a template's forms to a network's limit."""

    text: str
    template: str
    length: int
    limit: int
    fallback: Fallback | None
    full_length: int | None

    @property
    def fits(self) -> bool:
        """Whether the text is within the limit."""
        return self.length <= self.limit

    @property
    def over_by(self) -> int:
        """How many characters must be cut for the text to fit (0 when it fits)."""
        return max(0, self.length - self.limit)


def fit(*, name: str, full: str, short: str | None, rule: LengthRule) -> Fitted:
    """The form of a reply to offer on `rule`'s network: the full form if it fits, else the
    short form, else the shorter of the two with the reason it still has to be cut."""
    full_length = measure(full, rule)
    if full_length <= rule.limit:
        return Fitted(full, name, full_length, rule.limit, None, None)
    if short is None:
        return Fitted(full, name, full_length, rule.limit, Fallback.NO_SHORT_FORM, full_length)
    short_length = measure(short, rule)
    short_name = name + SHORT_SUFFIX
    kind = Fallback.SHORT_FORM if short_length <= rule.limit else Fallback.SHORT_FORM_TOO_LONG
    return Fitted(short, short_name, short_length, rule.limit, kind, full_length)


def _within_limit(size: int) -> None:
    """Refuse to build a text longer than any reply (before it takes the memory)."""
    if size > _MAX_OUTPUT:
        raise SecurityError(f"text of {size:,} characters is too long for a reply template")


# Conversion specifiers of printf-style formatting: widths and precisions are read from them.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_format(fmt: str, *, percent: bool) -> None:
    """Refuse a format string whose widths or precisions would build a huge text."""
    numbers: list[str] = []
    if percent:
        for match in _PERCENT_SPEC.finditer(fmt):
            numbers += [group for group in match.groups() if group]
    else:
        try:
            specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(fmt)]
        except ValueError:
            return  # str.format refuses it itself
        for spec in specs:
            if "{" in spec:
                raise SecurityError("a width or precision taken from a value is not allowed")
            numbers += re.findall(r"\d+", spec)
    if "*" in numbers:
        raise SecurityError("a width or precision taken from a value is not allowed")
    for number in numbers:
        _within_limit(int(number))


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _center(value: Any, width: int = 80) -> str:
    _within_limit(int(width))
    return jinja_filters.do_center(value, width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    step = len(width) if isinstance(width, str) else int(width)
    _within_limit(len(str(s)) + step * _lines(str(s)))
    return jinja_filters.do_indent(s, width, first, blank)


def _replaced_size(text: str, old: str, new: str, count: int | None = None) -> int:
    times = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        times = min(times, count)
    return len(text) + times * len(new)


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    _within_limit(_replaced_size(str(s), str(old), str(new), count))
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


def _joined_size(separator: str, items: list[Any]) -> int:
    return len(separator) * max(len(items) - 1, 0) + sum(len(str(item)) for item in items)


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _within_limit(_joined_size(str(d), items))
    return str(jinja_filters.do_join(eval_ctx, items, d, attribute))


@pass_environment
def _wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    _within_limit(len(s) + (len(s) + 1) * len(wrapstring or "\n"))
    return jinja_filters.do_wordwrap(
        environment, s, width, break_long_words, wrapstring, break_on_hyphens
    )


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_format(str(value), percent=True)
    return jinja_filters.do_format(value, *args, **kwargs)


def _guarded_str_method(text: str, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """`text.<name>`, refusing arguments that would make a text longer than any reply."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name in ("center", "ljust", "rjust", "zfill") and args:
            _within_limit(int(args[0]))
        elif name == "expandtabs":
            tab = int(args[0] if args else kwargs.get("tabsize", 8))
            _within_limit(len(text) + tab * text.count("\t"))
        elif name == "replace" and len(args) >= 2:
            count = args[2] if len(args) > 2 else None
            _within_limit(_replaced_size(text, str(args[0]), str(args[1]), count))
        elif name == "join" and args:
            items = list(args[0])
            _within_limit(_joined_size(text, items))
            args = (items, *args[1:])
        return method(*args, **kwargs)

    return guarded


_GROWING_STR_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"}
)


class _ReplySandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing repetitions, powers and padding big enough to exhaust
    memory: `"x" * n`, `n ** m`, `"x"|center(n)`, `"%*s"`, `"{:>n}".format(…)`, joins and
    replacements beyond the longest reply are refused before the text is built."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(
            center=_center,
            indent=_indent,
            replace=_replace,
            join=_join,
            wordwrap=_wordwrap,
            format=_format,
        )

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        """Refuse `"x" * huge`, `n ** huge` and `"%…s" % x` with a huge width; otherwise
        what the operator would do."""
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is too large for a reply template")
            return operator.pow(left, right)
        if operator_name == "%":
            if isinstance(left, str):
                _check_format(left, percent=True)
            return operator.mod(left, right)
        for count, other in ((left, right), (right, left)):
            if (
                isinstance(count, int)
                and isinstance(other, str | list | tuple)
                and count * len(other) > _MAX_REPEAT
            ):
                raise SecurityError("repetition too large for a reply template")
        return operator.mul(left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """An attribute as the sandbox allows it, string padding and joining guarded."""
        value = super().getattr(obj, attribute)
        if isinstance(obj, str) and attribute in _GROWING_STR_METHODS and callable(value):
            return _guarded_str_method(obj, attribute, value)
        return value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` as the sandbox runs it, refusing huge widths and precisions."""
        owner = getattr(value, "__self__", None)
        name = getattr(value, "__name__", "")
        if isinstance(owner, str) and name in ("format", "format_map"):
            _check_format(owner, percent=False)
        return super().wrap_str_format(value)


class _Routes(SimpleNamespace):
    """Contact routes or links as template variables (`contacts.foi_email`)."""


class _ReplyUndefined(StrictUndefined):
    """StrictUndefined, saying where a missing contact route or link is configured."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        if (
            self._undefined_hint is None
            and isinstance(owner, _Routes)
            and isinstance(self._undefined_name, str)
        ):
            group = vars(owner).get("_group", "contacts")
            name = self._undefined_name
            return (
                f"{group}.{name} is not configured for this account: add it under "
                f"accounts.<account>.{group} in desk.yaml, or guard it with "
                f"{{% if {group}.{name} is defined %}}"
            )
        return super()._undefined_message


def _no_empty_values(value: Any) -> Any:
    """Refuse to print a variable that has no value (it would show as 'None')."""
    if value is None:
        raise TemplateRuntimeError("a variable with no value was printed: guard it with {% if … %}")
    return value


def _failing_place(error: BaseException, file: Path) -> tuple[Path, int | None]:
    """The template file and line that were running when `error` was raised.

    Jinja maps its frames to template files and lines, so the innermost frame in a
    template (`file` or a partial it includes) is where the problem is.
    """
    place: tuple[Path, int | None] = (file, None)
    if isinstance(error, TemplateSyntaxError):
        return (Path(error.filename) if error.filename else file, error.lineno)
    traceback = error.__traceback__
    while traceback is not None:
        name = traceback.tb_frame.f_code.co_filename
        if name.endswith(TEMPLATE_SUFFIX):
            place = (Path(name), traceback.tb_lineno)
        traceback = traceback.tb_next
    return place


def _failure_kind(error: BaseException) -> str:
    """A short name for what went wrong, to start the message with."""
    if isinstance(error, SecurityError):
        return "sandbox"
    if isinstance(error, UndefinedError):
        return "undefined"
    if isinstance(error, TemplateSyntaxError):
        return "syntax"
    if isinstance(error, TemplateRuntimeError):
        return "cannot render"
    return f"cannot render: {type(error).__name__}"


class ReplyBook:
    """The reply templates, the choice table and each account's voice, ready to suggest."""

    def __init__(
        self,
        *,
        directory: Path,
        table: ChoiceTable,
        voices: Mapping[str, AccountVoice],
        lengths: Mapping[Network, LengthRule],
        zone: ZoneInfo,
    ) -> None:
        self.directory = Path(directory)
        self.table = table
        self.voices = dict(voices)
        self.lengths = dict(lengths)
        self.zone = zone
        self._environments: dict[str, _ReplySandbox] = {}

    def _environment(self, account: str) -> _ReplySandbox:
        if account not in self._environments:
            loader = FileSystemLoader([str(self.directory / account), str(self.directory / COMMON)])
            self._environments[account] = _ReplySandbox(
                loader=loader,
                undefined=_ReplyUndefined,
                autoescape=False,
                finalize=_no_empty_values,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
            )
        return self._environments[account]

    def file(self, account: str, template: str) -> Path:
        """The file `template` is read from for `account` (the account's own, else common)."""
        own = self.directory / account / (template + TEMPLATE_SUFFIX)
        return own if own.is_file() else self.directory / COMMON / (template + TEMPLATE_SUFFIX)

    def names(self, account: str) -> frozenset[str]:
        """Every template `account` can use, short forms and partials aside."""
        found: set[str] = set()
        for folder in (self.directory / COMMON, self.directory / account):
            if folder.is_dir():
                found.update(
                    path.name.removesuffix(TEMPLATE_SUFFIX)
                    for path in folder.glob("*" + TEMPLATE_SUFFIX)
                    if not path.name.startswith("_")
                    and not path.name.endswith(SHORT_SUFFIX + TEMPLATE_SUFFIX)
                )
        return frozenset(found)

    def files(self) -> list[Path]:
        """Every template file, partials and short forms included, in every folder."""
        return sorted(self.directory.glob("*/*" + TEMPLATE_SUFFIX))

    def folders(self) -> list[str]:
        """The folders of templates: `common` and one per account that has its own."""
        return sorted(path.name for path in self.directory.iterdir() if path.is_dir())

    def syntax_problem(self, file: Path) -> ReplyTemplateError | None:
        """What is wrong with the syntax of template `file`, or None."""
        try:
            source = utf8_text(file.read_bytes())
        except NotUtf8Error as exc:
            return ReplyTemplateError(file=file, line=exc.line, message=str(exc))
        try:
            self._environment(COMMON).parse(source, name=file.name, filename=str(file))
        except TemplateSyntaxError as exc:
            return ReplyTemplateError(file=file, line=exc.lineno, message=f"syntax: {exc.message}")
        return None

    def has_short_form(self, account: str, template: str) -> bool:
        """Whether `template` has a short form for `account`."""
        return self.file(account, template + SHORT_SUFFIX).is_file()

    def choose(self, situation: Situation) -> tuple[Candidate, ...]:
        """The templates that suit `situation`, best first, each with why it was chosen."""
        return choose(situation, table=self.table, available=self.names(situation.account))

    def variables(self, context: ReplyContext) -> dict[str, Any]:
        """The variables a reply template sees for `context`."""
        voice = self.voices[context.account]
        sign_off = voice.sign_off
        if voice.sign_off_style is SignOffStyle.OFFICER_FIRST_NAME and context.officer_first_name:
            sign_off = context.officer_first_name
        return {
            "account_name": voice.name,
            "sign_off": sign_off,
            "author_first_name": context.author_first_name,
            "officer_first_name": context.officer_first_name,
            "reference": context.reference,
            "due_date": long_date(context.due, self.zone) if context.due else None,
            "back_on": long_date(context.back_on, self.zone) if context.back_on else None,
            "network": context.network.value,
            "contacts": _Routes(_group="contacts", **voice.contacts),
            "links": _Routes(_group="links", **voice.links),
        }

    def render(self, template: str, context: ReplyContext) -> str:
        """The plain text of `template` for `context`; raise ReplyTemplateError if it fails."""
        file = self.file(context.account, template)
        environment = self._environment(context.account)
        parts: list[str] = []
        size = 0
        try:
            # Streamed, and stopped as soon as it is longer than any reply: a loop cannot
            # pile up text until memory runs out.
            for part in environment.get_template(template + TEMPLATE_SUFFIX).generate(
                self.variables(context)
            ):
                size += len(part)
                if size > _MAX_OUTPUT:
                    break
                parts.append(part)
        except _RENDER_FAILURES as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            where, line = _failing_place(exc, file)
            raise ReplyTemplateError(
                file=where, line=line, message=f"{_failure_kind(exc)}: {message}"
            ) from exc
        if size > _MAX_OUTPUT:
            raise ReplyTemplateError(file=file, message="renders to more than 100,000 characters")
        return _tidy("".join(parts))

    def length_rule(self, network: Network) -> LengthRule:
        """How replies on `network` are counted and limited."""
        return self.lengths[network]

    def suggest_template(
        self, template: str, context: ReplyContext, *, rule: str = "", why: str = ""
    ) -> Suggestion:
        """`template` rendered for `context` and fitted to the network (short form if need be)."""
        full = self.render(template, context)
        short = (
            self.render(template + SHORT_SUFFIX, context)
            if self.has_short_form(context.account, template)
            else None
        )
        fitted = fit(name=template, full=full, short=short, rule=self.length_rule(context.network))
        return Suggestion(
            template=fitted.template,
            text=fitted.text,
            length=fitted.length,
            limit=fitted.limit,
            network=context.network,
            rule=rule,
            why=why,
            fallback=fitted.fallback,
            full_length=fitted.full_length,
        )

    def suggest(self, situation: Situation, context: ReplyContext) -> Suggestion:
        """The best reply for `situation`, rendered with `context` and fitted to the network."""
        if (situation.account, situation.network) != (context.account, context.network):
            raise ValueError("situation and context must be for the same account and network")
        candidates = self.choose(situation)
        if not candidates:
            raise NoReplyTemplate(
                f"no reply template for account {situation.account!r}, not even the fallback"
            )
        best = candidates[0]
        return self.suggest_template(best.template, context, rule=best.rule, why=best.why)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Trailing spaces and runs of blank lines removed; at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))
