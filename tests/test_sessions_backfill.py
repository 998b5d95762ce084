"""`salespulse sessions backfill` as a user runs it: killed at any moment, run again, it ends with
exactly the sessions of a full build; progress goes to stderr and never into a report's JSON."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import sqlalchemy as sa

from db.seed import seed
from db.state import migrate
from tests.test_attribution_fixtures import Web, at
from tests.test_cli import assert_one_line_error, salespulse

START = date(2024, 1, 1)
DAYS = 60


def _env(database_url, source, state):
    return {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": state,
            "REPORT_TIMEZONE": "Europe/Moscow"}


def _days_built(engine, state) -> int:
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": f'"{state}".attribution_days'}).scalar() is None:
            return 0
        return conn.execute(sa.text(f'select count(*) from "{state}".attribution_days')).scalar()


def test_backfill_killed_midway_and_rerun_equals_the_full_build(source, engine, database_url, cfg, tmp_path):
    seed(engine, source.schema, users=300, days=DAYS, start=START, seed=7, progress=False)
    state = f"bf_{source.schema}"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | _env(database_url, source, state)
    args = [sys.executable, "-m", "bot.cli.main", "sessions", "backfill", "--since", str(START),
            "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _days_built(engine, state) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: an open chunk is rolled back
    proc.wait()
    killed_at = _days_built(engine, state)
    assert 3 <= killed_at < DAYS, "the backfill must have been killed midway"

    rerun = subprocess.run(args, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"built {DAYS + 1 - killed_at} days" in rerun.stdout or f"built {DAYS - killed_at} days" in rerun.stdout
    again = subprocess.run(args, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.stdout.startswith("built 0 days"), again.stdout  # nothing left to do

    # the reference: a full build of the same data, in a state schema of its own
    migrate(engine, f"ref_{source.schema}")
    ref = Web(source, f"ref_{source.schema}")
    ref.update(cfg, tz="Europe/Moscow", rebuild=True)
    done = Web(source, state)
    assert len(ref.sessions(cfg, "Europe/Moscow")) > 1000
    assert done.sessions(cfg, "Europe/Moscow") == ref.sessions(cfg, "Europe/Moscow")


def test_backfill_builds_only_the_range_and_counts_its_rows(source, engine, database_url, cfg, tmp_path):
    web = Web(source, f"st_{source.schema}")
    for d in range(5):
        web.hit(at(START + timedelta(days=d), 12), "dev", 1)
        web.hit(at(START + timedelta(days=d), 12, 5), "dev", 1)
    env = _env(database_url, source, web.src.state_schema)
    proc = salespulse("sessions", "backfill", "--since", "2024-01-02", "--until", "2024-01-03",
                      "--timezone", "UTC", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("built 2 days (2024-01-02 .. 2024-01-03, UTC): 4 web rows"), proc.stdout
    assert "2/2" in proc.stderr  # the tqdm bar, on stderr
    assert {r[1].date() for r in web.sessions(cfg)} == {date(2024, 1, 2), date(2024, 1, 3)}


def test_backfill_bad_input_is_one_line(source, database_url, tmp_path):
    env = _env(database_url, source, f"st_{source.schema}")
    assert_one_line_error(salespulse("sessions", "backfill", "--since", "May 1", env=env, cwd=tmp_path),
                          "--since 'May 1' is not a date", "YYYY-MM-DD")
    assert_one_line_error(salespulse("sessions", "backfill", "--since", "2024-02-01", "--until", "2024-01-01",
                                     env=env, cwd=tmp_path), "--until 2024-01-01 is before --since 2024-02-01")
    source.drop_tables("web_events")
    assert_one_line_error(salespulse("sessions", "backfill", "--since", "2024-01-01", env=env, cwd=tmp_path),
                          "no table", "web_events")


def test_report_json_stays_clean_while_progress_goes_to_stderr(source, database_url, tmp_path):
    web = Web(source, f"st_{source.schema}")
    web.hit(at(date(2024, 3, 14), 9), "dev", 1, utm=("google", "cpc"))
    web.pay(1, at(date(2024, 3, 14), 10), 25)
    env = _env(database_url, source, web.src.state_schema) | {"REPORT_TIMEZONE": "UTC"}
    proc = salespulse("report", "--date", "2024-03-14", "--metric", "attribution", "--format", "json",
                      env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["attribution"]["payments"] == 1
    assert doc["metrics"]["attribution"]["channels"][0]["channel"] == "Paid Search"
    assert "sessions…" in proc.stderr and "attribution…" in proc.stderr
