"""Field types shared by the configuration files."""

from typing import Annotated

from pydantic import BeforeValidator

from bot.core.posts import Network, canonical_network

# A network by name, accepting aliases ("twitter") and any letter case.
NetworkField = Annotated[
    Network, BeforeValidator(lambda v: canonical_network(v) if isinstance(v, str) else v)
]
