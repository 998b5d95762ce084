"""Telegram only (python-telegram-bot 22), in rooms named after their concern: delivery/ (the
digest's way to a chat), alerts/ (alert rules in the chat), commands/ (what people type and
press), cli/ (the `salespulse` command line) and ops/ (running it as a service). At the top: the
Application's wiring (app), its typed state (context), the options, database retries and digest
cache it shares (service), the job queue's schedules (schedule) and the subscriptions (subscriptions).
Everything here stands on reports; nothing below imports it."""
