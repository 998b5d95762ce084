"""The sales process of the demo data: CJM events and payments, per lead, vectorised.

Each *attempt* (a lead's request; some users restart later with a second request) walks the
funnel of docs/metrics.md with a drop-off at every step and realistic delays: the first-line
task minutes after the request, the answer hours later (sometimes days: hanging processes), the
intro lesson (ВУ) one to three days after it is booked, the purchase hours to days after a
successful lesson. Unanswered leads and lesson no-buyers go to the second line. Events past the
end of the period are dropped later, which leaves the newest processes open, as in real life.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from db.seed_common import (
    DAY,
    HOUR,
    MINUTE,
    Volumes,
    daytime_seconds,
    lognormal_seconds,
    pick,
    uniform_seconds,
)

# The names used by metrics/default_config.toml, plus a few realistic extras no metric uses.
EVENT_NAMES = (
    "Создание заявки",
    "Назначение задачи на звонок 1Л",
    "Ученик ответил на звонок оператора 1л",
    "Назначена задача на вторую линию",
    "Дозвон 2Л",
    "Назначение ВУ",
    "Выход МВУ на ВУ",
    "Успешный ВУ",
    "Переход на ДУ (ДУ начался)",
    "ДУ завершен",
    "Отправка сообщения WA",
    "У ответил на сообщение WA",
    "Регистрация в личном кабинете",
    "Перенос ВУ",
    "Отказ от обучения",
    "Заявка отклонена (дубль)",
)
E = {name: code for code, name in enumerate(EVENT_NAMES)}

# Course prices in RUB (1 000 - 50 000) and how often each sells.
PRICES = np.array([1490.0, 2990.0, 4990.0, 9900.0, 14900.0, 24900.0, 49900.0])
PRICE_WEIGHTS = [8, 14, 22, 26, 16, 9, 5]


@dataclass(frozen=True)
class Sales:
    """0-based user indexes; times in seconds since the first midnight (may exceed the period)."""

    lead_at: np.ndarray  # each user's first request
    ev_user: np.ndarray
    ev_code: np.ndarray
    ev_at: np.ndarray
    pay_user: np.ndarray
    pay_at: np.ndarray
    pay_amount: np.ndarray


class _Log:
    """Collects (user, event, time) arrays from the vectorised steps."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, int, np.ndarray]] = []

    def add(self, users: np.ndarray, name: str, at: np.ndarray) -> None:
        self.parts.append((users, E[name], at))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        users = np.concatenate([p[0] for p in self.parts])
        codes = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int16) for p in self.parts])
        at = np.concatenate([p[2] for p in self.parts])
        return users, codes, at


def prices(rng: np.random.Generator, n: int) -> np.ndarray:
    return PRICES[pick(rng, PRICE_WEIGHTS, n)]


def generate_sales(rng: np.random.Generator, n_users: int, days: int, vol: Volumes) -> Sales:
    lead_at = daytime_seconds(rng, days, n_users, mean_h=13.0)
    # Attempts: every user's first request, and a restart for some of them weeks later.
    again = np.flatnonzero(rng.random(n_users) < vol.restart_share)
    user = np.concatenate([np.arange(n_users), again])
    t0 = np.concatenate([lead_at, lead_at[again] + uniform_seconds(rng, 7 * DAY, 30 * DAY, len(again))])
    n = len(user)
    log = _Log()

    def step(mask: np.ndarray, p: float) -> np.ndarray:
        return mask & (rng.random(n) < p)

    log.add(user, "Создание заявки", t0)
    reg = rng.random(n) < 0.4
    log.add(user[reg], "Регистрация в личном кабинете", t0[reg] - uniform_seconds(rng, 30, 600, reg.sum()))
    dup = rng.random(n) < 0.03
    log.add(user[dup], "Заявка отклонена (дубль)", t0[dup] + uniform_seconds(rng, 60, 2 * HOUR, dup.sum()))

    # First line: a call task minutes after the request; the answer hours (sometimes days) later.
    has1 = step(np.ones(n, bool), 0.92)
    t1 = t0 + MINUTE + (rng.exponential(15 * MINUTE, n)).astype(np.int64)
    log.add(user[has1], "Назначение задачи на звонок 1Л", t1[has1])
    ans = step(has1, 0.62)
    t2 = t1 + lognormal_seconds(rng, 3 * HOUR, 1.2, n)
    log.add(user[ans], "Ученик ответил на звонок оператора 1л", t2[ans])

    # Second line for leads the first line never reached; part of them are reached there.
    l2 = step(has1 & ~ans, 0.45)
    t2l = t1 + uniform_seconds(rng, 20 * HOUR, 40 * HOUR, n)
    log.add(user[l2], "Назначена задача на вторую линию", t2l[l2])
    dial = step(l2, 0.6)
    tdial = t2l + lognormal_seconds(rng, 5 * HOUR, 1.0, n)
    log.add(user[dial], "Дозвон 2Л", tdial[dial])

    # Contact made on either line -> intro lesson (ВУ) booked, attended, successful.
    contact = ans | step(dial, 0.5)
    tc = np.where(ans, t2, tdial)
    vu = step(contact, 0.72)
    t3 = tc + lognormal_seconds(rng, 30 * MINUTE, 0.8, n)
    log.add(user[vu], "Назначение ВУ", t3[vu])
    moved = step(vu, 0.1)
    log.add(user[moved], "Перенос ВУ", t3[moved] + uniform_seconds(rng, HOUR, DAY, moved.sum()))
    came = step(vu, 0.78)
    t4 = t3 + uniform_seconds(rng, 18 * HOUR, 72 * HOUR, n) + np.where(moved, 2 * DAY, 0)
    log.add(user[came], "Выход МВУ на ВУ", t4[came])
    ok = step(came, 0.8)
    t5 = t4 + uniform_seconds(rng, 40 * MINUTE, 60 * MINUTE, n)
    log.add(user[ok], "Успешный ВУ", t5[ok])

    # Purchase after a successful lesson; no-buyers get a second-line follow-up or say no.
    buy = step(ok, 0.5)
    t6 = t5 + lognormal_seconds(rng, 6 * HOUR, 1.5, n)
    follow = step(ok & ~buy, 0.35)
    tf = t5 + uniform_seconds(rng, 24 * HOUR, 48 * HOUR, n)
    log.add(user[follow], "Назначена задача на вторую линию", tf[follow])
    fdial = step(follow, 0.5)
    log.add(user[fdial], "Дозвон 2Л", tf[fdial] + lognormal_seconds(rng, 4 * HOUR, 1.0, fdial.sum()))
    refuse = step(ok & ~buy & ~follow, 0.2)
    log.add(user[refuse], "Отказ от обучения", t5[refuse] + uniform_seconds(rng, HOUR, 3 * DAY, refuse.sum()))

    _experiments(rng, n_users, lead_at, vol, log)
    ev_user, ev_code, ev_at = log.arrays()
    # Repeated events: CRMs log the same step twice now and then (a retry, a double click).
    rep = np.flatnonzero(rng.random(len(ev_user)) < 0.04)
    ev_user = np.concatenate([ev_user, ev_user[rep]])
    ev_code = np.concatenate([ev_code, ev_code[rep]])
    ev_at = np.concatenate([ev_at, ev_at[rep] + uniform_seconds(rng, 1, 10 * MINUTE, len(rep))])

    pay_user, pay_at, pay_amount = _payments(rng, n_users, days, user, buy, t6, vu, t3)
    return Sales(lead_at, ev_user, ev_code, ev_at, pay_user, pay_at, pay_amount)


def _experiments(rng, n_users: int, lead_at: np.ndarray, vol: Volumes, log: _Log) -> None:
    """~3% of users enter the demo-lesson (ДУ) or WhatsApp flow: every metric leaves them out."""
    users = np.flatnonzero(rng.random(n_users) < vol.experiment_share)
    start = lead_at[users] + uniform_seconds(rng, HOUR, 5 * DAY, len(users))
    du = rng.random(len(users)) < 0.5
    log.add(users[du], "Переход на ДУ (ДУ начался)", start[du])
    done = du & (rng.random(len(users)) < 0.7)
    log.add(users[done], "ДУ завершен", start[done] + uniform_seconds(rng, 30 * MINUTE, HOUR, done.sum()))
    wa = ~du
    log.add(users[wa], "Отправка сообщения WA", start[wa])
    rep = wa & (rng.random(len(users)) < 0.5)
    log.add(users[rep], "У ответил на сообщение WA", start[rep] + lognormal_seconds(rng, HOUR, 1.0, rep.sum()))


def _payments(rng, n_users, days, user, buy, t6, vu, t3):
    """First purchases from the funnel, free trials (amount 0), renewals, and direct buyers."""
    parts_u, parts_t, parts_a = [user[buy]], [t6[buy]], [prices(rng, buy.sum())]
    trial = vu & (rng.random(len(user)) < 0.2)
    parts_u.append(user[trial])
    parts_t.append(t3[trial] + uniform_seconds(rng, MINUTE, 30 * MINUTE, trial.sum()))
    parts_a.append(np.zeros(trial.sum()))
    # Renewals: a third of buyers pay again about monthly, up to four times.
    first_u, first_t, first_a = parts_u[0], parts_t[0], parts_a[0]
    again = np.ones(len(first_u), bool)
    for k in range(1, 5):
        again = again & (rng.random(len(first_u)) < (0.35 if k == 1 else 0.7))
        parts_u.append(first_u[again])
        parts_t.append(first_t[again] + k * 30 * DAY + uniform_seconds(rng, -3 * DAY, 3 * DAY, again.sum()))
        same = rng.random(again.sum()) < 0.7
        parts_a.append(np.where(same, first_a[again], prices(rng, again.sum())))
    # Some people buy straight from the site without talking to sales.
    direct = np.flatnonzero(rng.random(n_users) < 0.03)
    parts_u.append(direct)
    parts_t.append(daytime_seconds(rng, days, len(direct)))
    parts_a.append(prices(rng, len(direct)))
    return np.concatenate(parts_u), np.concatenate(parts_t), np.concatenate(parts_a)
