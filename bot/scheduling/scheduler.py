"""Runs the scheduled jobs with APScheduler in the desk's time zone."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduling import jobs
from bot.services import Services

SWEEP_SECONDS = 30
Job = Callable[[Services, datetime], object]


def _run(services: Services, job: Job) -> None:
    """One run of `job` at the services' clock's now."""
    job(services, services.clock())


class Scheduler:
    """Starts and stops the background scheduler that runs commsbot's jobs."""

    def __init__(self, services: Services) -> None:
        self._services = services
        zone = services.config.zone
        self._scheduler = BackgroundScheduler(timezone=zone)
        self._add(jobs.forget_old_events, IntervalTrigger(hours=1, timezone=zone), grace=3600)
        self._add(jobs.expire_themes, IntervalTrigger(minutes=10, timezone=zone), grace=600)
        # One sweep for every reminder and escalation (the stored state says what is due).
        self._add(
            jobs.sweep_clocks,
            IntervalTrigger(seconds=SWEEP_SECONDS, timezone=zone),
            grace=SWEEP_SECONDS * 10,
        )
        opens = services.config.clocks.calendar.hours.opens
        self._add(
            jobs.daily_digest,
            CronTrigger(hour=opens.hour, minute=opens.minute, second=30, timezone=zone),
            grace=1800,
        )
        self._add(jobs.refresh_suggestions, IntervalTrigger(minutes=1, timezone=zone), grace=60)

    def _add(self, job: Job, trigger: BaseTrigger, *, grace: int) -> None:
        """Run `job(services, now)` on `trigger`: never two at once, missed runs as one."""
        self._scheduler.add_job(
            functools.partial(_run, self._services, job),
            trigger,
            id=job.__name__,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
        )

    def start(self) -> None:
        """Start running jobs in a background thread."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop; a job already running is allowed to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    @property
    def running(self) -> bool:
        """Whether jobs are being scheduled."""
        return bool(self._scheduler.running)
