"""The stuck-lead list as a CSV document: one row per hanging process, for a call list.

Bounded by what it lists: only hanging processes (open past their SLA at the cutoff, started
within the hanging lookback), i.e. exactly the processes the digest counts as hanging, at most
`limit` per pipeline (metrics.hanging.stuck_leads), oldest first within each pipeline.
"""
from __future__ import annotations

import csv
import io

from sqlalchemy.engine import Engine

from metrics.config import MetricConfig
from metrics.hanging import stuck_leads
from reports.digest import read_source
from reports.request import ReportInputError, ReportRequest

COLUMNS = ("pipeline", "user_id", "owner", "since", "age_hours")


def stuck_leads_csv(engine: Engine, cfg: MetricConfig, req: ReportRequest) -> str:
    """CSV text with COLUMNS; `since` in the report time zone (ISO 8601 with offset); `owner` the
    whole owner tag, empty when the user has none. Raises ReportInputError for a scope without a
    user_tags table, or a company without an events table."""
    src = read_source(engine, req)
    missing = src.missing("events", "events_dict")
    if missing:
        raise ReportInputError("error.no_lead_list", schema=src.schema, tables=", ".join(missing))
    day = req.day
    with engine.connect() as conn, conn.begin():
        leads = stuck_leads(conn, src, cfg, day, req.scope)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for lead in leads:
        since = lead.since.astimezone(day.tz).isoformat()
        writer.writerow((lead.pipeline, lead.user_id, lead.owner or "", since, f"{lead.age_hours:.2f}"))
    return buf.getvalue()
