"""What /report and `salespulse report` accept, and what they say about what they don't."""
from datetime import date

import pytest

from reports.registry import names
from reports.request import ReportInputError, parse_request

METRICS = names()

TODAY = date(2024, 3, 15)


@pytest.mark.parametrize(
    "args, day, metrics",
    [
        ([], date(2024, 3, 14), METRICS),
        (["today"], TODAY, METRICS),
        (["вчера"], date(2024, 3, 14), METRICS),
        (["2024-03-01", "funnel"], date(2024, 3, 1), ("funnel",)),
        (["payers", "2024-3-1"], date(2024, 3, 1), ("new_payers",)),
        (["CHANNELS"], date(2024, 3, 14), ("attribution",)),
    ],
)
def test_accepted(args, day, metrics):
    req = parse_request(args, TODAY)
    assert (req.day, req.metrics) == (day, metrics)


@pytest.mark.parametrize(
    "args, en, ru",
    [
        (["2024-02-30"], "'2024-02-30' is not a calendar date", "«2024-02-30» — такой даты нет в календаре"),
        (["2024-03-16"], "2024-03-16 is in the future", "2024-03-16 ещё не наступило"),
        (["profit"], "unknown metric 'profit'; choose one of: hanging,", "нет метрики «profit»"),
        (["1st-march"], "'1st-march' is not a date; use YYYY-MM-DD (e.g. 2024-03-14)", "укажите ГГГГ-ММ-ДД"),
        (["today", "funnel", "extra"], "too many arguments", "слишком много аргументов"),
    ],
)
def test_refused_with_a_message_in_both_languages(args, en, ru):
    with pytest.raises(ReportInputError) as err:
        parse_request(args, TODAY)
    assert en in str(err.value) and en in err.value.text("en")
    assert ru in err.value.text("ru")


@pytest.mark.parametrize(
    "args, day, metrics",
    [
        (["hôm", "nay"], TODAY, METRICS),
        (["Hôm", "Qua"], date(2024, 3, 14), METRICS),
        (["hôm", "qua", "funnel"], date(2024, 3, 14), ("funnel",)),
        (["funnel", "hôm", "nay"], TODAY, ("funnel",)),
    ],
)
def test_accepted_several_word_date_words(args, day, metrics):
    """Vietnamese 'hôm nay' / 'hôm qua' arrive as two arguments (Telegram splits on spaces)."""
    req = parse_request(args, TODAY)
    assert (req.day, req.metrics) == (day, metrics)
