"""An interpretable allocation rule: which service for whom (issue 8, recommendations).

From the effect estimate's cross-fitted nuisance models, each row gets a doubly robust *reward* for every
treatment level against the control level, ``Γ(k) − Γ(control)`` with
``Γ(k) = μ_k(x) + 1[T = k] (y − μ_k(x)) / e_k(x)`` (the AIPW pseudo-outcome). A shallow policy tree (EconML's
``PolicyTree``, Athey & Wager 2021) learns the rule that maximises the mean reward: a few questions about the
client, each leaf naming a service (or none).

The tree learns from rewards whose propensities are floored at ``LEARNING_FLOOR`` (less noise); the rule's
value is estimated honestly, with the unfloored rewards: the persons are split in two, the tree learnt on one
half is valued on the other and the other way round, and the value is the mean reward of the service the rule
names, relative to giving no one a service, with its 95 % interval. The same is given for the current allocation
(what each person actually got). The rule ignores capacity and cost; it is a suggestion for the people who plan
services, never applied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .effects import EffectReport, Nuisances

Z95 = 1.959964
#: A missing covariate value, for the tree (which needs numbers): below every real value of the table's columns.
MISSING = -1.0


#: The propensity floor of the rewards the tree *learns* from: inverse weights above 20 make the rewards so noisy that
#: the tree follows noise (on the 20,000-client region the rule's true value was 0.011 with the 0.001 floor of the
#: estimates, 0.051 with this one; docs/BENCHMARKS.md). The rule's *value* is estimated with the unclipped rewards.
LEARNING_FLOOR = 0.05


def rewards(nuis: Nuisances, t: pd.Series, y: pd.Series, control: str, floor: float = 1e-3) -> np.ndarray:
    """(n, K) doubly robust rewards of each level against ``control`` (the control's column is 0), averaged over
    the cross-fitting repetitions, in the order of ``nuis.levels``."""
    codes = pd.Categorical(t, categories=nuis.levels).codes
    yv = y.to_numpy(float)[:, None]
    e = np.clip(nuis.propensity, floor, 1.0)
    out = np.zeros((len(yv), len(nuis.levels)))
    for k in range(len(nuis.levels)):
        got = (codes == k)[:, None]
        gamma = nuis.outcome[:, k, :] + got * (yv - nuis.outcome[:, k, :]) / e[:, k, :]
        out[:, k] = gamma.mean(axis=1)
    return out - out[:, [nuis.levels.index(control)]]


def _mean_ci(values: np.ndarray) -> dict[str, float]:
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return {"value": round(mean, 5), "ci_low": round(mean - Z95 * se, 5), "ci_high": round(mean + Z95 * se, 5)}


def _fit_tree(x: np.ndarray, reward: np.ndarray, depth: int, min_leaf: int, seed: int) -> Any:
    from econml.policy import PolicyTree

    return PolicyTree(max_depth=depth, min_samples_leaf=min_leaf, random_state=seed, honest=False).fit(x, reward)


def _rule_text(tree: Any, names: Sequence[str], levels: Sequence[str]) -> list[dict[str, Any]]:
    """The tree as a list of leaves: the conditions that lead to it and the service it names."""
    inner = tree.tree_model_.tree_
    left, right = inner.children_left, inner.children_right
    feature, threshold = inner.feature, inner.threshold
    leaves: list[dict[str, Any]] = []

    def walk(node: int, conditions: list[str]) -> None:
        if left[node] == -1:
            value = np.asarray(inner.value[node]).ravel()
            best = int(np.argmax(value))
            leaves.append({"conditions": conditions, "service": levels[best],
                           "mean_reward": round(float(value[best]), 5), "persons": int(inner.n_node_samples[node])})
            return
        name, cut = names[feature[node]], float(threshold[node])
        walk(int(left[node]), [*conditions, f"{name} <= {cut:.4g}"])
        walk(int(right[node]), [*conditions, f"{name} > {cut:.4g}"])

    walk(0, [])
    return leaves


@dataclass
class PolicyResult:
    levels: list[str]
    control_level: str
    rule: list[dict[str, Any]]
    value: dict[str, float]
    current: dict[str, float]
    best_single: dict[str, Any]
    assigned_shares: dict[str, float]
    depth: int
    min_leaf: int
    tree: Any = None
    covariate_names: list[str] | None = None
    #: Each row's level as named by the tree learnt on the other half (what the value is computed from). Not stored.
    out_of_sample: np.ndarray | None = None

    def results(self) -> dict[str, Any]:
        return {"levels": self.levels, "control_level": self.control_level, "rule": self.rule,
                "value": self.value, "current_allocation": self.current, "best_single_service": self.best_single,
                "assigned_shares": self.assigned_shares, "depth": self.depth, "min_leaf": self.min_leaf}

    def assign(self, x: pd.DataFrame) -> np.ndarray:
        """The level the rule names for each row of an encoded covariate frame."""
        return np.array(self.levels)[self.tree.predict(np.nan_to_num(x.to_numpy(dtype=float), nan=MISSING))]


def learn_policy(report: EffectReport, depth: int = 2, min_leaf: int | None = None,
                 seed: int = 0) -> PolicyResult:
    """The allocation rule from an effect estimate's nuisances (``report.nuisances``), valued out of sample."""
    if report.nuisances is None or report.encoded is None:
        raise ValueError("the effect report keeps no nuisance models")
    nuis, (t, y, x) = report.nuisances, report.encoded
    reward = rewards(nuis, t, y, report.control_level)
    learning = rewards(nuis, t, y, report.control_level, floor=LEARNING_FLOOR)
    xv = np.nan_to_num(x.to_numpy(dtype=float), nan=MISSING)
    n = len(reward)
    leaf = min_leaf or max(50, n // 100)
    halves = np.random.default_rng(seed).permutation(n) % 2
    chosen = np.zeros(n, dtype=int)
    for half in (0, 1):
        tree = _fit_tree(xv[halves != half], learning[halves != half], depth, leaf, seed)
        chosen[halves == half] = tree.predict(xv[halves == half])
    rows = np.arange(n)
    codes = pd.Categorical(t, categories=nuis.levels).codes
    final = _fit_tree(xv, learning, depth, leaf, seed)
    means = reward.mean(axis=0)
    best = int(np.argmax(means))
    assigned = final.predict(xv)
    return PolicyResult(
        levels=list(nuis.levels), control_level=report.control_level,
        rule=_rule_text(final, list(x.columns), nuis.levels),
        value=_mean_ci(reward[rows, chosen]), current=_mean_ci(reward[rows, codes]),
        best_single={"service": nuis.levels[best], **_mean_ci(reward[:, best])},
        assigned_shares={lv: round(float((assigned == k).mean()), 4) for k, lv in enumerate(nuis.levels)},
        depth=depth, min_leaf=leaf, tree=final, covariate_names=list(x.columns), out_of_sample=chosen,
    )
