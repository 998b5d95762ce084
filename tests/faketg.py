"""A fake Telegram Bot API server on loopback, for end-to-end tests of the real Application.

It serves /bot<token>/<method>, records every request, feeds queued updates to getUpdates (so a
test can "type" commands as users in chats), and can be told to answer a method (optionally for
one chat) with 429 + retry_after, 500, 403, a migrate_to_chat_id, or to hang. `press` queues a
callback query (a button pressed under a message); answerCallbackQuery and the message edits are
recorded, and `messages` keeps each message's current text and inline keyboard. After
setWebhook the updates are POSTed to the bot's webhook instead, with the secret header. With
`enforce_limits` it answers 429 when the bot exceeds Telegram's flood limits, modelled as leaky
buckets (30 messages a second overall, 20 a minute per group, a burst of one bucket's size). It
counts messages as Telegram does, not requests: each item of an album is one, an edit is one
(Telegram: edits share the sending limits); its 429 carries the seconds until the request would
fit, as Telegram's retry_after does.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

TOKEN = "123456:TEST-token_secret"
BOT_ID = 123456


@dataclass
class Call:
    method: str
    params: dict
    files: dict[str, int]  # field name -> size in bytes
    at: float
    status: int = 0        # 0 while hanging
    result: object = None  # what the server answered (a message dict for sends and edits)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        if self.method == "sendMediaGroup":
            media = json.loads(self.params["media"])
            return media[0].get("caption") or ""
        return self.params.get("text") or self.params.get("caption") or ""


@dataclass
class Fault:
    method: str
    kind: str                  # '429', '500', '403', '400', 'migrate', 'hang'
    chat_id: int | None = None
    times: int = 1
    retry_after: int = 1
    new_chat_id: int | None = None


class _Bucket:
    def __init__(self, capacity: float, period: float):
        self.capacity, self.rate = capacity, capacity / period
        self.level, self.t = 0.0, time.monotonic()

    def wait(self, n: int) -> float:
        """Seconds until `n` more messages fit (0: they fit now)."""
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.t) * self.rate)
        self.t = now
        return max(0.0, (self.level + n - self.capacity) / self.rate)

    def take(self, n: int) -> None:
        self.level += n


def messages_of(call: Call) -> int:
    """How many messages Telegram counts for a request: an album's items each, a send or an
    edit one, anything else (answers to button presses, reads) none."""
    if call.method == "sendMediaGroup":
        return len(json.loads(call.params["media"]))
    return int(call.method.startswith(("send", "editMessage", "copyMessage", "forwardMessage")))


@dataclass
class FakeTelegram:
    enforce_limits: bool = False
    limit_slack: float = 1.1   # tolerate 10% over: client and server clocks see the bursts differently
    group_period: float = 60.0  # 20 messages per this many seconds in one group (tests shrink it)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    limit_hits: int = 0
    commands: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)  # message id -> current text and reply_markup
    webhook: tuple[str, str | None] | None = None  # (url, secret token) while one is set
    webhook_posts: list[int] = field(default_factory=list)  # the bot's answers to the POSTs

    def __post_init__(self):
        self._updates: list[dict] = []
        self._new_update = asyncio.Event()
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._overall = _Bucket(30 * self.limit_slack, 1.0)
        self._groups: dict[int, _Bucket] = {}
        self._runner: web.AppRunner | None = None
        self._posting: asyncio.Future | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/{bot}/{method}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._release.set()
        if self._posting is not None:
            await asyncio.gather(self._posting, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- programming it ------------------------------------------------------------------------
    def fault(self, method: str, kind: str, chat_id: int | None = None, times: int = 1, **kw) -> None:
        self.faults.append(Fault(method, kind, chat_id, times, **kw))

    def release(self) -> None:
        """Let hanging requests finish (with a 500) and stop hanging new ones."""
        self.faults = [f for f in self.faults if f.kind != "hang"]
        self._release.set()

    def say(self, chat_id: int, user_id: int, text: str, title: str | None = None) -> int:
        """Queue a message from `user_id` in `chat_id` (negative id: a group) for getUpdates."""
        uid = next(self._update_ids)
        chat = self._chat(chat_id, title)
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat,
                   "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
                   "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._queue({"update_id": uid, "message": message})
        return uid

    def press(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """Queue a press of an inline button with callback `data` under message `message_id`;
        returns the callback query id (answerCallbackQuery carries it back)."""
        uid = next(self._update_ids)
        query_id = f"cbq{uid}"
        query = {"id": query_id, "chat_instance": f"ci{chat_id}", "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
                 "message": {"message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id),
                             "from": {"id": BOT_ID, "is_bot": True, "first_name": "SalesPulse"},
                             "text": self.messages.get(message_id, {}).get("text", "menu")}}
        self._queue({"update_id": uid, "callback_query": query})
        return query_id

    def answers(self, query_id: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "answerCallbackQuery"
                and (query_id is None or c.params.get("callback_query_id") == query_id)]

    def edits(self, chat_id: int | None = None, ok_only: bool = False) -> list[Call]:
        """editMessageText / editMessageReplyMarkup requests (to `chat_id`; only those that
        succeeded with `ok_only`)."""
        return [c for c in self.calls if c.method.startswith("editMessage")
                and (chat_id is None or c.chat_id == chat_id) and (c.ok or not ok_only)]

    def say_migrated(self, old: int, new: int) -> None:
        uid = next(self._update_ids)
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": self._chat(old),
                   "from": {"id": 1, "is_bot": False, "first_name": "Admin"}, "migrate_to_chat_id": new}
        self._queue({"update_id": uid, "message": message})

    def _queue(self, update: dict) -> None:
        """For getUpdates; or, while a webhook is set, POSTed to it as Telegram does (with the
        secret header), one at a time in order. `webhook_posts` keeps each POST's status."""
        if self.webhook is None:
            self._updates.append(update)
            self._new_update.set()
            return
        self._posting = asyncio.ensure_future(self._post(update, self._posting))

    async def _post(self, update: dict, previous: asyncio.Future | None) -> None:
        from aiohttp import ClientSession

        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        url, secret = self.webhook
        async with ClientSession() as session, session.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret or ""}) as response:
            self.webhook_posts.append(response.status)

    # -- reading what happened ---------------------------------------------------------------
    def sent(self, chat_id: int | None = None, method: str | None = None, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls
                if c.method.startswith("send") and (chat_id is None or c.chat_id == chat_id)
                and (method is None or c.method == method) and (c.ok or not ok_only)]

    def texts(self, chat_id: int) -> list[str]:
        return [c.text for c in self.sent(chat_id)]

    async def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: "
                                     f"{[(c.method, c.chat_id, c.status) for c in self.calls[-20:]]}")
            await asyncio.sleep(0.02)

    # -- the server ----------------------------------------------------------------------------
    @staticmethod
    def _chat(chat_id: int, title: str | None = None) -> dict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": title or f"Group {chat_id}"}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{TOKEN}":
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = {}, {}
        if request.content_type == "application/json":
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (await request.json()).items()}
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, (str, bytes)):
                    params[key] = value
                else:
                    files[key] = len(value.file.read())
        call = Call(method, params, files, time.monotonic())
        self.calls.append(call)
        status, body = await self._answer(call)
        call.status = status
        call.result = body.get("result")
        return web.json_response(body, status=status)

    def _take_fault(self, call: Call) -> Fault | None:
        for f in self.faults:
            if f.method.lower() == call.method.lower() and (f.chat_id is None or f.chat_id == call.chat_id):
                if f.times != -1:
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                return f
        return None

    async def _answer(self, call: Call) -> tuple[int, dict]:
        fault = self._take_fault(call)
        if fault is not None:
            if fault.kind == "hang":
                await self._release.wait()
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return _fault_body(fault)
        n = messages_of(call) if self.enforce_limits and call.chat_id is not None else 0
        if n:
            buckets = [self._overall]
            if call.chat_id < 0:
                buckets.append(self._groups.setdefault(
                    call.chat_id, _Bucket(20 * self.limit_slack, self.group_period)))
            wait = max(b.wait(n) for b in buckets)
            if wait > 0:  # refused: nothing taken, as Telegram does not count what it refused
                self.limit_hits += 1
                return _fault_body(Fault(call.method, "429", retry_after=max(1, math.ceil(wait))))
            for b in buckets:
                b.take(n)
        return 200, {"ok": True, "result": await self._result(call)}

    async def _result(self, call: Call):
        m, p = call.method, call.params
        if m == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "SalesPulse", "username": "salespulse_test_bot",
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if m == "getUpdates":
            return await self._get_updates(int(p.get("offset") or 0), float(p.get("timeout") or 0))
        if m == "setMyCommands":
            self.commands[p.get("language_code") or ""] = json.loads(p["commands"])
            return True
        if m == "getMyCommands":
            return self.commands.get(p.get("language_code") or "", [])
        if m == "sendMediaGroup":
            return [self._message(call, {"photo": _photo()}) for _ in json.loads(p["media"])]
        if m == "sendPhoto":
            return self._message(call, {"photo": _photo(), "caption": p.get("caption")})
        if m == "sendDocument":
            return self._message(call, {"document": {"file_id": "doc", "file_unique_id": "doc"}})
        if m == "sendMessage":
            return self._message(call, {"text": p.get("text", "")})
        if m == "answerCallbackQuery":
            return True
        if m == "setWebhook":  # a webhook and getUpdates exclude each other, as at Telegram
            self.webhook = (p["url"], p.get("secret_token"))
            return True
        if m == "deleteWebhook":
            self.webhook = None
            return True
        if m in ("editMessageText", "editMessageReplyMarkup"):
            # One record per message: an edit changes its text (and buttons) in place.
            mid = int(p["message_id"])
            kept = self.messages.setdefault(mid, {})
            if m == "editMessageText":
                kept["text"] = p.get("text", "")
            kept["reply_markup"] = json.loads(p["reply_markup"]) if p.get("reply_markup") else None
            return {"message_id": mid, "date": int(time.time()), "edit_date": int(time.time()),
                    "chat": self._chat(call.chat_id), "text": kept.get("text", "")}
        return True  # close, logOut, ...

    def _message(self, call: Call, extra: dict) -> dict:
        message = {"message_id": next(self._ids), "date": int(time.time()),
                   "chat": self._chat(call.chat_id), **{k: v for k, v in extra.items() if v is not None}}
        markup = call.params.get("reply_markup")
        self.messages[message["message_id"]] = {"text": extra.get("text") or extra.get("caption") or "",
                                                "reply_markup": json.loads(markup) if markup else None}
        return message

    async def _get_updates(self, offset: int, timeout: float) -> list[dict]:
        # As Telegram: an offset confirms every update below it, which is then forgotten (a
        # restarted bot does not see the commands its predecessor already handled).
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(timeout, 0.25)
        while True:
            pending = [u for u in self._updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass


def _photo() -> list[dict]:
    return [{"file_id": "p", "file_unique_id": "p", "width": 640, "height": 480}]


def _fault_body(f: Fault) -> tuple[int, dict]:
    if f.kind == "429":
        return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {f.retry_after}",
                     "parameters": {"retry_after": f.retry_after}}
    if f.kind == "403":
        return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    if f.kind == "migrate":
        return 400, {"ok": False, "error_code": 400,
                     "description": "Bad Request: group chat was upgraded to a supergroup chat",
                     "parameters": {"migrate_to_chat_id": f.new_chat_id}}
    if f.kind == "400":
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
    return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}


# -- a harness: the real Application, pointed at the fake server, on a state schema of its own ---

ADMIN = 1001        # an admin's user id (and the id of their private chat with the bot)
USER = 2002         # a plain user
GROUP = -4242       # a group chat
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def fake_digest(text: str = "SalesPulse — digest\nNew payers: 3", n_charts: int | None = 2, csv: str = ""):
    """A digest builder that costs nothing; records each call in `.calls` and reports the
    stages `.stages` to the `progress` keyword, as reports.digest.build_digest does.
    `n_charts=None`: one chart per metric asked for, as the real digest has."""
    from reports.digest import Chart, Digest

    def build(engine, cfg, req, progress=None, **_):
        day, locale = req.day, req.locale
        build.calls.append((day.day, day.timezone, locale, req.metrics))
        build.scopes.append(str(req.scope) if req.scope else None)  # the canonical scope text
        for stage in build.stages:
            if progress is not None:
                progress(stage)
        return Digest(day.day, day.timezone, locale, {}, text=f"{text}\n{day.day:%Y-%m-%d}",
                      charts=[Chart(f"c{i}", PNG) for i in range(len(req.metrics) if n_charts is None
                                                                   else n_charts)], csv=csv)

    build.calls = []
    build.scopes = []
    build.stages = ("sessions", "hanging", "charts")
    return build


async def more_runs(counter, n: int, what: str, timeout: float = 30.0) -> None:
    """Wait until `counter()` (a job's count of completed runs) has grown by `n`: so a second
    message or a double delivery would have happened by then. Counted, not timed, so a loaded
    machine only makes it slower."""
    start = counter()
    for _ in range(int(timeout / 0.05)):
        if counter() >= start + n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: {n} more runs did not happen in {timeout:.0f} s")


def fast_options(**kw):
    from bot.service import BotOptions

    # No menu under digests unless a test asks for it: the delivery tests count digest parts.
    base = {"send_attempts": 3, "send_backoff": 0.05, "db_attempts": 3, "db_backoff": 0.05,
                "rate_limit_retries": 3, "read_timeout": 2.0, "digest_buttons": False,
                "retry_waits": (0.3, 0.6, 1.0), "sweep_interval": 0.2, "progress_interval": 0.2}
    base.update(kw)
    return BotOptions(**base)


class BotHarness:
    def __init__(self, tg: FakeTelegram, engine, schema: str, *, digest=None, clock=None,
                 options=None, source_schema: str = "public", leads=None, **settings):
        from db.settings import Settings

        self.tg, self.engine, self.schema = tg, engine, schema
        self.digest = digest or fake_digest()
        self.clock, self.options = clock, options or fast_options()
        self.leads = leads
        defaults = {"telegram_bot_token": TOKEN, "telegram_api_base_url": tg.base_url,
                        "admin_user_ids": frozenset({ADMIN}), "state_schema": schema,
                        "source_schema": source_schema, "report_timezone": "UTC", "locale": "en"}
        defaults.update(settings)
        self.settings = Settings(**defaults)
        self.app = None

    def build(self):
        from bot.app import build_application
        from metrics.config import load_config

        return build_application(self.settings, load_config(), self.engine, clock=self.clock,
                                 digest_builder=self.digest, options=self.options, leads_builder=self.leads)

    async def start(self):
        from bot.app import start

        self.app = self.build()
        await start(self.app, timeout=1)
        return self

    async def stop(self):
        from bot.app import stop

        if self.app is not None:
            await stop(self.app)
            self.app = None

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def delivery(self):
        return self.app.bot_data.delivery

    @property
    def store(self):
        from bot.subscriptions import Store

        return Store(self.engine, self.schema)

    async def ask(self, chat_id: int, user_id: int, text: str, replies: int = 1) -> list[Call]:
        """Type `text` in the chat and wait for `replies` requests to it; returns the new ones."""
        before = len(self.tg.sent(chat_id, ok_only=False))
        self.tg.say(chat_id, user_id, text)
        await self.tg.wait_for(lambda: len(self.tg.sent(chat_id, ok_only=False)) >= before + replies,
                               what=f"{replies} replies to {text!r}")
        return self.tg.sent(chat_id, ok_only=False)[before:]

    async def reply(self, chat_id: int, user_id: int, text: str) -> str:
        """The text of the one reply to `text` (fails if there is more than one)."""
        (call,) = await self.ask(chat_id, user_id, text)
        return call.text

    def ledger(self, chat_id: int | None = None) -> list[dict]:
        import sqlalchemy as sa

        where = "" if chat_id is None else f"where chat_id = {int(chat_id)}"
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(
                f'select * from "{self.schema}".deliveries {where} order by id'))]


class Clock:
    """The bot's clock in tests: reads `now`, which a test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
