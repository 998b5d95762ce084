"""What /metrics counts (docs/operations.md), in a Prometheus registry of each Application's own.

The delivery, alert and report code call the few hooks here; nothing else knows about
Prometheus. A registry per Application (not prometheus-client's global one) so that two bots in
one process, or two tests, never share a counter. docs/operations.md says what each series means
and which alerts to set on it.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest

from bot.delivery.ledger import State
from bot.ops.logs import bind
from reports.alert_machine import State as AlertState

Progress = Callable[[str], None]

# Seconds from a digest's due time to its last part accepted: on time is a few seconds; the
# retries of bot.delivery.ledger wait minutes; the grace period (DELIVERY_GRACE_HOURS) ends at hours.
DELAY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, float("inf"))
# Seconds one stage of a digest computes: milliseconds on a small schema, tens of seconds on a
# large history (docs/scale.md).
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf"))


class Telemetry:
    def __init__(self, clock: Callable[[], datetime]):
        self.clock = clock
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter("salespulse_deliveries", "Delivery ledger transitions, by the state "
                                  "entered (working: a run began or resumed)", ["state"], registry=r)
        self.delivery_delay = Histogram("salespulse_delivery_delay_seconds", "From a digest's due time "
                                        "to its last part accepted by Telegram", buckets=DELAY_BUCKETS,
                                        registry=r)
        self.report_duration = Histogram("salespulse_report_duration_seconds", "Time one stage of a "
                                         "digest took: a metric, sessions or charts", ["metric"],
                                         buckets=STAGE_BUCKETS, registry=r)
        self.alert_evaluations = Counter("salespulse_alert_evaluations", "Alert rule evaluations, by "
                                         "the rule's state after it", ["state"], registry=r)
        self.database_errors = Counter("salespulse_database_errors", "Errors the database driver "
                                       "raised, by its exception class", ["error"], registry=r)
        self.telegram_errors = Counter("salespulse_telegram_errors", "Bot API requests that failed, "
                                       "by HTTP status, or network / timeout", ["code"], registry=r)
        self.last_sweep = Gauge("salespulse_last_sweep_timestamp_seconds", "Unix time the delivery "
                                "sweep last ran (into an outage or not)", registry=r)
        for state in State:  # every series from the start: a rate() needs its zero
            self.deliveries.labels(state.value)
        for alert_state in AlertState:
            self.alert_evaluations.labels(alert_state.value)
        self._engines: list[sa.Engine] = []

    # -- hooks ----------------------------------------------------------------------------------
    def delivery_state(self, to: State, scheduled_for: datetime | None) -> None:
        """A ledger row entered `to` (called after the transaction committed)."""
        self.deliveries.labels(to.value).inc()
        if to is State.SENT and scheduled_for is not None:
            self.delivery_delay.observe(max(0.0, (self.clock() - scheduled_for).total_seconds()))

    def alert_evaluated(self, state: str) -> None:
        self.alert_evaluations.labels(state).inc()

    def sweeps_of(self, last_run: Callable[[], float | None]) -> None:
        self.last_sweep.set_function(lambda: last_run() or 0.0)

    @contextmanager
    def stages(self, progress: Progress | None) -> Iterator[Progress]:
        """Wraps a digest builder's `progress`: each stage's time, from its start to the next
        stage's (or the end), goes to the histogram; logs name the stage as the metric."""
        current: list = []  # [stage, started]

        def close() -> None:
            if current:
                self.report_duration.labels(current[0]).observe(time.monotonic() - current[1])
                current.clear()

        def step(stage: str) -> None:
            close()
            current[:] = [stage, time.monotonic()]
            bind(metric=stage)
            if progress is not None:
                progress(stage)

        try:
            yield step
        finally:
            close()

    def watch(self, request: BaseRequest) -> None:
        """Count the failed Bot API requests of `request` (the Bot's, every method but getUpdates)."""
        inner = request.do_request

        async def do_request(*args, **kwargs):
            try:
                code, payload = await inner(*args, **kwargs)
            except TimedOut:
                self.telegram_errors.labels("timeout").inc()
                raise
            except NetworkError:
                self.telegram_errors.labels("network").inc()
                raise
            if not 200 <= code < 300:
                self.telegram_errors.labels(str(code)).inc()
            return code, payload

        request.do_request = do_request  # type: ignore[method-assign]

    def attach(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "handle_error", self._on_db_error)
        self._engines.append(engine)

    def detach(self) -> None:
        """The engine may outlive this Application (tests share one): stop counting its errors."""
        for engine in self._engines:
            sa.event.remove(engine, "handle_error", self._on_db_error)
        self._engines.clear()

    def _on_db_error(self, context: sa.engine.ExceptionContext) -> None:
        self.database_errors.labels(type(context.original_exception).__name__).inc()
