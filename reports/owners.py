"""The digest's owner line: who has the most stuck leads (docs/scopes.md).

Owner totals are summed over the pipelines' `by_owner` rows (metrics.hanging); the text names the
top owners by the part of the tag after its prefix ("manager:ivanov" reads "ivanov").
"""
from __future__ import annotations

from charts.labels import shorten
from db.i18n import t
from db.i18n.formats import fmt_num
from metrics.hanging import HangingResult


def owner_totals(r: HangingResult) -> list[tuple[str | None, int]]:
    """Hanging processes per owner over all pipelines, most first (None: no owner)."""
    totals: dict[str | None, int] = {}
    for p in r.pipelines:
        for o in p.by_owner:
            totals[o.owner] = totals.get(o.owner, 0) + o.hanging
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))


def owner_lines(r: HangingResult, loc: str, top: int = 3) -> list[str]:
    """Who to call: the owners with the most stuck leads ("manager:ivanov" reads "ivanov")."""
    totals = owner_totals(r)
    named = [(o, n) for o, n in totals if o is not None and n > 0][:top]
    if not named:
        return []
    items = [f"{shorten(o.split(':', 1)[-1], 32)} {fmt_num(n, loc)}" for o, n in named]
    unowned = sum(n for o, n in totals if o is None)
    if unowned:
        items.append(t("digest.hanging.no_owner", loc, n=fmt_num(unowned, loc)))
    return [t("digest.hanging.owners", loc, items=", ".join(items))]
