"""What `salespulse check` says of the plan's rows (the optional targets table, metrics.targets):
every row a digest cannot use and why (an unknown metric with the nearest plannable one, a period
that is not a calendar month or an ISO week, two rows for one number, period and scope, a value
that is not positive, a scope that does not parse), the scopes nobody carries, and a summary.
Findings are (level, text) pairs; the caller words them as its own."""
from __future__ import annotations

import difflib
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.scope import parse_scope, scope_params, scope_users_sql
from metrics.targets import PLANNED, read_rows, usable_targets

MAX_LINES = 10  # rows named one by one; the rest are counted


def _row(r) -> str:
    return f"{r.period_start} {r.period} {r.metric} ({r.scope or 'company'})"


def _hint(why: str, metric: str | None) -> str:
    if why.startswith("metric") and metric:
        close = difflib.get_close_matches(metric.strip().lower(), list(PLANNED), n=1, cutoff=0.6)
        if close:
            return f"; nearest: {close[0]!r}"
    if why.startswith("metric"):
        return f"; plannable: {', '.join(PLANNED)}"
    return ""


def audit(conn: Connection, schema: str, has_tags: bool) -> list[tuple[str, str]]:
    src = Source(schema=schema)
    good, bad = usable_targets(read_rows(conn, src))
    out = [("error", f"row {_row(r)}: {why}{_hint(why, r.metric)}; no digest uses it")
           for r, why in bad[:MAX_LINES]]
    if len(bad) > MAX_LINES:
        out.append(("error", f"… and {len(bad) - MAX_LINES} more rows no digest uses"))
    scopes = Counter(t.scope for t in good if t.scope is not None)
    for scope, n in sorted(scopes.items()):
        if not has_tags:
            out.append(("warn", f"scope {scope!r} ({n} plans): there is no user_tags table, so no chat has it"))
            continue
        users = conn.execute(sa.text(f"select count(*) from ({scope_users_sql(src)}) u"),
                             scope_params(parse_scope(scope))).scalar_one()
        if not users:
            out.append(("warn", f"scope {scope!r} ({n} plans): nobody carries these tags, so no digest shows them"))
    if good:
        kinds = Counter(t.period.kind for t in good)
        first, last = min(t.period.start for t in good), max(t.period.end for t in good)
        names = ", ".join(dict.fromkeys(t.metric for t in good))
        out.insert(0, ("ok", f"{len(good)} plans ({', '.join(f'{n} {k}ly' for k, n in sorted(kinds.items()))}) "
                             f"from {first} to {last}: {names}; scopes: company"
                             + "".join(f", {s}" for s in sorted(scopes))))
    elif not bad:
        out.append(("info", "no rows: no plan, so no pace in the digests"))
    return out
