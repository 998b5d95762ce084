"""The baseline band on hand-built series (docs/normal.md); every number worked out in comments.

band: expected = median; spread = 1.4826 x MAD; half-width = 3 x max(spread, sqrt(expected), 1);
low clipped at 0. Rates: half-width = 3 x max(spread, sqrt(p(1-p)/n), 1/n), n = median denominator.
baseline_of (the detector): the spread is pooled over the 56 days when 28 of them can be used.
"""
from datetime import date, timedelta

import pytest

from metrics.baselines import Baseline, Series, history_days
from metrics.baselines.section8 import Band, band, baseline_of, pooled_spread, verdict

D = date(2024, 3, 14)  # a Thursday


def approx(b: Band | None, expected, low, high):
    assert b is not None
    assert (b.expected, b.low, b.high) == (pytest.approx(expected, abs=1e-4), pytest.approx(low, abs=1e-4),
                                           pytest.approx(high, abs=1e-4))


def test_fewer_than_four_weeks_has_no_verdict():
    assert band([5, 6, 7]) is None
    assert band([5, None, 6, None, 7, None, None, None]) is None  # days without data left out
    assert band([]) is None
    # four is enough: median (5+6)/2 = 5.5; |x-5.5| = .5 .5 .5 1.5 -> MAD .5, spread .7413;
    # sqrt(5.5) = 2.3452 wins -> half 7.0356
    approx(band([5, 6, 7, 4]), 5.5, 0.0, 12.5356)


def test_spread_wins_on_large_counts():
    # sorted 90 95 98 100 100 102 105 110: median 100; deviations sorted 0 0 2 2 5 5 10 10 -> MAD 3.5
    # spread 5.1891 < sqrt(100) = 10 -> half 30
    b = band([100, 110, 90, 105, 95, 100, 102, 98])
    approx(b, 100, 70, 130)
    assert [verdict(v, b) for v in (69, 70, 100, 130, 131)] == ["low", None, None, None, "high"]
    # a wide history: 10 10 10 10 50 50 50 50: median 30, every deviation 20 -> spread 29.652
    # half 88.956 -> low clipped at 0
    approx(band([10, 50] * 4), 30, 0, 118.956)


def test_zero_median_two_to_zero_is_not_an_alarm():
    # all zeros: expected 0, MAD 0, sqrt 0, the floor 1 -> band 0 .. 3
    b = band([0] * 8)
    approx(b, 0, 0, 3)
    assert [verdict(v, b) for v in (0, 3, 4)] == [None, None, "high"]
    # 2 usual: sqrt(2) = 1.414 -> half 4.2426; 0 is inside (low clipped at 0)
    b2 = band([2, 2, 2, 2, 2])
    approx(b2, 2, 0, 6.2426)
    assert verdict(0, b2) is None


def test_ties_in_the_median_and_the_mad():
    # even count: 14 14 20 20 20 20 25 25 -> median 20; deviations 6 6 0 0 0 0 5 5 -> sorted
    # 0 0 0 0 5 5 6 6 -> MAD (0+5)/2 = 2.5, spread 3.7065 < sqrt(20) = 4.4721 -> half 13.4164
    approx(band([14, 20, 25, 20, 14, 20, 25, 20]), 20, 6.5836, 33.4164)
    # six equal and two outliers: MAD 0, the outliers do not move the median (robustness)
    approx(band([20, 20, 20, 20, 20, 20, 500, 0]), 20, 6.5836, 33.4164)


def test_rates_use_the_binomial_floor_and_skip_small_denominators():
    # p = 0.1 every day, n = 100: spread 0, sqrt(.1 x .9 / 100) = 0.03 -> half 0.09
    b = band([0.1] * 5, [100] * 5)
    approx(b, 0.1, 0.01, 0.19)
    assert verdict(0.2, b, denominator=100) == "high"
    assert verdict(0.2, b, denominator=19) is None  # D's own denominator below 20: no verdict
    assert verdict(0.2, b, denominator=20) == "high"
    # one history day below 20 is left out: 4 remain, still a band
    approx(band([0.1, 0.1, 0.1, 0.9, 0.1], [100, 100, 100, 19, 100]), 0.1, 0.01, 0.19)
    # two below 20: 3 remain, no verdict
    assert band([0.1, 0.1, 0.9, 0.9, 0.1], [100, 100, 19, 5, 100]) is None
    # p = 0 (nothing ever converts), n = 50: sqrt(0) = 0, so one in 50 = 0.02 -> half 0.06
    approx(band([0.0] * 6, [50] * 6), 0, 0, 0.06)


def test_history_is_the_same_weekday_of_eight_weeks():
    days = history_days(D)
    assert days[0] == D - timedelta(days=7) and days[-1] == D - timedelta(days=56) and len(days) == 8
    assert {d.weekday() for d in days} == {D.weekday()}
    # across the spring-forward Sunday of Europe (2024-03-31) the days are calendar days
    assert history_days(date(2024, 4, 4))[0] == date(2024, 3, 28)


def test_days_before_the_data_begin_are_left_out():
    values = {D - timedelta(days=7 * k): 10.0 for k in range(1, 9)}
    # data begin on D-21: D-7, D-14, D-21 only -> 3 weeks, no verdict, whatever D is
    s = Series("new_payers", None, "new_payers", D - timedelta(days=21), values)
    b = baseline_of(s, D)
    assert b == Baseline("new_payers", None, "new_payers", 0.0, None, None, None, None)
    # from D-28: four weeks of 10 -> band 10 +- 3 sqrt(10) = 0.5132 .. 19.4868; D (no row) is 0: low
    s4 = Series("new_payers", None, "new_payers", D - timedelta(days=28), values)
    b4 = baseline_of(s4, D)
    assert (b4.value, b4.expected, b4.low, b4.high, b4.direction) == (0.0, 10.0, 0.5132, 19.4868, "low")
    # before the data begin, D itself has no value
    assert baseline_of(Series("new_payers", None, "new_payers", D + timedelta(days=1), {}), D).value is None
    # no data at all
    assert baseline_of(Series("new_payers", None, "new_payers", None, {}), D).expected is None


def test_a_rate_of_nothing_has_no_value():
    first = D - timedelta(days=56)
    hist = {D - timedelta(days=7 * k): 0.1 for k in range(1, 9)}
    dens = {d: 100.0 for d in hist}
    s = Series("campaigns", "email", "block_share", first, hist, dens)
    b = baseline_of(s, D)  # D has no sends: no value, no verdict, but a band
    assert (b.value, b.expected, b.direction) == (None, 0.1, None)


def test_targets_and_json_items():
    from reports.registry import number  # each number's target name is its metric's declaration

    def made(metric, key, field, *rest):
        return Baseline(metric, key, field, *rest, number=number(metric, field))

    b = made("hanging", "First line", "breached_today", 3.0, 1.0, 0.0, 4.0, None)
    assert b.target == "breached.First line"
    assert made("campaigns", "email", "total", 1, 1, 0, 4, None).target == "sends.email"
    assert made("campaigns", "email", "conversion_rate", 1, 1, 0, 4, None).target == "conversions.email"
    assert made("new_payers", None, "revenue", 1, 1, 0, 4, None).target == "revenue"
    keys = list(b.to_json())
    assert keys[:8] == ["metric", "key", "field", "value", "expected", "low", "high", "direction"]
    assert keys[8:] == ["since", "drivers", "window"]  # section 12 adds them
    assert (b.to_json()["since"], b.to_json()["drivers"], b.to_json()["window"]) == (None, [], None)


def test_the_spread_is_pooled_over_eight_weeks_of_every_weekday():
    # D's weekday (Thursday) is 10,000 every week: its own MAD is 0. Every other weekday moves by
    # -20% -10% -10% 0 0 +10% +10% +20% around its median (Saturdays and Sundays at 2,000: relative,
    # so they pool with the rest). Relative residuals: 8 zeros (Thursdays) + 6 x (2 zeros, 4 x .1,
    # 2 x .2) -> 20 zeros, 24 x .1, 12 x .2 -> MAD .1 -> relative spread .14826 -> 1,482.6 at 10,000
    # -> half 4,447.8 (> 3 sqrt(10,000) = 300)
    moves = [-0.2, -0.1, -0.1, 0, 0, 0.1, 0.1, 0.2]
    values = {}
    for i in range(1, 57):
        d = D - timedelta(days=i)
        level = 2000 if d.weekday() >= 5 else 10000
        values[d] = 10000.0 if d.weekday() == D.weekday() else level * (1 + moves[(i - 1) // 7])
    values[D] = 9000.0
    s = Series("new_payers", None, "revenue", D - timedelta(days=100), values)
    assert pooled_spread(s.value, D) == pytest.approx(0.14826)
    b = baseline_of(s, D)
    assert (b.expected, b.low, b.high, b.direction) == (10000.0, 5552.2, 14447.8, None)
    # the 8 Thursdays alone: MAD 0, half 3 x sqrt(10,000) = 300 -> 9,000 would be "low"
    alone = band([values[d] for d in history_days(D)])
    assert (alone.low, alone.high, verdict(9000.0, alone)) == (9700.0, 10300.0, "low")
    # three weeks of data: no weekday has 4 values -> no pooled spread (and no verdict anyway)
    short = Series("new_payers", None, "revenue", D - timedelta(days=21), values)
    assert pooled_spread(short.value, D) is None
