"""Issue 25: /metrics and /healthz of the running bot, scraped over HTTP from the real
Application (fake Telegram, real Postgres), with counts worked out from what the test made."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time

import aiohttp
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.faketg import ADMIN, GROUP, USER, BotHarness, fast_options, more_runs

NOW = datetime(2024, 3, 15, 8, 55, tzinfo=UTC)  # ten minutes after an 08:45 run
DAY = date(2024, 3, 14)
LATE = -5555  # a group whose 03:00 run is 5 h 55 min late: past the 4 h grace, skipped


def subscribe(h: BotHarness, chat_id: int, at: time = time(8, 45)) -> None:
    h.store.subscribe(chat_id, None, at, "UTC", None, ADMIN)
    with h.engine.begin() as conn:
        conn.execute(sa.text(f'update "{h.schema}".subscriptions set created_at = :t where chat_id = :c'),
                     {"t": "2000-01-01", "c": chat_id})


async def get(h: BotHarness, path: str) -> tuple[int, str, dict]:
    url = f"http://127.0.0.1:{h.app.bot_data.status.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
        return response.status, body, dict(response.headers)


async def scrape(h: BotHarness) -> dict[tuple[str, tuple], float]:
    """/metrics as {(sample name, sorted label pairs): value}."""
    status, text, headers = await get(h, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_count_the_deliveries_made(tg, engine, schema):
    h = BotHarness(tg, engine, schema, clock=lambda: NOW, metrics_port=0, metrics_host="127.0.0.1")
    for chat in (GROUP, USER, ADMIN):
        subscribe(h, chat)
    subscribe(h, LATE, at=time(3, 0))
    tg.fault("sendMediaGroup", "500", chat_id=GROUP)  # one 500, then the part's retry succeeds
    await h.start()
    try:
        await tg.wait_for(lambda: all(tg.sent(c) for c in (GROUP, USER, ADMIN)), what="three digests")
        await h.delivery.idle()
        m = await scrape(h)
        names = h.delivery.names
    finally:
        await h.stop()
    states = {r["chat_id"]: r["state"] for r in h.ledger()}
    assert states == {GROUP: "sent", USER: "sent", ADMIN: "sent", LATE: "skipped"}
    assert len(tg.sent()) == 3  # one album each (the fake digest's text fits its caption)
    # Three runs claimed and sent, one skipped, nothing waiting or failed.
    assert {s: value(m, "salespulse_deliveries_total", state=s)
            for s in ("working", "sent", "skipped", "waiting", "failed")} == {
        "working": 3, "sent": 3, "skipped": 1, "waiting": 0, "failed": 0}
    # The bot's clock reads 08:55 throughout: each digest is 600 s after its 08:45 run.
    assert value(m, "salespulse_delivery_delay_seconds_count") == 3
    assert value(m, "salespulse_delivery_delay_seconds_sum") == 1800
    assert value(m, "salespulse_delivery_delay_seconds_bucket", le="300.0") == 0
    assert value(m, "salespulse_delivery_delay_seconds_bucket", le="600.0") == 3
    # One computation for the three chats (the digest cache), timed stage by stage.
    assert h.digest.calls == [(DAY, "UTC", "en", names)]
    for stage in ("sessions", "hanging", "charts"):
        assert value(m, "salespulse_report_duration_seconds_count", metric=stage) == 1
    assert value(m, "salespulse_telegram_errors_total", code="500") == 1
    assert value(m, "salespulse_alert_evaluations_total", state="firing") == 0
    assert value(m, "salespulse_last_sweep_timestamp_seconds") > 0


async def test_healthz_is_503_while_the_database_is_cut_and_200_when_it_is_back(tg, bot_engine, proxy, schema):
    h = await BotHarness(tg, bot_engine, schema, metrics_port=0, metrics_host="127.0.0.1",
                         options=fast_options(sweep_interval=0.2)).start()
    try:
        status, body, _ = await get(h, "/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert (health["ok"], health["database"], health["telegram"], health["sweep"]) == (True, "ok", "ok", "ok")
        assert health["last_sweep"].startswith(f"{datetime.now(UTC):%Y-%m-%d}")
        refused = ("salespulse_database_errors_total", (("error", "OperationalError"),))
        errors_before = (await scrape(h)).get(refused, 0)  # no series until the first error

        proxy.down()
        status, body, _ = await get(h, "/healthz")
        assert status == 503, body
        health = json.loads(body)
        assert health["ok"] is False and health["telegram"] == "ok"
        assert health["database"].startswith("OperationalError"), health["database"]
        sweeps = h.app.bot_data.sweeper.sweeps
        await more_runs(lambda: h.app.bot_data.sweeper.sweeps, 2, "sweeps into the outage")
        assert h.app.bot_data.sweeper.sweeps >= sweeps + 2
        m = await scrape(h)
        assert m[refused] > errors_before

        proxy.up()
        status, body, _ = await get(h, "/healthz")
        assert status == 200, body
        assert proxy.refused > 0
    finally:
        proxy.up()
        await h.stop()


async def test_no_port_no_server(tg, engine, schema):
    async with BotHarness(tg, engine, schema) as h:
        assert h.app.bot_data.status is None
        await asyncio.sleep(0)
