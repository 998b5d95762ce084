"""Attribution models on hand-built journeys; every expected number is worked out in the comments."""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics.attribution import touches
from metrics.attribution.models import CONVERSION, NULL, START, markov_shares
from metrics.day import ReportDay
from tests.conftest import statements
from tests.test_attribution_fixtures import D, at, by_channel, make_web


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)

DAY = timedelta(days=1)
PAID_SOCIAL = ("facebook", "cpc")
PAID_SEARCH = ("google", "cpc")
EMAIL = ("newsletter", "email")


def credit(result, model):
    """{channel: (conversions, revenue)} of one model, without the traffic columns."""
    return {r.channel: (r.conversions, r.revenue) for r in result.models[model]}


def test_three_touch_journey_under_every_rule_model(web, cfg):
    # User 1 pays 100 on D at 12:00. Sessions (hours before the payment):
    #   D-4 10:00 Paid Search   (98 h: outside the 3-day lookback, not in the journey)
    #   D-2 12:00 Paid Social   (48 h)
    #   D-1 12:00 Email         (24 h)
    #   D   06:00 Direct        ( 6 h)
    #   D   13:00 Organic Search (after the payment: not in the journey, but a session of D)
    web.hit(at(D - 4 * DAY, 10), "dev", 1, utm=PAID_SEARCH)
    web.hit(at(D - 2 * DAY, 12), "dev", utm=PAID_SOCIAL)
    web.hit(at(D - DAY, 12), "dev", utm=EMAIL)
    web.hit(at(D, 6), "dev")
    web.hit(at(D, 13), "dev", ref="https://www.google.com/")
    web.pay(1, at(D, 12), 100)
    r = web.report(cfg)
    assert (r.model, r.lookback_days, r.session_timeout_minutes) == ("last_non_direct", 3, 30)
    assert (r.sessions, r.users, r.payments, r.revenue, r.unattributed_payments) == (2, 1, 1, 100.0, 0)
    # last non-direct skips the final Direct session and credits Email
    assert by_channel(r.channels) == {
        "Email": (0, 0, 1.0, 100.0),
        "Direct": (1, 1, 0.0, 0.0),
        "Organic Search": (1, 1, 0.0, 0.0),
    }
    assert credit(r, "first_touch")["Paid Social"] == (1.0, 100.0)
    assert credit(r, "last_touch")["Direct"] == (1.0, 100.0)
    third = round(1 / 3, 4), round(100 / 3, 4)
    assert credit(r, "linear") == {"Paid Social": third, "Email": third, "Direct": third, "Organic Search": (0, 0)}
    # 3 touches: 0.4 first, 0.4 last, the 0.2 middle share goes to the single middle touch
    pb = credit(r, "position_based")
    assert (pb["Paid Social"], pb["Email"], pb["Direct"]) == ((0.4, 40.0), (0.2, 20.0), (0.4, 40.0))
    # time decay: weights 0.5^(48/168), 0.5^(24/168), 0.5^(6/168), normalised
    w = [0.5 ** (48 / 168), 0.5 ** (24 / 168), 0.5 ** (6 / 168)]
    td = credit(r, "time_decay")
    for ch, wi in zip(("Paid Social", "Email", "Direct"), w):
        assert td[ch] == (round(wi / sum(w), 4), round(100 * wi / sum(w), 4))
    assert td["Direct"][0] == pytest.approx(0.3611, abs=1e-4)  # 0.9755 / (0.8203 + 0.9057 + 0.9755)
    for model in r.models:  # every model hands out exactly one conversion
        assert sum(c for c, _ in credit(r, model).values()) == pytest.approx(1.0, abs=1e-3)


def test_payment_with_no_session_in_the_window_is_unattributed(web, cfg):
    web.hit(at(D - 5 * DAY, 10), None, 2, utm=PAID_SEARCH)  # 5 days before: outside the window
    web.pay(2, at(D, 10), 40)
    web.pay(3, at(D, 11), 60)  # user 3 has no web data at all
    r = web.report(cfg)
    assert (r.payments, r.revenue, r.unattributed_payments, r.unattributed_revenue) == (2, 100.0, 2, 100.0)
    for rows in r.models.values():  # a separate last row, so each model still adds up to 2
        assert by_channel(rows) == {"Unattributed": (0, 0, 2.0, 100.0)}


def test_all_direct_journey_goes_to_direct(web, cfg):
    web.hit(at(D, 9), "d3", 3)
    web.hit(at(D, 11), "d3")  # two Direct sessions (2 hours apart)
    web.pay(3, at(D, 12), 10)
    r = web.report(cfg)
    assert by_channel(r.channels) == {"Direct": (2, 1, 1.0, 10.0)}
    assert credit(r, "markov") == {"Direct": (1.0, 10.0)}


def test_two_touch_journey_under_position_based_is_half_and_half(web, cfg):
    web.hit(at(D, 9), "d4", 4, utm=PAID_SEARCH)
    web.hit(at(D, 10), "d4", utm=EMAIL)
    web.pay(4, at(D, 11), 80)
    r = web.report(cfg)
    assert credit(r, "position_based") == {"Paid Search": (0.5, 40.0), "Email": (0.5, 40.0)}


def test_two_payments_of_one_user_share_sessions(web, cfg):
    # sessions A = Paid Search at 01:00 and B = Email at 03:00; payments 50 at 02:00 and 30 at 04:00.
    # Payment 1's journey is [A]; payment 2's is [A, B]: each payment has its own journey.
    web.hit(at(D, 1), "d5", 5, utm=PAID_SEARCH)
    web.hit(at(D, 3), "d5", utm=EMAIL)
    web.pay(5, at(D, 2), 50)
    web.pay(5, at(D, 4), 30)
    r = web.report(cfg)
    assert credit(r, "last_non_direct") == {"Paid Search": (1.0, 50.0), "Email": (1.0, 30.0)}
    assert credit(r, "first_touch") == {"Paid Search": (2.0, 80.0), "Email": (0, 0)}
    # linear: payment 1 gives A 1 (50); payment 2 gives A and B 0.5 each (15 each)
    assert credit(r, "linear") == {"Paid Search": (1.5, 65.0), "Email": (0.5, 15.0)}
    assert (r.sessions, r.users) == (2, 1)


def test_markov_removal_effect_solved_by_hand():
    # Paths: A -> conv, A -> B -> conv, B -> null.
    # P(start->A) = 2/3, P(start->B) = 1/3, A: conv 1/2, B 1/2; B: conv 1/2, null 1/2.
    # x_B = 1/2, x_A = 1/2 + 1/2 * 1/2 = 3/4, x_start = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
    # Without A: x_start = 1/3 * 1/2 = 1/6 -> effect 1 - (1/6)/(2/3) = 3/4.
    # Without B: x_A = 1/2, x_start = 2/3 * 1/2 = 1/3 -> effect 1 - (1/3)/(2/3) = 1/2.
    # Shares: 0.75 / 1.25 = 0.6 and 0.5 / 1.25 = 0.4.
    counts = {(START, "A"): 2, (START, "B"): 1, ("A", CONVERSION): 1, ("A", "B"): 1, ("B", CONVERSION): 1, ("B", NULL): 1}
    assert markov_shares(counts) == pytest.approx({"A": 0.6, "B": 0.4})
    assert markov_shares({}) == {}
    assert markov_shares({(START, "A"): 3, ("A", NULL): 3}) == {}  # no conversions, no credit


def test_markov_model_on_the_database(web, cfg):
    # The same paths as above, with A = Paid Search and B = Email; the non-converting path B -> null
    # is an anonymous device with an Email session and no payment.
    web.hit(at(D, 1), None, 1, utm=PAID_SEARCH)
    web.pay(1, at(D, 2), 100)
    web.hit(at(D, 1), None, 2, utm=PAID_SEARCH)
    web.hit(at(D, 3), None, 2, utm=EMAIL)
    web.pay(2, at(D, 4), 100)
    web.hit(at(D, 5), "x", utm=EMAIL)
    r = web.report(cfg)
    # 2 conversions and 200 revenue split 0.6 / 0.4
    assert credit(r, "markov") == {"Paid Search": (1.2, 120.0), "Email": (0.8, 80.0)}


def test_experiment_users_are_left_out(web, cfg):
    web.db.events((9, "Переход на ДУ (ДУ начался)", at(D - DAY, 10)))
    web.hit(at(D, 9), None, 9, utm=PAID_SEARCH)
    web.pay(9, at(D, 10), 500)
    web.hit(at(D, 9), "anon")  # an anonymous device still counts
    r = web.report(cfg)
    assert (r.sessions, r.users, r.payments) == (1, 1, 0)
    assert by_channel(r.channels) == {"Direct": (1, 1, 0.0, 0.0)}


def test_user_touches_and_acquisition_channel(web, cfg):
    web.hit(at(D - 10 * DAY, 9), "u7", 7, ref="https://yandex.ru/")  # Organic Search
    web.hit(at(D - 5 * DAY, 9), "u7", utm=PAID_SEARCH)
    web.hit(at(D - 2 * DAY, 9), "u7")  # Direct
    web.pay(7, at(D - DAY, 9), 10)  # first payment: 3 sessions before it
    web.hit(at(D, 9), "u7", utm=PAID_SOCIAL)
    web.hit(at(D + DAY, 9), "u7", utm=EMAIL)  # after T: ignored
    t = web.touches(cfg, [7, 8])
    assert t[7] == touches.UserTouches(
        user_id=7, first_touch="Organic Search", last_touch="Paid Social", first_paid_touch="Paid Search",
        last_paid_touch="Paid Social", first_payment_at=at(D - DAY, 9), sessions_before_first_payment=3, sessions=4,
    )
    assert t[8].first_touch is None and t[8].sessions == 0 and t[8].sessions_before_first_payment is None
    with web.engine.begin() as conn:
        assert touches.user_channel(conn, web.src, cfg, ReportDay(D), [7, 8]) == {7: "Organic Search"}


def test_every_model_is_reported_and_default_follows_config(web, cfg):
    import dataclasses

    web.hit(at(D, 9), None, 1, utm=PAID_SEARCH)
    web.pay(1, at(D, 10), 5)
    cfg = dataclasses.replace(cfg, attribution=dataclasses.replace(cfg.attribution, model="linear"))
    r = web.report(cfg)
    assert set(r.models) == {"last_non_direct", "first_touch", "last_touch", "linear", "position_based", "time_decay", "markov"}
    assert r.model == "linear" and r.channels == r.models["linear"]


def test_naive_timestamps_in_data_timezone(make_source, engine, cfg):
    from datetime import datetime

    from db.state import migrate
    from tests.test_attribution_fixtures import Web

    src = make_source(naive=True, data_timezone="Europe/Moscow")
    migrate(engine, f"st_{src.schema}")
    w = Web(src, f"st_{src.schema}")
    # naive wall clock in Moscow: 00:10 on D is 21:10 UTC on D-1, so in a Moscow report it is on D
    w.hit(datetime(2024, 3, 14, 0, 10), "n", 1, utm=PAID_SEARCH)
    w.hit(datetime(2024, 3, 13, 23, 50), "n")  # 20 minutes earlier, but the day before: own session
    w.pay(1, datetime(2024, 3, 14, 0, 30), 10)
    r = w.report(cfg, tz="Europe/Moscow")
    assert by_channel(r.channels) == {"Paid Search": (1, 1, 1.0, 10.0)}
    utc = w.report(cfg, tz="UTC")  # in UTC all of it happened on D-1
    assert (utc.sessions, utc.payments) == (0, 0)


def test_a_source_name_with_a_quote_and_a_colon_is_bound_not_spliced(web, cfg):
    # "o'brien :ads" in SQL text would end the literal at the quote, and its ":ads" would be read
    # by SQLAlchemy as a bind parameter; bound, it is just a name of the search engine list.
    import dataclasses

    odd = "o'brien :ads"
    cfg = dataclasses.replace(cfg, attribution=dataclasses.replace(
        cfg.attribution, search_sources=(*cfg.attribution.search_sources, odd)))
    web.hit(at(D, 9), None, 4, utm=(odd, "cpc"))
    web.pay(4, at(D, 10), 30)
    web.hit(at(D, 9), "d5", utm=(odd, "organic"))
    r = web.report(cfg)
    assert by_channel(r.channels) == {"Paid Search": (1, 1, 1.0, 30.0), "Organic Search": (1, 1, 0.0, 0.0)}
    assert web.touches(cfg, [4])[4].first_paid_touch == "Paid Search"
    with web.engine.begin() as conn:
        assert touches.user_channel(conn, web.src, cfg, ReportDay(D), [4]) == {4: "Paid Search"}


def test_the_journeys_are_built_once_per_report(web, cfg):
    # unattributed payments, rule credits and Markov transitions all read D's journeys
    web.hit(at(D - DAY, 9), None, 1, utm=PAID_SEARCH)
    web.hit(at(D, 9), None, 1, utm=EMAIL)
    web.pay(1, at(D, 10), 20)
    web.pay(2, at(D, 11), 5)
    web.update(cfg)
    with statements(web.engine) as seen:
        r = web.report(cfg)
    assert len([s for s in seen if "partition by d.payment_id" in s]) == 1
    assert (r.payments, r.unattributed_payments) == (2, 1)
    none = {"Unattributed": (1.0, 5.0)}  # user 2 has no session
    # User 1's journey is Paid Search (D-1 09:00, 25 h before paying) -> Email (D 09:00): first
    # touch gives the 20 to Paid Search.
    assert credit(r, "first_touch") == {"Paid Search": (1.0, 20.0), "Email": (0.0, 0.0)} | none
    # Markov: one path start -> Paid Search -> Email -> conv and no idle key (user 1 paid, user 2
    # has no session). Removing either channel leaves no conversion: both effects 1, shares 1/2
    # each of the one attributed payment and its 20.
    assert credit(r, "markov") == {"Paid Search": (0.5, 10.0), "Email": (0.5, 10.0)} | none



def test_markov_idle_journeys_start_at_t_minus_lookback_across_a_dst_change(web, cfg):
    # New York, D = 2026-03-09: clocks went forward on 03-08, so T (03-10 00:00 EDT, 04:00 UTC)
    # minus the 72-hour lookback is 03-06 23:00 EST, on local day D-3, not D-2. The store is read
    # by local day; an idle session at 03-06 23:30 is inside [T - 72 h, T) and must be read, one at
    # 22:30 must not. Paths as in test_markov_model_on_the_database (A = Paid Search, B = Email):
    # A -> conv, A -> B -> conv, and the idle B -> null of device "x" at 23:30: shares 0.6 / 0.4.
    # Read without it: A 2/3, B 1/3; with device "y" at 22:30 too: A 4/7, B 3/7.
    ny = ZoneInfo("America/New_York")
    d = date(2026, 3, 9)
    web.hit(at(d, 9, tz=ny), None, 1, utm=PAID_SEARCH)
    web.pay(1, at(d, 10, tz=ny), 100)
    web.hit(at(d, 9, tz=ny), None, 2, utm=PAID_SEARCH)
    web.hit(at(d, 11, tz=ny), None, 2, utm=EMAIL)
    web.pay(2, at(d, 12, tz=ny), 100)
    web.hit(at(date(2026, 3, 6), 23, 30, tz=ny), "x", utm=EMAIL)
    web.hit(at(date(2026, 3, 6), 22, 30, tz=ny), "y", utm=EMAIL)
    r = web.report(cfg, day=d, tz="America/New_York")
    assert credit(r, "markov") == {"Paid Search": (1.2, 120.0), "Email": (0.8, 80.0)}
