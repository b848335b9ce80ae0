"""Configuration: the desk's accounts, channels and classification rules, validated once."""

from bot.config.loader import ConfigError, DeskConfig, Problem, load_config

__all__ = ["ConfigError", "DeskConfig", "Problem", "load_config"]
