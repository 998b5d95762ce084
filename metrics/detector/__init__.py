"""Is today normal for a growing business? The statistics of docs/normal.md, as pure functions.

- numbers: the one table of each checked number's kind (count, rate, money) and business weight;
- fit: its expected value, a robust level-and-trend times a weekday profile over up to 12 weeks;
- tails: its predictive distribution (negative binomial, beta-binomial, log-normal) and band;
- check: the day's verdict and the sustained shift of the last 3 and 7 days, with its start;
- drivers: the slice that moved an unusual number most;
- project: the expected values of the days after D (the plan's pace, docs/plan.md).

No SQL and no dates here: metrics.baselines.series reads the numbers, metrics.baselines.verdicts
turns them into the Baselines the digest, the JSON and the alert rules read.
"""
