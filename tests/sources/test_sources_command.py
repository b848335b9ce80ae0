"""`commsbot sources test`: what a sample payload becomes, field by field, storing nothing."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli import main
from tests.conftest import CONFIG_DIR, REPO

EXAMPLES = REPO / "examples" / "sources"


def test_each_field_is_shown_with_what_it_became(capsys) -> None:
    argv = ["--config-dir", str(CONFIG_DIR), "sources", "test", "monitoring"]
    assert main([*argv, str(EXAMPLES / "monitoring.json")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "monitoring: line 1, item 1"
    network = next(line for line in lines if line.strip().startswith("network"))
    assert "platform" in network and '"twitter" → "x"' in network
    posted = next(line for line in lines if line.strip().startswith("posted_at"))
    assert '1795166040 → "2026-11-20T09:14:00+00:00"' in posted
    assert "✓ post x:1859123456789012345: complaint, to #customer-complaints" in out
    assert out.rstrip().endswith("2 would be taken, 0 refused; nothing was stored")


def test_a_bad_item_shows_the_mapping_and_validation_errors(tmp_path: Path, capsys) -> None:
    payload = json.loads((EXAMPLES / "monitoring.json").read_text(encoding="utf-8"))
    payload["mentions"][1] |= {"published_at": "soon", "platform": "myspace"}
    sample = tmp_path / "alert.json"
    sample.write_text(json.dumps(payload), encoding="utf-8")
    argv = ["--config-dir", str(CONFIG_DIR), "sources", "test", "monitoring", str(sample)]
    data_dir = tmp_path / "data"
    assert main([*argv, "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert "✗ refused: posted_at: 'soon' is not a count of seconds since 1970" in out
    assert '"myspace" → "other"' in out  # the map's `otherwise`
    assert "1 would be taken, 1 refused; nothing was stored" in out
    assert not data_dir.exists()


def test_a_csv_export_row_is_read_with_dotted_columns(capsys) -> None:
    argv = ["--config-dir", str(CONFIG_DIR), "sources", "test", "smm-inbox"]
    assert main([*argv, str(EXAMPLES / "smm-inbox-export.csv")]) == 0
    out = capsys.readouterr().out
    assert '"Anyshire Fire and Rescue Service" → "fire"' in out
    assert '"312" → 312' in out
    assert "3 would be taken" in out
