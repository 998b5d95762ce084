"""Demo `user_tags`: teams, lead owners (managers), regions and a few VIPs, vectorised.

Realistic imbalance, so the owner breakdown has something to show: managers own very different
numbers of leads, and the leads the first line never reached (a task, no answer: the stuck ones)
go disproportionately to one overloaded manager and one in another team. Each manager is in
exactly one team, and a lead's team is its owner's team; a share of leads has no owner yet (they
show up under "no owner"). Regions and VIPs are independent of the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from db.seed_common import pick
from db.seed_sales import E, Sales

# (manager, team, weight among all leads, weight among leads stuck at the first line)
MANAGERS = (
    ("ivanov", "north", 30, 45),
    ("petrov", "north", 12, 4),
    ("sidorova", "north", 8, 3),
    ("smirnov", "south", 15, 8),
    ("kuznetsova", "south", 10, 3),
    ("popov", "west", 12, 22),
    ("volkova", "west", 8, 3),
    ("sokolov", "west", 5, 2),
)
TEAMS = ("north", "south", "west")
TEAM_WEIGHTS = (45, 30, 25)  # the team of a lead without an owner
REGIONS = (("msk", 40), ("spb", 25), ("ekb", 12), ("nsk", 10), ("kzn", 8), ("krd", 5))
UNOWNED_SHARE = 0.08
VIP_SHARE = 0.02

TAG_NAMES = (
    [f"manager:{m}" for m, *_ in MANAGERS]
    + [f"team:{t}" for t in TEAMS]
    + [f"region:{r}" for r, _ in REGIONS]
    + ["vip"]
)
_CODE = {name: i for i, name in enumerate(TAG_NAMES)}


@dataclass(frozen=True)
class Tags:
    user: np.ndarray  # 0-based user index
    tag: np.ndarray  # index into TAG_NAMES


def _stuck_at_first_line(n_users: int, sales: Sales) -> np.ndarray:
    """Users with a first-line task and no answer, ever: the leads most likely to hang."""
    task = np.zeros(n_users, bool)
    answered = np.zeros(n_users, bool)
    task[sales.ev_user[sales.ev_code == E["Назначение задачи на звонок 1Л"]]] = True
    answered[sales.ev_user[sales.ev_code == E["Ученик ответил на звонок оператора 1л"]]] = True
    return task & ~answered


def generate_tags(rng: np.random.Generator, n_users: int, sales: Sales) -> Tags:
    stuck = _stuck_at_first_line(n_users, sales)
    manager = np.where(
        stuck,
        pick(rng, [m[3] for m in MANAGERS], n_users),
        pick(rng, [m[2] for m in MANAGERS], n_users),
    )
    owned = rng.random(n_users) >= UNOWNED_SHARE
    team_of_manager = np.array([TEAMS.index(m[1]) for m in MANAGERS])
    team = np.where(owned, team_of_manager[manager], pick(rng, list(TEAM_WEIGHTS), n_users))
    region = pick(rng, [w for _, w in REGIONS], n_users)
    vip = rng.random(n_users) < VIP_SHARE

    idx = np.arange(n_users, dtype=np.int64)
    users = [idx[owned], idx, idx, idx[vip]]
    tags = [
        manager[owned] + _CODE[f"manager:{MANAGERS[0][0]}"],
        team + _CODE[f"team:{TEAMS[0]}"],
        region + _CODE[f"region:{REGIONS[0][0]}"],
        np.full(int(vip.sum()), _CODE["vip"]),
    ]
    user, tag = np.concatenate(users), np.concatenate(tags).astype(np.int64)
    order = np.lexsort((tag, user))
    return Tags(user[order], tag[order])
