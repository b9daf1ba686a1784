"""TreeSHAP with what depends only on the trees worked out once per model.

LightGBM's `pred_contrib` runs the TreeSHAP recursion (Lundberg et al. 2020, algorithm 2) from scratch for every
row: for a model of 145 trees of 31 leaves about 1 ms of CPU per row, most of a case explained on request.
The same values (path-dependent TreeSHAP, exact) follow from a per-leaf formula whose only row-dependent part is
which of the leaf's path conditions the row meets, so everything else is computed here once (the idea of Fast
TreeSHAP v2, Yang 2021). For a leaf with value v whose path splits on the d distinct features U, let z_j be the
share of training rows that follow the path's branches on feature j (the product of child count / node count over
the path's splits on j) and o_j = 1 if the row follows all of them, else 0. Then feature i in U gets

    phi_i += v (o_i - z_i) sum_{S subset of U - {i}} |S|! (d - 1 - |S|)! / d! prod_{j in S} o_j prod_{j in U - {i} - S} z_j

which, with P = {j : o_j = 1}, is v (o_i - z_i) (Z_U / z_i) G(P - {i}) for G(A) = sum_{S subset of A} w(|S|) / Z_S
(Z_X = prod_{j in X} z_j). The Shapley weight w(s) = s! (d - 1 - s)! / d! is the Beta integral of t^s (1 - t)^(d-1-s)
over [0, 1], so G(A) = integral of (1 - t)^(d-1-|A|) prod_{j in A} (1 + t (1 - z_j) / z_j) dt: a polynomial of degree
d - 1 in t, which Gauss-Legendre quadrature on ceil(d / 2) nodes integrates exactly (the integral form behind Linear
TreeShap, Yu et al. 2022). Every term is positive, so nothing cancels. A row costs one pass over the nodes (which way
it goes at each), one depth-first walk of each tree carrying the features on which the row has left the path, and at
each leaf a product over the features it follows at the quadrature nodes, compiled with numba. The model's data a
row reads are its nodes and (leaf, feature) entries, about 0.7 MB for 145 trees: a table of G over every subset of
each leaf's features (5 MB for that model) was faster while it stayed in the CPU's caches and slower in a server,
where it mostly did not (bench/RESULTS.md). The decisions follow LightGBM's (Tree::NumericalDecision,
Tree::CategoricalDecision: missing types, default directions, category bitsets); `TreeShap.build` compares the
result with `pred_contrib` on probe rows and returns None (callers use LightGBM) for a model it does not cover.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

# The features a leaf's path splits on are bits of an int64 mask; a leaf on more is left to LightGBM.
_MAX_DISTINCT = 62
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (1e-35f): magnitudes up to it are zero to it
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_AGREE = 1e-9  # largest difference from pred_contrib on the probe rows that build accepts


@dataclass(frozen=True)
class TreeShap:
    """The model's nodes and (leaf, feature) entries, flattened over all trees (see the module docstring)."""

    n_features: int
    tree_root: np.ndarray  # per tree with a split: its root node
    node_feature: np.ndarray  # per internal node
    node_threshold: np.ndarray
    node_left_if_nan: np.ndarray  # the way a NaN goes there (its missing type and default direction)
    node_left_if_zero: np.ndarray  # the way a zero goes (a default direction where zero is the missing type)
    node_cat: np.ndarray  # the node's row in cat_left, -1 for a numerical split
    cat_left: np.ndarray  # categorical node x category code -> goes left
    node_bit: np.ndarray  # 1 << the position of the node's feature among the distinct features of its path
    node_children: np.ndarray  # nodes x 2 (left, right): a node's index, or ~leaf for a leaf
    leaf_entries: np.ndarray  # leaf l has entries leaf_entries[l]:leaf_entries[l + 1], one per distinct feature
    leaf_scale: np.ndarray  # v Z_U
    entry_feature: np.ndarray
    entry_odds: np.ndarray  # (1 - z_i) / z_i
    quad_t: np.ndarray  # [d, q]: the Gauss-Legendre nodes on [0, 1] for a leaf on d features (ceil(d / 2) of them)
    quad_weight: np.ndarray  # [d, m, q]: their weights times (1 - t_q)^m

    @classmethod
    def build(cls, booster: Any) -> TreeShap | None:
        """The flat arrays for a LightGBM Booster, or None where its trees are not covered (several outputs per
        iteration, linear trees, a leaf on more than 62 distinct features) or the result differs from pred_contrib
        on probe rows."""
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or booster.params.get("linear_tree"):
            return None
        parts = _Parts(dump["max_feature_idx"] + 1)
        for tree in dump["tree_info"]:
            if not parts.add_tree(tree["tree_structure"]):
                return None
        shap = parts.finish()
        return shap if _agrees(shap, booster) else None

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """n x F contributions of the rows (raw score, without the expected value), as pred_contrib's first F
        columns."""
        X = np.ascontiguousarray(X, dtype=np.float64).reshape(-1, self.n_features)
        return _contributions(X, self.tree_root, self.node_feature, self.node_threshold, self.node_left_if_nan,
                              self.node_left_if_zero, self.node_cat, self.cat_left, self.node_bit, self.node_children,
                              self.leaf_entries, self.leaf_scale, self.entry_feature, self.entry_odds, self.quad_t,
                              self.quad_weight)


def _compiled(function: Callable[..., Any]) -> Any:
    """numba's compilation of `function`, cached on disk where numba finds a writable place for it. On a read-only
    install without one numba would refuse to import this module; there it compiles in each process (about a second,
    while a snapshot is built)."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(function)


@_compiled
def _contributions(X, tree_root, node_feature, node_threshold, left_if_nan, left_if_zero, node_cat, cat_left,
                   node_bit, node_children, leaf_entries, leaf_scale, entry_feature, entry_odds, quad_t, quad_weight):
    out = np.zeros(X.shape)
    left = np.empty(len(node_feature), dtype=np.bool_)
    stack_node = np.empty(len(node_feature) + 1, dtype=np.int64)
    stack_fails = np.empty(len(node_feature) + 1, dtype=np.int64)
    product = np.empty(quad_t.shape[1])  # prod over P of (1 + t_q odds_j), per quadrature node
    for r in range(X.shape[0]):
        x = X[r]
        for k in range(len(node_feature)):  # which way the row goes at each node (True: left), as LightGBM decides
            v = x[node_feature[k]]
            if node_cat[k] >= 0:  # NaN, negative and unseen categories go right; the rest by the split's category set
                left[k] = v >= 0 and v < cat_left.shape[1] and cat_left[node_cat[k], int(v)]
            elif np.isnan(v):
                left[k] = left_if_nan[k]
            elif abs(v) <= _ZERO:  # a NaN where NaN is not the missing type is 0, and so is any magnitude under it
                left[k] = left_if_zero[k]
            else:
                left[k] = v <= node_threshold[k]
        for root in tree_root:
            # Depth first down every path, carrying the bit mask of the path's features on which the row has left
            # it somewhere above: at a leaf, P is the leaf's features less those.
            stack_node[0], stack_fails[0], top = root, 0, 1
            while top:
                top -= 1
                node, fails = stack_node[top], stack_fails[top]
                if node >= 0:
                    bit = node_bit[node]
                    away_left, away_right = (0, bit) if left[node] else (bit, 0)
                    stack_node[top], stack_fails[top] = node_children[node, 1], fails | away_right
                    stack_node[top + 1], stack_fails[top + 1] = node_children[node, 0], fails | away_left
                    top += 2
                    continue
                leaf = ~node
                first, last = leaf_entries[leaf], leaf_entries[leaf + 1]
                d, p = last - first, 0
                nodes = (d + 1) >> 1
                product[:nodes] = 1.0
                for e in range(first, last):
                    if not (fails >> (e - first)) & 1:
                        p += 1
                        for q in range(nodes):
                            product[q] *= 1.0 + quad_t[d, q] * entry_odds[e]
                scale = leaf_scale[leaf]
                away = 0.0  # -v Z_U G(P): what each feature the row left the path on gets
                if p < d:
                    for q in range(nodes):
                        away -= quad_weight[d, d - 1 - p, q] * product[q]
                    away *= scale
                for e in range(first, last):
                    if (fails >> (e - first)) & 1:
                        out[r, entry_feature[e]] += away
                    else:  # v Z_U (1 - z_i) / z_i G(P - {i})
                        odds, g = entry_odds[e], 0.0
                        for q in range(nodes):
                            g += quad_weight[d, d - p, q] * product[q] / (1.0 + quad_t[d, q] * odds)
                        out[r, entry_feature[e]] += scale * odds * g
    return out


class _Parts:
    """Collects the flat arrays tree by tree, nodes and leaves in depth-first order (left first)."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.tree_root: list[int] = []
        self.nodes: list[tuple[int, float, bool, int, list[int] | None]] = []
        self.node_bit: list[int] = []
        self.node_children: list[list[int]] = []
        self.leaf_entries: list[int] = [0]
        self.leaf_scale: list[float] = []
        self.entry_feature: list[int] = []
        self.entry_odds: list[float] = []

    def add_tree(self, root: dict[str, Any]) -> bool:
        if "split_index" not in root:
            return True  # one leaf: all of it is the expected value, no feature gets anything
        self.tree_root.append(len(self.nodes))
        return self._walk(root, []) is not None

    def _walk(self, node: dict[str, Any], path: list[tuple[int, float]]) -> int | None:
        """Depth first; `path` holds (feature, child count / node count) down to here. Returns the node's code
        (its index, or ~leaf), None where the model is not covered."""
        if "split_index" not in node:
            return self._add_leaf(float(node["leaf_value"]), path)
        index = len(self.nodes)
        feature = int(node["split_feature"])
        categorical = node["decision_type"] == "=="
        categories = [int(c) for c in str(node["threshold"]).split("||")] if categorical else None
        threshold = math.inf if categorical else float(node["threshold"])
        self.nodes.append((feature, threshold, bool(node["default_left"]), _MISSING[node["missing_type"]], categories))
        # Distinct features in the order they first appear from the root, so a node's position holds for every leaf
        # below it.
        distinct = list(dict.fromkeys(f for f, _ in path))
        self.node_bit.append(1 << (distinct.index(feature) if feature in distinct else len(distinct)))
        self.node_children.append([0, 0])
        count = float(node["internal_count"])
        for side, child in enumerate((node["left_child"], node["right_child"])):
            code = self._walk(child, [*path, (feature, _count(child) / count)])
            if code is None:
                return None
            self.node_children[index][side] = code
        return index

    def _add_leaf(self, value: float, path: list[tuple[int, float]]) -> int | None:
        distinct = list(dict.fromkeys(feature for feature, _ in path))
        if len(distinct) > _MAX_DISTINCT:
            return None
        z = [math.prod(s for f, s in path if f == j) for j in distinct]
        self.entry_feature.extend(distinct)
        self.entry_odds.extend((1.0 - share) / share for share in z)
        self.leaf_scale.append(value * math.prod(z))
        self.leaf_entries.append(len(self.entry_feature))
        return ~(len(self.leaf_entries) - 2)

    def finish(self) -> TreeShap:
        nodes = self.nodes
        cat_nodes = [i for i, n in enumerate(nodes) if n[4] is not None]
        width = 1 + max((max(nodes[i][4] or [0]) for i in cat_nodes), default=0)
        cat_left = np.zeros((len(cat_nodes), width), dtype=bool)
        for row, i in enumerate(cat_nodes):
            cat_left[row, nodes[i][4]] = True
        node_cat = np.full(len(nodes), -1, dtype=np.int64)
        node_cat[cat_nodes] = np.arange(len(cat_nodes))
        threshold = np.array([n[1] for n in nodes])
        default_left = np.array([n[2] for n in nodes], dtype=bool)
        missing = np.array([n[3] for n in nodes], dtype=np.int64)
        # (Categorical nodes are decided apart, by cat_left.)
        zero_left = np.where(missing == _MISSING["Zero"], default_left, threshold >= 0.0)
        nan_left = np.where(missing == _MISSING["NaN"], default_left, zero_left)
        quad_t, quad_weight = _quadrature(int(np.diff(self.leaf_entries).max(initial=0)))

        return TreeShap(
            n_features=self.n_features,
            tree_root=np.array(self.tree_root, dtype=np.int64),
            node_feature=np.array([n[0] for n in nodes], dtype=np.int64),
            node_threshold=threshold,
            node_left_if_nan=nan_left,
            node_left_if_zero=zero_left,
            node_cat=node_cat,
            cat_left=cat_left,
            node_bit=np.array(self.node_bit, dtype=np.int64),
            node_children=np.array(self.node_children, dtype=np.int64).reshape(-1, 2),
            leaf_entries=np.array(self.leaf_entries, dtype=np.int64),
            leaf_scale=np.array(self.leaf_scale, dtype=np.float64),
            entry_feature=np.array(self.entry_feature, dtype=np.int64),
            entry_odds=np.array(self.entry_odds, dtype=np.float64),
            quad_t=quad_t,
            quad_weight=quad_weight,
        )


def _quadrature(most: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [0, 1] for each leaf size d up to `most` (ceil(d / 2) nodes: exact for the degree
    d - 1 of G's integrand), and their weights times (1 - t)^m for every power m the kernel needs (0..d)."""
    width = max(1, (most + 1) // 2)
    nodes = np.zeros((most + 1, width))
    weights = np.zeros((most + 1, most + 1, width))
    for d in range(1, most + 1):
        x, w = np.polynomial.legendre.leggauss((d + 1) // 2)
        t = (x + 1.0) / 2.0
        nodes[d, :len(t)] = t
        weights[d, :, :len(t)] = (w / 2.0) * (1.0 - t) ** np.arange(most + 1)[:, None]
    return nodes, weights


def _count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])


def _agrees(shap: TreeShap, booster: Any) -> bool:
    """Same contributions as LightGBM on rows that take every branch kind: zeros, NaNs, and rows cut from the
    model's own thresholds."""
    n = shap.n_features
    rng = np.random.default_rng(0)
    probes = [np.zeros(n), np.full(n, np.nan)]
    for _ in range(16):
        row = np.zeros(n)
        for j in range(n):
            at = shap.node_threshold[shap.node_feature == j]
            if len(at):
                t = at[rng.integers(len(at))]
                row[j] = float(rng.integers(shap.cat_left.shape[1] + 1)) if math.isinf(t) else t + rng.choice([-1e-3, 0, 1e-3])
        row[rng.random(n) < 0.2] = np.nan
        probes.append(row)
    X = np.vstack(probes)
    expected = np.asarray(booster.predict(X, pred_contrib=True, num_threads=1))[:, :n]
    return bool(np.allclose(shap.contributions(X), expected, rtol=0, atol=_AGREE))
