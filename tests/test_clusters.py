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
