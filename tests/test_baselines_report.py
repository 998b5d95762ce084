"""Issue 12's acceptance check: on seeded data with every payment of day D deleted, `salespulse
report --date D --format json` lists new_payers among the anomalies, low; the normal days before
it are (almost) never flagged. Plus the digest's words and chart for the bands."""
import json
import uuid
from datetime import date, timedelta

import pytest

from db.seed import Volumes, seed
from db.source import inspect_source
from db.state import migrate
from metrics.baselines import Baseline
from metrics.day import ReportDay
from reports.attention import attention_lines, describe
from reports.baselines import checked as daily_baselines
from reports.text import render_caption, render_text
from tests.test_cli import salespulse

START = date(2024, 1, 1)
D = date(2024, 3, 5)  # day 65 of 70: D-56 is day 9, when ~12 new payers a day come already
TZ = "Europe/Moscow"


@pytest.fixture(scope="module")
def payers_data(engine):
    # 6,000 users over 70 days: ~15 new payers a day; little web and message traffic (fast)
    schema = f"blr_{uuid.uuid4().hex[:8]}"
    seed(engine, schema, users=6000, days=70, start=START, seed=3, progress=False,
         volumes=Volumes(web_events_per_user_day=0.05, sends_per_user_day=0.02))
    with engine.begin() as conn:  # D's payments are lost, as in a broken import: local day D
        conn.exec_driver_sql(
            f"delete from \"{schema}\".payments where (transaction_created_at at time zone '{TZ}')::date = '{D}'")
    yield schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{schema}" cascade; drop schema if exists "{schema}_state" cascade')


def test_report_json_lists_the_missing_payers_as_low(payers_data, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": payers_data, "STATE_SCHEMA": f"{payers_data}_state"}
    proc = salespulse("report", "--date", D.isoformat(), "--timezone", TZ, "--format", "json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    keys = ["metric", "key", "field", "value", "expected", "low", "high", "direction"]
    assert doc["baselines"] and all(list(b)[:8] == keys for b in doc["baselines"] + doc["anomalies"])
    # section 12: the day a sustained shift began, the slices that moved it, the days summed
    assert all(list(b)[8:] == ["since", "drivers", "window"] for b in doc["baselines"] + doc["anomalies"])
    assert all(a in doc["baselines"] and a["direction"] in ("low", "high") for a in doc["anomalies"])
    assert {b["metric"] for b in doc["baselines"]} == {"new_payers", "hanging", "funnel", "attribution", "campaigns"}
    low = {(a["metric"], a["field"]): a for a in doc["anomalies"] if a["direction"] == "low"}
    np = low["new_payers", "new_payers"]
    assert np["key"] is None and np["value"] == 0 == doc["metrics"]["new_payers"]["new_payers"]
    assert np["low"] > 0 and np["expected"] >= 10
    assert ("new_payers", "revenue") in low and ("new_payers", "payments") in low
    # every checked number of the metric is in `baselines`, inside its band or not
    fields = {b["field"] for b in doc["baselines"] if b["metric"] == "new_payers"}
    assert fields == {"new_payers", "new_payer_revenue", "revenue", "payments"}

    text = salespulse("report", "--date", D.isoformat(), "--timezone", TZ, env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    block = lines[3:lines.index("", 3)]  # header, blank, heading, the block, blank
    assert lines[2] == "⚠️ Needs attention"
    assert any(x.startswith("▼ 0 new payers, usually ") for x in block), block


def test_normal_days_before_are_rarely_flagged(payers_data, engine, cfg):
    state = f"{payers_data}_st2"
    migrate(engine, state)
    flagged = []
    for k in range(1, 15):  # the two weeks before D
        day = ReportDay(D - timedelta(days=k), TZ)
        with engine.begin() as conn:
            src = inspect_source(conn, payers_data, state)
            b = {x.target: x for x in daily_baselines(conn, src, cfg, day, metrics=("new_payers",))}
        assert b["new_payers"].expected is not None  # every one of them has a verdict
        flagged += [day.day] if b["new_payers"].direction else []
    assert len(flagged) <= 1, flagged
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{state}" cascade')


def B(field, value, expected, low, high, direction, metric="new_payers", key=None):
    """A Baseline of a declared number (its kind, weight and target from its metric's spec)."""
    from reports.registry import number

    return Baseline(metric, key, field, value, expected, low, high, direction, number=number(metric, field))


def test_attention_words_in_both_languages():
    items = [
        B("new_payers", 3, 20, 13.6, 25.4, "low"),  # the whole numbers inside: 14-25
        B("revenue", 120_000.4, 50_000, 20_000.2, 80_000.7, "high"),
        B("breached_today", 9, 1, 0, 4, "high", "hanging", "First line"),
        B("sessions", 1, 30, 12.2, 47.9, "low", "attribution", "Paid Search"),
        B("block_share", 0.25, 0.05, 0.01, 0.09, "high", "campaigns", "email"),
        B("payments", 5, 5, 0, 11.7, None),  # inside: not in the block
    ]
    # significance x business weight (section 12). Without a tail probability (built by hand) the
    # significance is 3 x the band half-widths outside: block share .20/.04 = 5 -> 15, breaches
    # 8/3 = 2.67 -> 8, new payers 17/6.4 = 2.66 -> 7.97, revenue 70,000/30,001 = 2.33 -> 7, sessions
    # 29/17.9 = 1.62 -> 4.86; weights: payers and money 4, block share and breaches 2, a channel's
    # sessions 1 -> 31.9, 30, 28, 16, 4.86
    assert attention_lines(items, "en") == [
        "⚠️ Needs attention",
        "▼ 3 new payers, usually 14–25",
        "▲ email: 25% of messages blocked, usually 1%–9%",
        "▲ revenue 120,000, usually 20,000–80,001",
        "▲ First line: 9 past SLA today, usually 0–4",
        "▼ Paid Search: 1 session, usually 13–47",
    ]
    assert attention_lines(items, "ru")[3:6] == [
        "▲ выручка: 120\u00a0000, обычно 20\u00a0000–80\u00a0001",
        "▲ First line: 9 сверх SLA за день, обычно 0–4",
        "▼ Paid Search: сессий 1, обычно 13–47",
    ]
    # at most 5 lines: 4 items, then a line counting the rest
    many = [B("sessions", 100 + i, 10, 0, 20, "high", "attribution", f"ch{i}") for i in range(11)]
    block = attention_lines(many, "en")
    assert len(block) == 6 and block[1].startswith("▲ ch10: 110 sessions") and block[-1] == (
        "• 7 more outside their usual band")
    assert attention_lines(many, "ru")[-1] == "• ещё 7 вне обычного диапазона"
    assert len(attention_lines(many[:5], "en")) == 6  # five fit without a count
    assert describe(B("new_payers", 1, 20, 13.6, 25.4, "low"), "en") == "▼ 1 new payer, usually 14–25"
    assert attention_lines(items[-1:], "en") == []  # nothing outside its band: no block


def test_digest_text_opens_with_the_block_and_reads_bands(cfg):
    from tests.test_text import normal

    outcomes = normal()
    base = [B("new_payers", outcomes["new_payers"].result.new_payers, 40, 10.2, 60.3, "low"),
            B("revenue", outcomes["new_payers"].result.revenue, outcomes["new_payers"].result.revenue,
              0, 10 ** 9, None)]
    day = ReportDay(date(2024, 3, 14), "Europe/Moscow")
    text = render_text(outcomes, day, "en", baselines=base).splitlines()
    assert text[1:3] == ["", "⚠️ Needs attention"] and text[3].startswith("▼ ")
    payers = next(x for x in text if x.startswith("💰 New payers:"))
    assert payers.endswith("(⚠️ usually 11–60)")
    revenue = next(x for x in text if x.startswith("Revenue:"))
    assert "(as usual, 0–" in revenue and "D-7" not in revenue
    assert "vs D-7" in next(x for x in text if x.startswith("Payments:"))  # no band: the arrows
    ru = render_caption(outcomes, day, "ru", baselines=base)
    assert "⚠️ Требует внимания" in ru and "(⚠️ обычно 11–60)" in ru
    plain = render_text(outcomes, day, "en")
    assert "Needs attention" not in plain and "as usual" not in plain


def test_new_payers_chart_shades_the_band(cfg):
    from charts.render import render_all
    from reports.registry import charts as chart_specs
    from tests.test_text import normal

    outcomes = normal()
    day = ReportDay(date(2024, 3, 14), "UTC")
    base = [B("new_payers", 1, 40, 10, 60, "low"), B("revenue", 1, 4000, 1000, 9000, "low")]
    shaded = dict(render_all(outcomes, day, "en", base, chart_specs()))["new_payers"]
    plain = dict(render_all(outcomes, day, "en", (), chart_specs()))["new_payers"]
    assert shaded.startswith(b"\x89PNG") and shaded != plain
    # The shade itself, not only its legend entry: band-coloured pixels (charts.new_payers.BAND_COLOR
    # at 35% over white) fill D's column, the right edge of the panels, only when bands are given.
    # Not a metric: the band is 1.4 bar slots wide over both panels' height, ~9,600 pixels at 150
    # dpi (counted), and a chart without it has fewer than 100 there (anti-aliased edges).
    assert _band_pixels_right(shaded) > 3000 and _band_pixels_right(plain) < 100


def _band_pixels_right(png: bytes) -> int:
    import io

    import numpy as np
    from PIL import Image

    from charts.new_payers import BAND_COLOR

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    band = np.array([int(BAND_COLOR[i: i + 2], 16) for i in (1, 3, 5)])
    on_white = 0.35 * band + 0.65 * 255
    right = rgb[:, rgb.shape[1] * 88 // 100:]  # D is the last of 30 bars
    return int((np.abs(right - on_white).max(axis=2) <= 3).sum())
