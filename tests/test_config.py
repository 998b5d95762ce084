"""Settings and metric configuration: defaults match the README and docs, bad values name key, value and fix."""
from pathlib import Path

import pytest

from db.settings import SettingsError, load_settings
from metrics.config import PURCHASE, ConfigError, load_config


def test_defaults_are_design_section_4():
    cfg = load_config()
    assert cfg.exclude_experiments and "Отправка сообщения WA" in cfg.experiment_events
    assert [p.name for p in cfg.hanging.pipelines] == [
        "Open requests", "First line", "Second line", "Intro-lesson payment",
    ]
    assert all(p.sla_hours == 24 for p in cfg.hanging.pipelines)
    assert cfg.hanging.pipelines[3].ends_on_purchase
    assert cfg.hanging.pipelines[3].end_events == ("Назначена задача на вторую линию",)
    assert cfg.funnel.steps[0] == "Создание заявки" and cfg.funnel.steps[-1] == PURCHASE
    assert (cfg.funnel.cohort_days, cfg.funnel.conversion_days) == (7, 14)
    assert (cfg.attribution.model, cfg.attribution.lookback_days) == ("last_non_direct", 3)
    assert cfg.attribution.session_timeout_minutes == 30
    assert cfg.new_payers_series_days == 30
    assert cfg.funnel.cohort == "first"  # new leads, as docs/metrics.md defines the cohort
    assert set(cfg.enabled.values()) == {"auto"} and len(cfg.enabled) == 5


def test_user_file_overrides_only_what_it_sets(tmp_path: Path):
    f = tmp_path / "m.toml"
    f.write_text('[hanging]\nsla_hours = 48\n[funnel]\nclusters = 2\n', encoding="utf-8")
    cfg = load_config(f)
    assert all(p.sla_hours == 48 for p in cfg.hanging.pipelines)
    assert cfg.funnel.clusters == 2 and cfg.funnel.cohort_days == 7


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[funnel]\ncohort_days = 0\n", "funnel.cohort_days = 0 is not valid; expected a whole number from 1 to 366"),
        ("[funnel]\nsteps = []\n", "funnel.steps = [] is not valid"),
        ('[attribution]\nmodel = "best"\n', "attribution.model = 'best' is not valid; expected one of last_non_direct"),
        ("[hanging]\nsla_hours = -1\n", "hanging.sla_hours = -1 is not valid; expected a number >= 0"),
        ("[nonsense]\nx = 1\n", "unknown section [nonsense]"),
        ("[funnel\n", "is not valid TOML"),
        ('[[hanging.pipelines]]\nname = "x"\nstart = "a"\nends = "b"\n', "hanging.pipelines[0].ends = 'b' is not valid"),
        ("[experiments]\nexclude = \"yes\"\n", "experiments.exclude = 'yes' is not valid; expected true or false"),
        ('[campaigns]\nenabled = "yes"\n', "campaigns.enabled = 'yes' is not valid; expected true (required)"),
        ('[funnel]\ncohort = "all"\n', "funnel.cohort = 'all' is not valid; expected one of first, window"),
    ],
)
def test_broken_configuration_is_one_clear_line(tmp_path: Path, text, expected):
    f = tmp_path / "m.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert str(f) in str(err.value)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"REPORT_TIMEZONE": "Mars/Olympus"}, "REPORT_TIMEZONE='Mars/Olympus' is not a time zone"),
        ({"LOCALE": "de"}, "LOCALE='de' is not supported; use one of: en, ru, vi, zh"),
        ({"ADMIN_USER_IDS": "12,abc"}, "ADMIN_USER_IDS='12,abc' must be Telegram user ids"),
        ({"DEFAULT_DELIVERY_TIME": "25:00"}, "DEFAULT_DELIVERY_TIME='25:00' is not a time of day"),
        ({"DATABASE_URL": "mysql://u:secret@h/db"}, "DATABASE_URL must be a Postgres URL"),
        ({"TELEGRAM_BOT_TOKEN": "oops"}, "TELEGRAM_BOT_TOKEN does not look like a bot token"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml'; use text (the default) or json"),
        ({"METRICS_PORT": "0"}, "METRICS_PORT='0' must be a TCP port number from 1 to 65535"),
        ({"WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT='70000' must be a TCP port number"),
        ({"TELEGRAM_WEBHOOK_URL": "bot.example.com"}, "TELEGRAM_WEBHOOK_URL='bot.example.com' must be the public URL"),
        ({"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/tg"}, "TELEGRAM_WEBHOOK_SECRET is not"),
        ({"TELEGRAM_WEBHOOK_URL": "https://b.example.com/tg", "TELEGRAM_WEBHOOK_SECRET": "oops secret!"},
         "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters"),
    ],
)
def test_bad_settings(env, expected):
    with pytest.raises(SettingsError) as err:
        load_settings(env, dotenv=None)
    assert expected in str(err.value)
    assert "secret" not in str(err.value) and "oops" not in str(err.value)


def test_settings_parse(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOCALE=ru\nADMIN_USER_IDS=1, 2\n", encoding="utf-8")
    s = load_settings(
        {"LOCALE": "en", "REPORT_TIMEZONE": "Europe/Berlin", "TELEGRAM_BOT_TOKEN": "123:secret-part"},
        dotenv=dotenv,
    )
    assert (s.locale, s.admin_user_ids, s.report_timezone) == ("en", frozenset({1, 2}), "Europe/Berlin")
    assert s.telegram_bot_token == "123:secret-part" and "secret-part" not in repr(s)


def test_service_settings_parse():
    s = load_settings({"LOG_FORMAT": "JSON", "METRICS_PORT": "9090", "TELEGRAM_WEBHOOK_URL": "https://b.example.com/tg",
                       "TELEGRAM_WEBHOOK_SECRET": "abc_DEF-123", "WEBHOOK_PORT": "8080"}, dotenv=None)
    assert (s.log_format, s.metrics_port, s.metrics_host) == ("json", 9090, "0.0.0.0")
    assert (s.telegram_webhook_url, s.webhook_listen, s.webhook_port) == ("https://b.example.com/tg", "0.0.0.0", 8080)
    assert s.telegram_webhook_secret == "abc_DEF-123" and "abc_DEF" not in repr(s)
    off = load_settings({}, dotenv=None)
    assert (off.log_format, off.metrics_port, off.telegram_webhook_url) == ("text", None, None)
