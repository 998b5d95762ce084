"""Alert rules in the chat: the commands and buttons (commands), the rules, their evaluations and
the notices ledger in Postgres (store), a notice's state machine (notices) and the job that checks
the rules and sends the notices (runner). What a rule means is reports.alerts'. docs/alerts.md is
the contract."""
