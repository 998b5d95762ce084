"""The sessions' checked number (NUMBERS): sessions in all and per channel, day by day, read from
the session store (metrics.sessions) over the days of D-back ... D it has built, with the very
rules of the metric's own count (the session's stitched user in the scope, the experiment-flow
users left out, the channel of its first event).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.attribution.models import session_users_sql
from metrics.baselines import Series, Slice
from metrics.baselines.days import first_day, weekdays_of, window
from metrics.channels import channel_params, channel_sql
from metrics.checked import CHANNEL, COUNT, Number
from metrics.common import excluded_event_ids
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, scope_binds
from metrics.sessions import SessionStore

# All sessions weigh as a volume, each channel's as a per-channel volume.
NUMBERS = (Number("attribution", "sessions", COUNT, 2, key=CHANNEL, keyed_weight=1),)
SESSIONS = NUMBERS[0]


def _sessions_sql(src: Source, cfg: MetricConfig, users: Scope | None, excluded: list[int]) -> str:
    sessions = src.state_table("attribution_sessions")
    # the users' exclusion (and scope) probes once per distinct user of the window, not once per
    # session (measured: 46k probes, 0.33 s of 0.54 s, at 950 sessions a day); none at all when
    # every session counts
    keep = session_users_sql(src, users, excluded, "u.user_id")
    anonymous = "s.user_id is null or " if users is None else ""
    kept_users = f"""
kept_users as (
    select u.user_id
    from (select distinct user_id from window_sessions where user_id is not null) u
    where {keep}
),""" if keep else ""
    kept = f"where {anonymous}s.user_id in (select user_id from kept_users)" if keep else ""
    return f"""
with window_sessions as (
    select s.local_day, s.user_id, coalesce(s.ch_source, '') as src, coalesce(s.ch_medium, '') as med
    from {sessions} s
    where s.scope = :scope and s.started_at >= :lo and s.started_at < :hi and s.local_day = any(:days)
),{kept_users}
pairs as (
    select s.local_day, s.src, s.med, count(*) as n
    from window_sessions s
    {kept}
    group by 1, 2, 3
),
channelled as (
    select local_day, {channel_sql(cfg.attribution, "src", "med")} as channel, n from pairs
)
select local_day, channel, sum(n) from channelled group by grouping sets ((local_day, channel), (local_day))
"""


def store_days(day: ReportDay) -> list[date]:
    """The session days the checked numbers need built (the digest's sessions stage builds them
    with the metric's own window): D and its weekdays; the other days of the window count where
    built, so a report never triggers a build of all of history."""
    return weekdays_of(day)


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, users: Scope | None,
           back: int) -> list[Series]:
    """All sessions and each channel's, day by day over the built days of D-back ... D."""
    first = first_day(conn, src, "web_events", "happened_at", day)
    if first is None or first > day.day:
        return [Series("attribution", None, "sessions", first, {}, number=SESSIONS)]
    at = SessionStore(src, cfg.attribution, day.timezone)
    window_days = [d for d in window(day, back) if d >= first]
    days = sorted(set(window_days) - set(at.missing_days(conn, window_days)))
    if not days:
        return [Series("attribution", None, "sessions", first, {}, known=frozenset(), number=SESSIONS)]
    excluded = excluded_event_ids(conn, src, cfg)
    params = {"scope": at.scope, "days": days, "lo": day.midnight(days[0]), "hi": day.end,
              "excluded_ids": excluded} | scope_binds(conn, src, users) | channel_params(cfg.attribution)
    total: dict[date, float] = {}
    per_channel: dict[str, dict[date, float]] = {}
    for d, ch, n in conn.execute(sa.text(_sessions_sql(src, cfg, users, excluded)), params):
        (total if ch is None else per_channel.setdefault(ch, {}))[d] = float(n)
    known = frozenset(days)
    # all sessions' drivers are their channels
    slices = tuple(Slice("channel", ch, per_channel[ch]) for ch in sorted(per_channel))
    return [Series("attribution", None, "sessions", first, total, known=known, slices=slices, number=SESSIONS)] + [
        Series("attribution", ch, "sessions", first, per_channel[ch], known=known, number=SESSIONS)
        for ch in sorted(per_channel)]
