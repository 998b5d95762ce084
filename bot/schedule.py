"""Per-chat daily jobs and the catch-up of digests missed while the bot was down.

Each active subscription is one JobQueue job, `run_daily` at a time that carries the chat's own
ZoneInfo: APScheduler computes each next run in that zone, so 08:45 stays 08:45 local across DST
changes. The digest a run sends is for the day before the run's local date.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import Application, ContextTypes

from bot.service import DatabaseDown
from bot.store import Subscription

log = logging.getLogger("salespulse.bot.schedule")


def job_name(chat_id: int) -> str:
    return f"digest:{chat_id}"


def last_occurrence(at: time, tz: str, now: datetime) -> datetime:
    """The latest local `at` in zone `tz` that is not after `now` (aware)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for back in range(3):
        candidate = datetime.combine(local.date() - timedelta(days=back), at, zone)
        if candidate <= now:
            return candidate
    raise AssertionError("unreachable")


def report_day(scheduled_for: datetime, tz: str) -> date:
    """A run at 08:45 local on the 15th reports the 14th."""
    return scheduled_for.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


def schedule_chat(app: Application, sub: Subscription) -> None:
    unschedule_chat(app, sub.chat_id)
    if not sub.active:
        return
    app.job_queue.run_daily(
        _due, time=sub.delivery_time.replace(tzinfo=ZoneInfo(sub.timezone)),
        name=job_name(sub.chat_id), chat_id=sub.chat_id,
        job_kwargs={"misfire_grace_time": 600, "coalesce": True},
    )


def unschedule_chat(app: Application, chat_id: int) -> None:
    for job in app.job_queue.get_jobs_by_name(job_name(chat_id)):
        job.schedule_removal()


def next_run(app: Application, chat_id: int) -> datetime | None:
    jobs = app.job_queue.get_jobs_by_name(job_name(chat_id))
    return jobs[0].next_t if jobs else None


async def _due(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job callback: look the subscription up again (it may have changed) and hand the
    delivery to its own task, so a slow or hanging send never holds the scheduler."""
    delivery = context.bot_data["delivery"]
    clock = context.bot_data["clock"]
    chat_id = context.job.chat_id
    try:
        sub = await delivery.db(f"reading the subscription of chat {chat_id}", delivery.store.get, chat_id)
    except DatabaseDown as exc:
        log.error("chat %s: scheduled run skipped, database down: %s", chat_id, exc)
        await delivery.notify_admins("admin_db", once=("db-job", clock().date()), day=clock().date(),
                                     error=exc, attempts=exc.attempts, chats=chat_id)
        return
    if sub is None or not sub.active:
        return
    scheduled = last_occurrence(sub.delivery_time, sub.timezone, clock())
    log.info("chat %s: scheduled digest due (%s)", chat_id, scheduled.isoformat())
    delivery.spawn(delivery.deliver(chat_id, report_day(scheduled, sub.timezone), scheduled,
                                    sub.timezone, sub.locale))


async def schedule_all_and_catch_up(app: Application, grace: timedelta) -> None:
    """At start: one job per active subscription, then the digests missed while down."""
    delivery = app.bot_data["delivery"]
    now = app.bot_data["clock"]()
    subs = await delivery.db("loading subscriptions", delivery.store.all, True)
    for sub in subs:
        schedule_chat(app, sub)
    log.info("scheduled %d subscriptions", len(subs))
    for sub in subs:
        scheduled = last_occurrence(sub.delivery_time, sub.timezone, now)
        if scheduled < sub.created_at:
            continue  # subscribed after that run: nothing was missed
        day = report_day(scheduled, sub.timezone)
        state = await delivery.db("reading the ledger", delivery.store.ledger_state, sub.chat_id, day)
        if state in ("sent", "skipped"):
            continue
        late = now - scheduled
        if late <= grace:
            log.info("chat %s: digest for %s was missed (%s late); sending it now", sub.chat_id, day, late)
            delivery.spawn(delivery.deliver(sub.chat_id, day, scheduled, sub.timezone, sub.locale))
        elif state != "failed":
            reason = f"bot was down at {scheduled.isoformat()}; {late} late exceeds the grace period {grace}"
            if state == "working":
                await delivery.db("closing a stale run", delivery.store.fail_stale, sub.chat_id, day,
                                  "interrupted; " + reason)
            await delivery.db("recording a skip", delivery.store.record_skipped, sub.chat_id, day,
                              scheduled, reason)
            log.warning("chat %s: digest for %s skipped: %s", sub.chat_id, day, reason)
