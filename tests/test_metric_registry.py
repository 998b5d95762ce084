"""One metric registry: a metric is named in its reports.registry spec and nowhere else.

Everything that lists metrics (the request parser, the text's order and sections, the CSV rows,
the charts, the tables a metric needs) must follow REGISTRY; these tests fail when one of them
keeps a list of its own.
"""
import importlib
import re
from datetime import date
from pathlib import Path

import pytest

from db.i18n import known, t
from reports import request, text
from reports.registry import REGISTRY, aliases, names, requirements
from reports.registry import charts as chart_specs
from tests.test_charts import NORMAL

ROOT = Path(__file__).resolve().parents[1]


def test_request_names_and_aliases_come_from_the_registry():
    assert names() == tuple(REGISTRY) == ("hanging", "new_payers", "funnel", "attribution", "campaigns")
    assert aliases() == {a: n for n, s in REGISTRY.items() for a in s.aliases}
    assert request.parse_metric("payers") == "new_payers" and request.parse_metric("Channels") == "attribution"


def test_text_order_sections_and_csv_come_from_the_registry(monkeypatch):
    assert text._order({"elsewhere": None}) == (*REGISTRY, "elsewhere")  # the registry's order, then the rest
    for name, spec in REGISTRY.items():
        result = NORMAL[name]()
        rows = text.csv_rows(name, result)
        assert rows and rows == spec.csv_rows(name, result)
        assert {r[0] for r in rows} == {name}  # every row says which metric it belongs to
    assert text.csv_rows("nonexistent", NORMAL["hanging"]()) == []  # dispatch is by name, not type
    assert text.metric_title("funnel", "ru") == "Воронка" and text.metric_title("x", "en") == "x"


def test_every_metric_has_a_drawable_chart_and_needs_its_tables(cfg):
    assert list(chart_specs()) == [n for n, s in REGISTRY.items() if s.chart is not None] == list(REGISTRY)
    for spec in chart_specs().values():
        assert callable(importlib.import_module(spec.module).render)
        assert known(spec.title)
    assert [n for n, s in chart_specs().items() if s.banded] == ["new_payers"]
    for name, spec in REGISTRY.items():
        assert requirements(name, cfg) == spec.needs(cfg) and spec.needs(cfg).metric == name


def test_bot_button_labels_come_from_the_registry():
    # a spec names its catalogue keys; the bot's code names no metric's button
    assert [t(s.button, "ru") for s in REGISTRY.values()] == [
        "Зависшие", "Новые плательщики", "Воронка", "Каналы", "Рассылки"]
    assert t(REGISTRY["attribution"].button, "en") == "Channels"
    for path in ("bot/commands/buttons.py", "bot/commands/settings.py"):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert "button." not in source, path  # neither a key nor an f-string that builds one


def test_every_spec_is_whole():
    aliases = [a for s in REGISTRY.values() for a in s.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(REGISTRY)
    for name, spec in REGISTRY.items():
        assert spec.name == name and all(spec.title) and all(spec.button) and callable(spec.compute)
        assert spec.text(NORMAL[name](), "en", {})  # a section with at least one line


@pytest.mark.parametrize("path", ["reports/request.py", "reports/text.py", "charts/render.py", "charts/__init__.py",
                                  "reports/digest.py", "reports/check.py", "reports/alert_rules.py",
                                  "reports/alert_eval.py", "reports/attention.py", "reports/baselines.py",
                                  "metrics/baselines/__init__.py", "metrics/baselines/store.py"])
def test_no_other_module_lists_the_metrics(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    named = [n for n in REGISTRY if re.search(rf"""["']{n}["']""", source)]
    assert named == [], f"{path} names {named}; a metric is named in reports/registry.py only"


def test_metric_titles_are_in_the_specs_not_the_word_table():
    assert not re.search(r"""["']metric\.\w+["']""", (ROOT / "reports/i18n.py").read_text(encoding="utf-8"))
    assert [t(s.title, "ru") for s in REGISTRY.values()] == [
        "Зависшие процессы", "Новые платящие", "Воронка", "Атрибуция", "Рассылки"]


def test_a_day_renders_through_the_specs():
    # the whole path (order, sections, titles of skipped metrics) on the sample results
    class Outcome:
        def __init__(self, result=None, skipped=None):
            self.result, self.skipped, self.off = result, skipped, False

    from metrics.day import ReportDay

    outcomes = {n: Outcome(NORMAL[n]()) for n in REGISTRY}
    outcomes["funnel"] = Outcome(skipped="no table events")
    out = text.render_text(outcomes, ReportDay(date(2024, 3, 14), "UTC"), "en")
    assert out.splitlines()[-1] == "⚠️ Funnel skipped: no table events"
    csv = text.render_csv(outcomes, ReportDay(date(2024, 3, 14), "UTC"))
    firsts = list(dict.fromkeys(r.split(",")[0] for r in csv.splitlines()[1:]))
    assert firsts == ["digest", "hanging", "new_payers", "funnel", "attribution", "campaigns"]
