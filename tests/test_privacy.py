"""Nothing leaves the machine but Telegram and database traffic: retentioneering's telemetry is off."""
import os
import subprocess
import sys

SCRIPT = r"""
import os
import pandas as pd
from metrics.clusters import _kmeans_labels
assert "RETENTIONEERING_NO_TRACK" not in os.environ
events = pd.DataFrame({
    "user_id": [1, 1, 2, 2, 3, 3],
    "event": ["a", "b", "a", "c", "a", "b"],
    "happened_at": pd.to_datetime(["2024-03-14 10:00", "2024-03-14 11:00"] * 3, utc=True),
})
_kmeans_labels(events, 2)
import sys
assert "retentioneering" not in sys.modules  # clustering no longer imports it
from retentioneering import _tracking
print("no-track" if _tracking._no_track_requested() else "TRACKING")
"""


def test_clustering_switches_telemetry_off_before_importing_retentioneering():
    env = {k: v for k, v in os.environ.items() if k != "RETENTIONEERING_NO_TRACK"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("no-track")
