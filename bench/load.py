"""A busy morning: N chats due in the same minute, against the fake Telegram with its limits on.

    python -m bench.load --chats 1000 [--groups 0.2] [--lead 25] [--keep] [--ptb-limiter]

Run from the repository root (it borrows the fake Bot API server of tests/faketg.py). DATABASE_URL
selects the Postgres; the bot's state goes to a fresh schema `bench_load_<hex>`, dropped at the
end unless --keep. The real Application (production BotOptions: the menu under each digest, 16
deliveries in flight, bot.delivery.flood's rate limiter) runs in this process on the real clock; the fake
Telegram runs in a child process with its flood limits on (30 messages a second, 20 a minute per
group, each album item a message, a 429 with retry_after beyond them), so this process's peak RSS
is the bot's own.

The chats are a mix: a share of groups, four time zones and four languages, the company and two
scopes, and per chat all five metrics, two or one (so albums of 5 and 2 and single photos; the
company's long text goes as a message before its album, a scope's shorter one as the caption).
Every chat's delivery time is the same instant in its own zone. Digests are a stub that costs
nothing, with real chart PNGs (docs/*.png, 70 and 218 KB) as the images: a real digest costs 4-7
s of CPU, and the up to 144 distinct ones here would then measure the digest, not the delivery. The
DigestCache still builds each distinct (day, zone, language, metrics, scope) once; the bench
checks that, and from the fake's records and the ledger that every chat got every part of its
digest and its menu exactly once.

Telegram's floor is the time its limits allow for the messages sent: all messages / 30 a second,
or a group's messages beyond its burst of 20 at 20 a minute if that is longer (never here: a
group gets at most 7).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ZONES = ("UTC", "Europe/Moscow", "Asia/Ho_Chi_Minh", "America/New_York")
LANGS = ("en", "ru", "vi", "zh")
SCOPES = (None, "team:north", "manager:ivanov")
ALL = ("hanging", "new_payers", "funnel", "attribution", "campaigns")
CHOICES = (None,) * 6 + (("hanging", "new_payers"),) * 3 + (("new_payers",),)  # None: all five
ADMIN = 1001
PNGS = [p.read_bytes() for p in sorted(Path(__file__).resolve().parent.parent.joinpath("docs").glob("*.png"))]


def chats(n: int, groups: float) -> list[dict]:
    """n subscriptions: every k-th chat a group (k = 1 / groups), the rest private chats."""
    every = max(1, round(1 / groups)) if groups > 0 else n + 1
    return [{"c": -(1_000_000 + i) if i % every == every - 1 else 100_000 + i, "tz": ZONES[i % 4],
             "loc": LANGS[(i // 4) % 4], "scope": SCOPES[(i // 16) % 3], "m": CHOICES[(i // 48) % 10]}
            for i in range(n)]


def text_of(scope: str | None) -> str:
    """The company's text is longer than a caption (1,024), a scope's fits in one."""
    lines = 36 if scope is None else 14
    return "\n".join(f"• line {i}: 12,345 (usually 10,000–14,000)" for i in range(lines))


def stub_builder():
    from reports.digest import Chart, Digest

    def build(engine, cfg, req, progress=None, **_):
        day, scope = req.day, str(req.scope) if req.scope else None
        build.calls.append((day.day, day.timezone, req.locale, req.metrics, scope))
        return Digest(day.day, day.timezone, req.locale, {}, text=text_of(scope),
                      charts=[Chart(n, PNGS[i % len(PNGS)]) for i, n in enumerate(req.metrics)])

    build.calls = []
    return build


def _serve_fake(conn) -> None:
    """The child process: the fake Telegram until told to stop, then its records."""
    from tests.faketg import FakeTelegram, messages_of

    async def serve():
        tg = await FakeTelegram(enforce_limits=True).start()
        conn.send(tg.base_url)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send([(c.method, c.chat_id, c.status, c.at, messages_of(c), "reply_markup" in c.params)
                   for c in tg.calls if c.method != "getUpdates"])
        await tg.close()

    asyncio.run(serve())


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(engine, subs: list[dict], base_url: str, lead: float) -> dict:
    from bot.app import build_application, start, stop
    from db.settings import Settings
    from db.state import migrate
    from metrics.config import load_config
    from tests.faketg import TOKEN

    schema = f"bench_load_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    now = datetime.now(UTC)
    due = (now + timedelta(seconds=lead + 59)).replace(second=0, microsecond=0)  # a whole minute
    with engine.begin() as conn:
        conn.execute(sa.text(f"""insert into "{schema}".subscriptions
            (chat_id, delivery_time, timezone, locale, scope, metrics, created_at)
            values (:c, :at, :tz, :loc, :scope, :m, :made)"""),
            [{**s, "m": list(s["m"]) if s["m"] else None, "made": now,
              "at": due.astimezone(ZoneInfo(s["tz"])).time()} for s in subs])
    settings = Settings(telegram_bot_token=TOKEN, telegram_api_base_url=base_url, state_schema=schema,
                        admin_user_ids=frozenset({ADMIN}))
    digest = stub_builder()
    app = build_application(settings, load_config(), engine, digest_builder=digest)
    await start(app, timeout=1)
    try:
        due_at = time.monotonic() + (due - datetime.now(UTC)).total_seconds()
        deadline = due_at + 120 + len(subs) * 0.5
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            with engine.connect() as conn:
                sent = conn.execute(sa.text(f"""select count(*) from "{schema}".deliveries
                    where state = 'sent'""")).scalar()
            if sent == len(subs) and not app.bot_data.delivery.busy:
                break
        await app.bot_data.delivery.idle()
    finally:
        await stop(app)
    with engine.connect() as conn:
        ledger = [dict(r._mapping) for r in conn.execute(sa.text(
            f'select chat_id, state, parts_sent, attempts from "{schema}".deliveries'))]
    return {"schema": schema, "due_at": due_at, "ledger": ledger, "digest_calls": digest.calls,
            "peak_rss_mb": peak_rss_mb()}


def check(subs: list[dict], out: dict, records: list[tuple]) -> dict:
    """Every number of the report, from the fake's records and the ledger."""
    from bot.delivery.messages import plan_parts

    method = {"text": "sendMessage", "photo": "sendPhoto", "album": "sendMediaGroup"}
    ok = [r for r in records if r[2] == 200 and r[1] is not None and r[1] != ADMIN]
    expected, got, menus = Counter(), Counter(), Counter()
    messages_by_chat: Counter = Counter()
    for s in subs:
        parts = plan_parts(text_of(s["scope"]), len(s["m"] or ALL))
        expected.update((s["c"], method[p.kind]) for p in parts)
    last_part = 0.0
    for m, chat, _, at, n, markup in ok:
        if m == "sendMessage" and markup:
            menus[chat] += 1
        else:
            got[(chat, m)] += 1
            last_part = max(last_part, at)
        messages_by_chat[chat] += n
    ledger = out["ledger"]
    keys = Counter(c[1:] for c in out["digest_calls"])
    group_floor = max((max(0, m - 20) * 3.0 for c, m in messages_by_chat.items() if c < 0), default=0.0)
    messages = sum(messages_by_chat.values())
    requests = [r for r in records if r[1] is not None]
    return {
        "chats": len(subs), "groups": sum(s["c"] < 0 for s in subs), "messages": messages,
        "requests": len(requests), "429s": sum(r[2] == 429 for r in records),
        "floor_s": max(messages / 30, group_floor), "group_floor_s": group_floor,
        "last_digest_s": last_part - out["due_at"], "last_request_s": max(r[3] for r in ok) - out["due_at"],
        "lost": sum(1 for k, v in expected.items() if got[k] < v), "twice": sum(1 for k, v in got.items() if v > expected[k]),
        "menus_not_once": sum(1 for s in subs if menus[s["c"]] != 1),
        "ledger_sent": sum(r["state"] == "sent" for r in ledger), "ledger_rows": len(ledger),
        "retried": sum(r["attempts"] > 1 for r in ledger),
        "digests_built": len(out["digest_calls"]), "distinct_digests": len(keys),
        "admin_messages": sum(1 for r in records if r[1] == ADMIN), "peak_rss_mb": out["peak_rss_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--chats", type=int, required=True)
    p.add_argument("--groups", type=float, default=0.2, help="share of groups (default 0.2)")
    p.add_argument("--lead", type=float, default=25, help="seconds at least from start to the due minute")
    p.add_argument("--keep", action="store_true", help="keep the state schema")
    p.add_argument("--ptb-limiter", action="store_true",
                   help="PTB's own AIORateLimiter (one request, one unit), to compare")
    args = p.parse_args(argv)
    if args.ptb_limiter:
        from telegram.ext import AIORateLimiter

        import bot.app

        bot.app.MessageRateLimiter = AIORateLimiter  # what build_application used before issue 28
    from bench.report import machine_info
    from db.engine import engine_from_settings
    from db.settings import load_settings

    engine = engine_from_settings(load_settings())
    subs = chats(args.chats, args.groups)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    fake = ctx.Process(target=_serve_fake, args=(child,), daemon=True)
    fake.start()
    load_before = os.getloadavg()
    out = asyncio.run(run(engine, subs, parent.recv(), args.lead))
    parent.send("stop")
    records = parent.recv()
    fake.join(10)
    load_after = os.getloadavg()
    if not args.keep:
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema "{out["schema"]}" cascade'))
    r = check(subs, out, records)
    m = machine_info(engine)
    flag = " --ptb-limiter" if args.ptb_limiter else ""
    print(f"`python -m bench.load --chats {args.chats} --groups {args.groups}{flag}`: {m['cpus']} CPUs "
          f"({m['cpu']}, shared), {m['ram_gb']} GB RAM, {m['postgres']}; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print("| chats | groups | messages | floor s | last digest s | x floor | last request s | requests "
          "| 429s | 429 % | peak RSS MB | lost | sent twice | ledger sent | digests built / distinct |")
    print("|" + "---:|" * 15)
    print(f"| {r['chats']:,} | {r['groups']:,} | {r['messages']:,} | {r['floor_s']:.1f} | "
          f"{r['last_digest_s']:.1f} | {r['last_digest_s'] / r['floor_s']:.2f} | {r['last_request_s']:.1f} | "
          f"{r['requests']:,} | {r['429s']} | {100 * r['429s'] / r['requests']:.2f} | {r['peak_rss_mb']:.0f} | "
          f"{r['lost']} | {r['twice']} | {r['ledger_sent']:,} / {r['ledger_rows']:,} | "
          f"{r['digests_built']} / {r['distinct_digests']} |")
    print(f"retried deliveries: {r['retried']}, admin messages: {r['admin_messages']}, "
          f"menus not exactly once: {r['menus_not_once']}, per-group floor: {r['group_floor_s']:.1f} s")
    ok = (r["lost"] == r["twice"] == r["menus_not_once"] == 0 and r["ledger_sent"] == r["ledger_rows"] == r["chats"]
          and r["digests_built"] == r["distinct_digests"])
    print("nothing lost or sent twice" if ok else "FAILED: something lost, sent twice or built twice")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
