"""`/invite TAG` and the deep link it answers with; `/start <token>` redeems it.

An invite row holds the scope; the token (bot/commands/tokens.py) names the row, signed and with its
expiry. Redeeming consumes the row and subscribes the chat in one transaction: under two
concurrent opens of the same link the row lock lets exactly one through.

A chat that already has an active subscription is not changed by an invite unless an admin opens
it: otherwise anyone in a scoped chat could switch it to a scope whose link they got hold of.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from telegram import Update
from telegram.helpers import create_deep_linked_url

from bot.commands import handlers
from bot.commands.tokens import TokenError, derive_secret, make_token, read_token
from bot.context import BotContext
from bot.schedule import schedule_chat
from bot.subscriptions import Store, Subscription
from db.i18n import t
from metrics.scope import ScopeError, canonical

log = logging.getLogger("salespulse.bot.invites")


@dataclass(frozen=True)
class Redeemed:
    outcome: str                      # 'ok', 'used', 'expired', 'forged', 'chat_taken'
    sub: Subscription | None = None


class InviteStore:
    def __init__(self, store: Store):
        self.store = store
        self.s = store.s

    def create(self, scope: str, by: int, expires_at: datetime) -> int:
        with self.store.engine.begin() as conn:
            return conn.execute(sa.text(f"""insert into {self.s}.invites (scope, created_by, expires_at)
                values (:scope, :by, :exp) returning id"""), {"scope": scope, "by": by, "exp": expires_at}).scalar()

    def redeem(self, invite_id: int, chat_id: int, title: str | None, user_id: int, now: datetime,
               at, tz: str, by_admin: bool) -> Redeemed:
        with self.store.engine.begin() as conn:
            current = conn.execute(sa.text(f"""select active from {self.s}.subscriptions
                where chat_id = :c for update"""), {"c": chat_id}).scalar()
            if current and not by_admin:
                return Redeemed("chat_taken")  # the invite stays unused for the chat it was meant for
            row = conn.execute(sa.text(f"""update {self.s}.invites
                set used_at = :now, used_by_chat = :c, used_by_user = :u
                where id = :id and used_at is null and expires_at > :now
                returning scope, created_by"""),
                {"now": now, "c": chat_id, "u": user_id, "id": invite_id}).one_or_none()
            if row is None:
                why = conn.execute(sa.text(f"select used_at from {self.s}.invites where id = :id"),
                                   {"id": invite_id}).one_or_none()
                return Redeemed("forged" if why is None else "used" if why.used_at else "expired")
            sub = self.store.subscribe(chat_id, title, at, tz, None, row.created_by, scope=row.scope, conn=conn)
        return Redeemed("ok", sub)


def invite_secret(settings) -> bytes:
    if settings.invite_secret:
        return settings.invite_secret.encode()
    return derive_secret(settings.telegram_bot_token or "")


def _is_admin(update: Update, settings) -> bool:
    return update.effective_user is not None and update.effective_user.id in settings.admin_user_ids


async def invite(update: Update, context: BotContext) -> None:
    delivery, settings, clock = context.bot_data.delivery, context.bot_data.settings, context.bot_data.clock
    loc = settings.locale
    if not _is_admin(update, settings):
        await handlers._reply(update, t("bot.refuse_admin", loc, user_id=update.effective_user.id,
                                         chat_id=update.effective_chat.id))
        return
    text = " ".join(context.args or []).removeprefix("scope=")
    try:
        scope = canonical(text) if text else None
    except ScopeError as exc:
        await handlers._reply(update, exc.text(loc) + "\n" + t("bot.invite_usage", loc))
        return
    if scope is None:  # an invite to the whole company is not what deep links are for
        await handlers._reply(update, t("bot.invite_usage", loc))
        return
    expires = (clock() + timedelta(days=settings.invite_ttl_days)).replace(microsecond=0)
    invite_id = await delivery.db("creating an invite", InviteStore(delivery.store).create, scope,
                                  update.effective_user.id, expires)
    token = make_token(invite_secret(settings), invite_id, expires)
    username = context.bot.username
    log.info("invite %s for scope %s made by user %s", invite_id, scope, update.effective_user.id)
    await handlers._reply(update, t("bot.invite_made", loc, scope=scope, until=handlers._fmt(expires, settings.report_timezone),
        private=create_deep_linked_url(username, token), group=create_deep_linked_url(username, token, group=True),
        time=f"{settings.default_delivery_time:%H:%M}", tz=settings.report_timezone))


async def start(update: Update, context: BotContext) -> None:
    """`/start` alone: the greeting. `/start <token>`: a deep link being opened."""
    if not context.args:
        await handlers.start(update, context)
        return
    delivery, settings, clock = context.bot_data.delivery, context.bot_data.settings, context.bot_data.clock
    chat, user = update.effective_chat, update.effective_user
    loc = settings.locale
    try:
        if len(context.args) != 1:
            raise TokenError("forged")
        token = read_token(invite_secret(settings), context.args[0], clock())
    except TokenError as exc:
        log.info("chat %s: invite refused (%s token) for user %s", chat.id, exc.kind, user.id)
        await handlers._reply(update, t(f"bot.invite_{exc.kind}", loc))
        return
    title = chat.title or chat.full_name or chat.username
    result = await delivery.db("redeeming an invite", InviteStore(delivery.store).redeem, token.invite_id,
                               chat.id, title, user.id, clock(), settings.default_delivery_time,
                               settings.report_timezone, _is_admin(update, settings))
    log.info("chat %s: invite %s by user %s: %s", chat.id, token.invite_id, user.id, result.outcome)
    if result.sub is None:
        await handlers._reply(update, t(f"bot.invite_{result.outcome}", loc))
        return
    sub = result.sub
    schedule_chat(context.application, sub)
    await handlers._reply(update, t("bot.invite_welcome", sub.locale or loc, scope=sub.scope,
                                    time=f"{sub.delivery_time:%H:%M}", tz=sub.timezone))
