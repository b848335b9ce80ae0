"""`commsbot import`: a tool's export stored as history, deduplicated, nothing sent to Slack."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.sources.commands import import_command
from bot.storage import Store
from tests.conftest import CONFIG_DIR, REPO

COLUMNS = [
    "message_id",
    "channel.type",
    "channel.profile",
    "sender.handle",
    "sender.name",
    "sender.followers",
    "body",
    "permalink",
    "created_time",
    "message_type",
]
TEXTS = [
    "Bins on Mill Road not collected again",
    "When does the library reopen?",
    "How much did the council spend on taxis last year?",
    "Huge pothole on the A134 near Sudbury",
]
ROWS = 10_000
BAD_EVERY = 1000  # rows 7, 1007, 2007…: a date the mapping cannot read


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory in memory where the machine has one: every stored file is fsync'd,
    and disk speed is the benchmarks' business, not this test's."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="commsbot-import-", dir=shm))
        yield directory / "data"
        shutil.rmtree(directory, ignore_errors=True)
    else:
        yield tmp_path / "data"


def _export(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(ROWS):
            when = f"2026-10-{1 + i % 28:02d}T{(i // 28) % 24:02d}:{i % 60:02d}:00+00:00"
            writer.writerow(
                [
                    100_000 + i,
                    "TWITTER" if i % 2 else "FACEBOOK",
                    "Anyshire County Council",
                    f"user{i}",
                    f"User {i}",
                    str(i),
                    f"{TEXTS[i % 4]} ({i})",
                    "",
                    "yesterday" if i % BAD_EVERY == 7 else when,
                    "POST",
                ]
            )
    return path


def _import(path: Path, data_dir: Path, *, progress: bool) -> tuple[int, str, str]:
    config = load_config(CONFIG_DIR)
    out, err = io.StringIO(), io.StringIO()
    status = import_command(
        config,
        config.sources.sources["smm-inbox"],
        path=path,
        fmt=None,
        data_dir=data_dir,
        out=out,
        err=err,
        progress=progress,
    )
    return status, out.getvalue(), err.getvalue()


def test_a_ten_thousand_row_export_is_imported_once_with_progress(
    tmp_path: Path, data_dir: Path
) -> None:
    export = _export(tmp_path / "inbox.csv")
    status, out, err = _import(export, data_dir, progress=True)
    invalid = ROWS // BAD_EVERY
    assert status == 1  # some rows were invalid
    assert f"{ROWS} item(s) read: {ROWS - invalid} imported, 0 already stored" in out
    # Each invalid row by its line in the file (the header is line 1), with the field.
    assert "invalid: line 9, line 1009, line 2009" in out
    assert "line 9: posted_at: must be an ISO 8601 date-time" in err
    # The progress bar was drawn on the terminal as batches were stored.
    assert "import" in err and "new, " in err and "already stored" in err
    with Store(data_dir) as store:
        assert store.outbox_items() == []  # history: nothing goes to Slack
        record = store.get_post_record("facebook:100000")
        assert record is not None and record["account"] == "council" and record["imported"]
        assert record["category"] == "complaint"
        october = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
        assert store.count_posts_between(*october) == ROWS - invalid

    status, out, _ = _import(export, data_dir, progress=False)
    assert f"0 imported, {ROWS - invalid} already stored (duplicates), {invalid} invalid" in out


def test_an_import_is_refused_while_the_bot_holds_the_data_directory(
    tmp_path: Path, data_dir: Path
) -> None:
    export = tmp_path / "inbox.csv"
    shutil.copy(REPO / "examples" / "sources" / "smm-inbox-export.csv", export)
    with Store(data_dir):  # as commsbot serve holds it
        status, out, err = _import(export, data_dir, progress=False)
    assert status == 2
    assert "a running commsbot holds" in err and "Stop the bot" in err
    assert out == ""
    with Store(data_dir) as store:
        assert store.get_post_record("facebook:98765432") is None


def test_a_saved_webhook_payload_is_imported_through_the_items_path(data_dir: Path, capsys) -> None:
    example = REPO / "examples" / "sources" / "monitoring.json"
    argv = ["--config-dir", str(CONFIG_DIR), "import", str(example), "--source", "monitoring"]
    assert main([*argv, "--data-dir", str(data_dir)]) == 0
    assert "2 item(s) read: 2 imported" in capsys.readouterr().out
    with Store(data_dir) as store:
        assert store.get_post_record("x:1859123456789012345")["category"] == "complaint"


def test_an_unknown_source_is_named_with_the_ones_there_are(tmp_path: Path, capsys) -> None:
    argv = ["--config-dir", str(CONFIG_DIR), "import", "x.csv", "--source", "nope"]
    assert main([*argv, "--data-dir", str(tmp_path)]) == 2
    assert "no intake source called 'nope' (sources: monitoring, smm-inbox)" in (
        capsys.readouterr().err
    )
