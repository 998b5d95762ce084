"""Issue 25's clean stop: SIGTERM (what `docker stop` and systemd send, SIGKILL 10 s later) to a
real `salespulse run` process while a digest is in flight. The process releases the part in
flight and exits within 10 s; the next start delivers the digest exactly once.

Real process, real Postgres, the real digest on a (small) source schema, the fake Bot API server
made to hang the album so the SIGTERM lands mid-request. The logs are JSON lines without the token.
"""
import asyncio
import json
import signal
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from db.state import migrate
from tests.botproc import start_bot, until
from tests.faketg import TOKEN, FakeTelegram

ADMIN, GROUP = 42, -4343
STOP_LIMIT = 10.0  # docker stop's SIGKILL comes this long after its SIGTERM


def _rows(engine, schema: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            f'select state, parts_sent, attempts from "{schema}".deliveries where chat_id = {GROUP}'))]


async def _sigterm(proc) -> float:
    """Send SIGTERM; the seconds until the process is gone (fails at STOP_LIMIT)."""
    loop = asyncio.get_running_loop()
    sent = loop.time()
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_LIMIT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"still running {STOP_LIMIT:.0f} s after SIGTERM") from None
    return loop.time() - sent


async def test_sigterm_mid_delivery_exits_in_time_and_the_restart_delivers_once(source, engine, database_url,
                                                                               tmp_path):
    schema = f"term_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    with engine.begin() as conn:  # subscribed long ago, due 5 min ago: delivered at start
        conn.execute(sa.text(f"""insert into "{schema}".subscriptions (chat_id, delivery_time, timezone,
            created_at) values (:c, :t, 'UTC', :made)"""), {"c": GROUP, "t": due.time(),
                                                            "made": due - timedelta(days=3)})
    tg = await FakeTelegram().start()
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_USER_IDS": str(ADMIN),
           "STATE_SCHEMA": schema, "SOURCE_SCHEMA": source.schema, "REPORT_TIMEZONE": "UTC",
           "LOCALE": "en", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "TELEGRAM_API_BASE_URL": tg.base_url}
    log = tmp_path / "bot.log"
    tg.fault("sendMediaGroup", "hang", chat_id=GROUP)  # the digest's one part never gets an answer

    def albums(ok_only: bool) -> list:
        return tg.sent(GROUP, "sendMediaGroup", ok_only=ok_only)

    proc = await start_bot(env, log)
    try:
        await until(lambda: albums(False), "the album in flight")
        stopped_in = await _sigterm(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert stopped_in < STOP_LIMIT
    # Released, not failed: the row waits at part 0 for the next start, which resumes it.
    assert _rows(engine, schema) == [{"state": "working", "parts_sent": 0, "attempts": 1}]
    tg.release()  # the hung request ends (a 500 to a closed connection): Telegram never took it

    proc = await start_bot(env, log)
    try:
        await until(lambda: _rows(engine, schema)[0]["state"] == "sent", "the resumed delivery")
        # The menu under the digest follows the 'sent' row: wait for it too before stopping.
        await until(lambda: tg.sent(GROUP, "sendMessage"), "the menu under the digest")
        await _sigterm(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await tg.close()
    assert len(albums(True)) == 1 and len(albums(False)) == 2  # the hung one, then once
    # The album, then the menu under the digest (bot/commands/buttons.py), once each.
    assert [c.method for c in tg.sent(GROUP)] == ["sendMediaGroup", "sendMessage"]
    assert "inline_keyboard" in tg.sent(GROUP)[1].params["reply_markup"]
    assert _rows(engine, schema) == [{"state": "sent", "parts_sent": 1, "attempts": 2}]
    text = log.read_text()
    assert TOKEN not in text and "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line one JSON object
    assert {"time", "level", "logger", "chat", "delivery", "metric", "message"} <= set(lines[0])
    assert any(e["message"].startswith("SIGTERM: stopping") for e in lines)
    sent = [e for e in lines if "digest delivered" in e["message"]]
    assert len(sent) == 1 and sent[0]["chat"] == GROUP and sent[0]["delivery"] is not None


async def test_sigterm_while_a_request_hangs_at_start_still_exits_before_the_sigkill(database_url, tmp_path):
    """Telegram never answers setMyCommands (start-up): the orderly stop cannot finish, so the
    watchdog ends the process (exit 1) before docker's SIGKILL would."""
    tg = await FakeTelegram().start()
    tg.fault("setMyCommands", "hang")
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN, "LOG_FORMAT": "json",
           "STATE_SCHEMA": f"term_{uuid.uuid4().hex[:8]}", "TELEGRAM_API_BASE_URL": tg.base_url}
    log = tmp_path / "bot.log"
    proc = await start_bot(env, log)
    try:
        await until(lambda: any(c.method == "setMyCommands" for c in tg.calls), "the hanging request")
        await _sigterm(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        tg.release()
        await tg.close()
    assert proc.returncode == 1
    messages = [json.loads(line)["message"] for line in log.read_text().splitlines()]
    assert messages[-1] == "not stopped 9 s after the signal; exiting now"
