"""A local fake of the Slack Web API for end-to-end tests and ``commsbot demo``."""

from bot.fakeslack.server import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
