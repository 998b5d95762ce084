"""The source-data contract (docs/data-contract.md) as data.

One place says which columns each source table has, what kind of type each must be, which column
is its time axis, and which indexes one report day needs. `salespulse check` compares a company's
tables and views with it, and the partitioned DDL of the tests is derived from it.
"""
from __future__ import annotations

from dataclasses import dataclass

# Type families by pg_type.typname: a view may cast freely inside a family.
INTEGER = ("int2", "int4", "int8")
NUMBER = ("int2", "int4", "int8", "numeric", "float4", "float8")
TEXT = ("text", "varchar", "bpchar", "name")
TIME = ("timestamp", "timestamptz")
DATE = ("date",)
FAMILY_NAMES = {INTEGER: "an integer type", NUMBER: "a number type", TEXT: "text", TIME: "timestamp or timestamptz",
                DATE: "date"}


@dataclass(frozen=True)
class Column:
    name: str
    types: tuple[str, ...]
    meaning: str
    required: bool = True  # False: in the contract, but no metric reads it yet

    @property
    def expected(self) -> str:
        return FAMILY_NAMES[self.types]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]  # the leading columns an equivalent index must start with
    include: tuple[str, ...] = ()
    where: str = ""
    why: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    time_column: str | None = None
    indexes: tuple[Index, ...] = ()


def _c(name: str, types: tuple[str, ...], meaning: str, required: bool = True) -> Column:
    return Column(name, types, meaning, required)


CONTRACT: dict[str, Table] = {t.name: t for t in (
    Table("events_dict", (
        _c("id", INTEGER, "event id, referenced by events.event_id"),
        _c("description", TEXT, "the event name the configuration uses"),
    )),
    Table("events", (
        _c("id", INTEGER, "row id", required=False),
        _c("user_id", INTEGER, "the user (lead, student) the event belongs to"),
        _c("event_id", INTEGER, "-> events_dict.id"),
        _c("happened_at", TIME, "when the event happened"),
    ), "happened_at", (
        Index("events_happened_at_idx", ("happened_at",), why="a day's events are a range scan"),
        Index("events_event_time_idx", ("event_id", "happened_at"), ("user_id",),
              why="the start and end events of a pipeline, the funnel steps in a window, "
                  "the experiment's users"),
        Index("events_user_time_idx", ("user_id", "happened_at"), ("event_id",),
              why="per-user probes: the funnel's cohort events"),
    )),
    Table("payments", (
        _c("id", INTEGER, "payment id (attribution credits each payment once)"),
        _c("user_id", INTEGER, "the paying user"),
        _c("transaction_created_at", TIME, "when the payment was made"),
        _c("amount", NUMBER, "amount in the currency's units; > 0 is a purchase"),
        _c("currency", TEXT, "currency code, may be null", required=False),
    ), "transaction_created_at", (
        Index("payments_created_idx", ("transaction_created_at",), ("user_id", "amount"),
              why="a day's payments are a range scan"),
        Index("payments_user_created_idx", ("user_id", "transaction_created_at"), ("amount",),
              why="a payer's first payment ever, and purchases after a funnel step or a message"),
    )),
    Table("web_events", (
        _c("id", INTEGER, "row id, increasing with insertion (the incremental session build)"),
        _c("anonymous_id", TEXT, "device / cookie id; null for server-side rows"),
        _c("user_id", INTEGER, "the user when known; a row with both ids links the device"),
        _c("happened_at", TIME, "when the hit happened"),
        _c("event_type", TEXT, "page_view, identify, ...", required=False),
        _c("platform", TEXT, "web, ios, android, ...", required=False),
        _c("page_url", TEXT, "URL of the page, with its query string (utm_*, gclid, ...)"),
        _c("referrer", TEXT, "referring URL"),
        _c("utm_source", TEXT, "utm_source of the landing"),
        _c("utm_medium", TEXT, "utm_medium of the landing"),
        _c("utm_campaign", TEXT, "utm_campaign of the landing"),
        _c("utm_content", TEXT, "utm_content of the landing"),
        _c("utm_term", TEXT, "utm_term of the landing"),
    ), "happened_at", (
        Index("web_events_happened_at_idx", ("happened_at",), why="a day's hits are a range scan"),
        Index("web_events_user_time_idx", ("user_id", "happened_at"), where="user_id IS NOT NULL",
              why="a user's web activity around a message click"),
        Index("web_events_id_idx", ("id",),
              why="the session store's new hits: the newest id, then the rows above the last one seen"),
        Index("web_events_anon_time_idx", ("anonymous_id", "happened_at"),
              why="a device's hits: identity stitching and sessions"),
    )),
    Table("message_sends", (
        _c("id", INTEGER, "send id, referenced by message_interactions.send_id"),
        _c("campaign", TEXT, "campaign name"),
        _c("channel", TEXT, "email, sms, push, line, messenger"),
        _c("user_id", INTEGER, "the recipient"),
        _c("sent_at", TIME, "when the message was sent"),
        _c("status", TEXT, "sent, blocked or failed"),
        _c("block_reason", TEXT, "why it was blocked, may be null"),
        _c("cost", NUMBER, "what the send cost, may be null (then the channel fee)"),
    ), "sent_at", (
        Index("message_sends_sent_at_idx", ("sent_at",), why="a day's sends are a range scan"),
        Index("message_sends_user_sent_idx", ("user_id", "sent_at"),
              why="a user's sends before a payment"),
    )),
    Table("message_interactions", (
        _c("id", INTEGER, "row id", required=False),
        _c("send_id", INTEGER, "-> message_sends.id"),
        _c("kind", TEXT, "open or click"),
        _c("happened_at", TIME, "when the message was opened or clicked"),
        _c("url", TEXT, "the clicked link, may be null", required=False),
    ), "happened_at", (
        Index("message_interactions_send_idx", ("send_id", "happened_at"),
              why="the opens and clicks of a day's sends"),
    )),
    Table("user_tags", (
        _c("user_id", INTEGER, "the user"),
        _c("tag", TEXT, "one tag: team:north, manager:ivanov, vip, ..."),
    ), None, (
        Index("user_tags_tag_idx", ("tag", "user_id"), why="the users of a scope"),
    )),
)}

# The optional plan (docs/plan.md, metrics.targets): no metric reads it, so it is not among the
# tables above; `salespulse check` looks at it on its own (its columns, then its rows).
TARGETS = Table("targets", (
    _c("period_start", DATE, "the first day of the month or the ISO week (a Monday) planned"),
    _c("period", TEXT, "'month' or 'week'"),
    _c("metric", TEXT, "revenue, new_payers, payments, new_payer_revenue, sessions or conversions"),
    _c("scope", TEXT, "null: the company; else a scope as --scope takes it (team:north)"),
    _c("value", NUMBER, "the plan: the number the period should reach"),
))
