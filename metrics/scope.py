"""A scope: the users a report is about, named by tags of the optional `user_tags` table.

The one grammar of a scope, for the bot (`/subscribe … scope=`, `/invite`, /settings, alert rules)
and the command line (`--scope`) alike (docs/scopes.md): one tag, or several joined with `&` (a
user is in it when it has every one of them); `*` is the whole company. A tag is 1-64 letters (any
script), digits and `: . / @ + - _` (team:north, region:msk, manager:ivanov, segment/b2b, utm.vk);
no spaces, quotes, commas or `&` inside a tag; at most 8 tags. Tags are kept sorted and
de-duplicated, so "b & a" and "a & b & a" are the same scope (and the same cache key).

Text is parsed once into a `Scope`; SQL never sees the text, only the tags bound as an array
parameter (`scope_params`), the users they name looked up with them (`scope_binds`), and a
predicate whose shape depends on nothing but whether there is a scope (`in_scope`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.i18n import LocalizedError
from db.source import Source

TAG_MAX = 64
TAGS_MAX = 8
COMPANY = "*"  # `/subscribe scope=*`, `--scope '*'`: the whole company, explicitly
_TAG = re.compile(r"[\w:./@+-]+")


class ScopeError(LocalizedError):
    """The scope text is unusable; the message (error.bad_scope, error.scope_*) says what was
    wrong and what would be right, in the reader's language."""


@dataclass(frozen=True)
class Scope:
    tags: tuple[str, ...]

    def __str__(self) -> str:
        return " & ".join(self.tags)

    @classmethod
    def parse(cls, text: str) -> Scope:
        if text is None or not str(text).strip():
            raise ScopeError("error.scope_empty")
        parts = [p.strip() for p in str(text).split("&")]
        if any(not p for p in parts):
            raise ScopeError("error.scope_empty_tag", text=text)
        for p in parts:
            if len(p) > TAG_MAX:
                raise ScopeError("error.scope_tag_long", tag=p[:20], n=TAG_MAX)
            if not _TAG.fullmatch(p):
                raise ScopeError("error.bad_scope", text=p)
        tags = tuple(sorted(set(parts)))
        if len(tags) > TAGS_MAX:
            raise ScopeError("error.scope_tags", n=TAGS_MAX)
        return cls(tags)


def parse_scope(text: str | None) -> Scope | None:
    """None (company-wide) for None or `*`; else the parsed scope (ScopeError on bad text)."""
    if text is None or str(text).strip() == COMPANY:
        return None
    return Scope.parse(text)


def canonical(text: str | None) -> str | None:
    """The scope's canonical text ("region:msk & team:north"), None for the whole company: what a
    subscription, an invite and an alert rule store."""
    scope = parse_scope(text)
    return None if scope is None else str(scope)


def scope_params(scope: Scope | None) -> dict:
    """The bind parameters `in_scope` reads; empty for the company-wide report."""
    return {} if scope is None else {"scope_tags": list(scope.tags)}


def scope_users_sql(src: Source) -> str:
    """The scope's users: one index-only range scan of user_tags (tag, user_id) per tag."""
    return (
        f"select g.user_id from {src.table('user_tags')} g where g.tag = any(cast(:scope_tags as text[])) "
        f"group by g.user_id having count(distinct g.tag) = cardinality(cast(:scope_tags as text[]))"
    )


def scope_binds(conn: Connection, src: Source, scope: Scope | None) -> dict:
    """The bind parameters `in_scope` reads: the scope's users themselves (`scope_users`), looked
    up once per statement with the tags; empty for the company-wide report."""
    if scope is None:
        return {}
    users = conn.execute(sa.text(scope_users_sql(src)), scope_params(scope)).scalars().all()
    return {"scope_users": sorted(users)}


def in_scope(src: Source, scope: Scope | None, user_col: str) -> str:
    """SQL predicate: the user is in the scope; '' (no predicate at all) for the company-wide
    report, so that callers compose it with `metrics.common.also` / `where`.

    A test against the array of the scope's users (`scope_binds`), not a semi-join on user_tags:
    a planner without statistics on user_tags guessed the scope at one user, put it outside a
    nested loop and read the whole window once per user (issue 23: 1,514 users x 3,000 rows,
    0.75 s a funnel step); an array of constants is known to the planner, tested through a hash
    table, or probed by an index, either way once per row. A null user (an anonymous session) is
    in no scope.
    """
    if scope is None:
        return ""
    return f"{user_col} = any(cast(:scope_users as bigint[]))"
