"""Progress of a digest on the command line: one tqdm bar on stderr, never on stdout (so that
`salespulse report --format json` stays clean), named after the stage that is running."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def digest_progress(names: tuple[str, ...], with_charts: bool) -> Iterator[Callable[[str], None]]:
    """A `progress` callback for reports.digest.build_digest, and the bar it moves."""
    from tqdm import tqdm

    total = 1 + len(names) + (1 if with_charts else 0)  # "sessions" may not come: then it ends short
    bar = tqdm(total=total, file=sys.stderr, unit="stage", leave=False, dynamic_ncols=True,
               bar_format="{desc} {bar} {n_fmt}/{total_fmt} stages [{elapsed}]")
    started = [False]

    def stage(name: str) -> None:
        if started[0]:
            bar.update(1)
        started[0] = True
        bar.set_description_str(f"{name}…")

    try:
        yield stage
    finally:
        bar.close()
