"""Behavioural clusters (pure): determinism, readable unique labels, small cohorts."""
from datetime import datetime, timedelta

import pandas as pd

from metrics.clusters import ALL_USERS, cluster_users

T0 = datetime(2024, 3, 10, 10)


def frame(paths: dict[int, list[str]]) -> pd.DataFrame:
    rows = [(u, e, T0 + timedelta(hours=i)) for u, evs in paths.items() for i, e in enumerate(evs)]
    return pd.DataFrame(rows, columns=["user_id", "event", "happened_at"])


def test_two_obvious_groups_get_readable_labels():
    # users 0-3 go all the way and pay; users 4-6 only create a request and get second-line calls.
    full = ["Создание заявки", "Назначение ВУ", "Успешный ВУ", "purchase"]
    stuck = ["Создание заявки", "Дозвон 2Л", "Дозвон 2Л"]
    events = frame({0: full, 1: full, 2: full, 3: full, 4: stuck, 5: stuck, 6: stuck})
    reached = {u: ["Создание заявки", "Назначение ВУ", "Успешный ВУ", "purchase"] for u in (0, 1, 2, 3)}
    reached |= {u: ["Создание заявки"] for u in (4, 5, 6)}
    labels = cluster_users(events, k=2, reached=reached)
    assert labels[0] == labels[1] == labels[2] == labels[3] != labels[4] == labels[5] == labels[6]
    # The bigger cluster (0-3) names itself first: reached ВУ steps and purchase share 1 vs 4/7 in
    # the cohort (lift 3/7 each); ties go by name and Latin "purchase" sorts before Cyrillic.
    # Users 4-6: the only positive lift is Дозвон 2Л (1 vs 3/7), a non-step event: "often".
    assert (labels[0], labels[4]) == ("reached purchase", "often: Дозвон 2Л")
    assert cluster_users(events, k=2, reached=reached) == labels  # fixed seed: same data, same clusters


def test_without_reached_info_step_names_are_plain_events():
    events = frame({1: ["a", "b"], 2: ["a", "b"], 3: ["a"], 4: ["a"]})
    labels = cluster_users(events, k=2)
    assert labels[1] == labels[2] != labels[3] == labels[4]
    # equal sizes: whichever names itself first takes its best name; both are the obvious ones
    assert labels[1] == "often: b" and labels[3] == "without b"


def test_small_cohorts():
    assert cluster_users(frame({}), k=4) == {}
    assert cluster_users(frame({7: ["a", "b"]}), k=4) == {7: ALL_USERS}  # one user
    assert cluster_users(frame({1: ["a"], 2: ["a"], 3: ["a"]}), k=3) == {1: ALL_USERS, 2: ALL_USERS, 3: ALL_USERS}
    two = cluster_users(frame({1: ["a"], 2: ["b"]}), k=4)  # k larger than the cohort: 2 clusters
    assert len(set(two.values())) == 2
    assert cluster_users(frame({1: ["a"], 2: ["b"]}), k=1) == {1: ALL_USERS, 2: ALL_USERS}


def test_event_names_with_the_retentioneering_delimiter():
    labels = cluster_users(frame({1: ["x->y"], 2: ["x->y"], 3: ["z"], 4: ["z"]}), k=2)
    assert set(labels.values()) == {"often: x->y", "often: z"}  # labels keep the real names


def test_label_phrases_are_the_english_catalogue():
    # metrics may not import charts, so the phrases are a copy of [segment] in en.toml: kept equal
    # here, or the JSON would name a cluster in words no English reader sees.
    from db.i18n import lookup
    from metrics.clusters import PHRASES

    assert PHRASES and {code: lookup(f"segment.{code}", "en", fallback=False) for code in PHRASES} == PHRASES


def _retentioneering_labels(events: pd.DataFrame, k: int) -> pd.Series:
    """The clustering as it ran through retentioneering itself (before _kmeans_labels built the
    same matrix with scikit-learn): the reference the direct one must equal."""
    import os

    os.environ["RETENTIONEERING_NO_TRACK"] = "1"
    from retentioneering import Eventstream

    frame = events.rename(columns={"happened_at": "timestamp"})[["user_id", "event", "timestamp"]]
    frame = frame.assign(event=frame["event"].str.replace("->", "→", regex=False))
    frame = frame.sort_values(["user_id", "timestamp", "event"], kind="stable").reset_index(drop=True)
    stream = Eventstream(frame, schema={"path_cols": ["user_id"], "event_col": "event", "timestamp_col": "timestamp"})
    clustered = stream.add_clusters(name="cluster", features=[{"metric": "has_event_bulk"}, {"metric": "event_count_bulk"}],
                                    method="kmeans", method_args={"n_clusters": k}, scaler="minmax")
    return clustered.df.drop_duplicates("user_id").set_index("user_id")["cluster"].astype(str)


def _random_cohort(seed: int) -> pd.DataFrame:
    import random

    r = random.Random(seed)
    names = [f"e{i}" for i in range(r.randint(1, 12))] + ["x->y", "x→y", "Дозвон 2Л", "purchase", "Z"]
    rows = [(u, r.choice(names[: r.randint(1, len(names))]), T0 + timedelta(minutes=r.randint(0, 5000)))
            for u in r.sample(range(1, 10**6), r.randint(2, 1500)) for _ in range(r.randint(1, 8))]
    return pd.DataFrame(rows, columns=["user_id", "event", "happened_at"])


def test_direct_kmeans_equals_retentioneerings_add_clusters():
    # same matrix, same scaler, same seed: the raw cluster of every user is retentioneering's, so
    # the labels (named biggest cluster first, ties by raw id) and the digest stay as they were
    from metrics.clusters import _kmeans_labels

    compared = 0
    for seed in range(12):
        events = _random_cohort(seed)
        k = min(2 + seed % 6, len(events.groupby(["user_id", "event"]).size().unstack(fill_value=0).drop_duplicates()))
        if k < 2:
            continue
        ours, theirs = _kmeans_labels(events, k), _retentioneering_labels(events, k)
        assert ours.sort_index().to_dict() == theirs.sort_index().to_dict(), seed
        compared += 1
    assert compared >= 10
