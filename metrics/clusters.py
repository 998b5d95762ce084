"""Behavioural clusters of the funnel cohort: retentioneering's k-means over per-user behaviour
(its add_clusters, computed here with the scikit-learn it calls: _kmeans_labels).

Pure: a bounded frame of events in, user -> human-readable cluster label out. No SQL here.

Features per user (as retentioneering's MetricBuilder builds them): whether and how often each event happened in
the user's conversion window, min-max scaled; k-means with retentioneering's fixed random_state
(42), on rows in a fixed order, so the same events always give the same clusters. Each cluster is
then named by its most distinctive event: the event whose share of users in the cluster exceeds
its share in the whole cohort the most ("reached Успешный ВУ" for a funnel step most of the
cluster reached, else "often: Дозвон 2Л"); a cluster with nothing above the cohort is named by
what it lacks most ("without Назначение ВУ" / "rarely: ..."). Labels are unique.
"""
from __future__ import annotations

import os
from collections.abc import Collection, Mapping

import pandas as pd

# A label's text is the metric's own English (the JSON's and the CSV's contract, stable whatever
# the catalogue says); readers translate it from its parts with the catalogue's segment.<code>.
PHRASES = {"all": "all users", "typical": "typical", "reached": "reached {event}",
           "never_reached": "never reached {event}", "rarely_reached": "rarely reached {event}",
           "often": "often: {event}", "rarely": "rarely: {event}", "without": "without {event}"}


class Label(str):
    """A segment's name as the metric made it: `code` (the catalogue's segment.<code>), the event
    it speaks of and the n of a repeated name. Its text is the English phrase ("reached X #2"),
    which the JSON and the CSV show; a reader in another language builds its own words from the
    parts (charts.names.segment_name) instead of parsing the phrase."""

    code: str
    event: str | None
    n: int | None

    def __new__(cls, code: str, event: str | None = None, n: int | None = None) -> Label:  # noqa: PYI034
        text = PHRASES[code].format(event=event)
        self = super().__new__(cls, text if n is None else f"{text} #{n}")
        self.code, self.event, self.n = code, event, n
        return self

    def __getnewargs__(self) -> tuple:  # copies and pickles rebuild it from its parts
        return self.code, self.event, self.n


ALL_USERS = Label("all")
# retentioneering uses "->" as its path delimiter and refuses event names containing it.
_DELIMITER, _SAFE = "->", "→"


def _counts(events: pd.DataFrame) -> pd.DataFrame:
    """users x events: how often each user had each event.

    groupby + unstack, not pd.crosstab: crosstab aggregates group by group in Python (measured
    1.2 s of a 2.5 s funnel for a 14k-user cohort)."""
    return events.groupby(["user_id", "event"], sort=True).size().unstack(fill_value=0)


def _presence(events: pd.DataFrame) -> pd.DataFrame:
    """users x events, True where the user had the event at least once."""
    return _counts(events) > 0


def _with_reached(presence: pd.DataFrame, reached: Mapping[int, Collection[str]]) -> tuple[pd.DataFrame, set[str]]:
    """Replace the presence of step events by the funnel's reached flags."""
    steps = {s for v in reached.values() for s in v}
    if not reached:
        return presence, steps
    flags = pd.DataFrame(
        {s: [s in reached.get(int(u), ()) for u in presence.index] for s in sorted(steps)}, index=presence.index
    )
    return pd.concat([presence.drop(columns=[c for c in presence.columns if c in steps]), flags], axis=1), steps


def _kmeans_labels(events: pd.DataFrame, k: int) -> pd.Series:
    """user_id -> raw cluster id ("cluster_<n>"), exactly as retentioneering's
    Eventstream.add_clusters(features=has_event_bulk + event_count_bulk, scaler="minmax",
    method="kmeans") gives it (tests/test_clusters.py compares them on random cohorts).

    Built here from the same matrix with scikit-learn, which retentioneering calls: importing
    retentioneering cost a digest ~1 s and ~65 MB (its duckdb engine, scipy.stats, its MCP server)
    for a k-means over a few thousand rows. The matrix: one row per user in ascending id (the
    order of the sorted event frame), a 0/1 column per event then a count column per event, the
    events in Python's sorted order of their names with retentioneering's "->" replaced."""
    # retentioneering is no longer imported here; anything that imports it in this process (the
    # equality test, a metric of one's own) must still send no telemetry
    os.environ["RETENTIONEERING_NO_TRACK"] = "1"
    from sklearn.cluster import KMeans  # heavy import, only when clustering runs
    from sklearn.preprocessing import MinMaxScaler

    names = events["event"].str.replace(_DELIMITER, _SAFE, regex=False)
    counts = events.assign(event=names).groupby(["user_id", "event"], sort=True).size().unstack(fill_value=0)
    counts = counts.reindex(columns=sorted(counts.columns), fill_value=0)
    features = pd.concat([(counts > 0).astype(int), counts], axis=1).fillna(0).values
    scaled = MinMaxScaler().fit_transform(features)
    raw = KMeans(n_clusters=k, random_state=42, n_init="auto").fit_predict(scaled)
    return pd.Series([f"cluster_{x}" for x in raw], index=counts.index, name="cluster")


def _name(share: float, lift: float, event: str, steps: Collection[str]) -> Label:
    if event in steps:  # funnel steps speak of reaching them (in the funnel's sense)
        if lift > 0:
            return Label("reached", event)
        return Label("never_reached" if share == 0 else "rarely_reached", event)
    if lift > 0:
        return Label("often", event)
    return Label("without" if share == 0 else "rarely", event)


def label_clusters(presence: pd.DataFrame, raw: pd.Series, steps: Collection[str] = ()) -> dict[str, Label]:
    """raw cluster id -> unique readable label, biggest clusters choosing first."""
    overall = presence.mean()
    sizes = raw.value_counts()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
    used: set[str] = set()
    labels: dict[str, Label] = {}
    for cluster in order:
        members = raw.index[raw == cluster]
        share = presence.loc[members].mean()
        lift = share - overall
        # positive lifts first (largest first), then the strongest negative ones; ties by name
        ranked = sorted(lift.index, key=lambda e: (lift[e] <= 0, -abs(lift[e]), e))
        names = [_name(share[e], lift[e], e, steps) for e in ranked if lift[e] != 0]
        label = next((n for n in names if n not in used), None)
        if label is None:  # identical behaviour to the whole cohort, or every name taken
            base = names[0] if names else Label("typical")
            label = next(lab for i in range(2, len(order) + 2)
                         if (lab := Label(base.code, base.event, i)) not in used)
        used.add(label)
        labels[cluster] = label
    return labels


def cluster_users(
    events: pd.DataFrame, k: int, reached: Mapping[int, Collection[str]] | None = None
) -> dict[int, Label]:
    """events: columns user_id, event, happened_at (the cohort's conversion-window events).

    reached: user -> the funnel steps the user reached (funnel definitions). Labels use it, not
    the raw events, for step names, so "reached X" means what the funnel means by it.

    Returns user_id -> label. Fewer distinct behaviours than k gives fewer clusters; a single
    behaviour (or k = 1) gives one segment, ALL_USERS, without running k-means.
    """
    if events.empty:
        return {}
    counts = _counts(events)
    presence = counts > 0
    distinct = len(counts.drop_duplicates())
    k = min(k, distinct)
    if k <= 1:
        return {int(u): ALL_USERS for u in presence.index}
    raw = _kmeans_labels(events, k)
    presence, steps = _with_reached(presence, reached or {})
    labels = label_clusters(presence, raw.loc[presence.index], steps)
    return {int(u): labels[c] for u, c in raw.items()}
