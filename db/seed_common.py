"""Shared pieces of the demo-data generator: volumes, time helpers, and fast CSV encoding.

Every generator works on numpy arrays of int64 *seconds since the first midnight* of the seeded
period, so all arithmetic stays vectorised; only the CSV encoder turns them into text. The text is
naive wall clock, which Postgres reads in the session TimeZone (= DATA_TIMEZONE, see db.engine),
so the data covers [start, start + days) in the data time zone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400
HOUR = 3_600
MINUTE = 60
SITE = "https://school.example"


@dataclass(frozen=True)
class Volumes:
    """How much data per user and day; the bench raises `web_events_per_user_day`."""

    web_events_per_user_day: float = 3.0
    # Devices that never log in, per user: most site traffic is anonymous.
    visitors_per_user: float = 1.0
    # Users with a second device (phone + laptop) that also logs in: cross-device identity.
    second_device_share: float = 0.25
    sends_per_user_day: float = 0.2
    experiment_share: float = 0.03
    # Users who come back with a second request later (a restarted sales process).
    restart_share: float = 0.12
    chunk_rows: int = 400_000


def lognormal_seconds(rng: np.random.Generator, median_s: float, sigma: float, n: int) -> np.ndarray:
    """Delays with a long right tail (most calls within hours, some after days)."""
    return (median_s * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def uniform_seconds(rng: np.random.Generator, lo_s: float, hi_s: float, n: int) -> np.ndarray:
    return rng.integers(int(lo_s), int(hi_s) + 1, n, dtype=np.int64)


def daytime_seconds(rng: np.random.Generator, days: int, n: int, mean_h: float = 14.0) -> np.ndarray:
    """Moments spread over the period with a daytime peak (few events at 4 a.m.)."""
    day = rng.integers(0, days, n, dtype=np.int64)
    sec = np.clip(rng.normal(mean_h * HOUR, 4.0 * HOUR, n), 0, DAY - 1).astype(np.int64)
    return day * DAY + sec


def pick(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    """Category codes drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


# ---- CSV encoding -------------------------------------------------------------------------------
# COPY ... WITH (FORMAT csv): an unquoted empty field is NULL. Vocabulary strings are quoted once
# (not per row) when they contain a separator, so a row is just ','.join of ready-made strings.


def quote(s: str | None) -> str:
    if s is None:
        return ""
    if s == "" or any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def vocab(strings: list[str | None]) -> np.ndarray:
    """Object array of CSV-ready strings; index it with codes to get a column."""
    return np.array([quote(s) for s in strings], dtype=object)


def ints_text(values: np.ndarray, null: np.ndarray | None = None) -> list[str]:
    out = values.astype(np.int64).astype(str).astype(object)
    if null is not None:
        out[null] = ""
    return out.tolist()


def money_text(values: np.ndarray, null: np.ndarray | None = None, decimals: int = 2) -> list[str]:
    out = np.char.mod(f"%.{decimals}f", values).astype(object)
    if null is not None:
        out[null] = ""
    return out.tolist()


def ts_text(start: np.datetime64, seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DDTHH:MM:SS', naive: Postgres reads it in the session time zone."""
    return np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s").tolist()


def csv_bytes(columns: list[list[str]]) -> bytes:
    """Rows from equally long text columns; the loop runs in C (zip/join), not in Python."""
    if not columns or not columns[0]:
        return b""
    return ("\n".join(map(",".join, zip(*columns))) + "\n").encode("utf-8")
