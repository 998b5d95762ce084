"""What people type and press in a chat: /start, /help, /report, /subscribe, /status (handlers),
the menu under a digest (buttons), /settings (settings), /invite and its signed deep links
(invites, tokens), what a chat may see (scopes) and the "preparing…" message (progress). Handlers
are thin: they parse, check access and hand over to reports or the delivery."""
