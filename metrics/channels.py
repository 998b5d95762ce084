"""GA4 default channel grouping: one rule list, as a pure function and as a SQL CASE expression.

Both are generated from the same regular expressions (valid in Python `re` and in Postgres ARE),
so the Python function the tests reason about and the SQL the reports run cannot drift apart.
Inputs are a session's first-event source and medium: the UTM values when the event has any, else
the external referrer host with medium 'referral', else nothing (Direct).
"""
from __future__ import annotations

import re

from metrics.config import AttributionConfig

DIRECT, PAID_SEARCH, PAID_SOCIAL, DISPLAY = "Direct", "Paid Search", "Paid Social", "Display"
# Payments (attribution) and users (the funnel's breakdown) with no session before them.
UNATTRIBUTED = "Unattributed"
ORGANIC_SOCIAL, ORGANIC_SEARCH, EMAIL, AFFILIATES = "Organic Social", "Organic Search", "Email", "Affiliates"
REFERRAL, SMS, PUSH, UNASSIGNED = "Referral", "SMS", "Push", "Unassigned"
CHANNELS = (
    DIRECT, PAID_SEARCH, PAID_SOCIAL, DISPLAY, ORGANIC_SOCIAL, ORGANIC_SEARCH,
    EMAIL, AFFILIATES, REFERRAL, SMS, PUSH, UNASSIGNED,
)
PAID_CHANNELS = (PAID_SEARCH, PAID_SOCIAL, DISPLAY)

# GA4: cpc, ppc, retargeting, paid*, and anything containing "cp" (cpm, cpa, cpv ...).
PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
DISPLAY_MEDIUM = r"^(display|banner|expandable|interstitial|cpm)$"
SOCIAL_MEDIUM = r"^(social|social-network|social-media|sm|social network|social media)$"
EMAIL_RE = r"^(email|e-mail|e_mail|e mail)$"
PUSH_MEDIUM = r"(push$|mobile|notification)"
NO_SOURCE = r"^(|\(direct\))$"
NO_MEDIUM = r"^(|\(none\)|\(not set\))$"


def source_list_regex(names: tuple[str, ...]) -> str:
    """A source matches a list entry as a whole dot/word-delimited token: 'google', 'www.google.ru',
    'm.facebook.com' and 'mail.ru' all match; 'googled' does not."""
    if not names:
        return r"^$."  # matches nothing, in Python and in Postgres
    alts = "|".join(re.sub(r"([.^$*+?()\[\]{}|\\-])", r"\\\1", n.lower()) for n in names)
    return rf"(^|[^a-z0-9])({alts})([^a-z0-9]|$)"


Cond = tuple[tuple[str, str], ...]  # any of these (field, regex) pairs matches


def _rules(cfg: AttributionConfig) -> list[tuple[str, list[Cond]]]:
    """(channel, conditions) in GA4 order, first match wins; every condition of a rule must hold,
    and a condition holds when any of its (field, regex) pairs matches."""
    search, social = source_list_regex(cfg.search_sources), source_list_regex(cfg.social_sources)
    return [
        (DIRECT, [(("source", NO_SOURCE),), (("medium", NO_MEDIUM),)]),
        (PAID_SEARCH, [(("source", search),), (("medium", PAID_MEDIUM),)]),
        (PAID_SOCIAL, [(("source", social),), (("medium", PAID_MEDIUM),)]),
        (DISPLAY, [(("medium", DISPLAY_MEDIUM),)]),
        (ORGANIC_SOCIAL, [(("source", social), ("medium", SOCIAL_MEDIUM))]),
        (ORGANIC_SEARCH, [(("source", search), ("medium", r"^organic$"))]),
        (EMAIL, [(("source", EMAIL_RE), ("medium", EMAIL_RE))]),
        (AFFILIATES, [(("medium", r"^affiliates?$"),)]),
        (REFERRAL, [(("medium", r"^referral$"),)]),
        (SMS, [(("source", r"^sms$"), ("medium", r"^sms$"))]),
        (PUSH, [(("medium", PUSH_MEDIUM), ("source", r"^firebase$"))]),
    ]


def channel(source: str | None, medium: str | None, cfg: AttributionConfig) -> str:
    """The channel of a session whose first event has this source and medium (case-insensitive)."""
    values = {"source": (source or "").strip().lower(), "medium": (medium or "").strip().lower()}
    for name, conds in _rules(cfg):
        if all(any(re.search(rx, values[f]) for f, rx in cond) for cond in conds):
            return name
    return UNASSIGNED


def _lit(text: str) -> str:
    """A code constant (a GA4 pattern or a channel name) as a SQL literal; never a config value."""
    return "'" + text.replace("'", "''") + "'"


def channel_params(cfg: AttributionConfig) -> dict[str, str]:
    """The bind parameters of `channel_sql`: the source lists from the configuration, as regexes.

    Bound, not spliced: a configured name may hold a quote or a `:word`, which SQLAlchemy would
    read as a parameter of its own inside SQL text."""
    return {"ch_search_sources": source_list_regex(cfg.search_sources),
            "ch_social_sources": source_list_regex(cfg.social_sources)}


def channel_sql(cfg: AttributionConfig, source_expr: str, medium_expr: str) -> str:
    """The same grouping as `channel`, as a SQL CASE over two text expressions; run it with
    `channel_params(cfg)`."""
    exprs = {
        "source": f"lower(btrim(coalesce({source_expr}, '')))",
        "medium": f"lower(btrim(coalesce({medium_expr}, '')))",
    }
    bound = {rx: f":{name}" for name, rx in channel_params(cfg).items()}
    whens = []
    for name, conds in _rules(cfg):
        test = " and ".join(
            "(" + " or ".join(f"{exprs[f]} ~ {bound.get(rx) or _lit(rx)}" for f, rx in cond) + ")" for cond in conds
        )
        whens.append(f"when {test} then {_lit(name)}")
    return "(case " + " ".join(whens) + f" else {_lit(UNASSIGNED)} end)"
