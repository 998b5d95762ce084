"""The metric configuration: a TOML file over built-in defaults (metrics/default_config.toml).

`load_config` returns frozen dataclasses or raises ConfigError with one line naming the key, the
value and what is allowed; nothing downstream ever sees an unchecked value.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from metrics.baselines_config import BaselinesConfig, baselines_config
from metrics.display_config import display_config
from metrics.enabled import enabled_config

PURCHASE = "purchase"
FUNNEL_COHORTS = ("first", "window")  # first-ever step 1 in the window, or any (docs/metrics.md)
ATTRIBUTION_MODELS = (
    "last_non_direct",
    "first_touch",
    "last_touch",
    "linear",
    "position_based",
    "time_decay",
    "markov",
)


class ConfigError(ValueError):
    """The metric configuration file is unusable; the message says where and what is allowed."""


@dataclass(frozen=True)
class Pipeline:
    name: str
    start: str
    ends: tuple[str, ...]
    sla_hours: float

    @property
    def ends_on_purchase(self) -> bool:
        return PURCHASE in self.ends

    @property
    def end_events(self) -> tuple[str, ...]:
        return tuple(e for e in self.ends if e != PURCHASE)


@dataclass(frozen=True)
class HangingConfig:
    lookback_days: int
    pipelines: tuple[Pipeline, ...]
    age_buckets: tuple[tuple[int, int], ...]
    owner_prefix: str = "manager:"  # user_tags with this prefix name a lead's owner


@dataclass(frozen=True)
class FunnelConfig:
    steps: tuple[str, ...]
    cohort_days: int
    conversion_days: int
    clusters: int
    max_cluster_users: int
    cohort: str = "first"  # one of FUNNEL_COHORTS


@dataclass(frozen=True)
class AttributionConfig:
    model: str
    lookback_days: int
    session_timeout_minutes: int
    internal_hosts: tuple[str, ...]
    search_sources: tuple[str, ...]
    social_sources: tuple[str, ...]


@dataclass(frozen=True)
class CampaignConfig:
    click_web_before_seconds: int
    click_web_after_seconds: int
    conversion_hours: int
    channel_fees: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricConfig:
    experiment_events: tuple[str, ...]
    exclude_experiments: bool
    hanging: HangingConfig
    funnel: FunnelConfig
    new_payers_series_days: int
    attribution: AttributionConfig
    campaigns: CampaignConfig
    # lang -> {configured pipeline or step name: its name in that language} ([display.<lang>])
    display: dict[str, dict[str, str]] = field(default_factory=dict)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    enabled: dict[str, str] = field(default_factory=dict)  # metric -> metrics.enabled's AUTO, ON, OFF

    @property
    def excluded_events(self) -> tuple[str, ...]:
        return self.experiment_events if self.exclude_experiments else ()


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class _Reader:
    """Typed access to the merged TOML with error messages that name the dotted key."""

    def __init__(self, data: dict, origin: str):
        self.data, self.origin = data, origin

    def fail(self, key: str, value: Any, allowed: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key} = {value!r} is not valid; expected {allowed}")

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{self.origin}: {key} is missing")
            node = node[part]
        return node

    def int_(self, key: str, lo: int = 1, hi: int = 10_000, value: Any = None) -> int:
        value = self.get(key) if value is None else value
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(key, value, f"a whole number from {lo} to {hi}")
        return value

    def num(self, key: str, lo: float = 0, value: Any = None) -> float:
        value = self.get(key) if value is None else value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < lo:
            raise self.fail(key, value, f"a number >= {lo}")
        return float(value)

    def bool_(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, value, "true or false")
        return value

    def str_(self, key: str, value: Any = None) -> str:
        value = self.get(key) if value is None else value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "a non-empty string")
        return value.strip()

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.str_(key)
        if value not in allowed:
            raise self.fail(key, value, "one of " + ", ".join(allowed))
        return value

    def strs(self, key: str, value: Any = None, allow_empty: bool = True) -> tuple[str, ...]:
        value = self.get(key) if value is None else value
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v.strip() for v in value)
            or (not allow_empty and not value)
        ):
            raise self.fail(key, value, "a list of non-empty strings" + ("" if allow_empty else " (at least one)"))
        return tuple(v.strip() for v in value)


def _pipelines(r: _Reader) -> tuple[Pipeline, ...]:
    raw = r.get("hanging.pipelines")
    if not isinstance(raw, list) or not raw:
        raise r.fail("hanging.pipelines", raw, "at least one [[hanging.pipelines]] table")
    default_sla = r.num("hanging.sla_hours", lo=0)
    out, names = [], set()
    for i, p in enumerate(raw):
        key = f"hanging.pipelines[{i}]"
        if not isinstance(p, dict):
            raise r.fail(key, p, "a table with name, start and ends")
        unknown = set(p) - {"name", "start", "ends", "sla_hours"}
        if unknown:
            raise r.fail(f"{key}.{min(unknown)}", p[min(unknown)], "only name, start, ends, sla_hours")
        name = r.str_(f"{key}.name", p.get("name"))
        if name in names:
            raise r.fail(f"{key}.name", name, "a name no other pipeline uses")
        names.add(name)
        sla = p.get("sla_hours", default_sla)
        out.append(
            Pipeline(
                name=name,
                start=r.str_(f"{key}.start", p.get("start")),
                ends=r.strs(f"{key}.ends", p.get("ends"), allow_empty=False),
                sla_hours=r.num(f"{key}.sla_hours", lo=0, value=sla),
            )
        )
    return tuple(out)


def _buckets(r: _Reader) -> tuple[tuple[int, int], ...]:
    raw = r.get("hanging.age_buckets")
    ok = isinstance(raw, list) and all(
        isinstance(b, list) and len(b) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in b) and 0 <= b[0] <= b[1]
        for b in raw
    )
    if not ok:
        raise r.fail("hanging.age_buckets", raw, "a list of [from_day, to_day] pairs, e.g. [[1, 2], [3, 7]]")
    return tuple((b[0], b[1]) for b in raw)


def _fees(r: _Reader) -> dict[str, float]:
    raw = r.get("campaigns.channel_fees")
    if not isinstance(raw, dict):
        raise r.fail("campaigns.channel_fees", raw, "a table of channel = fee")
    return {str(k).lower(): r.num(f"campaigns.channel_fees.{k}", value=v) for k, v in raw.items()}


def default_config_text() -> str:
    return resources.files("metrics").joinpath("default_config.toml").read_text(encoding="utf-8")


def load_config(path: Path | None = None) -> MetricConfig:
    data = tomllib.loads(default_config_text())
    origin = "built-in metric configuration"
    own_display = data.get("display", {})
    if path is not None:
        origin = str(path)
        try:
            user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"metric configuration file {path} does not exist; fix METRICS_CONFIG or create the file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); see metrics/default_config.toml for the format") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read metric configuration {path}: {exc}") from None
        unknown = set(user) - set(data)
        if unknown:
            raise ConfigError(f"{path}: unknown section [{min(unknown)}]; allowed: {', '.join(sorted(data))}")
        data = _merge(data, user)
        own_display = user.get("display", {}) if isinstance(user.get("display", {}), dict) else {}
    r = _Reader(data, origin)

    funnel_steps = r.strs("funnel.steps", allow_empty=False)
    pipelines = _pipelines(r)
    return MetricConfig(
        experiment_events=r.strs("experiments.events"),
        exclude_experiments=r.bool_("experiments.exclude"),
        hanging=HangingConfig(
            lookback_days=r.int_("hanging.lookback_days", 1, 3650),
            pipelines=pipelines,
            age_buckets=_buckets(r),
            owner_prefix=r.str_("hanging.owner_prefix"),
        ),
        funnel=FunnelConfig(
            steps=funnel_steps,
            cohort_days=r.int_("funnel.cohort_days", 1, 366),
            conversion_days=r.int_("funnel.conversion_days", 1, 366),
            clusters=r.int_("funnel.clusters", 1, 20),
            max_cluster_users=r.int_("funnel.max_cluster_users", 100, 10_000_000),
            cohort=r.choice("funnel.cohort", FUNNEL_COHORTS),
        ),
        new_payers_series_days=r.int_("new_payers.series_days", 1, 366),
        attribution=AttributionConfig(
            model=r.choice("attribution.model", ATTRIBUTION_MODELS),
            lookback_days=r.int_("attribution.lookback_days", 1, 90),
            session_timeout_minutes=r.int_("attribution.session_timeout_minutes", 1, 1440),
            internal_hosts=tuple(h.lower() for h in r.strs("attribution.internal_hosts")),
            search_sources=tuple(s.lower() for s in r.strs("attribution.search_sources")),
            social_sources=tuple(s.lower() for s in r.strs("attribution.social_sources")),
        ),
        campaigns=CampaignConfig(
            click_web_before_seconds=r.int_("campaigns.click_web_before_seconds", 0, 86400),
            click_web_after_seconds=r.int_("campaigns.click_web_after_seconds", 0, 86400),
            conversion_hours=r.int_("campaigns.conversion_hours", 1, 24 * 90),
            channel_fees=_fees(r),
        ),
        display=display_config(r, {p.name for p in pipelines} | {e for p in pipelines for e in (p.start, *p.ends)}
                               | set(funnel_steps), own_display),
        baselines=baselines_config(r),
        enabled=enabled_config(r),
    )
