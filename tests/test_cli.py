"""`salespulse` as a user runs it: real process, real Postgres, one-line errors, JSON interface."""
import json
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

UTC = ZoneInfo("UTC")


def salespulse(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        check=False, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120,
    )


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("salespulse: error:")]
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_report_json_on_hand_built_data(source, database_url, tmp_path):
    source.payments(
        (1, datetime(2024, 3, 13, 9, tzinfo=UTC), 100),
        (1, datetime(2024, 3, 14, 9, tzinfo=UTC), 40),
        (2, datetime(2024, 3, 14, 23, 59, 59, tzinfo=UTC), 60),
        (3, datetime(2024, 3, 15, 0, 0, 0, tzinfo=UTC), 500),
    )
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": f"{source.schema}_state"}
    proc = salespulse("report", "--date", "2024-03-14", "--metric", "new_payers", "--format", "json",
                      env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["report_date"] == "2024-03-14" and doc["timezone"] == "UTC"
    np = doc["metrics"]["new_payers"]
    # user 2 is the only first-time payer on D; users 1 and 2 paid 40 + 60 on D
    assert (np["new_payers"], np["new_payer_revenue"], np["payments"], np["revenue"]) == (1, 60.0, 2, 100.0)
    assert np["previous_day"]["new_payers"] == 1 and len(np["daily"]) == 30


def test_report_png_writes_chart_and_text(source, database_url, tmp_path):
    source.payments((1, datetime(2024, 3, 14, 9, tzinfo=UTC), 40))
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": f"{source.schema}_state"}
    proc = salespulse("report", "--date", "2024-03-14", "--metric", "new_payers", "--format", "png",
                      "--out", str(tmp_path / "o"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "o" / "2024-03-14"
    assert (out / "new_payers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "digest.txt").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize(
    "args, fragments",
    [
        (("report", "--date", "2024-13-45"), ["'2024-13-45' is not a calendar date", "YYYY-MM-DD"]),
        (("report", "--date", "last tuesday"), ["'last tuesday' is not a date", "'yesterday'"]),
        (("report", "--date", "2999-01-01"), ["is in the future"]),
        (("report", "--metric", "profit"), ["unknown metric 'profit'", "new_payers"]),
        (("report", "--timezone", "Moon/Base"), ["--timezone='Moon/Base' is not a time zone"]),
    ],
)
def test_bad_input_is_one_line(args, fragments, database_url, tmp_path):
    assert_one_line_error(salespulse(*args, env={"DATABASE_URL": database_url}, cwd=tmp_path), *fragments)


def test_unreachable_database_is_one_line_without_password(tmp_path):
    proc = salespulse("report", "--date", "2024-03-14",
                      env={"DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db"}, cwd=tmp_path)
    assert_one_line_error(proc, "cannot connect to the database", "DATABASE_URL")
    assert "hunter2" not in proc.stderr + proc.stdout


def test_broken_config_file_is_one_line(tmp_path, database_url):
    bad = tmp_path / "metrics.toml"
    bad.write_text("[funnel]\nconversion_days = 'two weeks'\n", encoding="utf-8")
    proc = salespulse("report", env={"DATABASE_URL": database_url, "METRICS_CONFIG": str(bad)}, cwd=tmp_path)
    assert_one_line_error(proc, "funnel.conversion_days = 'two weeks' is not valid")


def test_bad_setting_in_dotenv_is_one_line(tmp_path):
    (tmp_path / ".env").write_text("REPORT_TIMEZONE=Nowhere/Land\n", encoding="utf-8")
    assert_one_line_error(salespulse("report", cwd=tmp_path), "REPORT_TIMEZONE='Nowhere/Land'")
