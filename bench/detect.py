"""The two detectors the benchmark compares, on the same series, and how it scores them.

- new: docs/normal.md as shipped (metrics.baselines.verdicts.judge_all; the block of
  reports.attention: ranked, at most 5 lines, slices under 5% left out);
- today's: section 8 as shipped before it (metrics.baselines.baseline_of, pooled spread; its block
  was every anomaly), on the numbers it checked (no conversions, no close rates).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from metrics.baselines import Baseline, Series
from metrics.baselines.section8 import SECTION8, baseline_of
from metrics.baselines.verdicts import judge, judge_all
from reports.attention import shown


def new_day(series: Sequence[Series], d: date) -> list[Baseline]:
    return judge_all(series, d)


def old_day(series: Sequence[Series], d: date) -> list[Baseline]:
    return [baseline_of(s, d) for s in series if (s.metric, s.field) in SECTION8]


def new_block(baselines: Sequence[Baseline]) -> list[Baseline]:
    return shown(baselines)[0]


def old_block(baselines: Sequence[Baseline]) -> list[Baseline]:
    return [b for b in baselines if b.direction is not None]


def block_days(series: Sequence[Series], days: Sequence[date]) -> dict:
    """Per detector: the days with anything in the block, and which targets filled it."""
    out = {"new": {}, "old": {}, "new_all": {}}
    for d in days:
        nb = new_day(series, d)
        out["new_all"][d] = nb
        out["new"][d] = [b.target for b in new_block(nb)]
        out["old"][d] = [b.target for b in old_block(old_day(series, d))]
    return out


def rejudge(series: Sequence[Series], clean: list[Baseline], d: date, targets: Sequence[str]) -> list[Baseline]:
    """The day's baselines with the targets' numbers judged again on (injected) series; the
    others as on the clean day (their shares kept)."""
    by = {s_target(s): s for s in series}
    fresh = {t: judge(by[t], d) for t in targets if t in by}
    return [b if b.target not in fresh else _keep_share(fresh[b.target], b) for b in clean]


def _keep_share(new: Baseline, old: Baseline) -> Baseline:
    from dataclasses import replace

    return replace(new, share=old.share)


def s_target(s: Series) -> str:
    return s.target


def detected(block: Sequence[Baseline], targets: Sequence[str], direction: str | None = None) -> bool:
    return any(b.target in targets and (direction is None or b.direction == direction) for b in block)


def first_detection(series: Sequence[Series], start: date, horizon: int, targets: set[str] | None,
                    direction: str | None, old: bool = False) -> int | None:
    """Days from `start` to the first day whose block names one of `targets` (None: anything)."""
    for k in range(horizon):
        d = start + timedelta(days=k)
        block = old_block(old_day(series, d)) if old else new_block(new_day(series, d))
        if any((targets is None or b.target in targets) and (direction is None or b.direction == direction)
               for b in block):
            return k
    return None
