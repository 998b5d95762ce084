"""The `salespulse` command line: the parser and the report, demo, seed and run commands (main),
`alerts backtest` (alerts), `check` (check), `sessions backfill|build` (sessions), the progress bar
(progress) and the one input error (usage)."""
