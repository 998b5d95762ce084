"""Identity stitching and sessionization on hand-built data; expected sessions worked out in comments."""
from datetime import timedelta

import pytest

from tests.test_attribution_fixtures import MSK, SITE, D, at, make_web


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)

GOOGLE_CPC = ("google", "cpc", "spring")


def keys_and_starts(rows):
    return [(r[0], r[1], r[3]) for r in rows]  # (skey, started_at, events)


def test_gap_of_exactly_30_minutes_stays_and_30_01_splits(web, cfg):
    web.hit(at(D, 10, 0), "a")
    web.hit(at(D, 10, 30), "a")  # exactly 30:00 after: same session
    web.hit(at(D, 11, 0, 1), "a")  # 30:01 after 10:30: new session
    web.update(cfg)
    assert keys_and_starts(web.sessions(cfg)) == [("a:a", at(D, 10), 2), ("a:a", at(D, 11, 0, 1), 1)]


def test_session_across_midnight_splits_in_report_timezone(web, cfg):
    # 23:50 and 00:10 Moscow time are 20 minutes apart, but on two Moscow days: two sessions.
    web.hit(at(D, 23, 50, tz=MSK), "a")
    web.hit(at(D + timedelta(days=1), 0, 10, tz=MSK), "a")
    web.update(cfg, tz="Europe/Moscow")
    assert len(web.sessions(cfg, tz="Europe/Moscow")) == 2
    # In UTC the same hits are 20:50 and 21:10 on D: one session. Each time zone has its own store.
    web.update(cfg, tz="UTC")
    assert keys_and_starts(web.sessions(cfg, tz="UTC")) == [("a:a", at(D, 23, 50, tz=MSK), 2)]


def test_campaign_change_mid_session_starts_a_new_one(web, cfg):
    web.hit(at(D, 10, 0), "a", utm=GOOGLE_CPC)
    web.hit(at(D, 10, 5), "a", utm=("facebook", "cpc", "spring"))  # other source: new session
    web.hit(at(D, 10, 6), "a", utm=("facebook", "cpc", "spring"))  # same tuple: continues
    web.hit(at(D, 10, 7), "a", utm=("facebook", "cpc", "summer"))  # other campaign: new session
    web.update(cfg)
    rows = web.sessions(cfg)
    assert [(r[1], r[3], r[4], r[5]) for r in rows] == [
        (at(D, 10, 0), 1, "google", "cpc"),
        (at(D, 10, 5), 2, "facebook", "cpc"),
        (at(D, 10, 7), 1, "facebook", "cpc"),
    ]


def test_direct_hit_inside_paid_session_does_not_break_it(web, cfg):
    web.hit(at(D, 10, 0), "a", utm=GOOGLE_CPC)
    web.hit(at(D, 10, 10), "a")  # direct: stays in the paid session
    web.hit(at(D, 10, 20), "a", utm=GOOGLE_CPC)  # same source again after the direct hit: no break
    web.hit(at(D, 10, 30), "a", ref="https://www.google.com/search?q=x")  # organic google: new source
    web.update(cfg)
    rows = web.sessions(cfg)
    assert [(r[1], r[3], r[4], r[5]) for r in rows] == [
        (at(D, 10, 0), 3, "google", "cpc"),
        (at(D, 10, 30), 1, "google.com", "referral"),
    ]


def test_direct_session_then_a_campaign_starts_a_new_session(web, cfg):
    web.hit(at(D, 10, 0), "a")  # direct session
    web.hit(at(D, 10, 5), "a", utm=GOOGLE_CPC)  # a source differs from "none": new session
    web.update(cfg)
    assert [(r[1], r[4]) for r in web.sessions(cfg)] == [(at(D, 10, 0), None), (at(D, 10, 5), "google")]


def test_referrer_from_the_site_itself_is_not_a_source(web, cfg):
    import dataclasses

    web.hit(at(D, 10, 0), "a", utm=GOOGLE_CPC)
    # same host as the page (www. ignored): an internal navigation, stays in the paid session
    web.hit(at(D, 10, 1), "a", ref="https://www.shop.example.com/cart", page=SITE + "checkout")
    # a host listed in internal_hosts (the payment page on another domain) is not a source either
    web.hit(at(D, 10, 2), "a", ref="https://pay.example.net/ok", page=SITE + "thanks")
    web.hit(at(D, 10, 3), "a", ref="https://news.example.org/a")  # a real external referrer: new session
    cfg = dataclasses.replace(cfg, attribution=dataclasses.replace(cfg.attribution, internal_hosts=("example.net",)))
    web.update(cfg)
    assert [(r[3], r[4], r[5]) for r in web.sessions(cfg)] == [(3, "google", "cpc"), (1, "news.example.org", "referral")]


def test_an_internal_host_with_a_colon_word_and_a_quote_is_a_value_not_sql(web, cfg):
    import dataclasses

    # "o':ads" spliced into SQL text read ":ads" as a bind parameter (a colon after a non-word
    # character); bound, it is just one more host of the list
    web.hit(at(D, 10, 0), "a", utm=GOOGLE_CPC)
    web.hit(at(D, 10, 1), "a", ref="https://pay.example.net/ok", page=SITE + "thanks")  # internal
    web.hit(at(D, 10, 2), "a", ref="https://news.example.org/a")  # external: new session
    hosts = ("o':ads", "example.net")
    cfg = dataclasses.replace(cfg, attribution=dataclasses.replace(cfg.attribution, internal_hosts=hosts))
    web.update(cfg)
    web.hit(at(D, 10, 3), "a", ref="https://pay.example.net/back", page=SITE)  # the incremental path too
    web.update(cfg)
    assert [(r[3], r[4], r[5]) for r in web.sessions(cfg)] == [(2, "google", "cpc"), (2, "news.example.org", "referral")]


def test_upper_case_utm_values_are_the_same_source(web, cfg):
    web.hit(at(D, 10, 0), "a", utm=("Google", "CPC", "Spring"))
    web.hit(at(D, 10, 5), "a", utm=("google", "cpc", "SPRING"))  # same tuple ignoring case: no break
    web.update(cfg)
    assert [(r[3], r[4], r[5]) for r in web.sessions(cfg)] == [(2, "google", "cpc")]
    assert web.report(cfg).channels[0].channel == "Paid Search"


def test_device_that_logs_in_midway_moves_its_earlier_sessions_to_the_user(web, cfg):
    web.hit(at(D - timedelta(days=1), 9), "dev", utm=GOOGLE_CPC)  # yesterday, anonymous
    web.hit(at(D, 10, 0), "dev")  # today, anonymous ...
    web.update(cfg)
    assert {r[0] for r in web.sessions(cfg)} == {"a:dev"}
    web.hit(at(D, 10, 5), "dev", 42, event_type="identify")  # ... logs in 5 minutes later
    web.hit(at(D, 10, 6), None, 42)  # a server-side row with a user_id and no device
    web.update(cfg)  # incremental: yesterday's anonymous session must move to user 42 too
    assert keys_and_starts(web.sessions(cfg)) == [
        ("u:42", at(D - timedelta(days=1), 9), 1),
        ("u:42", at(D, 10, 0), 3),  # 10:00 anonymous + 10:05 identify + 10:06 server row
    ]
    assert web.sessions(cfg) == (web.update(cfg, rebuild=True), web.sessions(cfg))[1]


def test_one_user_on_two_devices(web, cfg):
    web.hit(at(D, 8, 0), "phone", utm=("facebook", "cpc"))
    web.hit(at(D, 8, 1), "phone", 7)
    web.hit(at(D, 8, 10), "laptop")  # 9 minutes after the phone, on another device
    web.hit(at(D, 20, 0), "laptop", 7)
    web.update(cfg)
    # Both devices are user 7: one stream of events 8:00, 8:01, 8:10 (the laptop's direct hit joins
    # the phone's paid session), then 20:00 (a new session after the idle gap).
    assert keys_and_starts(web.sessions(cfg)) == [("u:7", at(D, 8), 3), ("u:7", at(D, 20), 1)]
    r = web.report(cfg)
    assert (r.sessions, r.users) == (2, 1)


def test_latest_link_wins(web, cfg):
    web.hit(at(D, 8, 0), "shared", 1)
    web.hit(at(D, 9, 0), "shared", 2)  # the device's latest link: user 2 owns all its events
    web.update(cfg)
    assert keys_and_starts(web.sessions(cfg)) == [("u:2", at(D, 8), 1), ("u:2", at(D, 9), 1)]
    web.hit(at(D, 7, 0), "shared", 3)  # a late-arriving OLDER link does not win
    web.update(cfg)
    assert {r[0] for r in web.sessions(cfg)} == {"u:2"}
    web.hit(at(D, 10, 0), "shared", 3)  # a newer one does: everything moves to user 3
    web.update(cfg)
    assert {r[0] for r in web.sessions(cfg)} == {"u:3"}
    assert len(web.sessions(cfg)) == 4
