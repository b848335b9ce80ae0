"""How long to wait before trying Slack again."""

from __future__ import annotations


def retry_delay(
    attempts: int,
    *,
    initial: float,
    maximum: float,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after `attempts` failures: Retry-After if given, else doubling to a cap."""
    if retry_after is not None and retry_after >= 0:
        return float(retry_after)
    exponent = max(attempts - 1, 0)
    return float(min(maximum, initial * (2 ** min(exponent, 30))))
