"""What a chat may see: its scope, read from its subscription and nowhere else.

A scope is one tag or several joined with `&` (DESIGN section 9). Whatever a command, a button or
an invite says, a chat's data comes from `chat_scope(sub)`: the scope is never taken from user
input except in the two explicit admin actions (`/subscribe … scope=` and /settings).
"""
from __future__ import annotations

import re

from charts.i18n import t

TAG = re.compile(r"[A-Za-z0-9:_.\-]{1,64}")
COMPANY = "*"       # `/subscribe scope=*`: an admin explicitly makes a chat company-wide again
MAX_TAGS = 4


class ScopeError(ValueError):
    """A scope text of the wrong shape; the catalogue's message `key` says what would be right.

    str() is the English text (logs, the CLI); `text(locale)` gives the chat's language."""

    def __init__(self, key: str, /, **kw: object):
        super().__init__(t(key, "en", **kw))
        self.key, self.kw = key, kw

    def text(self, locale: str) -> str:
        return t(self.key, locale, **self.kw)


def parse_scope(text: str) -> str | None:
    """Canonical form of a scope (tags sorted, joined with ' & '); None for `*` (company-wide).
    The order of tags does not change who is in a scope, so sorting makes equal scopes share
    one cache entry."""
    value = (text or "").strip()
    if value == COMPANY:
        return None
    tags = [p.strip() for p in value.split("&")]
    bad = next((tag for tag in tags if not TAG.fullmatch(tag)), None)
    if bad is not None or not value:
        shown = bad if bad else value
        raise ScopeError("error.bad_scope", text=shown)
    tags = sorted(set(tags))
    if len(tags) > MAX_TAGS:
        raise ScopeError("error.scope_tags", n=MAX_TAGS)
    return " & ".join(tags)


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
