"""GA4 default channel grouping: the pure function, and its SQL twin agreeing with it."""
import dataclasses

import pytest
import sqlalchemy as sa

from metrics.channels import CHANNELS, channel, channel_params, channel_sql, source_list_regex

CASES = [
    # (source, medium, expected) - first matching rule wins, case-insensitive
    (None, None, "Direct"),
    ("(direct)", "(none)", "Direct"),
    ("", "(not set)", "Direct"),
    ("google", "cpc", "Paid Search"),
    ("GOOGLE", "CPC", "Paid Search"),  # upper case
    ("yandex", "paid_search", "Paid Search"),  # paid*
    ("bing", "retargeting", "Paid Search"),
    ("google", "cpm", "Paid Search"),  # "anything with cp" beats Display: paid search comes first
    ("facebook", "cpc", "Paid Social"),
    ("m.facebook.com", "paid", "Paid Social"),
    ("vk", "ppc", "Paid Social"),
    ("some-network", "banner", "Display"),
    ("adnet", "cpm", "Display"),  # cpm but no search/social source -> Display
    ("instagram", "referral", "Organic Social"),  # social referrer host
    ("t.me", "referral", "Organic Social"),  # dotted list entry
    ("newsletter", "social", "Organic Social"),  # social medium
    ("www.google.ru", "referral", "Organic Search"),  # search referrer host
    ("whatever", "organic", "Organic Search"),
    ("mail.ru", "referral", "Organic Search"),
    ("digest", "email", "Email"),
    ("e-mail", None, "Email"),
    ("partner", "affiliate", "Affiliates"),
    ("blog.example.org", "referral", "Referral"),
    ("sms", None, "SMS"),
    ("gateway", "sms", "SMS"),
    ("app", "web_push", "Push"),
    ("firebase", "notification", "Push"),
    ("googled", "cpc", "Unassigned"),  # 'google' only as a whole token
    ("partner", "cpc", "Unassigned"),  # paid medium, unknown source
    (None, "cpc", "Unassigned"),  # medium without source is not Direct
    ("weird", "thing", "Unassigned"),
]


@pytest.mark.parametrize(("source", "medium", "expected"), CASES)
def test_channel_rules(cfg, source, medium, expected):
    assert channel(source, medium, cfg.attribution) == expected


def test_sql_case_agrees_with_function(engine, cfg):
    values = ", ".join(f"(:s{i}, :m{i})" for i in range(len(CASES)))
    params = {f"s{i}": s for i, (s, _, _) in enumerate(CASES)} | {f"m{i}": m for i, (_, m, _) in enumerate(CASES)}
    params |= channel_params(cfg.attribution)
    sql = f"select {channel_sql(cfg.attribution, 'v.s', 'v.m')} from (values {values}) as v(s, m)"
    with engine.connect() as conn:
        got = [r[0] for r in conn.execute(sa.text(sql), params)]
    assert got == [e for _, _, e in CASES]
    assert set(got) <= set(CHANNELS)


def test_source_lists_extend_from_config(cfg):
    att = cfg.attribution
    assert channel("seznam", "cpc", att) == "Unassigned"
    extended = dataclasses.replace(att, search_sources=(*att.search_sources, "seznam"))
    assert channel("seznam", "cpc", extended) == "Paid Search"
    assert channel("www.seznam.cz", "referral", extended) == "Organic Search"
    empty = dataclasses.replace(att, social_sources=())
    assert channel("facebook", "cpc", empty) == "Unassigned"  # an empty list matches nothing


def test_source_regex_escapes_dots():
    import re

    rx = source_list_regex(("t.me",))
    assert re.search(rx, "t.me") and not re.search(rx, "tome")
