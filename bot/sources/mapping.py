"""A tool's own JSON turned into posts: each source's mapping applied, field by field.

The mapping only moves and converts values; the post it builds is then checked by the same
validation as POST /intake (bot/intake.py), so a mapped post is held to the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config.sources_model import POST_FIELDS, REQUIRED_FIELDS, FieldModel, SourceModel
from bot.intake import BodyError, FieldError, Item, TooManyItems, items_from_text, validate_item

# Fields read as text: a tool that numbers its posts sends numbers, kept here as text.
_TEXT_FIELDS = frozenset(POST_FIELDS) - {"author.followers", "posted_at"}
# Beyond the year 9999 datetime cannot go; a count that large is a mistake, not a date.
_MAX_EPOCH_SECONDS = 253_402_300_799


@dataclass(frozen=True)
class FieldTrace:
    """How one post field was filled: from where, what was found, what it became."""

    field: str
    origin: str  # the path, or "fixed value", or "default (path found nothing)"
    found: Any  # what the path found (None for nothing or a fixed value)
    value: Any  # what the post got (None: left out)
    error: str | None = None


@dataclass(frozen=True)
class Mapped:
    """One item of a tool's payload mapped to the intake format, with how each field went."""

    data: dict[str, Any]
    trace: tuple[FieldTrace, ...]
    errors: tuple[FieldError, ...]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _mapped_value(spec: FieldModel, found: Any) -> Any:
    """`found` through the field's value map: exact match first, then any letter case."""
    if not spec.map:
        return found
    key = str(found).lower() if isinstance(found, bool) else str(found)
    if key in spec.map:
        return spec.map[key]
    folded = key.casefold()
    for candidate, target in spec.map.items():
        if candidate.casefold() == folded:
            return target
    return spec.otherwise if spec.otherwise is not None else found


def _epoch(value: Any, *, per_second: int) -> str:
    """An epoch count (number or digits) as ISO 8601 text in UTC; ValueError if it is not."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str):
        value = float(value.strip())  # ValueError for anything but a number
    if not isinstance(value, int | float):
        raise ValueError
    seconds = value / per_second
    if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
        raise ValueError
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _converted(field: str, value: Any, source: SourceModel) -> Any:
    """A value as the intake format wants it for `field`; ValueError with the reason."""
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "a list"
        raise ValueError(f"found {kind}, not a single value")
    if field == "posted_at":
        form = source.time_format()
        if form == "iso8601":
            if not isinstance(value, str):
                raise ValueError(
                    f"{value!r} is not ISO 8601 text; if it counts seconds or milliseconds "
                    "since 1970, say so with `time: epoch_seconds` or `time: epoch_milliseconds`"
                )
            return value
        per_second = 1000 if form == "epoch_milliseconds" else 1
        try:
            return _epoch(value, per_second=per_second)
        except (ValueError, OverflowError, OSError):
            unit = "milliseconds" if per_second == 1000 else "seconds"
            raise ValueError(f"{value!r} is not a count of {unit} since 1970 ({form})") from None
    if field == "author.followers" and isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if field in _TEXT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _put(data: dict[str, Any], field: str, value: Any) -> None:
    head, _, tail = field.partition(".")
    if tail:
        data.setdefault(head, {})[tail] = value
    else:
        data[head] = value


def map_item(item: Any, source: SourceModel) -> Mapped:
    """One item of a tool's payload in the intake format, with a trace of every field."""
    if not isinstance(item, dict):
        error = FieldError("", "each item must be a JSON object")
        return Mapped(data={}, trace=(), errors=(error,))
    data: dict[str, Any] = {}
    trace: list[FieldTrace] = []
    errors: list[FieldError] = []
    for field in POST_FIELDS:
        spec = source.fields.get(field)
        if spec is None:
            continue
        if spec.path is None:
            origin, found, raw = "fixed value", None, spec.value
        else:
            found = spec.search(item)
            origin, raw = spec.path, found
            if _empty(found):
                raw = spec.default
                if raw is not None:
                    origin = f"default ({spec.path} found nothing)"
            else:
                raw = _mapped_value(spec, found)
        if raw is None:
            missing: str | None = None
            if field in REQUIRED_FIELDS:
                missing = f"nothing at {spec.path} in this item, and no default"
                errors.append(FieldError(field, missing))
            trace.append(FieldTrace(field, origin, found, None, missing))
            continue
        try:
            value = _converted(field, raw, source)
        except ValueError as exc:
            errors.append(FieldError(field, f"{exc} (from {origin})"))
            trace.append(FieldTrace(field, origin, found, None, str(exc)))
            continue
        _put(data, field, value)
        trace.append(FieldTrace(field, origin, found, value))
    return Mapped(data=data, trace=tuple(trace), errors=tuple(errors))


def checked_item(
    item: Any,
    source: SourceModel,
    *,
    index: int,
    line: int | None,
    accounts: Mapping[str, Collection[str]],
    max_text_chars: int,
) -> tuple[Item, Mapped]:
    """An item mapped and then validated as POST /intake validates a post.

    A field the mapping could not fill is reported once, by the mapping, naming the path.
    """
    mapped = map_item(item, source)
    if mapped.errors and not mapped.data:
        return Item(index, line, errors=mapped.errors), mapped
    checked = validate_item(
        mapped.data, index=index, line=line, accounts=accounts, max_text_chars=max_text_chars
    )
    mapping_fields = {error.field for error in mapped.errors}
    validation = [
        error
        for error in checked.errors
        if not any(
            error.field == field or field.startswith(error.field + ".") for field in mapping_fields
        )
    ]
    errors = (*mapped.errors, *validation)
    if not errors:
        return checked, mapped
    return Item(index, line, errors=errors, raw_id=checked.raw_id), mapped


def payload_items(
    text: str, source: SourceModel, *, max_items: int
) -> Iterator[tuple[int | None, Any, str | None]]:
    """(line, item, parse error) for each item of one payload the tool sent.

    With an `items` path the payload is one JSON document and the items are the list the path
    finds; without, it is one item, a JSON array of items, or NDJSON (one item per line).
    """
    path = source.items_path
    if path is None:
        yield from items_from_text(text, max_items=max_items)
        return
    found = items_at(text, source)
    if len(found) > max_items:
        raise TooManyItems(len(found), max_items)
    for item in found:
        yield None, item, None


def items_at(text: str, source: SourceModel) -> list[Any]:
    """The list a source's `items` path finds in one JSON payload; BodyError if none."""
    stripped = text.strip()
    if not stripped:
        raise BodyError("body is empty: send the payload as the tool makes it")
    try:
        payload = json.loads(stripped)
    except RecursionError:
        raise BodyError("not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:  # a number of more digits than Python reads
        raise BodyError(f"not valid JSON: {exc}") from None
    return items_in(payload, source)


def items_in(payload: Any, source: SourceModel) -> list[Any]:
    """The list a source's `items` path finds in a parsed payload; BodyError if none."""
    path = source.items_path
    assert path is not None and source.items is not None
    found = path.search(payload)
    if found is None:
        raise BodyError(f"the payload has nothing at {source.items} (the source's items path)")
    if not isinstance(found, list):
        raise BodyError(f"{source.items} is not a list in this payload (the source's items path)")
    return found


def source_items(
    raw: bytes,
    source: SourceModel,
    *,
    accounts: Mapping[str, Collection[str]],
    max_text_chars: int,
    max_items: int,
) -> list[Item]:
    """Every item of a tool's request body, each either a valid post or its errors.

    Raises TooManyItems beyond `max_items`, BodyError if the body cannot be read.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8 text (byte {exc.start})") from None
    items = []
    for index, (line, data, parse_error) in enumerate(
        payload_items(text, source, max_items=max_items)
    ):
        if parse_error is not None:
            items.append(Item(index, line, errors=(FieldError("", parse_error),)))
            continue
        item, _ = checked_item(
            data,
            source,
            index=index,
            line=line,
            accounts=accounts,
            max_text_chars=max_text_chars,
        )
        items.append(item)
    return items
