"""Every setting is documented in one place, the README's configuration table, and .env.example
mirrors it: the same keys, and the values the code uses when a key is not set."""
import dataclasses
import re
from pathlib import Path

from dotenv import dotenv_values

from db.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}  # read by compose.yaml, not by SalesPulse


def env_keys() -> dict[str, str]:
    return {f.metadata.get("env", f.name.upper()): f.name for f in dataclasses.fields(Settings)}


def readme_rows() -> list[tuple[list[str], list[str]]]:
    """(keys, default segments) of each row of the README's configuration table; a cell with
    several keys ("`A`, `B`" or "`A` / `B`") has as many defaults, split the same way."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            keys = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
            rows.append((keys, re.split(r", | / ", cells[1]) if cells[1] else []))
    return rows


def test_every_setting_is_in_the_readme_and_the_example():
    documented = {k for keys, _ in readme_rows() for k in keys}
    example = set(dotenv_values(EXAMPLE))
    assert set(env_keys()) - documented == set()
    assert set(env_keys()) - example == set()
    # and nothing documented that the code does not read
    assert documented - set(env_keys()) == COMPOSE_ONLY and example - set(env_keys()) == COMPOSE_ONLY


def test_the_example_holds_the_defaults():
    """.env.example as it is gives exactly the settings of an empty environment."""
    assert load_settings(env={}, dotenv=EXAMPLE) == Settings()
    assert (Settings().report_timezone, Settings().locale) == ("UTC", "en")


def test_the_readme_defaults_are_the_examples():
    """A default in backticks is the example's value; a default in words (embedded Postgres,
    off, derived from the bot token) is an empty value there."""
    example = dotenv_values(EXAMPLE)
    compared = 0
    for keys, defaults in readme_rows():
        if len(defaults) != len(keys):
            continue
        for key, default in zip(keys, defaults, strict=True):
            literal = re.fullmatch(r"`([^`]*)`", default)
            assert example[key] == (literal.group(1) if literal else ""), (key, default, example[key])
            compared += 1
    assert compared >= 20
