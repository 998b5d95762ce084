"""Per-chat daily jobs: each fires the sweep for its chat at its minute.

Each active subscription is one JobQueue job, `run_daily` at a time that carries the chat's own
ZoneInfo: APScheduler computes each next run in that zone, so 08:45 stays 08:45 local across DST
changes. The digest a run sends is for the day before the run's local date. What is due, and the
catch-up of runs missed while the bot or the database was down, is the sweep's (bot.delivery.sweep).
"""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.context import BotContext
from bot.delivery.ledger import last_occurrence, report_day  # noqa: F401 - re-exported
from bot.subscriptions import Subscription

log = logging.getLogger("salespulse.bot.schedule")


def job_name(chat_id: int) -> str:
    return f"digest:{chat_id}"


def schedule_chat(app: Application, sub: Subscription) -> None:
    unschedule_chat(app, sub.chat_id)
    if not sub.active or not sub.daily:  # a chat that takes only the week or month in review
        return
    app.job_queue.run_daily(
        _due, time=sub.delivery_time.replace(tzinfo=ZoneInfo(sub.timezone)),
        name=job_name(sub.chat_id), chat_id=sub.chat_id,
        # What the sweep needs to name the delayed day while the database cannot be read.
        data=(sub.delivery_time, sub.timezone),
        job_kwargs={"misfire_grace_time": 600, "coalesce": True},
    )


def unschedule_chat(app: Application, chat_id: int) -> None:
    for job in app.job_queue.get_jobs_by_name(job_name(chat_id)):
        job.schedule_removal()


def next_run(app: Application, chat_id: int) -> datetime | None:
    jobs = app.job_queue.get_jobs_by_name(job_name(chat_id))
    return jobs[0].next_t if jobs else None


async def _due(context: BotContext) -> None:
    """The daily job: the sweep looks the subscription up again (it may have changed) and hands
    the delivery to its own task, so a slow or hanging send never holds the scheduler."""
    at, tz = context.job.data
    log.info("chat %s: scheduled digest due", context.job.chat_id)
    await context.bot_data.sweeper.fire(context.job.chat_id, at, tz)


async def _sweep(context: BotContext) -> None:
    await context.bot_data.sweeper.run()


def schedule_sweep(app: Application, interval: float) -> None:
    app.job_queue.run_repeating(_sweep, interval=interval, first=interval, name="sweep",
                                job_kwargs={"coalesce": True, "max_instances": 1})


async def _alerts(context: BotContext) -> None:
    await context.bot_data.alerts.tick()


def schedule_alerts(app: Application, interval: float, first: float) -> None:
    """The alert rules' check (bot.alerts.runner): every ALERT_INTERVAL_MINUTES, never two at once."""
    app.job_queue.run_repeating(_alerts, interval=interval, first=min(first, interval), name="alerts",
                                job_kwargs={"coalesce": True, "max_instances": 1})
