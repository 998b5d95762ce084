"""Campaign performance on hand-built data; every expected number is worked out in the comments.

Default configuration: human click = web event in [click - 120 s, click + 300 s]; conversion
window [interaction, interaction + 24 h); fees email 0, sms 0.05, push 0 (sent sends only).
"""
import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import campaigns
from metrics.day import ReportDay
from tests.conftest import statements


@pytest.fixture
def cfg(cfg):
    """The fees these hand-worked answers assume, whatever the shipped defaults are."""
    fees = {"email": 0.0, "sms": 0.05, "push": 0.0, "line": 0.01, "messenger": 0.01}
    return dataclasses.replace(cfg, campaigns=dataclasses.replace(cfg.campaigns, channel_fees=fees))

UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
D = date(2024, 3, 14)
S = timedelta(seconds=1)


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def sends(source, *rows):
    """(id, user, sent_at, channel, campaign[, status, reason, cost]) tuples."""
    full = [tuple(r) + ("sent", None, None)[len(r) - 5:] for r in rows]
    source.insert("message_sends", [
        {"id": i, "user_id": u, "sent_at": t, "channel": ch, "campaign": c, "status": st,
         "block_reason": br, "cost": cost}
        for i, u, t, ch, c, st, br, cost in full
    ])


def touches(source, *rows):
    """(send_id, kind, happened_at) triples."""
    source.insert("message_interactions", [{"send_id": s, "kind": k, "happened_at": t} for s, k, t in rows])


def web(source, *rows):
    """(user_id or None, anonymous_id or None, happened_at) triples."""
    source.insert("web_events", [{"user_id": u, "anonymous_id": a, "happened_at": t} for u, a, t in rows])


def run(source, cfg, day=D, tz="UTC", days=1):
    with source.engine.connect() as conn:
        return campaigns.compute(conn, source.src, cfg, ReportDay(day, tz), days=days)


def row(result, campaign):
    return next(r for r in result.campaigns if r.campaign == campaign)


def channel(result, name):
    return next(r for r in result.channels if r.channel == name)


def test_scanner_click_counts_as_open_but_not_human(source, cfg):
    sends(source, (1, 1, at(D, 9), "email", "news"))
    touches(source, (1, "click", at(D, 9, 1)))  # a mail scanner: no web activity at all
    source.payments((1, at(D, 12), 40))
    r = row(run(source, cfg), "news")
    # opened (a click implies an open), not human; the payment 3 h after the click is an open conversion
    assert (r.opens, r.human_clicks, r.open_conversions, r.click_conversions, r.revenue) == (1, 0, 1, 0, 40.0)


def test_web_activity_window_edges(source, cfg):
    click = at(D, 12)
    sends(source, *[(i, i, at(D, 8), "email", "edges") for i in range(1, 8)])
    touches(source, *[(i, "click", click) for i in range(1, 8)])
    web(
        source,
        (1, "a1", click - timedelta(minutes=2)),  # exactly 2 min before: human
        (2, "a2", click + timedelta(minutes=5)),  # exactly 5 min after: human
        (3, "a3", click - timedelta(minutes=2) - S),  # 1 s too early: not
        (4, "a4", click + timedelta(minutes=5) + S),  # 1 s too late: not
        # user 5: an anonymous page view of a device that user 5 logged in from last week: human
        (5, "dev5", at(D - timedelta(days=7), 10)),
        (None, "dev5", click + timedelta(minutes=1)),
        # user 6: same, but the device's latest link is user 99 (latest link wins): not human
        (6, "dev6", at(D - timedelta(days=7), 10)),
        (99, "dev6", at(D - timedelta(days=1), 10)),
        (None, "dev6", click + timedelta(minutes=1)),
        # user 7: another user's web event at the same moment proves nothing
        (8, "a8", click),
    )
    r = row(run(source, cfg), "edges")
    assert (r.opens, r.human_clicks) == (7, 3)  # users 1, 2, 5


def test_web_events_after_cutoff_do_not_count(source, cfg):
    sends(source, (1, 1, at(D, 8), "email", "late"))
    touches(source, (1, "click", at(D, 23, 58)))
    web(source, (1, None, at(D + timedelta(days=1), 0, 1)))  # inside +5 min but after T
    r = row(run(source, cfg), "late")
    assert (r.opens, r.human_clicks) == (1, 0)


def test_open_and_click_before_the_same_payment(source, cfg):
    # User 1, one send: open 10:00, human click 10:05 (web 10:06), payment 11:00 -> one click
    # conversion; the open does not also earn an open conversion (each payment is credited once).
    # User 2, two sends: human click on "b_click" at 10:00, open on "b_open" later at 10:30,
    # payment 11:00 -> a click beats an open even when the open is later: b_click gets it.
    sends(
        source,
        (1, 1, at(D, 9), "email", "a"),
        (2, 2, at(D, 9), "email", "b_click"),
        (3, 2, at(D, 9), "email", "b_open"),
    )
    touches(
        source,
        (1, "open", at(D, 10)), (1, "click", at(D, 10, 5)),
        (2, "click", at(D, 10)), (3, "open", at(D, 10, 30)),
    )
    web(source, (1, None, at(D, 10, 6)), (2, None, at(D, 10, 1)))
    source.payments((1, at(D, 11), 100), (2, at(D, 11), 50))
    r = run(source, cfg)
    a, b_click, b_open = row(r, "a"), row(r, "b_click"), row(r, "b_open")
    assert (a.opens, a.human_clicks, a.open_conversions, a.click_conversions, a.revenue) == (1, 1, 0, 1, 100.0)
    assert (b_click.click_conversions, b_click.open_conversions, b_click.revenue) == (1, 0, 50.0)
    assert (b_open.opens, b_open.open_conversions, b_open.click_conversions, b_open.revenue) == (1, 0, 0, 0.0)
    assert (channel(r, "email").click_conversions, channel(r, "email").revenue) == (2, 150.0)


def test_conversion_window_is_24_hours_half_open(source, cfg):
    # A two-day period (D-1 and D) so payments a day after D-1's clicks fall before T.
    # Each user: a D-1 send with a human click at 10:00 on D-1, then one payment on D.
    d1 = D - timedelta(days=1)
    click = at(d1, 10)
    sends(source, *[(i, i, at(d1, 9), "email", f"u{i}") for i in (1, 2, 3)])
    touches(source, *[(i, "click", click) for i in (1, 2, 3)])
    web(source, *[(i, None, click) for i in (1, 2, 3)])
    source.payments(
        (1, click + timedelta(hours=24) - S, 10),  # 23:59:59 after: click conversion
        (2, click + timedelta(hours=24), 20),  # exactly 24 h: outside [click, click + 24 h)
        (3, click + timedelta(hours=24) + S, 30),  # 24 h and 1 s: outside
    )
    r = run(source, cfg, days=2)
    assert [(x.campaign, x.click_conversions, x.revenue) for x in r.campaigns] == [
        ("u1", 1, 10.0), ("u2", 0, 0.0), ("u3", 0, 0.0)
    ]
    assert (r.period_start, r.days) == (d1, 2)
    # D-1 on its own: the payments are after its cutoff, so nothing converts.
    assert channel(run(source, cfg, day=d1), "email").click_conversions == 0


def test_blocked_by_reason_failed_and_cost(source, cfg):
    sends(
        source,
        (1, 1, at(D, 9), "sms", "promo", "sent", None, None),  # fee 0.05
        (2, 2, at(D, 9), "sms", "promo", "sent", None, 0.5),  # own cost 0.5
        (3, 3, at(D, 9), "sms", "promo", "blocked", "opt_out", None),  # blocked: no fee
        (4, 4, at(D, 9), "sms", "promo", "blocked", "opt_out", None),
        (5, 5, at(D, 9), "sms", "promo", "blocked", "invalid_number", 0.02),  # own cost counts
        (6, 6, at(D, 9), "sms", "promo", "blocked", None, None),  # no reason -> unknown
        (7, 7, at(D, 9), "sms", "promo", "failed", None, None),  # failed: no fee
    )
    touches(source, (1, "click", at(D, 10)))
    web(source, (1, None, at(D, 10, 1)))
    source.payments((1, at(D, 12), 57))
    r = row(run(source, cfg), "promo")
    assert (r.total, r.sent, r.blocked, r.failed) == (7, 2, 4, 1)
    assert r.blocked_by_reason == {"invalid_number": 1, "opt_out": 2, "unknown": 1}
    assert r.cost == 0.57  # 0.05 + 0.5 + 0.02
    assert (r.click_conversions, r.revenue, r.roas) == (1, 57.0, 100.0)  # 57 / 0.57
    assert channel(run(source, cfg), "sms") == campaigns.CampaignRow(
        "sms", None, 2, 4, {"invalid_number": 1, "opt_out": 2, "unknown": 1}, 1, 1, 1, 0, 1, 57.0, 0.57, 100.0, 7
    )


def test_one_user_two_campaigns_one_payment(source, cfg):
    # User 1: human clicks on "spring" at 09:00 and "promo" at 10:00, payment at 12:00: the latest
    # click wins -> promo. User 2: a D send clicked at 10:00, but a D-1 send ("old") clicked at
    # 11:00 on D is the latest click -> the payment belongs to D-1's send, not to D's report.
    # User 3: the D-1 send is clicked first (09:00), the D send later (10:00) -> D's send.
    d1 = D - timedelta(days=1)
    sends(
        source,
        (1, 1, at(D, 8), "email", "spring"), (2, 1, at(D, 8), "email", "promo"),
        (3, 2, at(D, 8), "email", "promo"), (4, 2, at(d1, 8), "email", "old"),
        (5, 3, at(D, 8), "email", "promo"), (6, 3, at(d1, 8), "email", "old"),
    )
    touches(
        source,
        (1, "click", at(D, 9)), (2, "click", at(D, 10)),
        (3, "click", at(D, 10)), (4, "click", at(D, 11)),
        (5, "click", at(D, 10)), (6, "click", at(D, 9)),
    )
    web(source, *[(u, None, at(D, h)) for u in (1, 2, 3) for h in (9, 10, 11)])
    source.payments((1, at(D, 12), 100), (2, at(D, 12), 70), (3, at(D, 12), 30))
    r = run(source, cfg)
    assert [(x.campaign, x.human_clicks, x.click_conversions, x.revenue) for x in r.campaigns] == [
        ("promo", 3, 2, 130.0),  # users 1 and 3
        ("spring", 1, 0, 0.0),
    ]


def test_zero_cost_and_channel_without_interactions(source, cfg):
    # email: fee 0 and no per-send cost, one converting open -> revenue 25, cost 0, ROAS None.
    # push: two sends, nothing else -> all zeros, ROAS None.
    sends(
        source,
        (1, 1, at(D, 9), "email", "free"),
        (2, 2, at(D, 9), "push", "silent"), (3, 3, at(D, 9), "push", "silent"),
    )
    touches(source, (1, "open", at(D, 10)))
    source.payments((1, at(D, 11), 25))
    r = run(source, cfg)
    assert (row(r, "free").open_conversions, row(r, "free").cost, row(r, "free").roas) == (1, 0.0, None)
    push = channel(r, "push")
    assert (push.sent, push.opens, push.human_clicks, push.open_conversions, push.revenue, push.cost, push.roas) == (
        2, 0, 0, 0, 0.0, 0.0, None
    )
    assert [c.channel for c in r.channels] == ["email", "push"]


def test_midnight_edges_in_report_timezone(source, cfg):
    d0, d2 = D - timedelta(days=1), D + timedelta(days=1)
    sends(
        source,
        (1, 1, at(d0, 23, 59, 59, MSK), "email", "m"),  # D-1 in Moscow: out
        (2, 2, at(D, 0, 0, 0, MSK), "email", "m"),  # first instant of D: in
        (3, 3, at(D, 23, 59, 59, MSK), "email", "m"),  # last second of D: in
        (4, 4, at(d2, 0, 0, 0, MSK), "email", "m"),  # T itself: out
    )
    touches(source, (2, "open", at(D, 23, 59, 59, MSK)), (3, "open", at(d2, 0, 0, 0, MSK)))  # 2nd after T
    source.payments((2, at(d2, 0, 0, 0, MSK), 10))  # at T: after the cutoff
    r = row(run(source, cfg, tz="Europe/Moscow"), "m")
    assert (r.total, r.opens, r.open_conversions) == (2, 1, 0)
    # In UTC, D is [03:00 MSK D, 03:00 MSK D+1): sends 3 and 4 -> 2, and send 3's open now counts.
    r = row(run(source, cfg, tz="UTC"), "m")
    assert (r.total, r.opens, r.open_conversions, r.revenue) == (2, 1, 0, 0.0)


def test_naive_timestamps_mean_data_timezone(make_source, cfg):
    source = make_source(naive=True, data_timezone="Europe/Moscow")
    sends(source, (1, 1, datetime(2024, 3, 14, 0, 30), "email", "n"))  # 00:30 MSK = 21:30 UTC D-1
    touches(source, (1, "click", datetime(2024, 3, 14, 0, 40)))
    web(source, (1, None, datetime(2024, 3, 14, 0, 45)))  # exactly +5 min: human
    source.payments((1, datetime(2024, 3, 14, 1, 0), 15))
    r = row(run(source, cfg, tz="Europe/Moscow"), "n")
    assert (r.total, r.human_clicks, r.click_conversions, r.revenue) == (1, 1, 1, 15.0)
    assert run(source, cfg, tz="UTC").campaigns == []  # in UTC everything happened on D-1


def test_experiment_user_is_excluded(source, cfg):
    source.events((7, "Отправка сообщения WA", at(D - timedelta(days=30), 10)))
    sends(source, (1, 7, at(D, 9), "email", "x"), (2, 8, at(D, 9), "email", "x"))
    touches(source, (1, "open", at(D, 10)))
    source.payments((7, at(D, 11), 99))
    r = row(run(source, cfg), "x")
    assert (r.total, r.opens, r.open_conversions, r.revenue) == (1, 0, 0, 0.0)


def test_without_web_events_no_click_is_human(source, cfg):
    sends(source, (1, 1, at(D, 9), "email", "w"))
    touches(source, (1, "click", at(D, 10)))
    source.payments((1, at(D, 11), 5))
    source.drop_tables("web_events")
    r = run(source, cfg)
    assert r.human_clicks_checked is False
    assert (row(r, "w").human_clicks, row(r, "w").open_conversions) == (0, 1)


def test_empty_day(source, cfg):
    sends(source, (1, 1, at(D - timedelta(days=2), 9), "email", "old"))
    r = run(source, cfg)
    assert (r.channels, r.campaigns, r.report_date, r.days) == ([], [], D, 1)


def test_a_step_of_the_query_reads_on_its_own(source, cfg):
    # campaigns.sql is named steps; compose(..., until=step) runs the chain up to one of them.
    import sqlalchemy as sa

    sends(source, (1, 1, at(D, 9), "sms", "promo", "sent", None, None), (2, 2, at(D, 9), "sms", "promo", "failed"),
          (3, 3, at(D - timedelta(days=1), 9), "sms", "promo"))
    touches(source, (1, "open", at(D, 10)), (1, "click", at(D, 11)))
    bind = campaigns.params(source.src, cfg, ReportDay(D)) | {"excluded_ids": [-1]}
    with source.engine.connect() as conn:
        period = conn.execute(sa.text(campaigns._sql(source.src, until="period_sends")), bind).all()
        assert sorted((r.id, r.status, float(r.cost)) for r in period) == [(1, "sent", 0.05), (2, "failed", 0.0)]
        kinds = conn.execute(sa.text(campaigns._sql(source.src, until="period_touches")), bind).all()
        assert sorted((r.send_id, r.kind) for r in kinds) == [(1, "click"), (1, "open")]


def test_the_metric_leaves_jit_to_the_connection(source, cfg):
    # Every connection starts with jit off (db.engine); the metric must not toggle it per query.
    import sqlalchemy as sa

    with statements(source.engine) as seen:
        sends(source, (1, 1, at(D, 9), "email", "promo"))
        run(source, cfg)
    assert any("period_sends" in s for s in seen)
    assert not [s for s in seen if "jit" in s.lower()]
    with source.engine.connect() as conn:
        assert conn.execute(sa.text("select current_setting('jit')")).scalar() == "off"
