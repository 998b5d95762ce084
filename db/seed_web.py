"""Site tracking of the demo data (Segment style), the bulk of the rows.

Devices: every user's main device (logs in when the user sends the request), a second device for
some users (logs in later: cross-device identity), and anonymous visitors who never log in. An
`identify` row carries both ids; the device's later rows carry the user id too. Sessions start
with a campaign source (UTM, a search/social/other referrer, or nothing) and continue on internal
pages. Forced sessions make the metrics meaningful: the login session at the request, a checkout
session minutes before each payment and an earlier one within the 3-day lookback, and a landing
visit right after each human campaign click. Background sessions fill the daily volume.

Rows are produced session-chunk by session-chunk (generation order = time order), so memory
stays bounded; each chunk is sorted by (device, time), which keeps the index inserts local.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from db.seed_common import (
    DAY,
    HOUR,
    MINUTE,
    SITE,
    Volumes,
    daytime_seconds,
    ints_text,
    pick,
    ts_text,
    uniform_seconds,
    vocab,
)
from db.seed_messages import CAMPAIGNS, CHANNEL_UTM

PAGES = ("", "courses", "courses/english", "courses/python", "courses/math", "pricing", "trial",
         "blog", "blog/kak-vyuchit-angliyskiy", "blog/python-za-30-dney", "webinar", "reviews",
         "about", "account", "account/login", "checkout")
PAGE_WEIGHTS = (14, 12, 8, 8, 5, 9, 7, 6, 5, 4, 3, 4, 2, 5, 0, 2)
P = {p: i for i, p in enumerate(PAGES)}
PLATFORMS = ("web", "ios", "android")
EVENT_TYPES = ("page_view", "identify")

# Campaign sources: (weight, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
SOURCES = (
    (30, None, None, None, None, None, None),
    (8, "https://www.google.com/", None, None, None, None, None),
    (9, "https://yandex.ru/", None, None, None, None, None),
    (3, "https://vk.com/", None, None, None, None, None),
    (2, "https://t.me/", None, None, None, None, None),
    (1, "https://l.instagram.com/", None, None, None, None, None),
    (2, "https://habr.com/ru/articles/", None, None, None, None, None),
    (1, "https://pikabu.ru/", None, None, None, None, None),
    (6, "https://www.google.com/", "google", "cpc", "brand_search", "ad_1", "онлайн школа"),
    (1, None, "Google", "CPC", "Brand_Search", None, None),
    (7, "https://yandex.ru/", "yandex", "cpc", "generic_search", None, "курсы английского"),
    (1, None, "YANDEX", "CPC", "generic_search", None, None),
    (4, "https://vk.com/", "vk", "paid_social", "retarget_leads", "video", None),
    (2, "https://m.facebook.com/", "facebook", "cpc", "lookalike", "carousel", None),
    (1, None, "yandex", "display", "rsya_banners", "banner_300x250", None),
    (2, None, "newsletter", "email", "weekly_digest", None, None),
    (1, None, "sms", "sms", "promo_sms", None, None),
    (1, None, "push", "push", "app_push", None, None),
    (2, "https://cashback.example/", "partners", "affiliate", "cashback", None, None),
) + tuple(
    (0, None, *CHANNEL_UTM[c.channel], c.slug, None, None) for c in CAMPAIGNS
)
N_BASE = len(SOURCES) - len(CAMPAIGNS)  # campaign-visit sources are never drawn at random
UTM_SOURCES = [i for i, s in enumerate(SOURCES[:N_BASE]) if s[2] is not None]
PAGE_URLS = [f"{SITE}/{p}" for p in PAGES]
REFERRERS = PAGE_URLS + sorted({s[1] for s in SOURCES if s[1]})
_REF = {r: i for i, r in enumerate(REFERRERS)}
SRC_REF = np.array([_REF[s[1]] if s[1] else -1 for s in SOURCES])
CAMPAIGN_PAGE = np.array([P[c.page] for c in CAMPAIGNS])

# CSV vocabularies; code -1 (null) maps to the trailing "" entry.
V_PAGE = vocab(PAGE_URLS + [None])
V_REF = vocab(REFERRERS + [None])
V_UTM = [vocab([s[k] for s in SOURCES] + [None]) for k in range(2, 7)]
V_PLATFORM = vocab(list(PLATFORMS))
V_EVENT = vocab(list(EVENT_TYPES))
COLUMNS = ("id", "anonymous_id", "user_id", "happened_at", "event_type", "platform", "page_url",
           "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
LOGIN, CHECKOUT = 1, 2


@dataclass(frozen=True)
class Devices:
    user: np.ndarray  # user index, -1 for anonymous visitors
    ident_at: np.ndarray  # login moment; int64 max: never
    order: np.ndarray  # rank of the device's anonymous_id in text order
    anon: np.ndarray  # CSV-ready anonymous_id strings
    platform: np.ndarray


@dataclass(frozen=True)
class Sessions:
    device: np.ndarray
    start: np.ndarray
    pages: np.ndarray
    source: np.ndarray
    kind: np.ndarray  # 0 browse, LOGIN, CHECKOUT


def make_devices(rng, lead_at: np.ndarray, vol: Volumes, first_user_id: int) -> Devices:
    n = len(lead_at)
    second = np.flatnonzero(rng.random(n) < vol.second_device_share)
    visitors = int(n * vol.visitors_per_user)
    user = np.concatenate([np.arange(n), second, np.full(visitors, -1)])
    ident = np.concatenate([lead_at - 30, lead_at[second] + uniform_seconds(rng, DAY, 20 * DAY, len(second)),
                            np.full(visitors, np.iinfo(np.int64).max)])
    k = np.concatenate([np.zeros(n, int), np.ones(len(second), int), np.arange(visitors)])
    # 'u<user id>-<k>' for users' devices, 'v<run>-<i>' for visitors: unique across runs, and
    # zero-padded so that text order follows (user, device), which keeps index inserts local.
    uid = np.where(user >= 0, user + first_user_id, 0)
    anon = np.where(user >= 0, np.char.add(np.char.add("u", np.char.zfill(uid.astype(str), 12)),
                                           np.char.add("-", k.astype(str))),
                    np.char.add(f"v{first_user_id:012d}-", np.char.zfill(k.astype(str), 9)))
    order = np.argsort(np.argsort(anon, kind="stable"), kind="stable")
    platform = pick(rng, [6, 2, 2], len(user))
    return Devices(user, ident, order, anon.astype(object), platform)


def plan_sessions(rng, dev: Devices, lead_at, days: int, vol: Volumes, pay_user, pay_at,
                  visit_user, visit_at, visit_campaign) -> Sessions:
    n = len(lead_at)
    parts: list[tuple] = []  # (device, start, pages, source, kind)
    # The request: land, browse, log in (identify at lead_at - 30 s), fill the form.
    parts.append((np.arange(n), lead_at - 90, rng.integers(2, 5, n), pick(rng, _w(), n), np.full(n, LOGIN)))
    sec = np.flatnonzero(dev.user[n:] >= 0) + n
    parts.append((sec, dev.ident_at[sec] - 60, rng.integers(2, 6, len(sec)), pick(rng, _w(), len(sec)),
                  np.full(len(sec), LOGIN)))
    # Journeys: a checkout visit minutes before each payment, often an earlier visit too.
    devs_of = _user_device(dev, n)
    alt = devs_of[1][pay_user]
    pdev = np.where((alt >= 0) & (rng.random(len(pay_user)) < 0.3), alt, pay_user)
    m = len(pay_user)
    parts.append((pdev, pay_at - uniform_seconds(rng, 3 * MINUTE, 15 * MINUTE, m), rng.integers(2, 6, m),
                  pick(rng, _w(), m), np.full(m, CHECKOUT)))
    early = rng.random(m) < 0.7
    parts.append((pdev[early], pay_at[early] - uniform_seconds(rng, HOUR, 72 * HOUR, early.sum()),
                  rng.geometric(0.3, early.sum()), pick(rng, _w(), early.sum()), np.zeros(early.sum(), int)))
    # Landing after a human click on a campaign link.
    v = len(visit_user)
    parts.append((visit_user, visit_at, rng.geometric(0.4, v), N_BASE + visit_campaign, np.zeros(v, int)))
    forced = sum(len(p[0]) * 3.5 for p in parts)
    budget = max(0, int((vol.web_events_per_user_day * n * days - forced) / 4.0))
    users_dev = np.flatnonzero(dev.user >= 0)
    vis_dev = np.flatnonzero(dev.user < 0)
    mine = rng.random(budget) < (0.55 if len(vis_dev) else 1.0)
    bdev = np.where(mine, users_dev[rng.integers(0, len(users_dev), budget)],
                    vis_dev[rng.integers(0, max(1, len(vis_dev)), budget)] if len(vis_dev) else 0)
    around = mine & (rng.random(budget) < 0.7)
    start = np.where(around, lead_at[np.maximum(dev.user[bdev], 0)] + uniform_seconds(rng, -3 * DAY, 21 * DAY, budget),
                     daytime_seconds(rng, days, budget, mean_h=15.0))
    parts.append((bdev, start, rng.geometric(0.25, budget), pick(rng, _w(), budget), np.zeros(budget, int)))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    cols[2] = np.minimum(cols[2], 30)
    o = np.argsort(cols[1], kind="stable")
    return Sessions(*(c[o] for c in cols))


def _w() -> list[float]:
    return [s[0] for s in SOURCES]


def _user_device(dev: Devices, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Main device index (= user index) and second device index (-1: none) per user."""
    second = np.full(n, -1)
    idx = np.flatnonzero(dev.user[n:] >= 0) + n
    second[dev.user[idx]] = idx
    return np.arange(n), second


def web_chunks(rng, dev: Devices, ses: Sessions, horizon: int, first_user_id: int,
               start_day: np.datetime64, first_id: int, chunk_rows: int) -> Iterator[tuple[int, list[list[str]]]]:
    """Yield (rows, text columns) chunk by chunk; ids continue from `first_id`."""
    ends = np.cumsum(ses.pages)
    a, next_id = 0, first_id
    while a < len(ses.start):
        b = int(np.searchsorted(ends, (ends[a - 1] if a else 0) + chunk_rows, side="right"))
        b = max(b, a + 1)
        cols = _rows(rng, dev, ses, a, b, horizon, first_user_id, start_day, next_id)
        next_id += len(cols[0])
        a = b
        yield len(cols[0]), cols


def _rows(rng, dev, ses, a, b, horizon, first_user_id, start_day, first_id) -> list[list[str]]:
    sl = slice(a, b)
    pages = ses.pages[sl]
    rs = np.repeat(np.arange(a, b), pages)
    first = np.repeat(np.cumsum(pages) - pages, pages)
    j = np.arange(len(rs)) - first
    kind = ses.kind[rs]
    gap = 3 + rng.exponential(75.0, len(rs)).astype(np.int64)
    # A tab left open: a pause over 30 minutes inside what the visitor thinks is one visit.
    gap += np.where(rng.random(len(rs)) < 0.04, uniform_seconds(rng, 31 * MINUTE, 2 * HOUR, len(rs)), 0)
    gap[(kind == LOGIN) & (j == 1)] = 60
    gap[j == 0] = 0
    cs = np.cumsum(gap)
    t = ses.start[rs] + cs - cs[first]
    last = j == pages.repeat(pages) - 1

    page = pick(rng, PAGE_WEIGHTS, len(rs))
    camp = ses.source[rs] - N_BASE
    page = np.where((j == 0) & (camp >= 0), CAMPAIGN_PAGE[np.maximum(camp, 0)], page)
    page[(kind == LOGIN) & (j == 1)] = P["account/login"]
    page[(kind == LOGIN) & (j == 2)] = P["trial"]
    page[(kind == CHECKOUT) & last] = P["checkout"]
    event = ((kind == LOGIN) & (j == 1)).astype(np.int8)
    # A new ad click in the middle of a visit: a new campaign source, a new session.
    src = np.where(j == 0, ses.source[rs], -1)
    switch = (j > 0) & (rng.random(len(rs)) < 0.02)
    src[switch] = np.array(UTM_SOURCES)[rng.integers(0, len(UTM_SOURCES), switch.sum())]
    prev = np.concatenate([[0], page[:-1]])
    ref = np.where(src >= 0, SRC_REF[np.maximum(src, 0)], prev)

    d = ses.device[rs]
    user = dev.user[d]
    logged = (user >= 0) & (t >= dev.ident_at[d])
    keep = (t >= 0) & (t < horizon)
    o = np.flatnonzero(keep)[np.lexsort((t[keep], dev.order[d[keep]]))]
    n = len(o)
    src_o = src[o]
    utm = [v[np.where(src_o >= 0, src_o, -1)].tolist() for v in V_UTM]
    return [
        ints_text(np.arange(first_id, first_id + n)),
        dev.anon[d[o]].tolist(),
        ints_text(user[o] + first_user_id, null=~logged[o]),
        ts_text(start_day, t[o]),
        V_EVENT[event[o]].tolist(),
        V_PLATFORM[dev.platform[d[o]]].tolist(),
        V_PAGE[page[o]].tolist(),
        V_REF[ref[o]].tolist(),
        *utm,
    ]
