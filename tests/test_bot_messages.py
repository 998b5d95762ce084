"""Pure pieces of the bot: splitting digests into Telegram-sized parts, token redaction, dates."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from bot.delivery.messages import CAPTION_LIMIT, MESSAGE_LIMIT, Part, plan_parts, split_text, tg_len
from bot.ops.logs import RedactFilter
from bot.schedule import last_occurrence, report_day


def test_short_text_is_the_caption_of_one_album():
    assert plan_parts("hello", 3) == [Part("album", "hello", (0, 1, 2))]


def test_one_chart_goes_as_a_photo_and_no_chart_as_text():
    assert plan_parts("hi", 1) == [Part("photo", "hi", (0,))]
    assert plan_parts("hi", 0) == [Part("text", "hi")]


def test_albums_hold_at_most_ten_images_caption_on_the_first():
    parts = plan_parts("hi", 21, with_csv=True)
    assert [(p.kind, len(p.images), p.text) for p in parts] == [
        ("album", 10, "hi"), ("album", 10, ""), ("photo", 1, ""), ("document", 0, "")]


def test_text_over_the_caption_limit_goes_first_as_messages():
    text = "\n".join(["y" * 99] * 11)  # 11*99 + 10 newlines = 1099 > 1024
    parts = plan_parts(text, 2)
    assert [p.kind for p in parts] == ["text", "album"] and parts[1].text == ""
    assert parts[0].text == text


def test_caption_limit_counts_utf16_units():
    # 1000 + 13 emoji (2 units each) = 1026 units > 1024, although only 1013 characters
    text = "a" * 1000 + "😀" * 13
    assert len(text) <= CAPTION_LIMIT < tg_len(text)
    assert plan_parts(text, 2)[0].kind == "text"


def test_split_at_line_boundaries_never_mid_line():
    lines = [f"{i:04d} " + "z" * 95 for i in range(100)]  # 100 lines of 100 chars
    chunks = split_text("\n".join(lines))
    assert all(tg_len(c) <= MESSAGE_LIMIT for c in chunks)
    assert [line for c in chunks for line in c.split("\n")] == lines
    assert len(chunks) == 3  # 40 lines of 100 + 39 newlines = 4039 per chunk


def test_a_single_line_longer_than_a_message_is_cut_at_spaces():
    line = " ".join(["word"] * 2000)  # 9999 characters
    chunks = split_text(line)
    assert all(tg_len(c) <= MESSAGE_LIMIT for c in chunks)
    assert " ".join(chunks).split() == line.split()


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=60),
       st.integers(min_value=20, max_value=500))
def test_split_never_exceeds_the_limit_and_loses_nothing(lines, limit):
    text = "\n".join(lines)
    chunks = split_text(text, limit)
    assert all(tg_len(c) <= limit for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_the_get_updates_error_telegram_suppresses_at_stop_is_one_line():
    """PTB logs its last get_updates call of a stop at ERROR with a traceback, then suppresses it;
    every other error keeps its traceback."""
    def record(logger: str, message: str) -> logging.LogRecord:
        try:
            raise TimeoutError("pool timeout")
        except TimeoutError:
            import sys

            return logging.LogRecord(logger, logging.ERROR, __file__, 1, message, (), sys.exc_info())

    ptb = record("telegram.ext.Updater", "Error while calling `get_updates` one more time to mark all "
                 "fetched updates. Suppressing error to ensure graceful shutdown.")
    RedactFilter([]).filter(ptb)
    assert logging.Formatter().format(ptb).endswith("graceful shutdown. (TimeoutError)")
    other = record("telegram.ext.Updater", "Exception happened while polling for updates.")
    RedactFilter([]).filter(other)
    assert "Traceback" in logging.Formatter().format(other)


def test_token_is_redacted_from_log_records():
    token = "123456:TEST-token_secret"
    flt = RedactFilter([token])
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1,
                               "HTTP Request: POST %s", (f"https://api.telegram.org/bot{token}/getMe",), None)
    flt.filter(record)
    assert token not in record.getMessage() and "bot<token>/getMe" in record.getMessage()
    try:
        raise RuntimeError(f"url https://x/bot{token}/sendMessage and postgresql://u:pw@h/db")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    flt.filter(record)
    assert token not in record.getMessage() and ":pw@" not in record.getMessage()
    assert "RuntimeError" in record.getMessage()


def test_last_occurrence_and_report_day():
    now = datetime(2024, 3, 15, 8, 55, tzinfo=UTC)
    assert last_occurrence(time(8, 45), "UTC", now) == datetime(2024, 3, 15, 8, 45, tzinfo=UTC)
    assert last_occurrence(time(9, 0), "UTC", now) == datetime(2024, 3, 14, 9, 0, tzinfo=UTC)
    # 08:55 UTC is 11:55 in Moscow: today's 11:00 run already happened.
    run = last_occurrence(time(11, 0), "Europe/Moscow", now)
    assert run == datetime(2024, 3, 15, 8, 0, tzinfo=UTC)
    assert report_day(run, "Europe/Moscow") == date(2024, 3, 14)
    # Across the spring-forward night in Berlin (31 March): 08:45 local is 06:45 UTC.
    run = last_occurrence(time(8, 45), "Europe/Berlin", datetime(2024, 3, 31, 7, 0, tzinfo=UTC))
    assert run == datetime(2024, 3, 31, 6, 45, tzinfo=UTC)


def test_json_log_lines_carry_the_bound_fields_and_never_the_token():
    import io
    import json

    from bot.ops.logs import JsonFormatter, bind

    token = "123456:TEST-token_secret"
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter([token]))
    logger = logging.getLogger("salespulse.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        bind(chat=-4242, delivery=7, metric="funnel")
        logger.warning("POST %s", f"https://api.telegram.org/bot{token}/sendMessage")
        try:
            raise RuntimeError(f"bot{token} at postgresql://u:pw@h/db")
        except RuntimeError:
            logger.exception("failed\nsecond line")
        bind(chat=None, delivery=None, metric=None)
        logger.info("plain", extra={"chat": 5})
    finally:
        logger.removeHandler(handler)
        bind(chat=None, delivery=None, metric=None)
    text = out.getvalue()
    assert token not in text and ":pw@" not in text
    first, second, third = (json.loads(line) for line in text.splitlines())  # one object a line
    assert {k: first[k] for k in ("level", "logger", "chat", "delivery", "metric")} == {
        "level": "WARNING", "logger": "salespulse.test_json", "chat": -4242, "delivery": 7, "metric": "funnel"}
    assert first["message"] == "POST https://api.telegram.org/bot<token>/sendMessage"
    assert second["message"].startswith("failed\nsecond line\nTraceback") and "RuntimeError: bot<token>" in second["message"]
    assert (third["chat"], third["delivery"], third["message"]) == (5, None, "plain")
    assert first["time"].endswith("+00:00")
