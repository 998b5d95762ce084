"""Alert rules as people type them: `hanging > 1`, `sessions.Paid Search < 20`, `revenue unusual`.

A rule is a target, an operator and a number, or a target and `unusual` (outside its usual band,
metrics.baselines). Targets come in two kinds (DESIGN section 8):

- state targets, `hanging` and `hanging.<pipeline>`: processes hanging at this moment, evaluated
  every ALERT_INTERVAL_MINUTES at the current instant (metrics.hanging.now);
- flow targets, the checked daily numbers named by metrics.baselines.Baseline.target
  (`new_payers`, `revenue`, `breached.<pipeline>`, `sessions.<channel>`, ...), evaluated once per
  complete day, after a delay for late data.

Names match case-insensitively, and `_`/`-` stand for spaces, so `hanging.open_requests` names the
pipeline "Open requests". The canonical name (as Baseline.target spells it) is what is stored.
Nothing here touches the database or Telegram.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from metrics.channels import CHANNELS
from metrics.config import MetricConfig
from reports.request import ReportInputError

OPS = ("<", ">", "<=", ">=")
UNUSUAL = "unusual"
STATE, FLOW = "state", "flow"

# Company-wide daily numbers (metric new_payers) and their aliases.
PLAIN_FLOW = {"new_payers": "new_payers", "payers": "new_payers", "new_payer_revenue": "new_payer_revenue",
              "revenue": "revenue", "payments": "payments", "sessions": "sessions"}
# Daily numbers per key: the prefix -> which names the key may take ("pipeline", "channel",
# "campaign channel": the send channels are data, e.g. email, sms, push; "step": a funnel step).
KEYED_FLOW = {"breached": "pipeline", "close_rate": "pipeline", "sessions": "channel", "sends": "campaign",
              "block_share": "campaign", "conversions": "campaign", "conversion": "step"}

# The metric whose baselines hold a flow target (metrics.baselines.daily_baselines(metrics=...)).
METRIC_OF = {"new_payers": "new_payers", "new_payer_revenue": "new_payers", "revenue": "new_payers",
             "payments": "new_payers", "breached": "hanging", "close_rate": "hanging", "sessions": "attribution",
             "sends": "campaigns", "block_share": "campaigns", "conversions": "campaigns", "conversion": "funnel"}
RATE_TARGETS = ("block_share", "conversions", "close_rate", "conversion")  # shares in [0, 1]

_RULE = re.compile(r"^(?P<target>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<num>[-+]?\d+(?:[.,]\d+)?)$")
_UNUSUAL = re.compile(r"^(?P<target>.+?)\s+unusual$", re.IGNORECASE)
_CAMPAIGN_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class RuleSpec:
    target: str               # canonical, e.g. "hanging.Open requests", "sessions.Paid Search"
    op: str                   # one of OPS, or "unusual"
    threshold: float | None   # None for unusual
    kind: str                 # STATE or FLOW

    def describe(self) -> str:
        if self.op == UNUSUAL:
            return f"{self.target} {UNUSUAL}"
        return f"{self.target} {self.op} {format_number(self.threshold)}"


def metric_of(target: str) -> str:
    return METRIC_OF[target.partition(".")[0]]


def format_number(x: float | None) -> str:
    if x is None:
        return "—"
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def holds(op: str, threshold: float, value: float) -> bool:
    return {"<": value < threshold, ">": value > threshold,
            "<=": value <= threshold, ">=": value >= threshold}[op]


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip()).lower()


def usage_error(key: str, /, **kw: object) -> ReportInputError:
    """What was wrong (the catalogue's `key`), then how a rule is written."""
    return ReportInputError("error.alert_usage", what=ReportInputError(key, **kw))


def known_targets(cfg: MetricConfig) -> list[str]:
    """The targets to suggest in a message (campaign channels are data, so shown by example)."""
    pipes = [p.name for p in cfg.hanging.pipelines]
    return (["hanging", *(f"hanging.{p}" for p in pipes), "new_payers", "new_payer_revenue", "revenue",
             "payments", *(f"breached.{p}" for p in pipes), *(f"close_rate.{p}" for p in pipes),
             *(f"conversion.{s}" for s in cfg.funnel.steps[1:]), "sessions", *(f"sessions.{c}" for c in CHANNELS),
             "sends.email", "block_share.email", "conversions.email"])


def resolve_target(text: str, cfg: MetricConfig) -> tuple[str, str]:
    """(canonical target, kind) or ReportInputError naming the targets that exist."""
    pipes = {_norm(p.name): p.name for p in cfg.hanging.pipelines}
    name = _norm(text)
    head, dot, key = name.partition(".")
    head = head.replace(" ", "_")
    if head == "hanging":
        if not dot:
            return "hanging", STATE
        if _norm(key) in pipes:
            return f"hanging.{pipes[_norm(key)]}", STATE
        return _unknown_key(text, "pipeline", list(pipes.values()))
    if not dot and head in PLAIN_FLOW:
        return PLAIN_FLOW[head], FLOW
    if dot and head in KEYED_FLOW:
        kind = KEYED_FLOW[head]
        if kind == "pipeline":
            if _norm(key) in pipes:
                return f"{head}.{pipes[_norm(key)]}", FLOW
            return _unknown_key(text, "pipeline", list(pipes.values()))
        if kind == "step":
            steps = {_norm(x): x for x in cfg.funnel.steps[1:]}
            if _norm(key) in steps:
                return f"{head}.{steps[_norm(key)]}", FLOW
            return _unknown_key(text, "step", list(steps.values()))
        if kind == "channel":
            channels = {_norm(c): c for c in CHANNELS}
            if _norm(key) in channels:
                return f"{head}.{channels[_norm(key)]}", FLOW
            return _unknown_key(text, "channel", list(CHANNELS))
        key = key.strip().lower()
        if _CAMPAIGN_CHANNEL.fullmatch(key):
            return f"{head}.{key}", FLOW
        return _unknown_key(text, "campaign_channel", ["email", "sms", "push", "line", "messenger"])
    raise usage_error("error.alert_unknown_target", text=text, known=", ".join(known_targets(cfg)))


def _unknown_key(text: str, what: str, names: list[str]):
    raise usage_error(f"error.alert_unknown_{what}", text=text, names=", ".join(names))


def parse_rule(args: list[str] | str, cfg: MetricConfig) -> RuleSpec:
    """`hanging > 1`, `hanging>1`, `sessions.Paid Search <= 20`, `revenue unusual`."""
    text = " ".join(args) if isinstance(args, list) else args
    text = text.strip()
    if not text:
        raise usage_error("error.alert_no_rule")
    if m := _UNUSUAL.match(text):
        target, kind = resolve_target(m.group("target"), cfg)
        if kind == STATE:
            raise usage_error("error.alert_no_band", target=target)
        return RuleSpec(target, UNUSUAL, None, kind)
    m = _RULE.match(text)
    if not m:
        raise usage_error("error.alert_not_a_rule", text=text)
    target, kind = resolve_target(m.group("target"), cfg)
    number = float(m.group("num").replace(",", "."))
    if target.partition(".")[0] in RATE_TARGETS and not 0 <= number <= 1:
        raise usage_error("error.alert_share", target=target, num=m.group("num"))
    return RuleSpec(target, m.group("op"), number, kind)
