"""Alert rules as people type them: `hanging > 1`, `sessions.Paid Search < 20`, `revenue unusual`.

A rule is a target, an operator and a number, or a target and `unusual` (outside its usual band,
metrics.baselines). The targets are the metric specs' (reports.registry): their checked numbers
and what they read at an instant. They come in two kinds (docs/alerts.md):

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
from metrics.checked import CHANNEL, PIPELINE, RATE, SEND_CHANNEL, STEP
from metrics.config import MetricConfig
from reports.pace_alerts import is_pace, pace_target
from reports.registry import REGISTRY
from reports.request import ReportInputError

OPS = ("<", ">", "<=", ">=")
UNUSUAL = "unusual"
STATE, FLOW = "state", "flow"

# The names a keyed target's key may take, per dimension: what the configuration or the channel
# grouping fixes is listed; a send channel is data (email, sms, push, ...), so any short word.
_SEND_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")
_EXAMPLE_SEND_CHANNELS = ["email", "sms", "push", "line", "messenger"]
_UNKNOWN = {PIPELINE: "pipeline", STEP: "step", CHANNEL: "channel", SEND_CHANNEL: "campaign_channel"}


def _keys(dimension: str, cfg: MetricConfig) -> list[str] | None:
    """The names a key of `dimension` may take (None: any short word, it is data)."""
    if dimension == PIPELINE:
        return [p.name for p in cfg.hanging.pipelines]
    if dimension == STEP:
        return list(cfg.funnel.steps[1:])
    if dimension == CHANNEL:
        return list(CHANNELS)
    return None


@dataclass(frozen=True)
class Target:
    """One name a rule may start with, from a metric's spec: a checked number (FLOW) or a number
    read at an instant (STATE)."""
    name: str
    kind: str
    metric: str
    key: str | None          # the dimension of `name.<key>`
    plain: bool              # `name` alone is a target too
    rate: bool = False       # a share in [0, 1]


def targets() -> dict[str, Target]:
    """Every target name and alias of the registry's specs, in digest order."""
    out: dict[str, Target] = {}
    for spec in REGISTRY.values():
        if spec.state is not None:
            out[spec.state.name] = Target(spec.state.name, STATE, spec.name, spec.state.key, True)
        for n in spec.numbers:
            t = Target(n.name, FLOW, spec.name, n.key, n.total, n.kind == RATE)
            for word in (n.name, *n.aliases):
                out.setdefault(word, t)
    return out


_RULE = re.compile(r"^(?P<target>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<num>[-+]?\d+(?:[.,]\d+)?)$")
_UNUSUAL = re.compile(r"^(?P<target>.+?)\s+unusual$", re.IGNORECASE)


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
    """The metric whose numbers hold a target (`sessions.Paid Search` -> attribution)."""
    return targets()[target.partition(".")[0]].metric


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
    """The targets to suggest in a message (send channels are data, so shown by example)."""
    out = []
    for word, t in targets().items():
        if word != t.name:
            continue  # an alias
        keys = (_keys(t.key, cfg) or _EXAMPLE_SEND_CHANNELS[:1]) if t.key else []
        out += ([t.name] if t.plain else []) + [f"{t.name}.{k}" for k in keys]
    return out


def resolve_target(text: str, cfg: MetricConfig) -> tuple[str, str]:
    """(canonical target, kind) or ReportInputError naming the targets that exist."""
    name = _norm(text)
    head, dot, key = name.partition(".")
    if dot and (pace := pace_target(head.replace(" ", "_"), key)):  # projected percent of plan (section 13)
        return pace, FLOW
    t = targets().get(head.replace(" ", "_"))
    if t is not None and not dot and t.plain:
        return t.name, t.kind
    if t is not None and dot and t.key is not None:
        names = _keys(t.key, cfg)
        if names is None:
            word = key.strip().lower()
            if _SEND_CHANNEL.fullmatch(word):
                return f"{t.name}.{word}", t.kind
            return _unknown_key(text, _UNKNOWN[t.key], _EXAMPLE_SEND_CHANNELS)
        known = {_norm(x): x for x in names}
        if _norm(key) in known:
            return f"{t.name}.{known[_norm(key)]}", t.kind
        return _unknown_key(text, _UNKNOWN[t.key], names)
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
        if is_pace(target):  # a percent of plan has no band (reports.pace_alerts)
            raise usage_error("error.alert_pace_unusual", target=target)
        return RuleSpec(target, UNUSUAL, None, kind)
    m = _RULE.match(text)
    if not m:
        raise usage_error("error.alert_not_a_rule", text=text)
    target, kind = resolve_target(m.group("target"), cfg)
    number = float(m.group("num").replace(",", "."))
    if not is_pace(target) and targets()[target.partition(".")[0]].rate and not 0 <= number <= 1:
        raise usage_error("error.alert_share", target=target, num=m.group("num"))
    return RuleSpec(target, m.group("op"), number, kind)
