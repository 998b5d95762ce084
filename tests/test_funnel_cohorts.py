"""The funnel's two cohorts (funnel.cohort) on hand-built data on a real Postgres: "first" counts
new leads (first-ever step 1 in the window), "window" everyone who did step 1 in the window (GA4's
closed funnel). The digest and the JSON name the one they count."""
import dataclasses
from datetime import date

import pytest

from reports.serialize import jsonable
from reports.specs import funnel as funnel_text
from tests.test_funnel import STEPS, A, B, C, march, run, table

D = date(2024, 3, 14)  # UTC; cohort window (7 days) = [03-08 00:00, 03-15 00:00)


def load_returning_customers(source):
    source.events(
        (1, A, march(1, 10)),  # a returning customer: step 1 before the window ...
        (1, A, march(10, 10)), (1, B, march(10, 12)),  # ... and again inside it, B 2 h later
        (2, A, march(9, 8)), (2, A, march(11, 8)),  # two step-1 events in the window: t1 = 03-09 08:00
        (2, B, march(11, 9)),  # B at 49 h
        (3, A, march(5, 10)), (3, B, march(10, 10)),  # step 1 before the window, step 2 inside it
        (4, A, march(12, 10)), (4, B, march(12, 10, 30)), (4, C, march(12, 11)),  # new: 0.5 h, 1 h ...
        (5, A, march(1, 10)), (5, B, march(2, 10)),  # returning: A and B long before the window,
        (5, A, march(13, 10)), (5, C, march(13, 11)),  # A again inside it; C without B after t1
    )
    source.payments((4, march(13, 10), 100))  # ... and purchase at 24 h


def with_cohort(cfg, cohort):
    return dataclasses.replace(cfg, funnel=dataclasses.replace(cfg.funnel, steps=STEPS, clusters=2, cohort=cohort))


def test_first_counts_new_leads_only(source, cfg):
    load_returning_customers(source)
    r = run(source, with_cohort(cfg, "first"))
    assert (r.cohort, r.cohort_users) == ("first", 2)  # users 2 and 4: 1 and 5 had step 1 before, 3 none in it
    assert table(r) == [
        (2, 1.0, 1.0, 0.0),
        (2, 1.0, 1.0, 24.75),  # B: 2 (49 h), 4 (0.5 h)
        (1, 0.5, 0.5, 1.0),  # C: 4 (1 h)
        (1, 0.5, 1.0, 24.0),  # purchase: 4 (24 h)
    ]


def test_window_counts_everyone_with_step_1_in_the_window(source, cfg):
    load_returning_customers(source)
    r = run(source, with_cohort(cfg, "window"))
    assert (r.cohort, r.cohort_users) == ("window", 4)  # users 1, 2, 4, 5; user 3's step 1 is before
    assert table(r) == [
        (4, 1.0, 1.0, 0.0),  # user 2 once, from its first step 1 in the window
        (3, 0.75, 0.75, 2.0),  # B: 1 (2 h from its in-window t1), 2 (49 h), 4 (0.5 h); 5's B is before t1
        (1, 0.25, 0.3333, 1.0),  # C: 4 (1 h); 5's C comes without B
        (1, 0.25, 1.0, 24.0),  # purchase: 4
    ]


@pytest.mark.parametrize("cohort, headline", [
    ("first", "🔻 Funnel 8 Mar–14 Mar, new leads: 2 → 1 purchase (50%)"),
    ("window", f"🔻 Funnel 8 Mar–14 Mar, everyone who did «{A}»: 4 → 1 purchase (25%)"),
])
def test_digest_and_json_name_the_cohort(source, cfg, cohort, headline):
    load_returning_customers(source)
    r = run(source, with_cohort(cfg, cohort))
    assert funnel_text.text(r, "en")[0].text == headline
    assert jsonable(r)["cohort"] == cohort
    assert ("funnel", "cohort", "", "cohort", cohort) in funnel_text.csv_rows("funnel", r)


def test_empty_window_cohort_says_who_is_missing(source, cfg):
    source.events((3, A, march(5, 10)), (3, B, march(10, 10)))
    r = run(source, with_cohort(cfg, "window"))
    assert funnel_text.text(r, "en")[0].text == f"🔻 Funnel 8 Mar–14 Mar: nobody did «{A}»"
    assert funnel_text.text(r, "ru")[0].text == f"🔻 Воронка 08.03–14.03: ни у кого не было «{A}»"
