"""One module per metric: its digest section (`text`) and its CSV rows (`csv_rows`).

reports.registry points each metric's spec at these; reports.text only orders and fits them.
Every `text(result, loc, bands)` returns Lines; `bands` is field -> metrics.baselines.Baseline of
the metric's company-wide numbers (only sections that print "as usual" read it).
"""
