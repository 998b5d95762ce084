"""`salespulse run` as a real process against the fake Bot API server, for the tests that kill or
stop it (tests/test_bot_alerts_kill.py, tests/test_bot_sigterm.py)."""
from __future__ import annotations

import asyncio
import os
import sys


async def start_bot(env: dict, log_path):
    """The process, its stderr appended to `log_path` (a restart appends to the same file)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM")} | env
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli.main", "run", env=full, cwd=log_path.parent,
            stdout=asyncio.subprocess.DEVNULL, stderr=log)


async def until(predicate, what: str, timeout: float = 150.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
