"""A scope: the users a report is about, named by tags of the optional `user_tags` table.

A scope is one tag, or several joined with `&` (a user is in it when it has every one of them).
Text like "team:north & region:msk" is parsed once into a `Scope`; SQL never sees the text, only
the tags bound as an array parameter (`scope_params`) and a predicate whose shape depends on
nothing but whether there is a scope (`in_scope`). Tags are kept sorted and de-duplicated, so
"b & a" and "a & b & a" are the same scope (and the same cache key).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from db.source import Source

TAG_MAX = 64
TAGS_MAX = 8
# Letters (any script), digits and the separators tags use in practice: team:north, region:msk,
# manager:ivanov, segment/b2b, utm.vk, a-b, a_b. No spaces, quotes, commas or '&' inside a tag.
_TAG = re.compile(r"[\w:./@+-]+")


class ScopeError(ValueError):
    """The scope text is unusable; the message says what was wrong and what would be right."""


@dataclass(frozen=True)
class Scope:
    tags: tuple[str, ...]

    def __str__(self) -> str:
        return " & ".join(self.tags)

    @classmethod
    def parse(cls, text: str) -> Scope:
        if text is None or not str(text).strip():
            raise ScopeError("the scope is empty; give a tag such as team:north, or tags joined "
                             "with & such as 'team:north & region:msk'")
        parts = [p.strip() for p in str(text).split("&")]
        if any(not p for p in parts):
            raise ScopeError(f"'{text}' has an empty tag around '&'; write tags joined by &, "
                             "e.g. 'team:north & region:msk'")
        for p in parts:
            if len(p) > TAG_MAX:
                raise ScopeError(f"tag '{p[:20]}…' is longer than {TAG_MAX} characters")
            if not _TAG.fullmatch(p):
                raise ScopeError(f"tag '{p}' has characters a tag cannot have; use letters, digits "
                                 "and : . / @ + - _ (e.g. team:north)")
        tags = tuple(sorted(set(parts)))
        if len(tags) > TAGS_MAX:
            raise ScopeError(f"a scope has at most {TAGS_MAX} tags, '{text}' has {len(tags)}")
        return cls(tags)


def parse_scope(text: str | None) -> Scope | None:
    """None (company-wide) for None; else the parsed scope (ScopeError on bad text)."""
    return None if text is None else Scope.parse(text)


def scope_params(scope: Scope | None) -> dict:
    """The bind parameters `in_scope` reads; empty for the company-wide report."""
    return {} if scope is None else {"scope_tags": list(scope.tags)}


def scope_users_sql(src: Source) -> str:
    """The scope's users: one index-only range scan of user_tags (tag, user_id) per tag."""
    return (
        f"select g.user_id from {src.table('user_tags')} g where g.tag = any(cast(:scope_tags as text[])) "
        f"group by g.user_id having count(distinct g.tag) = cardinality(cast(:scope_tags as text[]))"
    )


def in_scope(src: Source, scope: Scope | None, user_col: str) -> str:
    """SQL predicate: the user is in the scope ('true' for the company-wide report).

    A semi-join (`IN (subquery)`), so the planner picks a hashed set of the scope's users or a
    per-row probe, whichever is cheaper; a null user (an anonymous session) is in no scope.
    """
    if scope is None:
        return "true"
    return f"{user_col} in ({scope_users_sql(src)})"
