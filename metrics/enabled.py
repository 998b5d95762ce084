"""Which metrics the configuration enables: each metric section's `enabled` key.

`enabled = "auto"` (the default): the metric runs when the tables it requires exist, and is off
(not an error) when one is absent, so a company without campaign tables is still ready.
`enabled = true`: the metric is required; an absent table means it cannot run (`salespulse check`
exits 1). `enabled = false`: off, never computed. reports.readiness applies the rule.
"""
from __future__ import annotations

AUTO, ON, OFF = "auto", "on", "off"
# The metric sections that carry the key (the digest's metrics, reports.request.METRICS).
SECTIONS = ("hanging", "new_payers", "funnel", "attribution", "campaigns")


def enabled_config(r) -> dict[str, str]:
    """metric -> AUTO, ON or OFF, from metrics.config's reader `r` (get / fail, naming the key)."""
    out = {}
    for name in SECTIONS:
        value = r.get(f"{name}.enabled")
        if value is True or value is False:
            out[name] = ON if value else OFF
        elif value == AUTO:
            out[name] = AUTO
        else:
            raise r.fail(f"{name}.enabled", value, 'true (required), false (off) or "auto" (on when its tables exist)')
    return out
