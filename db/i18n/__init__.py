"""The one message catalogue of the bot, the digest and the charts: a language is a file.

Each `locales/<lang>.toml` holds every sentence in that language under dotted keys
(`[digest]` `hanging = "…"` is `digest.hanging`); `t(key, locale, **kw)` looks one up and fills
its `{placeholders}`. A key missing from a language falls back to English, so a new language
can start partial. LOCALES is the set of files present: adding `locales/xx.toml` adds a language
to LOCALE, /subscribe and /settings with no code change.

It lives in db/, the floor every other package stands on, because words are needed on every
floor: the bot's replies, the digest (reports), the charts, the settings (LOCALE is checked
against the files present) and the input errors metrics raise (metrics.scope.ScopeError carries a
key of this catalogue). Results never carry words: metrics return codes and names
(metrics.clusters.Label), and the layers above word them.
Numbers and dates are formatted with Babel's CLDR data in db.i18n.formats.
"""
from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

FALLBACK = "en"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


def _files() -> dict[str, object]:
    folder = resources.files("db.i18n").joinpath("locales")
    return {f.name.removesuffix(".toml"): f for f in folder.iterdir() if f.name.endswith(".toml")}


# English first (the fallback and the CLI's default), then the others in name order.
LOCALES: tuple[str, ...] = tuple(sorted(_files(), key=lambda lang: (lang != FALLBACK, lang)))


# A metric from a folder of its own brings its words in files of its own (reports.registry).
_EXTRA: dict[str, list] = {}


def add_catalogue(locale: str, path) -> None:
    """More messages of a language from the file at `path` (a metric's own words)."""
    _EXTRA.setdefault(locale, []).append(path)
    messages.cache_clear()


@cache
def messages(locale: str) -> dict[str, str]:
    """The language's own messages (no fallback), flat: {'digest.hanging': '…', …}."""
    source = _files().get(locale)
    out = _flatten(tomllib.loads(source.read_text(encoding="utf-8"))) if source is not None else {}
    for extra in _EXTRA.get(locale, ()):
        out |= _flatten(tomllib.loads(extra.read_text(encoding="utf-8")))
    return out


def norm_locale(locale: str | None) -> str:
    """'ru', 'ru_RU', 'RU-ru', 'zh-Hans' -> the supported language; anything unknown -> 'en'."""
    head = (locale or FALLBACK).strip().lower().replace("-", "_").split("_")[0]
    return head if head in LOCALES else FALLBACK


def lookup(key: str, locale: str | None, fallback: bool = True) -> str | None:
    """The raw message of `key`, from English when the language lacks it (unless not `fallback`)."""
    text = messages(norm_locale(locale)).get(key)
    if text is None and fallback:
        text = messages(FALLBACK).get(key)
    return text


def known(key: str) -> bool:
    return key in messages(FALLBACK)


def t(key: str, locale: str | None, /, **kw: object) -> str:
    """The message `key` in the locale's language with `{placeholders}` filled from `kw`.

    An unknown key is a programming error (KeyError), never silently shown as its name."""
    text = lookup(key, locale)
    if text is None:
        raise KeyError(f"no message {key!r} in the catalogue (db/i18n/locales/{FALLBACK}.toml)")
    return text.format(**kw) if kw else text


class Message(str):
    """A sentence as the code made it: its English text (logs, JSON, CSV) with its key and values,
    so a reader in another language gets its own words instead of a parse of the English."""

    key: str
    kw: dict

    def __new__(cls, key: str, /, **kw: object) -> Message:  # noqa: PYI034
        self = super().__new__(cls, t(key, FALLBACK, **kw))
        self.key, self.kw = key, kw
        return self

    def __getnewargs_ex__(self) -> tuple[tuple, dict]:  # copies and pickles rebuild it
        return (self.key,), self.kw

    def text(self, locale: str | None) -> str:
        return t(self.key, locale, **self.kw)


class LocalizedError(ValueError):
    """Bad input, said in the reader's language: the catalogue's message `key` says what was wrong
    and what would be right. str() is the English text (logs, the command line); `text(locale)`
    a chat's language. A placeholder may itself be a LocalizedError (or a Message): it is worded
    in the same language."""

    def __init__(self, key: str, /, **kw: object):
        self.key, self.kw = key, kw
        super().__init__(self.text(FALLBACK))

    def text(self, locale: str | None) -> str:
        return t(self.key, locale, **{k: v.text(locale) if isinstance(v, LocalizedError | Message) else v
                                      for k, v in self.kw.items()})
