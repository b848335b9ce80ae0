"""The shape of config/sources.yaml: the monitoring tools that post to /intake/<source>.

Each source names how a tool proves who it is (its secret comes from an environment
variable, never from the file) and how the tool's own JSON becomes a post: a JMESPath
expression per post field, or a fixed value, with defaults, value maps and timestamp formats.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from bot.core.posts import NETWORK_ALIASES, Kind, Network, canonical_network

_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,99}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
# Headers commsbot or the HTTP layer already give a meaning to.
_RESERVED_HEADERS = frozenset({"authorization", "x-commsbot-signature", "content-length", "host"})

# The post fields a source can fill, in the order `sources test` shows them.
POST_FIELDS = (
    "id",
    "network",
    "account",
    "author.handle",
    "author.name",
    "author.followers",
    "text",
    "url",
    "posted_at",
    "kind",
)
REQUIRED_FIELDS = ("id", "network", "account", "author.handle", "text", "posted_at")
TimeFormat = Literal["iso8601", "epoch_seconds", "epoch_milliseconds"]
Scalar = str | int | float | bool


def compile_path(expression: str) -> ParsedResult:
    """A JMESPath expression compiled; ValueError saying what is wrong with it."""
    if not expression.strip():
        raise ValueError("the path is empty")
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        message = str(exc).splitlines()[0]
        raise ValueError(
            f"{expression!r} is not a JMESPath expression ({message}); names with spaces, "
            "dashes or leading digits need double quotes inside, e.g. '\"Message ID\"'"
        ) from None


class AuthModel(BaseModel):
    """How a tool proves a request is its own."""

    model_config = ConfigDict(extra="forbid")

    # hmac: X-Commsbot-Signature as for /intake, with this source's secret; bearer:
    # `Authorization: Bearer <secret>`; header: the secret as the value of `header`.
    method: Literal["hmac", "bearer", "header"]
    # The environment variable holding the secret (never the secret itself).
    secret_env: str
    header: str | None = None

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                f"{value!r} is not an environment variable name (capitals, digits and _, "
                "e.g. COMMSBOT_SOURCE_MONITORING_TOKEN); put the secret itself in the "
                "environment, never in this file"
            )
        return value

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _HEADER_NAME.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name (e.g. X-Alert-Token)")
        if value.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{value} is taken; use a header of the tool's own, or method bearer")
        return value

    @model_validator(mode="after")
    def _header_when_needed(self) -> AuthModel:
        if self.method == "header" and self.header is None:
            raise ValueError("method header needs `header`: the name of the header to check")
        if self.method != "header" and self.header is not None:
            raise ValueError(f"`header` is only for method header, not {self.method}")
        return self


def _path_shorthand(value: object) -> object:
    """A field written as a plain string is a path: `text: content.body`."""
    return {"path": value} if isinstance(value, str) else value


class FieldModel(BaseModel):
    """Where one post field comes from: a path into the tool's JSON, or a fixed value."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    value: Scalar | None = None
    # Used when the path finds nothing (absent, null or empty text).
    default: Scalar | None = None
    # The tool's values and what they mean here, e.g. {twitter: x, fb: facebook}.
    map: dict[str, Scalar] = Field(default_factory=dict)
    # What a value missing from `map` becomes; without it, it is kept as it is.
    otherwise: Scalar | None = None
    # How posted_at is written: ISO 8601 with a UTC offset, or a count since 1970.
    time: TimeFormat | None = None
    _compiled: ParsedResult | None = PrivateAttr(default=None)

    @field_validator("map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        """YAML reads `1: post` with a number key; the tool's values are compared as text."""
        if isinstance(value, dict):
            return {
                str(key).lower() if isinstance(key, bool) else str(key): target
                for key, target in value.items()
            }
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldModel:
        if (self.path is None) == (self.value is None):
            raise ValueError("give either `path` (where in the tool's JSON) or `value` (fixed)")
        if self.value is not None and (self.default is not None or self.map or self.otherwise):
            raise ValueError("a fixed `value` takes no default, map or otherwise")
        if self.path is not None:
            self._compiled = compile_path(self.path)
        return self

    @property
    def compiled(self) -> ParsedResult | None:
        """The path, compiled; None for a fixed value."""
        return self._compiled

    def search(self, item: Any) -> Any:
        """What the path finds in `item` (None for nothing, or for a fixed value)."""
        return None if self._compiled is None else self._compiled.search(item)

    def values_given(self) -> list[tuple[str, Scalar]]:
        """(where, value) of every value this field can produce without the tool's JSON."""
        found: list[tuple[str, Scalar]] = []
        if self.value is not None:
            found.append(("value", self.value))
        if self.default is not None:
            found.append(("default", self.default))
        found += [(f"map.{key}", target) for key, target in self.map.items()]
        if self.otherwise is not None:
            found.append(("otherwise", self.otherwise))
        return found


FieldSpec = Annotated[FieldModel, BeforeValidator(_path_shorthand)]


class SourceModel(BaseModel):
    """One monitoring tool: how it authenticates, where its items are, how they map."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    auth: AuthModel
    # Where the items are in one payload (a JMESPath to a list); without it, the payload is
    # one item, a JSON array of items, or one item per line.
    items: str | None = None
    fields: dict[str, FieldSpec]
    _items: ParsedResult | None = PrivateAttr(default=None)

    @field_validator("items")
    @classmethod
    def _items_path(cls, value: str | None) -> str | None:
        if value is not None:
            compile_path(value)
        return value

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, FieldModel]) -> dict[str, FieldModel]:
        problems = []
        unknown = [name for name in value if name not in POST_FIELDS]
        if unknown:
            problems.append(
                f"{', '.join(map(repr, unknown))} not a post field "
                f"(fields: {', '.join(POST_FIELDS)})"
            )
        missing = [name for name in REQUIRED_FIELDS if name not in value]
        if missing:
            problems.append(
                f"no mapping for {', '.join(missing)}: every post needs them (give a path, "
                "or a fixed value such as `account: {value: council}`)"
            )
        for name, spec in value.items():
            if spec.time is not None and name != "posted_at":
                problems.append(f"{name}: `time` is only for posted_at")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _compile_items(self) -> SourceModel:
        self._items = compile_path(self.items) if self.items is not None else None
        return self

    @property
    def items_path(self) -> ParsedResult | None:
        """The compiled path to the list of items, if the source has one."""
        return self._items

    def time_format(self) -> TimeFormat:
        """How this source writes posted_at."""
        spec = self.fields.get("posted_at")
        return (spec.time if spec is not None else None) or "iso8601"


class SourcesFile(BaseModel):
    """The whole of `sources.yaml`."""

    model_config = ConfigDict(extra="forbid")

    sources: dict[str, SourceModel] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _names(cls, value: dict[str, SourceModel]) -> dict[str, SourceModel]:
        bad = [name for name in value if not _SOURCE_NAME.match(name)]
        if bad:
            raise ValueError(
                f"source names are short lower-case words with dashes (they appear in the "
                f"address /intake/<name>), not {', '.join(map(repr, bad))}"
            )
        return value

    def reference_problems(self, accounts: Collection[str]) -> list[tuple[str, str]]:
        """(key, message) for each fixed or mapped value that is not a known account,
        network or kind."""
        networks = {n.value for n in Network} | set(NETWORK_ALIASES)
        known: dict[str, tuple[set[str], str]] = {
            "account": (set(accounts), "an account in desk.yaml"),
            "network": (networks, "a network"),
            "kind": ({k.value for k in Kind}, "a kind of post"),
        }
        problems = []
        for name, source in self.sources.items():
            for field, (allowed, what) in known.items():
                spec = source.fields.get(field)
                if spec is None:
                    continue
                for where, value in spec.values_given():
                    text = canonical_network(str(value)) if field == "network" else str(value)
                    if text not in allowed:
                        problems.append(
                            (
                                f"sources.{name}.fields.{field}.{where}",
                                f"{value!r} is not {what} (expected one of "
                                f"{', '.join(sorted(allowed))})",
                            )
                        )
        return problems
