"""Every chart renders for normal, empty and extreme data: a real PNG, 1080 px wide, under 1 MB,
no missing-glyph warnings (Cyrillic must render), never a crash.

The sample builders here are also used to render the review images:
`python -m tests.test_charts /tmp/charts` writes every sample as a PNG.
"""
from __future__ import annotations

import io
import re
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from charts import render_charts
from charts.labels import cells, shorten, wrap
from charts.render import render_one, renderer
from charts.style import WIDTH_PX
from db.i18n.formats import fmt_num, fmt_pct
from metrics.attribution import AttributionResult, ChannelRow
from metrics.campaigns import CampaignResult, CampaignRow
from metrics.config import ATTRIBUTION_MODELS as MODELS
from metrics.day import ReportDay
from metrics.funnel import FunnelResult, FunnelSegment, FunnelStep
from metrics.hanging import AgeBucket, HangingResult, PipelineStatus
from metrics.new_payers import NewPayersResult, PayersDay
from reports.registry import charts as chart_specs

D = date(2024, 3, 14)
EVENTS = ["Создание заявки", "Назначение задачи на звонок 1Л", "Ученик ответил на звонок оператора 1л",
          "Назначение ВУ", "Выход МВУ на ВУ", "Успешный ВУ", "purchase"]
LONG = ("Очень длинное русское название события воронки продаж с уточнениями " * 8)[:500]
BUCKETS = [("1-2", 1, 2), ("3-7", 3, 7), ("8-30", 8, 30)]


# ---- sample builders -----------------------------------------------------------------------

def pipeline(name: str, hanging: int, open_: int, today: int, ages: list[int]) -> PipelineStatus:
    buckets = [AgeBucket(label, lo, hi, n) for (label, lo, hi), n in zip(BUCKETS, ages)]
    return PipelineStatus(name, "Создание заявки", 24.0, hanging, open_, today, buckets)


def hanging_normal() -> HangingResult:
    return HangingResult(D, 30, [
        pipeline("Open requests", 37, 4, 5, [20, 12, 5]),
        pipeline("First line", 120, 14, 22, [80, 30, 10]),
        pipeline("Second line", 0, 3, 0, [0, 0, 0]),
        pipeline("Intro-lesson payment", 9, 1, 2, [5, 4, 0]),
    ])


def hanging_extreme() -> HangingResult:
    # 30 pipelines with 500-character names; one has buckets that do not cover its total ("other").
    pipes = [pipeline(f"{i}. {LONG}", i * 3, i, i % 4, [i, i, i]) for i in range(30)]
    pipes.append(pipeline("gappy", 50, 0, 0, [10, 0, 0]))
    return HangingResult(D, 30, pipes)


def steps(n: int, ratios: list[float], events: list[str] = EVENTS) -> list[FunnelStep]:
    out, prev = [], None
    for i, (ratio, event) in enumerate(zip(ratios, events)):
        users = int(n * ratio)
        out.append(FunnelStep(event, users, users / n if n else None,
                              None if i == 0 else (users / prev if prev else None),
                              None if i == 0 else 3.5 * i * i))
        prev = users
    return out


RATIOS = [1, 0.82, 0.61, 0.44, 0.31, 0.22, 0.09]


def funnel_normal() -> FunnelResult:
    segs = [FunnelSegment("cluster", name, n, steps(n, [r ** k for r in RATIOS]))
            for name, n, k in [("reached Успешный ВУ fast", 400, 0.5), ("stalled after Назначение ВУ", 700, 1.5),
                               ("called but never answered", 300, 3), ("browsers", 834, 1)]]
    segs += [FunnelSegment("channel", c, n, steps(n, RATIOS)) for c, n in [("Paid Search", 900), ("Direct", 300)]]
    return FunnelResult(D, D - timedelta(days=6), D, 14, steps(2234, RATIOS), segs)


def funnel_extreme() -> FunnelResult:
    # One step only, a 500-character event name, 12 segments with 500-character names.
    segs = [FunnelSegment("cluster" if i % 2 else "channel", f"{i} {LONG}", 5, steps(5, [1], [LONG]))
            for i in range(12)]
    return FunnelResult(D, D - timedelta(days=6), D, 14, steps(10, [1], [LONG]), segs)


def payers(days: int = 30, scale: float = 1.0) -> NewPayersResult:
    daily = []
    for i in range(days):
        d = D - timedelta(days=days - 1 - i)
        n = 5 + (i * 7) % 20
        daily.append(PayersDay(d, n, n * 4000.0 * scale, n * 2, n + 3, n * 9000.0 * scale))
    today = daily[-1]
    d1, d7 = PayersDay(D - timedelta(days=1)), PayersDay(D - timedelta(days=7))
    return NewPayersResult(D, today.new_payers, today.new_payer_revenue, today.payments,
                           today.paying_users, today.revenue, d1, d7, daily)


def payers_empty() -> NewPayersResult:
    daily = [PayersDay(D - timedelta(days=29 - i)) for i in range(30)]
    return NewPayersResult(D, 0, 0.0, 0, 0, 0.0, daily[-2], daily[-8], daily)


CHANNELS = ["Paid Search", "Organic Search", "Direct", "Paid Social", "Email", "Referral", "Unattributed"]


def attribution_normal() -> AttributionResult:
    models = {}
    for k, model in enumerate(MODELS):
        models[model] = [ChannelRow(c, 0 if c.startswith("(") else 100 * (i + 1), 80 * (i + 1),
                                    round((7 - i) * (1 + 0.15 * ((k + i) % 3 - 1)), 2),
                                    (7 - i) * 5200.0 * (1 + 0.2 * ((k * i) % 3 - 1)))
                         for i, c in enumerate(CHANNELS)]
    return AttributionResult(D, "last_non_direct", 3, 30, models["last_non_direct"], models)


def attribution_extreme() -> AttributionResult:
    rows = [ChannelRow(f"{i} {LONG}", 10**6, 10**6, 0.333, 1e9 / (i + 1)) for i in range(40)]
    return AttributionResult(D, "markov", 3, 30, rows, {"markov": rows, "linear": rows[:3]})


def campaign_row(channel: str, campaign: str | None, sent: int, revenue: float, cost: float) -> CampaignRow:
    blocked = sent // 20
    reasons = {"unsubscribed": blocked // 2, "invalid_number": blocked - blocked // 2} if blocked else {}
    return CampaignRow(channel, campaign, sent, blocked, reasons, sent // 100,
                       sent // 4 if channel == "email" else 0, sent // 30, sent // 300, sent // 200,
                       revenue, cost, revenue / cost if cost else None)


def campaigns_normal() -> CampaignResult:
    camps = [campaign_row("email", "spring_sale_2024", 12000, 84000.0, 0.0),
             campaign_row("email", None, 300, 0.0, 0.0),
             campaign_row("sms", "Напоминание о пробном уроке", 2300, 45000.0, 115.0),
             campaign_row("sms", "promo_code_march", 900, 0.0, 45.0),
             campaign_row("push", "daily_digest", 150000, 3100.0, 0.0)]
    chans = [campaign_row("email", None, 12300, 84000.0, 0.0), campaign_row("sms", None, 3200, 45000.0, 160.0),
             campaign_row("push", None, 150000, 3100.0, 0.0)]
    return CampaignResult(D, chans, camps)


def campaigns_extreme() -> CampaignResult:
    camps = [campaign_row("sms", f"{i} {LONG}", 10**9, 1e12, 1.0) for i in range(60)]
    return CampaignResult(D, [campaign_row("sms", None, 6 * 10**10, 6e13, 60.0)], camps)


NORMAL = {"hanging": hanging_normal, "new_payers": payers, "funnel": funnel_normal,
          "attribution": attribution_normal, "campaigns": campaigns_normal}
EMPTY = {"hanging": lambda: HangingResult(D, 30, []), "new_payers": payers_empty,
         "funnel": lambda: FunnelResult(D, D - timedelta(days=6), D, 14, [], []),
         "attribution": lambda: AttributionResult(D, "last_non_direct", 3, 30),
         "campaigns": lambda: CampaignResult(D)}
EXTREME = {"hanging": hanging_extreme, "new_payers": lambda: payers(1, 1e6), "funnel": funnel_extreme,
           "attribution": attribution_extreme, "campaigns": campaigns_extreme}


# ---- tests ---------------------------------------------------------------------------------

def _check_png(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) < 1_000_000
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.width == WIDTH_PX  # 1080 px: sharp on a phone
    assert 300 <= image.height <= 2600
    return image


def _render_strict(name: str, result, locale: str) -> bytes:
    # Missing glyphs (e.g. Cyrillic in a font without it) are warnings in matplotlib: fail on any.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render = renderer(chart_specs()[name])
        return render(result, D, locale)  # the raw renderer: no fallback may hide a crash


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("kind", ["normal", "empty", "extreme"])
@pytest.mark.parametrize("name", list(chart_specs()))
def test_every_chart_renders(name, kind, locale):
    result = {"normal": NORMAL, "empty": EMPTY, "extreme": EXTREME}[kind][name]()
    image = _check_png(_render_strict(name, result, locale))
    if kind == "empty":
        assert image.height < 500  # the small 'no data for D' card, not an empty chart frame


def _ink_columns(png: bytes) -> int:
    """How many pixel columns hold any non-white pixel: a blank image has none."""
    gray = Image.open(io.BytesIO(png)).convert("L")
    bbox = Image.eval(gray, lambda v: 255 - v).getbbox()
    return 0 if bbox is None else bbox[2] - bbox[0]


def test_charts_are_not_blank_and_differ_from_the_empty_card():
    for name in chart_specs():
        normal = _render_strict(name, NORMAL[name](), "ru")
        empty = _render_strict(name, EMPTY[name](), "ru")
        assert _ink_columns(normal) > WIDTH_PX // 2
        assert Image.open(io.BytesIO(normal)).height > Image.open(io.BytesIO(empty)).height


def test_render_charts_follows_outcomes():
    class Outcome:  # the shape of reports.digest.MetricOutcome (charts must not import reports)
        def __init__(self, result=None, skipped=None):
            self.result, self.skipped = result, skipped

    outcomes = {name: Outcome(make()) for name, make in NORMAL.items()}
    outcomes["attribution"] = Outcome(skipped="no table web_events")
    charts = render_charts(outcomes, ReportDay(D, "Europe/Moscow"), "ru", charts=chart_specs())
    assert [n for n, _ in charts] == ["hanging", "new_payers", "funnel", "campaigns"]
    for _, png in charts:
        _check_png(png)


def test_a_broken_result_gets_the_no_data_image_not_an_exception():
    broken = HangingResult(D, 30, [None])  # nobody's contract allows this; the digest survives it
    _check_png(render_one(chart_specs()["hanging"], broken, D, "en"))


def test_charts_do_not_import_reports_or_db():
    # Charts are pure: no SQL, no reports. Of db they may read the catalogue (db.i18n: words and
    # CLDR formats), which lives on the floor every package stands on.
    for path in Path(__file__).resolve().parents[1].joinpath("charts").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(reports|db(?!\.i18n\b)|sqlalchemy)\b", text, re.MULTILINE), path


def test_label_helpers():
    assert fmt_num(12345.6, "ru", 1) == "12\u00a0345,6"
    assert fmt_num(12345.6, "en", 1) == "12,345.6"
    assert fmt_num(-0.0001, "en", 1) == "0.0"
    assert fmt_pct(0.0456, "ru") == "4,6%"
    assert fmt_pct(0.25, "en", signed=True) == "+25%"
    assert shorten(LONG, 20).endswith("…") and len(shorten(LONG, 20)) == 20
    wrapped = wrap(LONG, 24, 2).split("\n")
    assert len(wrapped) == 2 and all(len(x) <= 24 for x in wrapped) and wrapped[-1].endswith("…")
    assert all(len(x) <= 10 for x in wrap("x" * 500, 10, 3).split("\n"))


def test_shorten_counts_display_columns():
    """A Chinese character is two columns wide (as wrap() counts): 20 of them shortened to
    width 20 fit 20 columns, not 40."""
    zh = "渠道名称非常非常长的广告活动名称测试用例"
    assert len(zh) == 20
    short = shorten(zh, 20)
    assert cells(short) <= 20 and short.endswith("…") and short != zh
    assert shorten("中文", 4) == "中文"


def write_samples(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, table in (("normal", NORMAL), ("empty", EMPTY), ("extreme", EXTREME)):
        for name, make in table.items():
            for locale in ("ru", "en") if kind == "normal" else ("ru",):
                path = out / f"{name}_{kind}_{locale}.png"
                path.write_bytes(_render_strict(name, make(), locale))
                paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/charts")):
        print(p)
