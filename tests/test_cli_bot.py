"""`salespulse run` as an engineer starts it: a real process against the fake Bot API server."""
import asyncio
import json
import os
import sys

import pytest

from tests.faketg import TOKEN, FakeTelegram


async def _run(env: dict, tmp_path):
    full = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM")} | env
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli.main", "run", env=full, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def test_rejected_token_is_one_line_and_never_shown(database_url, tmp_path):
    tg = await FakeTelegram().start()
    try:
        proc = await _run({"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": "999:wrongSECRETvalue",
                           "TELEGRAM_API_BASE_URL": tg.base_url, "STATE_SCHEMA": "cli_bot_a"}, tmp_path)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await tg.close()
    text = (out + err).decode()
    assert proc.returncode == 2, text
    assert "Traceback" not in text and "wrongSECRET" not in text
    assert "salespulse: error: TELEGRAM_BOT_TOKEN was rejected by http://127.0.0.1" in text


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_bot_process_answers_commands_and_keeps_the_token_out_of_logs(database_url, tmp_path, log_format):
    tg = await FakeTelegram().start()
    proc = await _run({"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG",
                       "TELEGRAM_API_BASE_URL": tg.base_url, "ADMIN_USER_IDS": "42",
                       "STATE_SCHEMA": f"cli_bot_b_{log_format}", "LOG_FORMAT": log_format}, tmp_path)
    try:
        await tg.wait_for(lambda: any(c.method == "getUpdates" for c in tg.calls), timeout=90,
                          what="the bot to poll")
        tg.say(7, 7, "/report")  # a stranger: refused with the chat id, no numbers
        await tg.wait_for(lambda: tg.texts(7), what="the refusal")
        tg.say(42, 42, "/subscribe 09:30 Europe/Berlin")
        await tg.wait_for(lambda: tg.texts(42), what="the subscription reply")
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        await tg.close()
    assert "7" in tg.texts(7)[0] and not any(ch.isdigit() for ch in tg.texts(7)[0].replace("7", ""))
    assert "09:30" in tg.texts(42)[0] and "Europe/Berlin" in tg.texts(42)[0]
    assert any(c.method == "setMyCommands" for c in tg.calls)
    assert TOKEN not in err.decode() and TOKEN.split(":")[1] not in err.decode()
    if log_format == "json":  # DEBUG: python-telegram-bot's and httpx's lines too, each one object
        lines = [json.loads(line) for line in err.decode().splitlines()]
        assert any(e["logger"].startswith("telegram") and e["level"] == "DEBUG" for e in lines)
        assert any(e["chat"] == 42 and e["logger"].startswith("salespulse") for e in lines)
