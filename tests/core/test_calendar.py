"""Local days in Europe/London, including the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import local_day_bounds

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("now", "start", "hours"),
    [
        # Winter: local midnight is UTC midnight.
        (datetime(2026, 11, 20, 23, 30, tzinfo=UTC), datetime(2026, 11, 20, 0, 0, tzinfo=UTC), 24),
        # Summer: 00:30 UTC is already the next local day, which began at 23:00 UTC.
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 23, 0, tzinfo=UTC), 24),
        # Clocks go forward on 29 March 2026: a 23-hour day.
        (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 23),
        # Clocks go back on 25 October 2026: a 25-hour day.
        (datetime(2026, 10, 25, 12, 0, tzinfo=UTC), datetime(2026, 10, 24, 23, 0, tzinfo=UTC), 25),
    ],
)
def test_local_day_bounds(now: datetime, start: datetime, hours: int) -> None:
    day_start, day_end = local_day_bounds(now, LONDON)
    assert day_start == start
    assert day_end - day_start == timedelta(hours=hours)
    assert day_start <= now < day_end


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day_bounds(datetime(2026, 1, 1), LONDON)
