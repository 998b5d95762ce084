"""The demo-data generator: deterministic, inside its period, and rich enough for every metric.

Small runs (200 users x 10 days, a few thousand rows) into schemas of their own. The checks are
properties of the data (what each metric needs to see), not exact numbers, except determinism:
two runs with the same arguments into two empty schemas must give byte-identical tables.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from db.seed import SeedStats, seed, source_is_empty
from db.source import SOURCE_TABLES
from metrics.config import load_config

START = date(2024, 3, 1)
DAYS = 10
USERS = 200


def _schema() -> str:
    return f"seed_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def seeded(engine) -> tuple[str, SeedStats]:
    schema = _schema()
    stats = seed(engine, schema, users=USERS, days=DAYS, start=START, seed=7, progress=False)
    return schema, stats


def q(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def one(engine, sql: str, **params):
    return q(engine, sql, **params)[0][0]


def _fingerprint(engine, schema: str) -> dict[str, str]:
    return {
        t: one(engine, f'select md5(coalesce(string_agg(x::text, \'|\' order by {"x.user_id, x.tag" if t == "user_tags" else "x.id"}), \'\')) from "{schema}".{t} x')
        for t in SOURCE_TABLES
    }


def test_same_arguments_give_identical_tables(engine, seeded):
    schema, _ = seeded
    other = _schema()
    seed(engine, other, users=USERS, days=DAYS, start=START, seed=7, progress=False)
    assert _fingerprint(engine, other) == _fingerprint(engine, schema)
    third = _schema()
    seed(engine, third, users=USERS, days=DAYS, start=START, seed=8, progress=False)
    assert _fingerprint(engine, third)["web_events"] != _fingerprint(engine, schema)["web_events"]


def test_every_table_has_rows_and_stats_count_them(engine, seeded):
    schema, stats = seeded
    for t in SOURCE_TABLES:
        n = one(engine, f'select count(*) from "{schema}".{t}')
        assert n > 0, t
        assert stats.rows[t] == n, t
    assert stats.total_rows == sum(stats.rows.values())
    assert "rows/s" in stats.summary() and f"{stats.total_rows:,}" in stats.summary()
    # web tracking is the bulk of the data, as in real life
    assert stats.rows["web_events"] > stats.rows["events"]


def test_no_timestamp_outside_the_period(engine, seeded):
    schema, _ = seeded
    lo = datetime(2024, 3, 1, tzinfo=UTC)
    hi = lo + timedelta(days=DAYS)
    for table, col in [("events", "happened_at"), ("payments", "transaction_created_at"),
                       ("web_events", "happened_at"), ("message_sends", "sent_at"),
                       ("message_interactions", "happened_at")]:
        first, last = q(engine, f'select min({col}), max({col}) from "{schema}".{table}')[0]
        assert lo <= first and last < hi, table


def test_every_configured_event_name_is_in_the_dictionary_and_used(engine, seeded):
    schema, _ = seeded
    cfg = load_config()
    cfg_names = set(cfg.experiment_events) | set(cfg.funnel.steps) - {"purchase"}
    for p in cfg.hanging.pipelines:
        cfg_names |= {p.start, *p.end_events}
    names = {r[0] for r in q(engine, f'select description from "{schema}".events_dict')}
    used = {r[0] for r in q(engine, f'select distinct d.description from "{schema}".events e '
                                    f'join "{schema}".events_dict d on d.id = e.event_id')}
    funnel = ["Создание заявки", "Назначение задачи на звонок 1Л", "Ученик ответил на звонок оператора 1л",
              "Назначение ВУ", "Выход МВУ на ВУ", "Успешный ВУ", "Назначена задача на вторую линию",
              "Дозвон 2Л"]
    assert set(funnel) | cfg_names <= names
    assert set(funnel) <= used


def test_funnel_drops_off_step_by_step(engine, seeded):
    schema, _ = seeded
    rows = dict(q(engine, f'select d.description, count(distinct e.user_id) from "{schema}".events e '
                          f'join "{schema}".events_dict d on d.id = e.event_id group by 1'))
    steps = ["Создание заявки", "Назначение задачи на звонок 1Л", "Ученик ответил на звонок оператора 1л",
             "Назначение ВУ", "Выход МВУ на ВУ", "Успешный ВУ"]
    counts = [rows[s] for s in steps]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1] > 0
    # Some first-line tasks never get an answer (open / hanging processes).
    assert rows["Ученик ответил на звонок оператора 1л"] < rows["Назначение задачи на звонок 1Л"]
    # Repeated events: some user has the same event twice.
    assert one(engine, f'select count(*) from (select 1 from "{schema}".events '
                       'group by user_id, event_id having count(*) > 1) x') > 0


def test_experiment_users_exist(engine, seeded):
    schema, _ = seeded
    n = one(engine, f'select count(distinct e.user_id) from "{schema}".events e join "{schema}".events_dict d '
                    "on d.id = e.event_id where d.description = any(:names)",
            names=["Переход на ДУ (ДУ начался)", "ДУ завершен", "Отправка сообщения WA", "У ответил на сообщение WA"])
    assert 0 < n < USERS * 0.1


def test_payments_have_trials_real_amounts_and_repeat_buyers(engine, seeded):
    schema, _ = seeded
    zero, lo, hi, cur = q(engine, f'select count(*) filter (where amount = 0), min(amount) filter (where amount > 0), '
                                  f'max(amount), min(currency) from "{schema}".payments')[0]
    assert zero > 0 and 1000 <= lo and hi <= 50000 and cur == "RUB"
    # Repeat buyers show up on a longer run (renewals come ~30 days after the first purchase).


def test_identify_rows_link_devices_and_some_users_have_two(engine, seeded):
    schema, _ = seeded
    ident = one(engine, f"select count(*) from \"{schema}\".web_events where event_type = 'identify' "
                        "and anonymous_id is not null and user_id is not null")
    assert ident > 0
    two = one(engine, f'select count(*) from (select user_id from "{schema}".web_events where user_id is not null '
                      'group by user_id having count(distinct anonymous_id) >= 2) x')
    assert two > 0
    anonymous_only = one(engine, f'select count(distinct anonymous_id) from "{schema}".web_events '
                                 'where anonymous_id like \'v%\'')
    assert anonymous_only > 0


def test_web_sources_are_varied(engine, seeded):
    schema, _ = seeded
    srcs = {r[0] for r in q(engine, f'select distinct utm_source from "{schema}".web_events where utm_source is not null')}
    assert {"google", "yandex", "vk", "newsletter"} <= srcs
    assert any(s != s.lower() for s in srcs)  # some UPPER-CASE tagging
    refs = {r[0] for r in q(engine, f'select distinct referrer from "{schema}".web_events where referrer is not null')}
    assert any("school.example" in r for r in refs) and any("yandex.ru" in r for r in refs)
    # Gaps over 30 minutes between a device's consecutive events (session breaks).
    gaps = one(engine, f"""select count(*) from (select happened_at - lag(happened_at) over (
                            partition by anonymous_id order by happened_at) as gap
                           from "{schema}".web_events) x where gap > interval '30 minutes'""")
    assert gaps > 0


def test_campaign_sends_have_blocks_opens_scanner_and_human_clicks(engine, seeded):
    schema, _ = seeded
    reasons = one(engine, f"select count(distinct block_reason) from \"{schema}\".message_sends where status = 'blocked'")
    assert reasons >= 2
    assert one(engine, f"select count(*) from \"{schema}\".message_sends where status = 'failed'") > 0
    assert one(engine, f'select count(*) from "{schema}".message_sends where cost is null') > 0
    assert {r[0] for r in q(engine, f'select distinct channel from "{schema}".message_sends')} == {
        "email", "sms", "push", "line", "messenger"}
    # Opens only exist for email (pixels).
    assert {r[0] for r in q(engine, f'select distinct s.channel from "{schema}".message_interactions i '
                                    f"join \"{schema}\".message_sends s on s.id = i.send_id where i.kind = 'open'")} == {"email"}
    human = f"""select i.id, exists (select 1 from "{schema}".web_events w where w.user_id = s.user_id
                  and w.happened_at between i.happened_at - interval '2 minutes'
                                        and i.happened_at + interval '5 minutes') as human
                from "{schema}".message_interactions i join "{schema}".message_sends s on s.id = i.send_id
                where i.kind = 'click'"""
    kinds = {r[1] for r in q(engine, human)}
    assert kinds == {True, False}


def test_appending_continues_ids_and_empty_check(engine):
    schema = _schema()
    assert source_is_empty(engine, schema)
    first = seed(engine, schema, users=30, days=3, start=START, progress=False)
    assert not source_is_empty(engine, schema)
    users_before = one(engine, f'select max(user_id) from "{schema}".events')
    second = seed(engine, schema, users=30, days=3, start=START, progress=False)
    assert second.rows["events_dict"] == 0  # names already there
    for t in SOURCE_TABLES[1:]:
        assert one(engine, f'select count(*) from "{schema}".{t}') == first.rows[t] + second.rows[t]
    assert one(engine, f'select min(user_id) from "{schema}".events where id > (select min(id) + :n - 1 '
                       f'from "{schema}".events)', n=first.rows["events"]) > users_before
    # The id sequence was moved past the explicit ids: a plain insert does not collide.
    with engine.begin() as conn:
        conn.exec_driver_sql(f"insert into \"{schema}\".payments (user_id, transaction_created_at, amount) "
                             "values (1, '2024-03-01', 1)")
