"""(Minimal first version; the full chart set comes with issue 6.)"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def render_all(outcomes: dict, day, locale: str = "en") -> list[tuple[str, bytes]]:
    out = []
    np = outcomes.get("new_payers")
    if np is not None and np.result is not None:
        fig, ax = plt.subplots(figsize=(8, 4), dpi=150)
        days = [d.date for d in np.result.daily]
        ax.bar(days, [d.new_payers for d in np.result.daily])
        ax.set_title(f"New payers, 30 days to {day.day:%Y-%m-%d}")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        out.append(("new_payers", buf.getvalue()))
    return out
