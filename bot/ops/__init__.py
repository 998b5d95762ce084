"""Running the bot as a service: the process under polling or a webhook and its clean stop
(runner), log redaction and JSON logs (logs), Prometheus counters (telemetry) and the /healthz and
/metrics server (web). docs/operations.md is the operator's guide."""
