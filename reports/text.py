"""The digest's words. (Minimal first version; the full digest text comes with issue 6.)"""
from __future__ import annotations

from metrics.day import ReportDay


def render_text(outcomes: dict, day: ReportDay, locale: str = "en") -> str:
    lines = [f"SalesPulse — {day.day:%Y-%m-%d} ({day.timezone})"]
    np = outcomes.get("new_payers")
    if np is not None and np.result is not None:
        r = np.result
        lines.append(f"New payers: {r.new_payers} ({r.new_payer_revenue:.2f}); revenue {r.revenue:.2f}")
    for name, o in outcomes.items():
        if o.skipped:
            lines.append(f"{name}: skipped ({o.skipped})")
    return "\n".join(lines)


def render_csv(outcomes: dict, day: ReportDay) -> str:
    return ""
