"""/status's account of deliveries, read from the ledger and its log: for each chat its last
deliveries with outcome and reason; a delayed one with its next attempt and last error."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery.ledger import State
from bot.subscriptions import LastDelivery
from db.i18n import t


def _hm(dt: datetime | None, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") if dt else "—"


def delivery_line(d: LastDelivery, loc: str, tz: str) -> str:
    day = f"{d.report_date:%Y-%m-%d}"
    if d.period != "day":  # a week or month in review, named by its last day
        day = t(f"bot.status_{d.period}", loc, day=day)
    fields = {"day": day, "due": _hm(d.scheduled_for, tz),
                  "at": _hm(d.finished_at, tz), "reason": (d.error or "—")[:160]}
    if d.state is State.WAITING:
        return t("bot.status_delayed", loc, **fields, next=_hm(d.next_attempt_at, tz),
                 attempts=d.attempts, since=_hm(d.failing_since, tz))
    return t(f"bot.status_{d.state.value}", loc, **fields)


def delivery_lines(recent: list[LastDelivery], loc: str, tz: str) -> list[str]:
    return ["   " + delivery_line(d, loc, tz) for d in recent]


def period_lines(periods: list, loc: str, tz: str, now: datetime) -> list[str]:
    """A chat's weekly and monthly digests (bot.subscriptions.PeriodSub) with their next run."""
    from bot.delivery.periods import next_run

    return ["   " + t(f"bot.status_sub_{p.period}", loc, time=f"{p.delivery_time:%H:%M}",
                      next=_hm(next_run(p.period, p.delivery_time, tz, now), tz)) for p in periods]
