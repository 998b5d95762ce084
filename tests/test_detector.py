"""The detector of docs/normal.md on hand-built series (metrics.detector): growth, a zero where
5 are expected, 2 where 3 are, ties, a holiday, a shift that builds over 4 days, a driver split,
the projection after D, and the tails against scipy's distributions.

The series are exact (no random noise) where the answer is worked out from the generating rule:
a level times a weekday profile is recovered to within 1%, a constant series to 1e-3.
"""
from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats

from metrics import new_payers
from metrics.baselines import Series
from metrics.baselines.section8 import baseline_of
from metrics.detector.check import HISTORY_DAYS, History, check
from metrics.detector.drivers import Part, contributions
from metrics.detector.numbers import COUNT, MONEY, RATE, TAILS
from metrics.detector.project import project
from metrics.detector.tails import Predictive, flagged

D = date(2024, 3, 14)  # a Thursday
PROFILE = (1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5)  # Monday ... Sunday
PAYERS = new_payers.NUMBERS[0].tail(keyed=False)  # new payers weigh 4: 3e-3 a side


def days_to(n: int, last: date = D) -> list[date]:
    return [last - timedelta(days=n - 1 - i) for i in range(n)]


def hist(values, kind=COUNT, totals=None, holidays=(), last=D) -> History:
    days = days_to(len(values), last)
    return History(kind, np.array(values, float), np.array([d.weekday() for d in days]),
                   np.array([d in holidays for d in days]), None if totals is None else np.array(totals, float))


def growing(n=HISTORY_DAYS + 1, weekly=1.05, level=100.0) -> tuple[list[date], list[float]]:
    """level x weekly^(weeks before D) x the weekday profile: +5% a week is +48% over 8 weeks."""
    days = days_to(n)
    return days, [level * weekly ** ((d - D).days / 7) * PROFILE[d.weekday()] for d in days]


def test_a_growing_business_is_expected_to_grow():
    days, truth = growing()
    v = check(hist([round(x) for x in truth]), PAYERS)
    # D is on its trend (a Thursday: 100): expected within 1%, no verdict
    assert v.expected == pytest.approx(100, rel=0.01) and v.direction is None and v.low < 100 < v.high
    # section 8 read the same Thursdays' median: 1.05^-4.5 = 0.80 of today, so today looked high
    s = Series("new_payers", None, "new_payers", days[0], {d: float(round(x)) for d, x in zip(days, truth)})
    old = baseline_of(s, D)
    assert old.expected == pytest.approx(100 * 1.05 ** -4.5, rel=0.01)
    # and a Sunday on trend (50) is expected as a Sunday
    sunday = D + timedelta(days=3)
    days2, truth2 = days_to(HISTORY_DAYS + 1, sunday), []
    truth2 = [100 * 1.05 ** ((d - D).days / 7) * PROFILE[d.weekday()] for d in days2]
    v2 = check(hist([round(x) for x in truth2], last=sunday), PAYERS)
    assert v2.expected == pytest.approx(50 * 1.05 ** (3 / 7), rel=0.01) and v2.direction is None


def test_the_days_after_d_are_projected_by_weekday():
    _, truth = growing()
    got = project(hist([round(x) for x in truth]), [(D + timedelta(days=i)).weekday() for i in range(1, 8)])
    want = [100 * 1.05 ** (i / 7) * PROFILE[(D + timedelta(days=i)).weekday()] for i in range(1, 8)]
    assert got == pytest.approx(want, rel=0.015)  # Fri 100.7, Sat 70.7, Sun 50.6, ...
    assert project(hist([5.0] * 20), [0]) is None  # under 3 weeks: no model


def test_a_zero_where_five_are_expected_is_always_low_and_two_where_three_never():
    # over-dispersed around 5 (2 .. 8, a 4-day cycle across the weekdays): the count's own tail
    # at 0 is wide, the rule still holds
    wobbly = [3, 7, 2, 8] * 21
    v = check(hist(wobbly + [0]), PAYERS)
    assert v.expected == pytest.approx(5, abs=0.2) and v.direction == "low" and v.low == 1
    assert check(hist([3] * 84 + [2]), PAYERS).direction is None  # P(Y <= 2 | 3) = 0.42
    assert check(hist([3] * 84 + [0]), PAYERS).direction is None  # P(Y = 0 | 3) = 0.05
    # 4.9 expected (under 5): a zero is judged by its tail alone, e^-4.9 = 0.0074 > 0.003
    assert flagged(Predictive(COUNT, 4.9, 0.0), 0, PAYERS) == (None, pytest.approx(np.exp(-4.9)))
    assert flagged(Predictive(COUNT, 5.0, 0.0), 0, PAYERS)[0] == "low"


def test_ties_a_history_of_one_value_keeps_the_poisson_noise():
    # every day 10: the residuals' MAD is 0; the band is Poisson(10)'s at 3e-3 a side (3 .. 20:
    # P(Y <= 2) = .0028), a little wider for the fit's own uncertainty
    v = check(hist([10] * 84 + [13]), PAYERS)
    assert v.expected == pytest.approx(10, abs=1e-3) and v.direction is None
    assert (stats.poisson(10).ppf(PAYERS), stats.poisson(10).ppf(1 - PAYERS)) == (3, 20)
    assert v.low in (2, 3) and 20 <= v.high <= 22
    assert check(hist([10] * 84 + [25]), PAYERS).direction == "high"
    # a rate of exactly 10% of 200 every day: beta-binomial without extra spread = binomial(200, .1)
    r = check(hist([20] * 84 + [20], RATE, [200] * 85), PAYERS)
    assert r.value == 0.1 and r.expected == pytest.approx(0.1, abs=1e-4) and r.direction is None
    assert r.low <= stats.binom(200, 0.1).ppf(PAYERS) / 200 and r.high >= stats.binom(200, 0.1).ppf(1 - PAYERS) / 200
    assert check(hist([20] * 84 + [4], RATE, [200] * 85), PAYERS).direction == "low"  # 2% of 200


def test_a_holiday_has_no_verdict_and_is_left_out_of_the_level():
    holiday = D - timedelta(days=10)
    values = [50.0] * 85
    values[-11] = 0.0  # the shop was closed
    with_holiday = check(hist(values, holidays={holiday}), PAYERS)
    unknown = list(values)
    unknown[-11] = float("nan")  # the same as a day without data
    assert with_holiday == check(hist(unknown), PAYERS)
    assert with_holiday.expected == pytest.approx(50, abs=1e-3)
    # D itself a holiday: its value, no band, no verdict
    off = check(hist([50.0] * 84 + [0.0], holidays={D}), PAYERS)
    assert (off.value, off.expected, off.low, off.direction) == (0.0, None, None, None)


def test_a_shift_that_builds_over_four_days_is_flagged_since_its_first_day():
    # 40 a day, then 30 27 24 22: D (22) alone is inside its band, the last 3 days (73 against
    # ~119) are not
    v = check(hist([40] * 81 + [30, 27, 24, 22]), PAYERS)
    assert v.low <= 22 <= v.high
    assert v.direction == "low" and v.window.days == 3 and v.window.value == 73
    assert v.window.expected == pytest.approx(120, rel=0.01) and v.window.high < 120 * 1.4
    assert v.since == HISTORY_DAYS - 3  # D-3: 30, the first day clearly below 40
    # one broken day is its own anomaly, not a shift of the days after it: each day is clipped to
    # its own band before the sum
    broken = check(hist([40] * 82 + [0, 40, 39]), PAYERS)
    assert broken.direction is None and broken.window is None


def test_the_driver_of_a_drop_is_the_slice_that_fell():
    def part(dim, key, values):
        return Part(dim, key, hist(values))

    parts = [part("channel", "Paid Search", [60] * 84 + [30]), part("channel", "Email", [40] * 84 + [40]),
             part("owner", "manager:ivanov", [50] * 84 + [35]), part("owner", "manager:popov", [50] * 84 + [35])]
    got = contributions(parts, 1, "low")
    # the number fell by 30: all of it Paid Search's; the owners share it, the first in order named
    assert [(c.dimension, c.key, c.value, c.expected) for c in got] == [
        ("channel", "Paid Search", 30, 60), ("owner", "manager:ivanov", 35, 50)]
    assert got[0].share == pytest.approx(1.0, abs=1e-3) and got[1].share == pytest.approx(0.5, abs=1e-3)
    # a three-way split: -20, -10, +5 -> the biggest fall is 20 of the net 25
    three = [part("channel", "A", [100] * 84 + [80]), part("channel", "B", [100] * 84 + [90]),
             part("channel", "C", [100] * 84 + [105])]
    (c,) = contributions(three, 1, "low")
    assert (c.key, c.share) == ("A", pytest.approx(0.8, abs=1e-3))
    # nothing moved the other way: no driver of a rise
    assert contributions(three[:2], 1, "high") == []


def test_rates_and_money_without_enough_to_judge_have_no_verdict():
    # a share of 12 on D: below 20 in the denominator, no verdict (a band, though)
    small = check(hist([20] * 84 + [0], RATE, [200] * 84 + [12]), PAYERS)
    assert small.value == 0 and small.direction is None and small.low is not None
    # money made of ~3 payments a day: too lumpy for a band of its own
    money = check(hist([3000.0] * 85, MONEY, [3] * 85), PAYERS)
    assert money.expected == pytest.approx(3000, rel=1e-3) and money.low is None and money.direction is None
    # 12 payments a day: a band; no money at all on such a day is low
    assert check(hist([12000.0] * 84 + [0.0], MONEY, [12] * 84 + [0]), PAYERS).direction == "low"


def test_tails_are_the_distributions_they_name():
    nb = Predictive(COUNT, 50.0, 0.05)  # variance 50 + .05 x 2500 = 175
    r = 1 / 0.05
    ref = stats.nbinom(r, r / (r + 50))
    assert nb.band(1e-3) == (ref.ppf(1e-3), ref.ppf(1 - 1e-3))
    assert nb.below(30) == pytest.approx(ref.cdf(30)) and nb.above(80) == pytest.approx(ref.sf(79))
    bb = Predictive(RATE, 0.3, 0.01, 40)
    k = 1 / 0.01 - 1
    ref = stats.betabinom(40, 0.3 * k, 0.7 * k)
    assert bb.band(1e-3) == (ref.ppf(1e-3) / 40, ref.ppf(1 - 1e-3) / 40)
    assert bb.below(5) == pytest.approx(ref.cdf(5)) and bb.above(20) == pytest.approx(ref.sf(19))
    # money: log-normal, each side its own spread (exp(-3.09 x .3) = .396, exp(3.09 x .2) = 1.856)
    m = Predictive(MONEY, 1000.0, 0.2, None, 0.3)
    low, high = m.band(1e-3)
    assert (low, high) == (pytest.approx(1000 * np.exp(-3.0902 * 0.3), rel=1e-4),
                           pytest.approx(1000 * np.exp(3.0902 * 0.2), rel=1e-4))
    # the tails spend the block's false-alarm budget on what matters most
    assert TAILS[4] > TAILS[3] > TAILS[2] > TAILS[1]
