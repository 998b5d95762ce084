"""The experiment exclusion's predicate (metrics.common.not_excluded) on hand-built rows.

It looks the experiment's users up as a set, one excluded type at a time, rather than probing each
row's user: this holds it to what the per-user probe meant: a user with any excluded event, of any
excluded type and at any time, is out; a row without a user, and a user with other events or none,
is kept.
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from metrics.common import not_excluded

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def test_not_excluded_keeps_exactly_the_users_without_an_excluded_event(source):
    source.events(
        (1, "exp_a", T0), (1, "visit", T0),
        (2, "visit", T0),
        (4, "exp_b", datetime(2020, 1, 1, tzinfo=UTC)),
    )
    ids = [source.event_id("exp_a"), source.event_id("exp_b")]
    sql = f"""
        select u from (values (1::bigint), (2), (3), (4), (null)) as r(u)
        where {not_excluded(source.src, "r.u", ids)}
        order by u nulls last
    """
    with source.engine.connect() as conn:
        kept = [u for (u,) in conn.execute(sa.text(sql), {"excluded_ids": ids})]
    assert kept == [2, 3, None]
