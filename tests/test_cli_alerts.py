"""`salespulse alerts backtest` as a user runs it: a real process, real Postgres, hand-built data."""
import json
from datetime import UTC, date, datetime, timedelta

from tests.test_cli import assert_one_line_error, salespulse

D = date(2024, 3, 14)


def at(d: date, h: int) -> datetime:
    return datetime(d.year, d.month, d.day, h, tzinfo=UTC)


def env_of(source, database_url):
    return {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": f"{source.schema}_state",
            "REPORT_TIMEZONE": "UTC"}


def test_backtest_counts_the_days_a_rule_would_have_fired(source, database_url, tmp_path):
    # new payers: D-4 none, D-3 one, D-2 none, D-1 two, D none
    source.payments((1, at(D - timedelta(days=30), 9), 5),     # the data begin a month back
                    (2, at(D - timedelta(days=3), 9), 5),
                    (3, at(D - timedelta(days=1), 9), 5), (4, at(D - timedelta(days=1), 10), 5))
    env = env_of(source, database_url)
    proc = salespulse("alerts", "backtest", "new_payers", "<", "1", "--days", "5", "--until", str(D),
                      "--format", "json", "--no-progress", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # fires on entering `firing`: D-4, again D-2 (after D-3 cleared it), again D (after D-1)
    assert (out["rule"], out["kind"], out["fired"]) == ("new_payers < 1", "flow", 3)
    assert out["fired_days"] == [str(D - timedelta(days=4)), str(D - timedelta(days=2)), str(D)]
    # and every day it is firing (section 12): here the same, no run lasts two days
    assert out["firing_days"] == out["fired_days"]
    assert [(d["value"], d["state"]) for d in out["days"]] == [
        (0.0, "firing"), (1.0, "ok"), (0.0, "firing"), (2.0, "ok"), (0.0, "firing")]
    text = salespulse("alerts", "backtest", "payers", "<", "1", "--days", "2", "--until", str(D), "--no-progress",
                      env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "new_payers < 1 over 2024-03-13 .. 2024-03-14 (UTC, whole company): would have fired 1 time"
    assert lines[-1] == "fired on: 2024-03-14"


def test_backtest_bad_input_is_one_line(source, database_url, tmp_path):
    env = env_of(source, database_url)
    assert_one_line_error(salespulse("alerts", "backtest", "mood", ">", "1", env=env, cwd=tmp_path),
                          "'mood' is not a number I can watch")
    assert_one_line_error(salespulse("alerts", "backtest", "hanging", env=env, cwd=tmp_path),
                          "has no usual band")
    assert_one_line_error(salespulse("alerts", "backtest", "revenue", "--days", "0", env=env, cwd=tmp_path),
                          "--days 0 is out of range")
