"""`commsbot sources test` and `commsbot import`: what a tool's data becomes, and loading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from bot.config import DeskConfig
from bot.config.sources_model import SourceModel
from bot.core.opinion import SecondOpinion
from bot.core.routing import triage
from bot.intake import BodyError
from bot.sources.files import ItemReader, file_format
from bot.sources.importer import run_import
from bot.sources.mapping import Mapped, checked_item
from bot.storage import DataDirInUseError, StorageError, Store

_FIELD_WIDTH = 17
_ORIGIN_WIDTH = 30
_SHOWN_CHARS = 70


def _shown(value: Any) -> str:
    """A value as it appears in the tool's JSON, cut short and on one line."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def find_source(config: DeskConfig, name: str, err: IO[str]) -> SourceModel | None:
    """The source called `name`, or None after saying which there are."""
    source = config.sources.sources.get(name)
    if source is None:
        known = ", ".join(config.sources.sources) or "none: add them to sources.yaml"
        print(f"no intake source called {name!r} (sources: {known})", file=err)
    return source


def _trace_lines(mapped: Mapped) -> list[str]:
    lines = []
    for step in mapped.trace:
        if step.value is None:
            became = "(left out)" if step.error is None else f"✗ {step.error}"
        elif step.found is None or step.found == step.value:
            became = _shown(step.value)
        else:
            became = f"{_shown(step.found)} → {_shown(step.value)}"
        lines.append(f"  {step.field:<{_FIELD_WIDTH}} {step.origin:<{_ORIGIN_WIDTH}} {became}")
    return lines


def sources_test(
    config: DeskConfig,
    tool: SourceModel,
    *,
    name: str,
    source: IO[bytes],
    fmt: str,
    out: IO[str],
    second_opinion: SecondOpinion | None = None,
) -> int:
    """Show what each item of a sample becomes, field by field; store nothing.

    Exit status 1 if any item would be refused.
    """
    accounts = config.desk.networks_by_account()
    shown = invalid = 0
    try:
        for item in ItemReader(source, fmt=fmt, tool=tool):
            shown += 1
            print(f"{name}: {item.where}", file=out)
            if item.error is not None:
                invalid += 1
                print(f"  ✗ {item.error}", file=out)
                continue
            checked, mapped = checked_item(
                item.data,
                tool,
                index=item.index,
                line=item.line,
                accounts=accounts,
                max_text_chars=config.desk.intake.max_text_chars,
            )
            for line in _trace_lines(mapped):
                print(line, file=out)
            if checked.post is None:
                invalid += 1
                for error in checked.errors:
                    where = f"{error.field}: " if error.field else ""
                    print(f"  ✗ refused: {where}{error.message}", file=out)
                continue
            result = triage(
                checked.post,
                classifier=config.classifier,
                routing=config.routing,
                second_opinion=second_opinion,
                policy=config.second_opinion,
            )
            category = result.classification.category.value
            print(
                f"  ✓ post {checked.post.key}: {category}, to {result.channel} "
                f"(rule {result.classification.rule})",
                file=out,
            )
    except BodyError as exc:
        print(f"error: {exc}", file=out)
        return 1
    print(
        f"{shown} item(s): {shown - invalid} would be taken, {invalid} refused; nothing was stored",
        file=out,
    )
    return 1 if invalid or not shown else 0


def import_command(
    config: DeskConfig,
    tool: SourceModel,
    *,
    path: Path,
    fmt: str | None,
    data_dir: Path,
    out: IO[str],
    err: IO[str],
    progress: bool,
    second_opinion: SecondOpinion | None = None,
) -> int:
    """Import a file into the data directory as history; 1 if items were invalid, 2 if it
    could not run."""
    try:
        source = path.open("rb")
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=err)
        return 2
    with source:
        try:
            store = Store(data_dir)
        except DataDirInUseError:
            print(
                f"commsbot import cannot run now: a running commsbot holds {data_dir}. Stop the "
                "bot (commsbot serve), import, then start it again: an import writes history "
                "straight into the data directory.",
                file=err,
            )
            return 2
        except (StorageError, OSError) as exc:
            print(f"commsbot import cannot open {data_dir}: {exc}", file=err)
            return 2
        try:
            summary = run_import(
                source,
                fmt=file_format(path.name, fmt),
                tool=tool,
                config=config,
                store=store,
                err=err,
                progress=progress,
                total_bytes=path.stat().st_size,
                second_opinion=second_opinion,
            )
        except BodyError as exc:
            print(f"error: {exc} (posts stored before this point are kept)", file=err)
            return 1
        except (StorageError, OSError) as exc:
            print(
                f"cannot write to {data_dir}: {exc} (posts stored before this point are kept; "
                "run the import again to finish it)",
                file=err,
            )
            return 2
        finally:
            store.close()
    print(
        f"{path}: {summary.read} item(s) read: {summary.imported} imported, "
        f"{summary.duplicates} already stored (duplicates), {summary.invalid} invalid",
        file=out,
    )
    if summary.invalid:
        more = summary.invalid - len(summary.invalid_at)
        listed = ", ".join(summary.invalid_at) + (f" and {more} more" if more else "")
        print(f"invalid: {listed}", file=out)
    return 1 if summary.invalid else 0
