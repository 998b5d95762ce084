"""What a chat may see: its scope, read from its subscription and nowhere else.

The grammar of a scope is metrics.scope's (canonical, ScopeError): one for the bot and the
command line. Whatever a command, a button or an invite says, a chat's data comes from `chat_scope(sub)`: the scope is never taken from user
input except in the two explicit admin actions (`/subscribe … scope=` and /settings).
"""
from __future__ import annotations

from db.i18n import t


def chat_scope(sub) -> str | None:
    """The one scope a chat sees. A scoped chat stays scoped while unsubscribed too: an admin
    asking for /report there still gets only that scope."""
    return getattr(sub, "scope", None) if sub is not None else None


def may_see_data(user_id: int | None, sub, admin_ids: frozenset[int]) -> bool:
    return (user_id is not None and user_id in admin_ids) or (sub is not None and sub.active)


def scope_label(scope: str | None, locale: str) -> str:
    if scope is not None:
        return scope
    return t("scope.company", locale)


def split_scope_arg(args: list[str]) -> tuple[list[str], str | None]:
    """`/subscribe 08:45 UTC scope=team:north & region:msk`: everything from `scope=` on is the
    scope (it may contain spaces around &); the rest are the other arguments."""
    for i, arg in enumerate(args):
        if arg.lower().startswith("scope="):
            return args[:i], " ".join([arg[len("scope="):], *args[i + 1:]]).strip()
    return args, None
