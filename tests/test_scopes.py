"""Scoped metrics on hand-built data: every expected number is worked out in the comments.

Report day D = 2024-03-14 (UTC), cutoff T = 2024-03-15 00:00. Default configuration (SLA 24 h,
hanging lookback 30 d, funnel cohort 7 d, attribution lookback 3 d, fees email 0.2, sms 4, push
0.05 for sent sends). The users:

    u1  team:north  manager:ivanov  region:msk
    u2  team:north  manager:petrov
    u3  team:south  manager:smirnov region:msk
    u4  team:north  team:south  manager:ivanov  manager:smirnov   (two teams, two owners)
    u5  team:north                                               (no owner)
    u6  (no tags)
    u9  (no tags; a payer with no session)
    device anon-x: an anonymous visitor that never logs in

Scopes: north = {u1, u2, u4, u5}, south = {u3, u4}, north & south = {u4}.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from metrics import attribution, campaigns, funnel, hanging, new_payers
from metrics.day import ReportDay
from metrics.scope import Scope, ScopeError
from metrics.sessions.store import ensure_days
from reports.specs.funnel import with_channels as funnel_with_channels
from tests.test_attribution_fixtures import make_web

UTC = ZoneInfo("UTC")
D = date(2024, 3, 14)
DAY = ReportDay(D, "UTC")
REQ, L1, ANS = "Создание заявки", "Назначение задачи на звонок 1Л", "Ученик ответил на звонок оператора 1л"
NORTH, SOUTH = Scope(("team:north",)), Scope(("team:south",))
BOTH = Scope.parse("team:south & team:north")
NOBODY = Scope(("team:east",))

TAGS = {
    1: ("team:north", "manager:ivanov", "region:msk"),
    2: ("team:north", "manager:petrov"),
    3: ("team:south", "manager:smirnov", "region:msk"),
    4: ("team:north", "team:south", "manager:ivanov", "manager:smirnov"),
    5: ("team:north",),
}


def at(d: date, h: int, m: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, tzinfo=UTC)


def ago(n: int) -> date:
    return D - timedelta(days=n)


@pytest.fixture
def company(source, engine):
    return build_company(source, engine)


def build_company(source, engine):
    """The hand-built company of the module docstring (also used by test_scopes_report)."""
    web = make_web(source, engine)
    source.tags(*((u, t) for u, tags in TAGS.items() for t in tags))
    source.events(
        (1, REQ, at(ago(2), 8)), (1, L1, at(ago(2), 9)),
        (2, REQ, at(ago(1), 10)), (2, L1, at(ago(1), 12)),
        (3, REQ, at(D, 8)), (3, L1, at(D, 8, 30)), (3, ANS, at(D, 9)),
        (4, L1, at(ago(3), 10)),
        (5, REQ, at(ago(1), 20)),
        (6, REQ, at(ago(1), 5)), (6, L1, at(ago(1), 6)),
    )
    source.payments(
        (1, at(D, 10), 100), (3, at(ago(1), 15), 50), (3, at(D, 11), 70),
        (9, at(D, 12), 200), (4, at(date(2024, 1, 10), 9), 5), (4, at(D, 13), 30), (2, at(D, 9), 0),
    )
    web.hit(at(D, 9, 30), "d1", 1, utm=("google", "cpc"))  # Paid Search
    web.hit(at(D, 10, 30), "d3", 3, ref="https://facebook.com/")  # Organic Social
    web.hit(at(D, 12), "d4", None, utm=("newsletter", "email"))  # Email, anonymous until ...
    web.hit(at(D, 12, 5), "d4", 4, event_type="identify")  # ... u4 logs in on that device
    web.hit(at(D, 14), "anon-x", None)  # an anonymous Direct session
    web.hit(at(D, 15), "d2", 2)  # Direct, no payment
    source.insert("message_sends", [
        {"id": i, "user_id": u, "sent_at": t, "channel": ch, "campaign": c, "status": st, "block_reason": br}
        for i, u, t, ch, c, st, br in (
            (1, 1, at(D, 8), "email", "spring", "sent", None),
            (2, 3, at(D, 9), "sms", "spring", "sent", None),
            (3, 9, at(D, 8), "email", "spring", "sent", None),
            (4, 2, at(D, 9), "push", "promo", "blocked", "unsubscribed"),
            (5, 4, at(D, 11), "email", "promo", "sent", None),
            (6, 5, at(D, 10), "sms", "promo", "failed", None),
        )
    ])
    source.insert("message_interactions", [
        {"send_id": 1, "kind": "open", "happened_at": at(D, 8, 30)},
        {"send_id": 2, "kind": "click", "happened_at": at(D, 10, 29)},  # web hit 1 min later: human
        {"send_id": 5, "kind": "open", "happened_at": at(D, 12, 30)},
    ])
    return web


def run(web, fn, scope=None, **kw):
    with web.engine.begin() as conn:
        return fn(conn, web.src, kw.pop("cfg"), DAY, scope=scope, **kw)


# ---- hanging ------------------------------------------------------------------------------------


def pipes(web, cfg, scope=None):
    return {p.name: p for p in run(web, hanging.compute, scope, cfg=cfg).pipelines}


def owners(p):
    return [(o.owner, o.hanging, o.breached_today) for o in p.by_owner]


def test_hanging_by_scope_and_owner(company, cfg):
    # First line (L1 -> ANS): u1 started D-2 09:00 (63 h, deadline D-1: not today), u2 D-1 12:00
    # (36 h, deadline D 12:00: breached today), u4 D-3 10:00 (86 h), u6 D-1 06:00 (breached
    # today); u3 answered. Open requests (REQ -> L1, ...): only u5's D-1 20:00 request is open
    # (28 h, deadline D 20:00: breached today). Owners: u1, u4 -> ivanov (u4 has ivanov and
    # smirnov: the first in sort order), u2 -> petrov, u5, u6 -> none.
    p = pipes(company, cfg)
    assert (p["First line"].hanging, p["First line"].breached_today) == (4, 2)
    assert owners(p["First line"]) == [("manager:ivanov", 2, 0), ("manager:petrov", 1, 1), (None, 1, 1)]
    assert (p["Open requests"].hanging, p["Open requests"].breached_today) == (1, 1)
    assert owners(p["Open requests"]) == [(None, 1, 1)]
    assert owners(p["Second line"]) == [] and p["Second line"].hanging == 0
    for x in p.values():  # the per-owner rows add up to the pipeline's numbers
        assert sum(o.hanging for o in x.by_owner) == x.hanging
        assert sum(o.breached_today for o in x.by_owner) == x.breached_today

    north = pipes(company, cfg, NORTH)  # u1, u2, u4 of the first line; u5's open request
    assert (north["First line"].hanging, north["First line"].breached_today) == (3, 1)
    assert owners(north["First line"]) == [("manager:ivanov", 2, 0), ("manager:petrov", 1, 1)]
    assert (north["Open requests"].hanging, north["Open requests"].breached_today) == (1, 1)
    south = pipes(company, cfg, SOUTH)  # u4 only (u3's first line was answered)
    assert (south["First line"].hanging, south["First line"].breached_today) == (1, 0)
    assert owners(south["First line"]) == [("manager:ivanov", 1, 0)]
    assert south["Open requests"].hanging == 0 and owners(south["Open requests"]) == []
    assert pipes(company, cfg, BOTH)["First line"].hanging == 1  # u4 is in both teams
    ivanov = pipes(company, cfg, Scope(("manager:ivanov",)))
    assert ivanov["First line"].hanging == 2
    smirnov = pipes(company, cfg, Scope(("manager:smirnov",)))  # u4 counts in smirnov's scope too
    assert smirnov["First line"].hanging == 1 and owners(smirnov["First line"]) == [("manager:ivanov", 1, 0)]
    nobody = pipes(company, cfg, NOBODY)
    assert all(x.hanging == x.open_within_sla == x.breached_today == 0 and x.by_owner == [] for x in nobody.values())


def test_stuck_leads_list_is_the_hanging_processes(company, cfg):
    with company.engine.begin() as conn:
        leads = hanging.stuck_leads(conn, company.src, cfg, DAY)
        north = hanging.stuck_leads(conn, company.src, cfg, DAY, NORTH)
    # Oldest first per pipeline, in config order (Open requests, First line, ...); age = T - since.
    assert [(x.pipeline, x.user_id, x.owner, x.age_hours) for x in leads] == [
        ("Open requests", 5, None, 28.0),
        ("First line", 4, "manager:ivanov", 86.0),
        ("First line", 1, "manager:ivanov", 63.0),
        ("First line", 6, None, 42.0),
        ("First line", 2, "manager:petrov", 36.0),
    ]
    assert leads[1].since == at(ago(3), 10)
    assert [(x.pipeline, x.user_id) for x in north] == [("Open requests", 5), ("First line", 4),
                                                          ("First line", 1), ("First line", 2)]


def test_without_user_tags_by_owner_is_empty(source, cfg):
    source.events((1, L1, at(ago(2), 9)))
    source.drop_tables("user_tags")
    with source.engine.begin() as conn:
        p = {x.name: x for x in hanging.compute(conn, source.src, cfg, DAY).pipelines}
    assert p["First line"].hanging == 1 and p["First line"].by_owner == []


# ---- new payers ---------------------------------------------------------------------------------


def test_new_payers_by_scope(company, cfg):
    # D: u1 100 (first ever), u3 70 (first was D-1), u9 200 (first ever), u4 30 (first was in
    # January, before the window: not new), u2 0 (counts nowhere). D-1: u3 50 (first ever).
    r = run(company, new_payers.compute, cfg=cfg)
    assert (r.new_payers, r.new_payer_revenue, r.payments, r.paying_users, r.revenue) == (2, 300, 4, 4, 400)
    assert (r.previous_day.new_payers, r.previous_day.revenue) == (1, 50)
    n = run(company, new_payers.compute, NORTH, cfg=cfg)  # u1 100 (new), u4 30
    assert (n.new_payers, n.new_payer_revenue, n.payments, n.paying_users, n.revenue) == (1, 100, 2, 2, 130)
    assert (n.previous_day.new_payers, n.previous_day.revenue) == (0, 0)
    s = run(company, new_payers.compute, SOUTH, cfg=cfg)  # u3 70, u4 30; D-1 u3 50 (new)
    assert (s.new_payers, s.new_payer_revenue, s.payments, s.paying_users, s.revenue) == (0, 0, 2, 2, 100)
    assert (s.previous_day.new_payers, s.previous_day.new_payer_revenue) == (1, 50)
    b = run(company, new_payers.compute, BOTH, cfg=cfg)
    assert (b.new_payers, b.payments, b.revenue) == (0, 1, 30)
    z = run(company, new_payers.compute, NOBODY, cfg=cfg)
    assert (z.new_payers, z.payments, z.revenue) == (0, 0, 0) and all(d.payments == 0 for d in z.daily)


# ---- funnel -------------------------------------------------------------------------------------


def steps(r):
    return [s.users for s in r.steps]


def channel_segments(r):
    return {s.name: (s.users, [x.users for x in s.steps][:3]) for s in r.segments if s.kind == "channel"}


def test_funnel_by_scope(company, cfg):
    # Cohort (first REQ in Mar 8-14): u1, u2, u5, u6 (Mar 13), u3 (Mar 14). Step 2 (L1): u1 +1 h,
    # u2 +2 h, u3 +0.5 h, u6 +1 h; step 3 (ANS): u3 +1 h. Acquisition channels (first session):
    # u1 Paid Search, u2 Direct, u3 Organic Social; u5, u6 have none: Unattributed.
    company.sync(cfg)
    r = run(company, funnel_with_channels, cfg=cfg)
    assert steps(r) == [5, 4, 1, 0, 0, 0, 0] and r.steps[1].median_hours_from_start == 1.0
    assert channel_segments(r) == {"Paid Search": (1, [1, 1, 0]), "Direct": (1, [1, 1, 0]),
                                   "Organic Social": (1, [1, 1, 1]), "Unattributed": (2, [2, 1, 0])}
    n = run(company, funnel_with_channels, NORTH, cfg=cfg)  # u1, u2, u5
    assert n.cohort_users == 3 and steps(n) == [3, 2, 0, 0, 0, 0, 0]
    assert n.steps[1].median_hours_from_start == 1.5 and n.steps[1].conversion_from_start == 0.6667
    assert channel_segments(n) == {"Paid Search": (1, [1, 1, 0]), "Direct": (1, [1, 1, 0]),
                                   "Unattributed": (1, [1, 0, 0])}
    assert sum(s.users for s in n.segments if s.kind == "cluster") == 3
    s = run(company, funnel_with_channels, SOUTH, cfg=cfg)  # u3 (u4 never made a request)
    assert steps(s) == [1, 1, 1, 0, 0, 0, 0] and s.steps[2].median_hours_from_start == 1.0
    assert run(company, funnel_with_channels, BOTH, cfg=cfg).cohort_users == 0
    z = run(company, funnel.compute, NOBODY, cfg=cfg)
    assert z.cohort_users == 0 and steps(z) == [0] * 7 and z.segments == []


# ---- attribution --------------------------------------------------------------------------------


def channels(r, model):
    return {c.channel: (c.sessions, c.users, c.conversions, c.revenue) for c in r.models[model]}


RULES = ("last_non_direct", "first_touch", "last_touch", "linear", "position_based", "time_decay")


def attribution_run(web, cfg, scope=None):
    with web.engine.begin() as conn:
        ensure_days(conn, web.src, cfg.attribution, DAY.timezone, attribution.window_days(cfg, DAY))
        return attribution.compute(conn, web.src, cfg, DAY, users=scope)


def test_attribution_by_scope(company, cfg):
    # Sessions on D: u1 Paid Search, u3 Organic Social, u4 Email (anonymous at 12:00, stitched by
    # the 12:05 login), anon-x Direct, u2 Direct. Payments on D: u1 100, u3 70, u4 30 (each has
    # one session in its journey, so every rule model credits it whole), u9 200 (no session:
    # Unattributed). Markov: PS, OS, Email each convert; the idle journeys (anon-x, u2) are Direct
    # -> null; removing any of the three loses a third of the conversions: shares 1/3 each of the
    # 3 attributed payments and 200 of revenue.
    r = attribution_run(company, cfg)
    assert (r.sessions, r.users, r.payments, r.revenue) == (5, 5, 4, 400)
    assert (r.unattributed_payments, r.unattributed_revenue) == (1, 200)
    expected = {"Paid Search": (1, 1, 1.0, 100), "Organic Social": (1, 1, 1.0, 70), "Email": (1, 1, 1.0, 30),
                "Direct": (2, 2, 0.0, 0), "Unattributed": (0, 0, 1.0, 200)}
    for model in RULES:
        assert channels(r, model) == expected, model
    assert channels(r, "markov") == {"Paid Search": (1, 1, 1.0, 66.6667), "Organic Social": (1, 1, 1.0, 66.6667),
                                     "Email": (1, 1, 1.0, 66.6667), "Direct": (2, 2, 0.0, 0),
                                     "Unattributed": (0, 0, 1.0, 200)}

    # north: u1 PS, u4 Email, u2 Direct; anon-x falls outside every scope. Payments u1 100, u4 30.
    # Markov: start -> PS, Email, Direct a third each; PS and Email convert, Direct -> null:
    # removing PS or Email halves the conversions: shares 1/2 each of 2 payments and 130.
    n = attribution_run(company, cfg, NORTH)
    assert (n.sessions, n.users, n.payments, n.revenue, n.unattributed_payments) == (3, 3, 2, 130, 0)
    for model in RULES:
        assert channels(n, model) == {"Paid Search": (1, 1, 1.0, 100), "Email": (1, 1, 1.0, 30),
                                      "Direct": (1, 1, 0.0, 0)}, model
    assert channels(n, "markov") == {"Paid Search": (1, 1, 1.0, 65.0), "Email": (1, 1, 1.0, 65.0),
                                     "Direct": (1, 1, 0.0, 0)}
    # south: u3 OS 70, u4 Email 30; no idle journey: shares 1/2 each of 2 payments and 100.
    s = attribution_run(company, cfg, SOUTH)
    assert (s.sessions, s.users, s.payments, s.revenue) == (2, 2, 2, 100)
    for model in RULES:
        assert channels(s, model) == {"Organic Social": (1, 1, 1.0, 70), "Email": (1, 1, 1.0, 30)}, model
    assert channels(s, "markov") == {"Organic Social": (1, 1, 1.0, 50.0), "Email": (1, 1, 1.0, 50.0)}
    z = attribution_run(company, cfg, NOBODY)
    assert (z.sessions, z.payments) == (0, 0) and all(rows == [] for rows in z.models.values())


# ---- campaigns ----------------------------------------------------------------------------------


def campaign_rows(r):
    return {(c.channel, c.campaign): (c.total, c.sent, c.blocked, c.failed, c.opens, c.human_clicks,
                                      c.open_conversions, c.click_conversions, c.revenue, c.cost)
            for c in r.campaigns}


def test_campaigns_by_scope(company, cfg):
    # s1 u1 email/spring opened 08:30, u1 pays 100 at 10:00: an open conversion. s2 u3
    # sms/spring clicked 10:29 with u3's web hit at 10:30 (human), u3 pays 70 at 11:00: a click
    # conversion. s3 u9 email/spring untouched (u9's 200 is nobody's). s4 u2 push/promo blocked.
    # s5 u4 email/promo opened 12:30, u4 pays 30 at 13:00. s6 u5 sms/promo failed. Costs: fees of
    # sent sends only (email 0.2, sms 4).
    cfg_fees = cfg
    r = run(company, campaigns.compute, cfg=cfg_fees)
    full = {
        ("email", "promo"): (1, 1, 0, 0, 1, 0, 1, 0, 30.0, 0.2),
        ("email", "spring"): (2, 2, 0, 0, 1, 0, 1, 0, 100.0, 0.4),
        ("push", "promo"): (1, 0, 1, 0, 0, 0, 0, 0, 0.0, 0.0),
        ("sms", "promo"): (1, 0, 0, 1, 0, 0, 0, 0, 0.0, 0.0),
        ("sms", "spring"): (1, 1, 0, 0, 1, 1, 0, 1, 70.0, 4.0),
    }
    assert campaign_rows(r) == full
    n = run(company, campaigns.compute, NORTH, cfg=cfg_fees)  # s1, s4, s5, s6
    assert campaign_rows(n) == {k: v for k, v in full.items() if k != ("sms", "spring")} | {
        ("email", "spring"): (1, 1, 0, 0, 1, 0, 1, 0, 100.0, 0.2)}
    s = run(company, campaigns.compute, SOUTH, cfg=cfg_fees)  # s2, s5
    assert campaign_rows(s) == {k: full[k] for k in (("email", "promo"), ("sms", "spring"))}
    assert run(company, campaigns.compute, NOBODY, cfg=cfg_fees).campaigns == []


# ---- the scope value ----------------------------------------------------------------------------


def test_scope_parsing():
    assert str(Scope.parse(" team:north ")) == "team:north"
    assert Scope.parse("team:north & region:msk") == Scope.parse("region:msk&team:north&team:north")
    assert str(Scope.parse("team:north & region:msk")) == "region:msk & team:north"
    assert Scope.parse("vip").tags == ("vip",) and Scope.parse("команда:север").tags == ("команда:север",)
    for bad, words in (("", "empty"), ("  ", "empty"), ("a & ", "empty tag"), ("& a", "empty tag"),
                       ("team north", "characters"), ("x'; drop table t; --", "characters"),
                       ("a" * 65, "longer than 64")):
        with pytest.raises(ScopeError, match=words):
            Scope.parse(bad)


def test_scope_tags_are_bound_not_spliced(company, cfg):
    # Built directly (the parser would refuse the quote): were the tag spliced into the SQL text,
    # the query would break; bound as an array parameter it simply matches nobody.
    odd = Scope(("o'reilly", "x\\y"))
    assert run(company, new_payers.compute, odd, cfg=cfg).payments == 0
    assert run(company, new_payers.compute, Scope(("region:msk",)), cfg=cfg).payments == 2  # u1, u3
    with company.engine.connect() as conn:
        assert conn.execute(sa.text(f'select count(*) from "{company.src.schema}".user_tags')).scalar() == 13


def test_owner_prefix_comes_from_configuration(company, cfg, tmp_path):
    import dataclasses

    from metrics.config import ConfigError, load_config

    by_region = dataclasses.replace(cfg, hanging=dataclasses.replace(cfg.hanging, owner_prefix="region:"))
    # First line hanging: u1 (region:msk), u2, u4, u6 (no region tag)
    assert owners(pipes(company, by_region)["First line"]) == [(None, 3, 2), ("region:msk", 1, 0)]
    bad = tmp_path / "m.toml"
    bad.write_text('[hanging]\nowner_prefix = " "\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="hanging.owner_prefix"):
        load_config(bad)
    assert load_config().hanging.owner_prefix == "manager:"
