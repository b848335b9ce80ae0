"""commsbot: the social media desk's Slack bot."""

__version__ = "0.1.0"
