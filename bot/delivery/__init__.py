"""The digest's way to a chat: what is due (sweep), the delivery ledger and its state machine
(ledger, ledger_store), sending a digest (deliver) part by part (messages, parts) within
Telegram's limits (flood), what the admins hear during an outage (outage) and /status's account of
it (status). docs/delivery.md is the contract."""
