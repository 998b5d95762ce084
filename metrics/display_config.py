"""The `[display.<lang>]` tables of the metric configuration: the name each language shows for a
configured pipeline or funnel step (the JSON and the CSV keep the configured name)."""
from __future__ import annotations


def display_config(r, named: set[str], own: dict) -> dict[str, dict[str, str]]:
    """[display.<lang>] tables: a language of the message catalogue, names that are configured
    (`named`: the pipelines, their events and the funnel steps), from metrics.config's reader `r`.

    `own`: the [display] of the file being read. A name it gives that no pipeline or step has is
    a mistake; a built-in default's name for a pipeline the file replaced is simply dropped."""
    from db.settings import LOCALES

    raw = r.data.get("display", {})
    if not isinstance(raw, dict):
        raise r.fail("display", raw, "[display.<lang>] tables of name = shown name")
    out: dict[str, dict[str, str]] = {}
    for lang, names in raw.items():
        if lang not in LOCALES:
            raise r.fail(f"display.{lang}", names, "a table named after a language: " + ", ".join(LOCALES))
        if not isinstance(names, dict):
            raise r.fail(f"display.{lang}", names, "a table of name = shown name")
        unknown = sorted(set(own.get(lang) or {}) - named)
        if unknown:
            raise r.fail(f"display.{lang}.{unknown[0]}", names[unknown[0]], "a name of a configured pipeline or event")
        out[lang] = {k: r.str_(f"display.{lang}.{k}", v) for k, v in names.items() if k in named}
    return out
