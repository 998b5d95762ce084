"""Outbound campaigns of the demo data: sends, opens and clicks, and what follows a click.

Campaigns go out at a fixed hour per campaign. Some sends are blocked (with a channel-specific
reason) or fail. Email has tracking pixels (opens); every channel has tracked links (clicks).
Security scanners click email links seconds after delivery and never visit the site; people click
later and land on the site within a couple of minutes (a web session the attribution and the
human-click test can see), and some of them pay within the next day.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from db.seed_common import DAY, HOUR, MINUTE, SITE, lognormal_seconds, pick, uniform_seconds
from db.seed_sales import prices

CHANNELS = ("email", "sms", "push", "line", "messenger")
# utm_source / utm_medium of a tracked link, per channel.
CHANNEL_UTM = {
    "email": ("newsletter", "email"),
    "sms": ("sms", "sms"),
    "push": ("push", "push"),
    "line": ("line", "messenger"),
    "messenger": ("telegram", "messenger"),
}


@dataclass(frozen=True)
class Campaign:
    name: str
    slug: str
    channel: str
    hour: int
    cost: float | None  # per send; None: the source leaves it empty (config fee applies)
    weight: float
    page: str


CAMPAIGNS = (
    Campaign("Welcome: первые шаги", "welcome", "email", 10, None, 3, "courses"),
    Campaign("Весенняя скидка 20%", "spring_sale", "email", 11, 0.25, 2, "pricing"),
    Campaign("Дайджест блога", "blog_digest", "email", 9, None, 2, "blog"),
    Campaign("Напоминание о ВУ", "lesson_reminder", "sms", 12, 4.5, 2, "trial"),
    Campaign("Скидка сгорает сегодня", "last_call", "sms", 18, None, 1, "pricing"),
    Campaign("Новый курс: Python", "new_python", "push", 19, None, 2, "courses/python"),
    Campaign("Брошенная корзина", "cart", "push", 20, 0.0, 1, "checkout"),
    Campaign("LINE: пробный урок", "line_trial", "line", 13, 1.2, 1, "trial"),
    Campaign("Telegram: вебинар", "tg_webinar", "messenger", 17, None, 1, "webinar"),
    Campaign("Продление подписки", "renewal", "messenger", 15, 0.9, 1, "pricing"),
)
STATUSES = ("sent", "blocked", "failed")
# (blocked share, failed share, {reason: weight}) per channel.
DELIVERY = {
    "email": (0.06, 0.02, {"unsubscribed": 5, "spam_complaint": 2, "hard_bounce": 3}),
    "sms": (0.08, 0.03, {"invalid_number": 5, "unsubscribed": 3, "carrier_filtered": 2}),
    "push": (0.10, 0.02, {"no_device_token": 6, "unsubscribed": 4}),
    "line": (0.05, 0.04, {"user_blocked_bot": 6, "unsubscribed": 4}),
    "messenger": (0.05, 0.03, {"user_blocked_bot": 6, "unsubscribed": 4}),
}
REASONS = tuple(sorted({r for _, _, rs in DELIVERY.values() for r in rs}))
KINDS = ("open", "click")


def click_url(c: Campaign) -> str:
    src, med = CHANNEL_UTM[c.channel]
    return f"{SITE}/{c.page}?utm_source={src}&utm_medium={med}&utm_campaign={c.slug}"


@dataclass(frozen=True)
class Messages:
    """Sends sorted by time (their order is their id order); interactions point at send indexes."""

    send_user: np.ndarray
    send_campaign: np.ndarray
    send_at: np.ndarray
    send_status: np.ndarray
    send_reason: np.ndarray  # -1: none
    send_cost: np.ndarray  # nan: null
    ix_send: np.ndarray
    ix_kind: np.ndarray
    ix_at: np.ndarray
    ix_url: np.ndarray  # campaign code of the clicked link, -1: none (opens)
    # People who clicked and landed on the site: the web generator builds their sessions.
    visit_user: np.ndarray
    visit_at: np.ndarray
    visit_campaign: np.ndarray
    pay_user: np.ndarray
    pay_at: np.ndarray
    pay_amount: np.ndarray


def generate_messages(rng, lead_at: np.ndarray, days: int, sends_per_user_day: float) -> Messages:
    horizon = days * DAY
    n = int(len(lead_at) * days * sends_per_user_day)
    user = rng.integers(0, len(lead_at), n)
    camp = pick(rng, [c.weight for c in CAMPAIGNS], n)
    # Users get campaigns from a little before their request until the end of the period.
    base = lead_at[user] - 3 * DAY + (rng.random(n) * (horizon + 3 * DAY - lead_at[user])).astype(np.int64)
    hour = np.array([c.hour for c in CAMPAIGNS])[camp]
    at = (base // DAY) * DAY + hour * HOUR + uniform_seconds(rng, 0, 30 * MINUTE, n)
    keep = (at >= 0) & (at < horizon)
    order = np.argsort(at[keep], kind="stable")
    user, camp, at = user[keep][order], camp[keep][order], at[keep][order]
    n = len(user)

    channel = np.array([CHANNELS.index(c.channel) for c in CAMPAIGNS])[camp]
    status = np.zeros(n, np.int8)
    reason = np.full(n, -1, np.int16)
    for ch, name in enumerate(CHANNELS):
        idx = np.flatnonzero(channel == ch)
        blocked, failed, reasons = DELIVERY[name]
        u = rng.random(len(idx))
        status[idx[u < blocked]] = 1
        status[idx[(u >= blocked) & (u < blocked + failed)]] = 2
        b = idx[u < blocked]
        names = list(reasons)
        reason[b] = np.array([REASONS.index(r) for r in names])[pick(rng, list(reasons.values()), len(b))]
    unit = np.array([np.nan if c.cost is None else c.cost for c in CAMPAIGNS])[camp]
    cost = np.where(status == 1, np.nan, unit)  # a blocked send is never handed to the provider

    sent = status == 0
    email = sent & (channel == 0)
    opened = email & (rng.random(n) < 0.3)
    open_at = at + lognormal_seconds(rng, 2 * HOUR, 1.2, n)
    reopen = opened & (rng.random(n) < 0.25)
    reopen_at = open_at + uniform_seconds(rng, 10 * MINUTE, 2 * DAY, n)
    human = np.where(email, opened & (rng.random(n) < 0.2), sent & (rng.random(n) < 0.06))
    click_at = np.where(email, open_at + uniform_seconds(rng, 5, 10 * MINUTE, n),
                        at + lognormal_seconds(rng, 20 * MINUTE, 1.0, n))
    # Link scanners: a pixel fetch and a click seconds after delivery, no site visit ever.
    scanned = email & (rng.random(n) < 0.04)
    scan_at = at + uniform_seconds(rng, 1, 30, n)

    idx = np.arange(n)
    parts = [(opened, 0, open_at), (reopen, 0, reopen_at), (human, 1, click_at),
             (scanned, 0, scan_at), (scanned, 1, scan_at + 2)]
    ix_send = np.concatenate([idx[m] for m, _, _ in parts])
    ix_kind = np.concatenate([np.full(m.sum(), k, np.int8) for m, k, _ in parts])
    ix_at = np.concatenate([t[m] for m, _, t in parts])
    ix_url = np.where(ix_kind == 1, camp[ix_send], -1)
    o = np.argsort(ix_at, kind="stable")

    # Most human clicks land on the site within two minutes (tracking loses a few).
    visit = human & (rng.random(n) < 0.9)
    visit_at = click_at + uniform_seconds(rng, 5, 100, n)
    buy = visit & (rng.random(n) < 0.12)
    open_buy = opened & ~human & (rng.random(n) < 0.015)
    pay_at = np.concatenate([click_at[buy] + uniform_seconds(rng, 10 * MINUTE, 20 * HOUR, buy.sum()),
                             open_at[open_buy] + uniform_seconds(rng, HOUR, 23 * HOUR, open_buy.sum())])
    pay_user = np.concatenate([user[buy], user[open_buy]])
    return Messages(
        user, camp, at, status, reason, cost,
        ix_send[o], ix_kind[o], ix_at[o], ix_url[o],
        user[visit], visit_at[visit], camp[visit],
        pay_user, pay_at, prices(rng, len(pay_user)),
    )
