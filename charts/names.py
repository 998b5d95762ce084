"""Names the metrics put in their results, as the reader's language shows them.

The metrics return codes and the company's own names: a configured pipeline or funnel step
("First line", "Создание заявки"), the token `purchase`, the channel code UNATTRIBUTED, a cluster
Label (metrics.clusters) with its parts. The digest and the charts read them through here.

Display names of pipelines and steps come from the metric configuration (`[display.<lang>]`,
metrics.config) and are set for one rendering with `display_names(...)`: a context variable,
so the charts and the text sections keep their signatures and two digests built at once in
two threads never see each other's names.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from db.i18n import known, norm_locale, t
from metrics.channels import UNATTRIBUTED
from metrics.config import PURCHASE

_DISPLAY: ContextVar[Mapping[str, Mapping[str, str]] | None] = ContextVar("display_names", default=None)


@contextmanager
def display_names(names: Mapping[str, Mapping[str, str]]) -> Iterator[None]:
    """lang -> {configured name: shown name} while rendering inside the block."""
    token = _DISPLAY.set(names)
    try:
        yield
    finally:
        _DISPLAY.reset(token)


def shown_name(name: str, locale: str | None) -> str:
    """A configured pipeline or step name in the language: its display name if the configuration
    gives one, the catalogue's word for `purchase`, else the name as configured."""
    named = (_DISPLAY.get() or {}).get(norm_locale(locale), {}).get(name)
    if named is not None:
        return named
    return t("event.purchase", locale) if name == PURCHASE else name


event_name = shown_name  # funnel steps are events; the same rule names them


def model_name(model: str, locale: str | None) -> str:
    key = f"model.{model}"
    return t(key, locale) if known(key) else model.replace("_", " ")


def channel_name(channel: str, locale: str | None) -> str:
    """Metric-made channel codes get words of the locale; real channel names stay as they are."""
    return t("channel.unattributed", locale) if channel == UNATTRIBUTED else channel


def segment_name(name: str, locale: str | None) -> str:
    """A funnel segment: a cluster Label in the locale's words, a channel by channel_name."""
    code = getattr(name, "code", None)
    if code is None:
        return channel_name(name, locale)
    text = t(f"segment.{code}", locale, event=shown_name(name.event or "", locale))
    return text if name.n is None else t("segment.numbered", locale, label=text, n=name.n)
