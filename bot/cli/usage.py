"""The command line's one error for input it cannot run: one line, in English (the CLI's
language; chats get the catalogue's words through reports.request.ReportInputError)."""


class UsageError(ValueError):
    pass
