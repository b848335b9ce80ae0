"""Runs the scheduled jobs with APScheduler in the desk's time zone."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduling import jobs
from bot.services import Services

SWEEP_SECONDS = 30


class Scheduler:
    """Starts and stops the background scheduler that runs commsbot's jobs."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._scheduler = BackgroundScheduler(timezone=services.config.zone)
        self._scheduler.add_job(
            self._run_forget_old_events,
            IntervalTrigger(hours=1, timezone=services.config.zone),
            id="forget_old_events",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        self._scheduler.add_job(
            self._run_expire_themes,
            IntervalTrigger(minutes=10, timezone=services.config.zone),
            id="expire_themes",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=600,
        )
        # One sweep for every reminder and escalation (the stored state says what is due).
        self._scheduler.add_job(
            self._run_sweep_clocks,
            IntervalTrigger(seconds=SWEEP_SECONDS, timezone=services.config.zone),
            id="sweep_clocks",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=SWEEP_SECONDS * 10,
        )
        hours = services.config.clocks.calendar.hours
        self._scheduler.add_job(
            self._run_daily_digest,
            CronTrigger(
                hour=hours.opens.hour,
                minute=hours.opens.minute,
                second=30,
                timezone=services.config.zone,
            ),
            id="daily_digest",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=1800,
        )
        self._scheduler.add_job(
            self._run_refresh_suggestions,
            IntervalTrigger(minutes=1, timezone=services.config.zone),
            id="refresh_suggestions",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60,
        )

    def _run_sweep_clocks(self) -> None:
        jobs.sweep_clocks(self._services, self._services.clock())

    def _run_daily_digest(self) -> None:
        jobs.daily_digest(self._services, self._services.clock())

    def _run_refresh_suggestions(self) -> None:
        jobs.refresh_suggestions(self._services, self._services.clock())

    def _run_expire_themes(self) -> None:
        jobs.expire_themes(self._services, self._services.clock())

    def _run_forget_old_events(self) -> None:
        jobs.forget_old_events(self._services, self._services.clock())

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
