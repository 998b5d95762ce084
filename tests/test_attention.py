"""The block of docs/normal.md in words: drivers, sustained shifts, the ranking by significance x
business weight, the 5% rule for slices, at most 5 lines."""
from datetime import date

from metrics.baselines import Baseline, Driver, WindowSum
from reports.attention import attention_lines, describe, ranked, significance
from reports.registry import number


def B(field, value, expected, low, high, direction, metric="new_payers", key=None, **kw):
    """A Baseline of a declared number (its kind, weight and target from its metric's spec)."""
    return Baseline(metric, key, field, value, expected, low, high, direction, number=number(metric, field), **kw)


def test_an_anomaly_names_its_driver():
    b = B("new_payers", 9, 20, 14, 25, "low", p=1e-5,
          drivers=(Driver("channel", "Paid Search", 4, 10, 0.55), Driver("owner", "manager:ivanov", 3, 8, 0.45)))
    assert describe(b, "en") == "▼ 9 new payers, usually 14–25 · Paid Search −6"
    rev = B("revenue", 150_000, 100_000, 60_000, 140_000, "high", p=1e-4,
            drivers=(Driver("channel", "(unattributed)", 80_000, 30_000.4, 1.0),))
    assert describe(rev, "en") == "▲ revenue 150,000, usually 60,000–140,000 · (unattributed) +50,000"
    assert describe(rev, "ru").endswith("· (unattributed) +50\u00a0000")
    # everything fell together (the biggest slice made a third of it): no slice is blamed in the
    # line, the JSON still lists it
    flat = B("payments", 0, 50, 27, 80, "low", p=0.0, drivers=(Driver("owner", "manager:ivanov", 0, 16, 0.34),))
    assert describe(flat, "en") == "▼ 0 payments, usually 27–80"


def test_a_sustained_shift_reads_as_its_days_since_it_began():
    # D itself inside its band; the last 3 days below theirs
    b = B("payments", 80, 100, 70, 130, "low", since=date(2026, 10, 29), p=1e-4,
          window=WindowSum(3, 240, 300, 262, 340))
    assert describe(b, "en") == "▼ 240 payments in 3 days, usually 262–340, since 29 Oct"
    assert describe(b, "ru") == "▼ платежей: 240 за 3 дн., обычно 262–340, с 29.10"
    # D outside its own band too: the day's line, and since when
    day = B("payments", 50, 100, 70, 130, "low", since=date(2026, 10, 29), p=1e-6,
            window=WindowSum(3, 210, 300, 262, 340))
    assert describe(day, "en") == "▼ 50 payments, usually 70–130, since 29 Oct"


def test_the_block_ranks_by_significance_times_weight_and_leaves_small_slices_out():
    items = [
        B("sessions", 300, 100, 60, 140, "high", "attribution", "Push", p=1e-12, share=0.2),     # 12 x 1
        B("new_payers", 9, 20, 14, 25, "low", p=1e-4),                                            # 4 x 4
        B("step_conversion", 0.2, 0.5, 0.4, 0.6, "low", "funnel", "Назначение ВУ", p=1e-5),       # 5 x 3
        B("sessions", 9, 1, 0, 5, "high", "attribution", "Referral", p=1e-15, share=0.01),        # under 5%
        B("total", 900, 500, 400, 600, "high", "campaigns", "email", p=1e-7, share=0.5),           # 7 x 1
        B("breached_today", 30, 10, 4, 18, "high", "hanging", "First line", p=1e-7, share=0.4),   # 7 x 2
    ]
    assert [b.target for b in ranked(items)] == [
        "new_payers", "conversion.Назначение ВУ", "breached.First line", "sessions.Push", "sends.email"]
    assert significance(items[0]) == 12 and significance(B("revenue", 0, 9, 5, 12, "low", p=0.0)) == 15
    lines = attention_lines(items, "en")
    assert lines[0] == "⚠️ Needs attention" and len(lines) == 6  # five lines: the Referral slice stays out
    assert lines[2] == "▼ Назначение ВУ: step conversion 20%, usually 40%–60%"
    assert not any("Referral" in x for x in lines)
    assert attention_lines(items[3:4], "en") == []  # only a small slice: no block at all
