"""A source's mapping: paths, fixed values, defaults, value maps and timestamps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_config
from bot.config.sources_model import SourceModel
from bot.intake import BodyError
from bot.settings import SettingsError
from bot.sources.credentials import source_secrets, token_valid
from bot.sources.mapping import checked_item, map_item, source_items

ACCOUNTS = {"council": {"x", "facebook"}, "fire": {"x", "facebook", "instagram"}}
BASE_FIELDS: dict[str, Any] = {
    "id": "ref",
    "network": {"value": "x"},
    "account": {"value": "council"},
    "author.handle": "who",
    "text": "say",
    "posted_at": "when",
}
ITEM = {"ref": "1", "who": "@a", "say": "hello", "when": "2026-11-20T09:14:00+00:00"}


def _source(**fields: Any) -> SourceModel:
    return SourceModel.model_validate(
        {"auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"}, "fields": BASE_FIELDS | fields}
    )


@pytest.mark.parametrize(
    ("fields", "item", "field", "expected"),
    [
        ({}, {"ref": 1859123456789012345}, "id", "1859123456789012345"),
        (
            {"posted_at": {"path": "when", "time": "epoch_seconds"}},
            {"when": 1795166040},
            "posted_at",
            "2026-11-20T09:14:00+00:00",
        ),
        (
            {"posted_at": {"path": "when", "time": "epoch_seconds"}},
            {"when": "1795166040"},
            "posted_at",
            "2026-11-20T09:14:00+00:00",
        ),
        (
            {"posted_at": {"path": "when", "time": "epoch_milliseconds"}},
            {"when": 1795166040500},
            "posted_at",
            "2026-11-20T09:14:00.500000+00:00",
        ),
        (
            {"network": {"path": "p", "map": {"twitter": "x", "fb": "facebook"}}},
            {"p": "FB"},
            "network",
            "facebook",
        ),
        (
            {"network": {"path": "p", "map": {"twitter": "x"}, "otherwise": "other"}},
            {"p": "tiktok"},
            "network",
            "other",
        ),
        ({"network": {"path": "p", "map": {"twitter": "x"}}}, {"p": "tiktok"}, "network", "tiktok"),
        ({"kind": {"path": "k", "default": "post"}}, {"k": ""}, "kind", "post"),
        ({"kind": {"path": "k", "default": "post"}}, {}, "kind", "post"),
        ({"author.followers": "f"}, {"f": "312"}, "author", {"handle": "@a", "followers": 312}),
        ({"text": "a.b[0].c"}, {"a": {"b": [{"c": "deep"}]}}, "text", "deep"),
        ({"text": '"Message Body"'}, {"Message Body": "spaced"}, "text", "spaced"),
    ],
)
def test_a_field_becomes_what_its_mapping_says(
    fields: dict[str, Any], item: dict[str, Any], field: str, expected: Any
) -> None:
    mapped = map_item(ITEM | item, _source(**fields))
    assert mapped.errors == ()
    assert mapped.data[field] == expected


@pytest.mark.parametrize(
    ("fields", "item", "field", "message"),
    [
        ({}, {"say": None}, "text", "nothing at say"),
        ({}, {"say": {"nested": "x"}}, "text", "found an object, not a single value"),
        ({}, {"when": 1795166040}, "posted_at", "time: epoch_seconds"),
        (
            {"posted_at": {"path": "when", "time": "epoch_seconds"}},
            {"when": "soon"},
            "posted_at",
            "'soon' is not a count of seconds",
        ),
        (
            {"posted_at": {"path": "when", "time": "epoch_milliseconds"}},
            {"when": 10**30},
            "posted_at",
            "milliseconds",
        ),
    ],
)
def test_a_mapping_error_names_the_field(
    fields: dict[str, Any], item: dict[str, Any], field: str, message: str
) -> None:
    result, _ = checked_item(
        ITEM | item, _source(**fields), index=0, line=None, accounts=ACCOUNTS, max_text_chars=1000
    )
    assert result.post is None
    errors = {error.field: error.message for error in result.errors}
    assert list(errors) == [field]  # reported once, by the mapping, not again by validation
    assert message in errors[field]


def test_a_mapped_post_meets_the_intake_rules() -> None:
    result, mapped = checked_item(
        ITEM | {"ref": "2"},
        _source(account={"value": "fire"}, network={"value": "linkedin"}),
        index=0,
        line=None,
        accounts=ACCOUNTS,
        max_text_chars=1000,
    )
    assert result.post is None
    assert [e.field for e in result.errors] == ["network"]
    assert [t.field for t in mapped.trace][:3] == ["id", "network", "account"]


@pytest.mark.parametrize(
    ("header", "method", "ok"),
    [
        ("Bearer s3cret-0123456789abcdef", "bearer", True),
        ("bearer s3cret-0123456789abcdef", "bearer", True),
        ("Bearer s3cret-0123456789abcdeX", "bearer", False),
        ("s3cret-0123456789abcdef", "bearer", False),
        (None, "bearer", False),
        ("s3cret-0123456789abcdef", "header", True),
        ("Bearer s3cret-0123456789abcdef", "header", False),
        ("", "header", False),
    ],
)
def test_tokens(header: str | None, method: str, ok: bool) -> None:
    assert token_valid(method=method, header=header, secret="s3cret-0123456789abcdef") is ok


def _config_with_sources(tmp_path: Path, config_dir: Path, sources: Any) -> Path:
    (config_dir / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    return config_dir


@pytest.mark.parametrize(
    ("sources", "key", "message"),
    [
        (
            {
                "sources": {
                    "Bad Name": {
                        "auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"},
                        "fields": BASE_FIELDS,
                    }
                }
            },
            "sources",
            "source names are short lower-case words",
        ),
        (
            {
                "sources": {
                    "tool": {
                        "auth": {"method": "bearer", "secret_env": "hunter2-token!"},
                        "fields": BASE_FIELDS,
                    }
                }
            },
            "sources.tool.auth.secret_env",
            "never in this file",
        ),
        (
            {
                "sources": {
                    "tool": {
                        "auth": {"method": "header", "secret_env": "TOOL_TOKEN"},
                        "fields": BASE_FIELDS,
                    }
                }
            },
            "sources.tool.auth",
            "method header needs `header`",
        ),
        (
            {
                "sources": {
                    "tool": {
                        "auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"},
                        "fields": BASE_FIELDS | {"text": "a[?"},
                    }
                }
            },
            "sources.tool.fields.text",
            "is not a JMESPath expression",
        ),
        (
            {
                "sources": {
                    "tool": {
                        "auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"},
                        "fields": {"id": "x", "body": "y"},
                    }
                }
            },
            "sources.tool.fields",
            "no mapping for network, account, author.handle, text, posted_at",
        ),
        (
            {
                "sources": {
                    "tool": {
                        "auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"},
                        "fields": BASE_FIELDS
                        | {"account": {"path": "p", "map": {"Council": "county"}}},
                    }
                }
            },
            "sources.tool.fields.account.map.Council",
            "'county' is not an account in desk.yaml",
        ),
    ],
)
def test_sources_yaml_problems_name_the_key(
    tmp_path: Path, config_dir: Path, sources: Any, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config_with_sources(tmp_path, config_dir, sources))
    found = [p for p in caught.value.problems if p.file.endswith("sources.yaml")]
    assert any(p.key.startswith(key) and message in p.message for p in found), found


def test_secrets_come_from_the_environment_and_a_weak_one_is_named(config_dir: Path) -> None:
    sources = load_config(config_dir).sources
    secrets = source_secrets(sources, {"COMMSBOT_SOURCE_MONITORING_TOKEN": "x" * 20})
    assert secrets.secrets == {"monitoring": "x" * 20}
    assert secrets.off == {"smm-inbox": "COMMSBOT_SOURCE_SMM_SECRET"}
    assert "x" * 20 not in repr(secrets)
    with pytest.raises(SettingsError, match="COMMSBOT_SOURCE_SMM_SECRET"):
        source_secrets(sources, {"COMMSBOT_SOURCE_SMM_SECRET": "change-me-please-now"})


@pytest.mark.parametrize(
    "body",
    [
        '{"mentions": [{"ref": ' + "1" * 5000 + "}]}",  # more digits than Python reads
        '{"mentions": [' * 100_000,  # nested too deeply
        '{"mentions": ',
    ],
    ids=["a 5,000-digit number", "nested too deeply", "cut short"],
)
def test_a_payload_that_cannot_be_read_is_a_body_error(body: str) -> None:
    source = SourceModel.model_validate(
        {
            "auth": {"method": "bearer", "secret_env": "TOOL_TOKEN"},
            "items": "mentions",
            "fields": BASE_FIELDS,
        }
    )
    with pytest.raises(BodyError, match="not valid JSON"):
        source_items(body.encode(), source, accounts=ACCOUNTS, max_text_chars=1000, max_items=1000)
